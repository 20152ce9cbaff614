"""``doppel doctor``: what is missing or broken before training or serving."""

from __future__ import annotations

import typer

from doppel.cli.app import app
from doppel.cli.console import console
from doppel.cli.errors import guard
from doppel.cli.settings import ConfigOpt, command_settings


@app.command()
@guard
def doctor(config: ConfigOpt = None):
    """Check the database, the twins' tables and columns, the base models, GPU, disk and memory."""
    from doppel.cli.render import print_checks
    from doppel.doctor import run_checks

    settings = command_settings(config)
    checks = run_checks(settings)
    print_checks(console, checks)
    if any(c.status == "fail" for c in checks):
        raise typer.Exit(1)
