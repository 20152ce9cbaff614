"""``doppel eval`` and ``doppel review``: a version's scorecard, and the blind human review that feeds it."""

from __future__ import annotations

import json
import os
import sys
from typing import Annotated

import typer
from rich.markup import escape

from doppel.cli.app import app
from doppel.cli.console import console, err_console
from doppel.cli.errors import fail, guard
from doppel.cli.settings import ConfigOpt, TwinOpt, command_settings, find_version
from doppel.db import Database


@app.command("eval")
@guard
def eval_command(
    version: Annotated[str, typer.Argument(help="Version to score (default: final).")] = "final",
    config: ConfigOpt = None,
    twin: TwinOpt = None,
    seed: Annotated[int | None, typer.Option(help="Default: evaluation.seed. Same seed, same numbers.")] = None,
    part: Annotated[
        list[str] | None,
        typer.Option("--part", help="fit | style | decisions | personality | privacy; repeatable (default: all)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole scorecard as JSON.")] = False,
):
    """Score a version: fit, style match, decisions, personality probes, human review, speed.

    Saves scorecard.json, pairs for blind review and a self-contained report.html in the
    version's evaluation/ folder. Only held-out (validation) answers are used as references.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from doppel.cli.render import print_scorecard
    from doppel.evaluation.evaluate import PARTS, EvaluationError, evaluate_version

    settings = command_settings(config)
    twin_cfg = settings.twin(twin)
    found = find_version(settings, twin_cfg, version)
    bars = Progress(
        TextColumn("{task.description:>12}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=as_json,
    )
    tasks: dict[str, int] = {}

    def progress(name: str, done: int, total: int) -> None:
        if name not in tasks:
            tasks[name] = bars.add_task(name, total=total)
        bars.update(tasks[name], completed=done, total=total)

    try:
        with bars:
            card = evaluate_version(
                settings, twin_cfg.name, found.name, seed=seed, parts=part or PARTS, progress=progress
            )
    except EvaluationError as exc:
        fail(exc)
    if as_json:
        sys.stdout.write(json.dumps(card.to_json(), indent=2, default=str) + "\n")
    else:
        print_scorecard(console, card)


@app.command()
@guard
def review(
    version: Annotated[str, typer.Argument(help="Version whose pairs to review (default: final).")] = "final",
    config: ConfigOpt = None,
    twin: TwinOpt = None,
    reviewer: Annotated[str | None, typer.Option(help="Your name, stored with each answer (default: $USER).")] = None,
):
    """Blind review in the terminal: which of two replies did the person write? Then score the twin's.

    Pairs come from the version's last `doppel eval`. Answer 1 or 2 (or c: can't tell), then
    1-10; q stops. Each answer is saved at once, so stopping loses nothing.
    """
    from rich.panel import Panel

    from doppel.evaluation.reviews import ReviewError, next_pair, submit_review
    from doppel.evaluation.store import evaluation_dir

    settings = command_settings(config)
    twin_cfg = settings.twin(twin)
    found = find_version(settings, twin_cfg, version)
    who = reviewer or os.environ.get("USER") or "reviewer"
    db = Database(settings)
    db.ensure_schema()
    folder = evaluation_dir(found)
    person = twin_cfg.persona.name
    try:
        while True:
            pair = next_pair(db, folder, twin_cfg.name, found.name, who)
            if pair["done"]:
                console.print(f"No pairs left for {escape(who)} ({pair['total']} reviewed). Thank you.")
                return
            console.rule(f"{pair['total'] - pair['remaining'] + 1} of {pair['total']}")
            console.print(Panel(escape(pair["prompt"]), title="prompt", title_align="left"))
            for reply in pair["replies"]:
                console.print(
                    Panel(
                        escape(reply["text"]) or "[dim](empty)[/]", title=f"reply {reply['label']}", title_align="left"
                    )
                )
            picked = _ask(f"Which reply did {person} write? [1/2/c=can't tell/q=quit]", {"1", "2", "c", "q"})
            if picked == "q":
                return
            score = _ask(
                "Score the twin's reply, 1 (nothing like them) to 10 (exactly them) [q=quit]",
                {str(i) for i in range(1, 11)} | {"q"},
            )
            if score == "q":
                return
            result = submit_review(
                db,
                folder,
                twin_cfg.name,
                found.name,
                pair_id=pair["pair_id"],
                reviewer=who,
                picked="cant_tell" if picked == "c" else picked,
                score=int(score),
            )
            human = result["human"]
            console.print(
                f"[dim]reply {result['real']} was {escape(person)}'s. So far: could not tell "
                f"{human['share_fooled']:.0%} of {human['reviews']} reviews, mean score "
                f"{human['mean_score']:.1f}[/]"
            )
    except ReviewError as exc:
        fail(exc)


def _ask(question: str, allowed: set[str]) -> str:
    """The reviewer's answer, asked again until it is one of ``allowed``; end of input counts as quit."""
    while True:
        try:
            answer = console.input(f"{question} ").strip().lower()
        except EOFError:
            return "q"
        if answer in allowed:
            return answer
        console.print(f"[yellow]answer one of: {', '.join(sorted(allowed, key=lambda a: (len(a), a)))}[/]")
