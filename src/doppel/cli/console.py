"""Where the commands write: results to stdout, progress, footers and errors to stderr."""

from __future__ import annotations

from rich.console import Console

console = Console()
err_console = Console(stderr=True)
