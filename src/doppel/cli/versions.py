"""``doppel versions``: a twin's versions and their metrics."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from doppel.cli.app import app
from doppel.cli.console import console
from doppel.cli.errors import guard
from doppel.cli.settings import ConfigOpt, TwinOpt, command_settings
from doppel.registry import Registry


@app.command()
@guard
def versions(
    config: ConfigOpt = None,
    twin: TwinOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
):
    """List a twin's versions with their metrics; * marks final."""
    from doppel.cli.render import print_versions

    settings = command_settings(config)
    twin_cfg = settings.twin(twin)
    rows = Registry(settings.resolved_models_dir).describe(twin_cfg.name)
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2, default=str) + "\n")
    else:
        print_versions(console, twin_cfg.name, rows)
