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
            "*" if r["final"] else "",
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
    console.print(
        f"[dim]{decision.twin} {decision.version or 'base'} ({decision.backend}) · "
        f"{(decision.latency_ms or 0) / 1000:.1f} s[/]"
    )


def _share(value) -> str:
    return "—" if value is None else f"{value:.0%}"


def _n(block: dict | None) -> str:
    if not block or block.get("n") is None:
        return ""
    return f"n={block['n']}" + (" [yellow](small sample)[/]" if block.get("small_sample") else "")


def _baselines(block: dict) -> str:
    """What a decision set's accuracy has to beat: chance and the pickers that ignore the situation."""
    shown = [f"chance {_share(block.get('chance'))}"]
    for name in ("longest", "overlap"):
        if isinstance(block.get(name), dict):
            shown.append(f"{name} {_share(block[name].get('accuracy'))}")
    return ", ".join(shown)


def print_scorecard(console: Console, card: dict) -> None:
    """The scorecard as a few tables: twin vs base (vs the real replies where that is the ceiling)."""
    console.print(
        f"[bold]Scorecard of {card['twin']} {card['version']}[/] [dim](seed {card.get('seed')}, "
        f"{card.get('evaluated_at', '')})[/]"
    )
    table = Table(show_lines=False)
    for col in ("", "twin", "base model", "real replies", "rests on"):
        table.add_column(col)
    fit = card.get("fit") or {}
    if fit:
        targets = fit.get("targets", {})

        def target(key):
            t = targets.get(key) or {}
            return f" (< {t['target']:g}: {'met' if t.get('met') else 'not met'})" if t else ""

        table.add_row("train loss", _num(fit.get("train_loss")) + target("train_loss"), "", "", "")
        table.add_row(
            "val loss", _num(fit.get("val_loss")) + target("val_loss"), _num(fit.get("base_val_loss")), "", _n(fit)
        )
        table.add_row(
            "val perplexity",
            _num(fit.get("val_perplexity"), 2) + target("val_perplexity"),
            _num(fit.get("base_val_perplexity"), 2),
            "",
            "",
        )
    style = card.get("style") or {}
    clf = style.get("classifier") or {}
    if "twin" in clf:
        table.add_row(
            "reads as the person",
            _share(clf["twin"]["share_as_person"]),
            _share(clf["base"]["share_as_person"]),
            _share(clf["real"]["share_as_person"]),
            _n(clf["twin"]),
        )
    elif clf.get("skipped"):
        table.add_row("reads as the person", f"[dim]{clf['skipped']}[/]", "", "", "")
    sim = style.get("similarity") or {}
    if sim:
        table.add_row(
            "similarity to real reply",
            _num(sim["twin"].get("mean"), 3),
            _num(sim["base"].get("mean"), 3),
            "1.000",
            _n(sim["twin"]),
        )
    distinct = style.get("distinct") or {}
    if distinct:
        table.add_row(
            "distinct replies",
            _share(distinct.get("twin")),
            _share(distinct.get("base")),
            _share(distinct.get("real")),
            _n(distinct),
        )
    if style.get("relevance") is not None:
        interval = style.get("relevance_interval") or {}
        spread = (
            f"95% {_num(interval.get('low'), 3)} to {_num(interval.get('high'), 3)}"
            + ("" if interval.get("significant") else ", not significant")
            if interval
            else ""
        )
        table.add_row("relevance (twin − base similarity)", _num(style["relevance"], 3), spread, "", "")
    habits = style.get("habits") or {}
    if habits:
        table.add_row(
            "habit distance to real",
            _num(habits["distance"]["twin"], 3),
            _num(habits["distance"]["base"], 3),
            "0.000",
            _n(habits.get("real")),
        )
    for block in (card.get("decisions") or {}).get("sets", []):
        table.add_row(
            f"decisions: {block['name']}",
            _share(block["twin"]["accuracy"]),
            _share(block["base"]["accuracy"]),
            _baselines(block),
            _n(block),
        )
    overall = (card.get("decisions") or {}).get("overall")
    if overall and overall.get("n"):
        table.add_row(
            "decision Brier (lower is better)",
            _num(overall["twin"]["brier"], 3),
            _num(overall["base"]["brier"], 3),
            "",
            _n(overall),
        )
        paired = overall.get("twin_vs_base") or {}
        if paired.get("p_value") is not None:
            verdict = "significant" if paired.get("significant") else "[yellow]not significant[/]"
            table.add_row(
                "decisions: twin vs base (McNemar)",
                f"p = {paired['p_value']:.3f}, {verdict}",
                "",
                f"{paired.get('twin_only')} right by twin only, {paired.get('base_only')} by base only",
                _n(overall),
            )
        for method, picks in (overall.get("by_scoring") or {}).items():
            configured = " [dim](configured)[/]" if method == overall.get("scoring") else ""
            table.add_row(
                f"decisions scored by {method}{configured}",
                _share(picks.get("twin")),
                _share(picks.get("base")),
                "",
                "",
            )
    personality = card.get("personality") or {}
    if personality:
        table.add_row(
            "probe answers read as the person", _share(personality.get("share_as_person")), "", "", _n(personality)
        )
    human = card.get("human") or {}
    if human.get("reviews"):
        table.add_row("blind review: could not tell", _share(human["share_fooled"]), "", "", _n(human))
        table.add_row("blind review: mean score (1-10)", _num(human["mean_score"], 1), "", "", "")
    else:
        table.add_row(
            "blind review", f"[dim]no reviews yet ({human.get('pairs', 0)} pairs: doppel review)[/]", "", "", ""
        )
    console.print(table)
    speed = card.get("speed") or {}
    parts = ", ".join(f"{k} {v:.0f} s" for k, v in (speed.get("parts_seconds") or {}).items())
    console.print(
        f"[dim]training {_num(speed.get('train_seconds'), 0)} s at {speed.get('tokens_per_second')} tok/s; "
        f"evaluation {parts}[/]"
    )
    if card.get("report"):
        console.print(f"report: {card['report']}")
