"""``python -m doppel``: the same as the ``doppel`` command."""

from doppel.cli import app

app()
