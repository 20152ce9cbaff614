"""The ``doppel`` command: a thin face over the pipeline, registry and inference functions.

``app`` lives in ``cli/app.py``; each command module registers its commands on it when imported here.
"""

from __future__ import annotations

# isort: off
# Importing a module registers its commands; `doppel --help` lists them in this order.
from doppel.cli.app import app
from doppel.cli import demo  # noqa: F401
from doppel.cli import importing  # noqa: F401
from doppel.cli import train  # noqa: F401
from doppel.cli import versions  # noqa: F401
from doppel.cli import ask  # noqa: F401
from doppel.cli import doctor  # noqa: F401
from doppel.cli import evaluate  # noqa: F401
from doppel.cli import export  # noqa: F401
from doppel.cli import privacy  # noqa: F401
from doppel.cli import serve  # noqa: F401
# isort: on


def main() -> None:  # pragma: no cover - console entry point alias
    app()


__all__ = ["app", "main"]
