"""The ``doppel`` Typer application, on its own so the command modules can register on it.

Each command module imports ``app`` from here and adds its commands;
``doppel.cli`` imports them all, so the package never imports itself back.
"""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Train and serve a digital twin of one person from what they wrote.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
