"""How a command ends on an error the user can fix: one clear message and an exit code, no traceback."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NoReturn, ParamSpec, TypeVar

import typer
from rich.markup import escape

from doppel.cli.console import err_console
from doppel.config import ConfigError
from doppel.dataset import NoUsableRecords
from doppel.db import DatabaseError
from doppel.export.run import ExportError
from doppel.inference.backend import BackendError
from doppel.inference.decisions import DecisionError
from doppel.inference.prompting import PromptTooLong
from doppel.pipeline import PreferenceError
from doppel.registry import RegistryError
from doppel.retrieval.store import RetrievalUnavailable
from doppel.runs import RunConflict
from doppel.sources import SourceSchemaError
from doppel.training.base_models import BaseModelError
from doppel.twin import TwinError

P = ParamSpec("P")
R = TypeVar("R")

# Errors a user can fix; shown as one clear message instead of a traceback.
USER_ERRORS = (
    ConfigError,
    DatabaseError,
    SourceSchemaError,
    NoUsableRecords,
    BaseModelError,
    RegistryError,
    RunConflict,
    BackendError,
    DecisionError,
    PromptTooLong,
    TwinError,
    ExportError,
    RetrievalUnavailable,
    PreferenceError,
)


def fail(exc: BaseException) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {escape(str(exc))}")
    raise typer.Exit(1)


def guard(fn: Callable[P, R]) -> Callable[P, R]:
    """Run a command body, turning the errors a user can fix into a message and exit code 1."""

    # functools.wraps keeps the signature Typer reads the command's options from.
    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except USER_ERRORS as exc:
            fail(exc)
        except KeyboardInterrupt:
            err_console.print("[yellow]interrupted[/]")
            raise typer.Exit(130) from None

    return wrapper
