"""``doppel collect``, ``dataset`` and ``train``: the steps from the person's records to a new version."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from doppel.cli.app import app
from doppel.cli.console import console
from doppel.cli.errors import fail, guard
from doppel.cli.progress import RichReporter
from doppel.cli.settings import ConfigOpt, TwinOpt, command_settings
from doppel.dataset import write_dataset
from doppel.db import Database


@app.command()
@guard
def collect(
    config: ConfigOpt = None,
    twin: TwinOpt = None,
    out: Annotated[Path | None, typer.Option(help="Also write the records as JSONL here.")] = None,
):
    """Read the person's records from the database and count them per source."""
    from doppel.cli.render import print_records_summary
    from doppel.pipeline import collect_records

    settings = command_settings(config)
    twin_cfg = settings.twin(twin)
    reporter = RichReporter(console)
    with reporter:
        reporter.stage("collect")
        records = collect_records(Database(settings), twin_cfg, reporter)
    print_records_summary(console, records)
    if out:
        with out.open("w") as fh:
            for r in records:
                fh.write(json.dumps(r.__dict__, default=lambda o: getattr(o, "__dict__", str(o))) + "\n")
        console.print(f"wrote {len(records)} records to {out}")


@app.command()
@guard
def dataset(
    config: ConfigOpt = None,
    twin: TwinOpt = None,
    out: Annotated[Path | None, typer.Option(help="Folder for train/val JSONL and the card.")] = None,
    max_length: Annotated[int | None, typer.Option(help="Override training.max_length.")] = None,
):
    """Collect, forget, pseudonymise, clean, pair and split the records; write the examples and the card."""
    from doppel.cli.render import print_card
    from doppel.pipeline import collect_records, prepare_dataset
    from doppel.privacy.prepare import prepare_records
    from doppel.training.base_models import load_tokenizer, resolve_base_model
    from doppel.training.overrides import resolve_training

    settings = command_settings(config)
    twin_cfg = settings.twin(twin)
    cfg = resolve_training(twin_cfg, {"max_length": max_length}, settings.home)
    reporter = RichReporter(console)
    with reporter:
        reporter.stage("base model")
        tokenizer = load_tokenizer(resolve_base_model(twin_cfg.base_model, settings.home))
        reporter.stage("collect")
        db = Database(settings)
        records = collect_records(db, twin_cfg, reporter)
        reporter.stage("privacy")
        protected = prepare_records(settings, twin_cfg, db, records)
        records, privacy = protected.records, protected.report
        reporter.stage("dataset")
        built = prepare_dataset(records, twin_cfg, tokenizer, cfg, privacy=privacy.to_dict())
    folder = write_dataset(built, out or settings.home / "datasets" / twin_cfg.name)
    print_card(console, built.card)
    console.print(f"examples and card written to {folder}")


@app.command()
@guard
def train(
    config: ConfigOpt = None,
    twin: TwinOpt = None,
    full: Annotated[
        bool, typer.Option("--full", help="From the base model on every record (the default): vN+1.0.")
    ] = False,
    incremental: Annotated[
        bool, typer.Option("--incremental", help="Continue from final on records newer than it, plus a replay: vN.M+1.")
    ] = False,
    preference: Annotated[
        bool,
        typer.Option(
            "--preference",
            help="Continue from final with DPO on the feedback pairs (edits, reviews that picked the real reply): "
            "vN.M+1, final only if held-out pairs gain.",
        ),
    ] = False,
    epochs: Annotated[int | None, typer.Option(help="Override training.epochs.")] = None,
    learning_rate: Annotated[float | None, typer.Option(help="Override training.learning_rate.")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Override training.batch_size.")] = None,
    max_length: Annotated[int | None, typer.Option(help="Override training.max_length.")] = None,
    max_steps: Annotated[int | None, typer.Option(help="Stop after this many steps.")] = None,
    promote: Annotated[
        bool | None,
        typer.Option("--promote/--no-promote", help="Force the new version final (or not); default: the gate decides."),
    ] = None,
):
    """Train a new version of a twin; it becomes final if it passes the promotion gate.

    Started by torchrun (for example on several nodes: `torchrun --nnodes 2 --nproc-per-node 8
    --rdzv-endpoint HOST:29500 -m doppel train`), it trains with DDP: rank 0 runs this command and the
    other ranks train their share of each step."""
    from doppel.training import distributed

    if full + incremental + preference > 1:
        fail(ValueError("choose one of --full, --incremental and --preference"))
    mode = "incremental" if incremental else "preference" if preference else "full"
    world = distributed.init()
    if world is not None and not world.is_main:
        from doppel.training.follower import follow

        follow()
        distributed.close()
        return
    try:
        _train(config, twin, mode, epochs, learning_rate, batch_size, max_length, max_steps, promote)
    finally:
        distributed.release()  # ended before training (an error, nothing new): the other ranks may exit
        distributed.close()


def _train(config, twin, mode, epochs, learning_rate, batch_size, max_length, max_steps, promote) -> None:
    from pydantic import ValidationError

    from doppel.cli.render import print_metrics
    from doppel.config import TrainingOverrides
    from doppel.pipeline import train_twin
    from doppel.training.overrides import OverrideError

    settings = command_settings(config)
    try:
        overrides = TrainingOverrides(
            epochs=epochs,
            learning_rate=learning_rate,
            batch_size=batch_size,
            max_length=max_length,
            max_steps=max_steps,
        )
    except ValidationError as exc:
        fail(ValueError(_options_message(exc)))
    reporter = RichReporter(console)
    try:
        with reporter:
            outcome = train_twin(
                settings,
                twin,
                mode=mode,
                overrides=overrides,
                reporter=reporter,
                promote=promote,
            )
    except ValidationError as exc:
        fail(ValueError(_options_message(exc)))
    except OverrideError as exc:
        fail(ValueError(f"--{exc.field.replace('_', '-')}: {exc.message}"))
    if outcome.version is None:
        console.print(f"[bold]{settings.twin(twin).name}[/]: {outcome.message}; no version made")
        return
    print_metrics(console, outcome.version.name, outcome.metrics)
    color = "green" if outcome.promoted else "yellow"
    console.print(
        f"[bold {color}]{outcome.version.twin} {outcome.version.name}[/]: {escape(outcome.message)} "
        f"({outcome.version.path})"
    )


def _options_message(exc) -> str:
    """A pydantic error as the options the user typed: "--max-length: Input should be ..."."""
    return "; ".join(f"--{str(e['loc'][0]).replace('_', '-')}: {e['msg']}" for e in exc.errors())


@app.command()
@guard
def index(
    config: ConfigOpt = None,
    twin: TwinOpt = None,
    rebuild: Annotated[
        bool, typer.Option("--rebuild", help="Empty the twin's index and embed every record again.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
):
    """Build or update the twin's retrieval index (pgvector): new and changed records are embedded, removed and
    forgotten ones deleted. Every training run does the same; this is for a twin trained before, or between runs."""
    import json
    import sys

    from doppel.pipeline import index_twin

    settings = command_settings(config)
    reporter = RichReporter(console)
    with reporter:
        report = index_twin(settings, twin, reporter=reporter, rebuild=rebuild)
    if as_json:
        sys.stdout.write(json.dumps(report.to_dict(), indent=2) + "\n")
        return
    console.print(f"[bold]{settings.twin(twin).name}[/]: {report.summary()}")
