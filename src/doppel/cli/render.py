"""Terminal rendering of cards, metrics, versions and checks (the CLI's look, kept out of its logic)."""

from __future__ import annotations

from collections import Counter

from rich.console import Console
from rich.markdown import Markdown
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from doppel.dataset import render_card
from doppel.scorecard import Counted, Decisions, DecisionTally, Human, Scorecard, Speed, Style
from doppel.training.perplexity import SEED_TARGETS


def _num(value, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def print_card(console: Console, card: dict) -> None:
    console.print(Markdown(render_card(card)))


def print_records_summary(console: Console, records) -> None:
    table = Table(title="Records read")
    table.add_column("source")
    table.add_column("records", justify="right")
    table.add_column("oldest")
    table.add_column("newest")
    by_source: dict[str, list] = {}
    for r in records:
        by_source.setdefault(r.source, []).append(r)
    for source, rows in by_source.items():
        stamps = sorted(r.timestamp for r in rows if r.timestamp is not None)
        table.add_row(
            source,
            str(len(rows)),
            stamps[0].date().isoformat() if stamps else "–",
            stamps[-1].date().isoformat() if stamps else "–",
        )
    console.print(table)
    with_context = Counter(r.source for r in records if r.history)
    if with_context:
        console.print("with the text they answered: " + ", ".join(f"{s} {n}" for s, n in with_context.items()))


def print_metrics(console: Console, version: str, m: dict) -> None:
    table = Table(title=f"Training metrics ({version})")
    table.add_column("metric")
    table.add_column("twin", justify="right")
    before = "parent" if m.get("mode") == "incremental" else "base model"
    table.add_column(f"{before} (before training)", justify="right")
    table.add_column("seed target", justify="right")
    met = m.get("targets_met", {})

    def target(key: str) -> str:
        if key not in SEED_TARGETS:
            return ""
        return f"< {SEED_TARGETS[key]:g} " + ("[green]met[/]" if met.get(key) else "[yellow]not met[/]")

    table.add_row("train loss", _num(m.get("train_loss")), "", target("train_loss"))
    start = "parent" if m.get("mode") == "incremental" else "base"
    table.add_row("val loss", _num(m.get("val_loss")), _num(m.get(f"{start}_val_loss")), target("val_loss"))
    table.add_row(
        "val perplexity",
        _num(m.get("val_perplexity"), 2),
        _num(m.get(f"{start}_val_perplexity"), 2),
        target("val_perplexity"),
    )
    sel = m.get("selection") or {}
    if sel.get("mode") == "incremental":
        table.add_row("new · replayed", f"{sel.get('new')} · {sel.get('replay')}", "", "")
    gate = m.get("gate") or {}
    if gate:
        table.add_row(
            "promotion gate", ("passed: " if gate.get("passed") else "refused: ") + str(gate.get("reason")), "", ""
        )
    ex = m.get("examples", {})
    table.add_row("examples", f"{ex.get('train', 0)} train / {ex.get('val', 0)} val", "", "")
    table.add_row("steps · epochs", f"{m.get('steps')} · {m.get('epochs')}", "", "")
    table.add_row("tokens seen", f"{m.get('tokens_seen', 0):,}", "", "")
    table.add_row("tokens/s", _num(m.get("tokens_per_second"), 1), "", "")
    table.add_row("training time", f"{m.get('train_seconds', 0):.0f} s (run {m.get('wall_seconds', 0):.0f} s)", "", "")
    table.add_row("device", str(m.get("device", "")), "", "")
    console.print(table)


def print_comparisons(console: Console, comparisons) -> None:
    for c in comparisons:
        body = (
            f"[bold]Prompt[/] ({c.source}, held out):\n{c.prompt}\n\n"
            f"[bold]Base model[/]:\n{c.base}\n\n"
            f"[bold]Twin[/]:\n{c.twin}\n\n"
            f"[bold]Real[/]:\n{c.real}"
        )
        console.print(Panel(body, expand=True))


def print_versions(console: Console, twin: str, rows: list[dict]) -> None:
    if not rows:
        console.print(f"twin {twin!r} has no versions yet (doppel train)")
        return
    table = Table(title=f"Versions of {twin}")
    for col in ("", "version", "created", "mode", "train loss", "val loss", "val ppl", "base val loss", "examples"):
        table.add_column(col)
    for r in rows:
        ex = r.get("examples") or {}
        table.add_row(
            ("*" if r["final"] else "") + ("!" if r.get("forgotten") else ""),
            r["version"],
            (r.get("created_at") or "")[:19].replace("T", " "),
            r.get("mode") or "",
            _num(r.get("train_loss")),
            _num(r.get("val_loss")),
            _num(r.get("val_perplexity"), 2),
            _num(r.get("base_val_loss")),
            f"{ex.get('train', 0)}/{ex.get('val', 0)}",
        )
    console.print(table)
    marked = [r for r in rows if r.get("forgotten")]
    if marked:
        requests = sorted({i for r in marked for i in r["forgotten"]})
        console.print(
            f"! trained on records of forget request{'s' if len(requests) > 1 else ''} "
            f"{', '.join(f'#{i}' for i in requests)}: {', '.join(r['version'] for r in marked)}. "
            "A full retrain makes a version without them; `doppel versions --delete vX.Y` removes old ones."
        )


def print_checks(console: Console, checks) -> None:
    table = Table(title="doppel doctor")
    table.add_column("check")
    table.add_column("status")
    table.add_column("detail / what to fix")
    colors = {"ok": "green", "warn": "yellow", "fail": "red"}
    for c in checks:
        table.add_row(c.name, f"[{colors[c.status]}]{c.status}[/]", c.detail)
    console.print(table)


def print_decision(console: Console, decision) -> None:
    """The choice, a bar per option, and the twin's reason."""
    table = Table(box=None, show_header=False, pad_edge=False)
    best = max(decision.probabilities.values())
    for option, p in sorted(decision.probabilities.items(), key=lambda kv: -kv[1]):
        mark = "→" if option == decision.choice else " "
        bar = "█" * max(1, round(p * 30)) if p >= 0.005 else ""
        style = "bold green" if p == best and not decision.abstained else None
        table.add_row(mark, Text(option, style=style), f"{p:6.1%}", bar)
    console.print(table)
    if decision.abstained:
        console.print(
            f"[yellow]abstained[/]: no option is likely enough (best {best:.0%}); leaning {escape(decision.choice)}"
        )
    if decision.rationale:
        console.print(Text(f"“{decision.rationale}”", style="italic"))
    print_sources(console, decision.sources)
    notice = f" · {escape(decision.notice)}" if decision.notice else ""
    console.print(
        f"[dim]{decision.twin} {decision.version or 'base'} ({decision.backend}) · "
        f"{(decision.latency_ms or 0) / 1000:.1f} s{notice}[/]"
    )


def print_sources(console: Console, sources) -> None:
    """What an answer rests on: the person's records retrieval put in the prompt."""
    if not sources:
        return
    console.print("[dim]from what they wrote before:[/]")
    for s in sources:
        when = (s.get("written_at") or "")[:10] or "undated"
        console.print(Text(f"  {s['key']} ({when}, {s['score']:.2f}): {s['excerpt']}", style="dim"))


def _share(value) -> str:
    return "—" if value is None else f"{value:.0%}"


def _n(block: Counted | None) -> str:
    if block is None or block.n is None:
        return ""
    return f"n={block.n}" + (" [yellow](small sample)[/]" if block.small_sample else "")


def _baselines(block: DecisionTally) -> str:
    """What a decision set's accuracy has to beat: chance and the pickers that ignore the situation."""
    shown = [f"chance {_share(block.chance)}"]
    for name in ("longest", "overlap"):
        picker = getattr(block, name)
        if picker is not None:
            shown.append(f"{name} {_share(picker.accuracy)}")
    return ", ".join(shown)


def print_scorecard(console: Console, card: Scorecard) -> None:
    """The scorecard as a few tables: twin vs base (vs the real replies where that is the ceiling)."""
    console.print(
        f"[bold]Scorecard of {card.twin} {card.version}[/] [dim](seed {card.seed}, {card.evaluated_at or ''})[/]"
    )
    table = Table(show_lines=False)
    for col in ("", "twin", "base model", "real replies", "rests on"):
        table.add_column(col)
    fit = card.fit
    if fit is not None:

        def target(key):
            t = fit.targets.get(key)
            return f" (< {t.target:g}: {'met' if t.met else 'not met'})" if t and t.target is not None else ""

        table.add_row("train loss", _num(fit.train_loss) + target("train_loss"), "", "", "")
        table.add_row("val loss", _num(fit.val_loss) + target("val_loss"), _num(fit.base_val_loss), "", _n(fit))
        table.add_row(
            "val perplexity",
            _num(fit.val_perplexity, 2) + target("val_perplexity"),
            _num(fit.base_val_perplexity, 2),
            "",
            "",
        )
    style = card.style or Style()
    clf = style.classifier
    if clf is not None and clf.twin is not None:
        table.add_row(
            "reads as the person",
            _share(style.share("twin")),
            _share(style.share("base")),
            _share(style.share("real")),
            _n(clf.twin),
        )
    elif clf is not None and clf.skipped:
        table.add_row("reads as the person", f"[dim]{clf.skipped}[/]", "", "", "")
    if style.similarity is not None:
        table.add_row(
            "similarity to real reply",
            _num(style.similarity_of("twin"), 3),
            _num(style.similarity_of("base"), 3),
            "1.000",
            _n(style.similarity.twin),
        )
    distinct = style.distinct
    if distinct is not None:
        table.add_row(
            "distinct replies", _share(distinct.twin), _share(distinct.base), _share(distinct.real), _n(distinct)
        )
    if style.relevance is not None:
        interval = style.relevance_interval
        spread = (
            f"95% {_num(interval.low, 3)} to {_num(interval.high, 3)}"
            + ("" if interval.significant else ", not significant")
            if interval
            else ""
        )
        table.add_row("relevance (twin − base similarity)", _num(style.relevance, 3), spread, "", "")
    habits = style.habits
    if habits is not None and habits.distance is not None:
        table.add_row(
            "habit distance to real",
            _num(habits.distance.twin, 3),
            _num(habits.distance.base, 3),
            "0.000",
            _n(habits.real),
        )
    decisions = card.decisions or Decisions()
    for block in decisions.sets:
        table.add_row(
            f"decisions: {block.name}",
            _share(block.rate("twin")),
            _share(block.rate("base")),
            _baselines(block),
            _n(block),
        )
    overall = decisions.overall
    if overall is not None and overall.n:
        table.add_row(
            "decision Brier (lower is better)",
            _num(overall.rate("twin", "brier"), 3),
            _num(overall.rate("base", "brier"), 3),
            "",
            _n(overall),
        )
        paired = overall.twin_vs_base
        if paired is not None and paired.p_value is not None:
            verdict = "significant" if paired.significant else "[yellow]not significant[/]"
            table.add_row(
                "decisions: twin vs base (McNemar)",
                f"p = {paired.p_value:.3f}, {verdict}",
                "",
                f"{paired.twin_only} right by twin only, {paired.base_only} by base only",
                _n(overall),
            )
        for method, picks in overall.by_scoring.items():
            configured = " [dim](configured)[/]" if method == overall.scoring else ""
            table.add_row(f"decisions scored by {method}{configured}", _share(picks.twin), _share(picks.base), "", "")
    personality = card.personality
    if personality is not None:
        table.add_row("probe answers read as the person", _share(personality.share_as_person), "", "", _n(personality))
    privacy = card.privacy
    if privacy is not None and (privacy.canaries or privacy.n):
        table.add_row(
            "privacy: training values written back",
            f"{privacy.canaries_emitted} of {privacy.canaries}",
            "",
            "must be 0" + ("" if privacy.enabled else "; trained without pseudonymisation"),
            "",
        )
        table.add_row("privacy: replies with a real value", _share(privacy.real_pii_share), "", "", _n(privacy))
    human = card.human or Human()
    if human.reviews:
        table.add_row("blind review: could not tell", _share(human.share_fooled), "", "", _n(human))
        table.add_row("blind review: mean score (1-10)", _num(human.mean_score, 1), "", "", "")
    else:
        table.add_row("blind review", f"[dim]no reviews yet ({human.pairs or 0} pairs: doppel review)[/]", "", "", "")
    console.print(table)
    speed = card.speed or Speed()
    parts = ", ".join(f"{k} {v:.0f} s" for k, v in speed.parts_seconds.items())
    console.print(
        f"[dim]training {_num(speed.train_seconds, 0)} s at {speed.tokens_per_second} tok/s; evaluation {parts}[/]"
    )
    report = (card.model_extra or {}).get("report")
    if report:
        console.print(f"report: {report}")
