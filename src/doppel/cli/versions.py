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
    delete: Annotated[
        list[str] | None,
        typer.Option("--delete", help="Delete this version (repeatable); final never is.", metavar="vX.Y"),
    ] = None,
):
    """List a twin's versions with their metrics; * marks final, ! a version trained on forgotten records."""
    from doppel.cli.render import print_versions

    settings = command_settings(config)
    twin_cfg = settings.twin(twin)
    registry = Registry(settings.resolved_models_dir)
    for name in delete or []:
        gone = registry.delete(twin_cfg.name, name)
        console.print(f"deleted {twin_cfg.name} {gone.name}")
    rows = registry.describe(twin_cfg.name)
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2, default=str) + "\n")
    else:
        print_versions(console, twin_cfg.name, rows)
