"""``doppel demo``: the fictional persona end to end, from the database to a compared final version."""

from __future__ import annotations

from typing import Annotated

import typer

from doppel.cli.app import app
from doppel.cli.console import console
from doppel.cli.errors import guard
from doppel.cli.progress import RichReporter
from doppel.cli.settings import ConfigOpt, command_settings


@app.command()
@guard
def demo(
    config: ConfigOpt = None,
    steps: Annotated[
        int | None, typer.Option(help="Optimizer steps (default 60: about 5 minutes of training on 2 cores).")
    ] = None,
    compare: Annotated[int, typer.Option(help="Held-out prompts to compare base vs twin vs real.")] = 4,
):
    """Load the fictional persona Allan into the embedded PostgreSQL, train allan-maverick, compare."""
    from doppel.cli.render import print_card, print_comparisons, print_metrics
    from doppel.demo.run import run_demo

    settings = command_settings(config)
    reporter = RichReporter(console)
    with reporter:
        result = run_demo(settings, reporter=reporter, steps=steps, compare=compare)
    console.print(f"Loaded persona rows: {', '.join(f'{k} {v}' for k, v in result.rows.items())}")
    print_card(console, result.outcome.dataset.card)
    print_metrics(console, result.outcome.version.name, result.outcome.metrics)
    print_comparisons(console, result.comparisons)
    console.print(
        f"[bold green]{result.outcome.version.twin} {result.outcome.version.name} is final[/] "
        f'({result.outcome.version.path}). Try: doppel chat "Acme wants 30% off. What do we say?", '
        f"doppel eval (its scorecard), doppel serve (the web page)"
    )
