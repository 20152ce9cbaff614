"""The ``doppel`` command: a thin face over the pipeline, registry and inference functions.

``app`` is created here, before the command modules are imported, because each of them registers
its commands on it.
"""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Train and serve a digital twin of one person from what they wrote.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

# isort: off
# Importing a module registers its commands; `doppel --help` lists them in this order.
from doppel.cli import demo  # noqa: E402,F401
from doppel.cli import train  # noqa: E402,F401
from doppel.cli import versions  # noqa: E402,F401
from doppel.cli import ask  # noqa: E402,F401
from doppel.cli import doctor  # noqa: E402,F401
from doppel.cli import evaluate  # noqa: E402,F401
from doppel.cli import export  # noqa: E402,F401
from doppel.cli import serve  # noqa: E402,F401
# isort: on


def main() -> None:  # pragma: no cover - console entry point alias
    app()


__all__ = ["app", "main"]
