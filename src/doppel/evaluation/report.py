"""One self-contained HTML page from an evaluation scorecard.

The page is meant to be opened from disk, mailed or attached to a ticket, so it
carries everything inline (CSS, SVG charts) and loads nothing: no scripts, no
fonts, no images from elsewhere. Prompts and replies are the person's own words
(user data), so every piece of text goes through ``html.escape``.

Every number says how many examples it rests on, and numbers from a handful of
examples carry a visible "small sample" marker. A section that was not run
(absent or None in the scorecard) reads "not measured" instead of failing the
whole page, since a partial evaluation is still worth looking at. Sections read
the scorecard's typed parts (``doppel.scorecard``); only the training metrics
behind the loss curves are a plain dict.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

from doppel.atomic import atomic_write
from doppel.evaluation.plots import bar_chart, line_chart
from doppel.scorecard import (
    Classifier,
    Counted,
    Decisions,
    DecisionTally,
    Example,
    Fit,
    Habits,
    Human,
    PairedTest,
    Personality,
    Privacy,
    Retrieval,
    RetrievalArm,
    Scorecard,
    Similarity,
    Speed,
    Style,
    Target,
)

NOT_MEASURED = '<p class="missing">not measured</p>'

# The three voices keep one colour throughout: the bar chart's palette order, the example cards.
_CSS = """
:root { color-scheme: light; }
body { margin: 0; background: #f6f6f4; color: #222;
       font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
main { max-width: 62rem; margin: 0 auto; padding: .75rem; }
header h1 { font-size: 1.45rem; margin: .5rem 0; overflow-wrap: anywhere; }
header dl { display: flex; flex-wrap: wrap; gap: .25rem 1.5rem; margin: 0; }
header dt { color: #666; font-size: .8rem; } header dd { margin: 0; font-weight: 600; overflow-wrap: anywhere; }
nav ul { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: .25rem .9rem; font-size: .9rem; }
section { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: .25rem 1rem 1rem; margin: 1rem 0; }
h2 { font-size: 1.2rem; border-bottom: 1px solid #eee; padding-bottom: .25rem; }
h3 { font-size: 1rem; margin: 1rem 0 .4rem; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid #eee; vertical-align: top; }
th { background: #fafafa; font-weight: 600; }
tr.current td, tr.overall td { font-weight: 600; }
.n { color: #666; font-size: .8em; white-space: nowrap; font-weight: normal; }
.small-sample { display: inline-block; margin-left: .3em; padding: 0 .35em; border: 1px solid #d9b44a;
                border-radius: 3px; background: #fff4cc; color: #6b5000; font-size: .75em; white-space: nowrap; }
.missing, .na { color: #888; font-style: italic; }
.ok { color: #0a6b2d; font-weight: 600; } .bad { color: #a12a00; font-weight: 600; }
.note { color: #555; font-size: .85rem; }
figure { margin: .75rem 0; } figcaption { color: #555; font-size: .85rem; }
svg.chart { max-width: 100%; height: auto; display: block; }
.text { white-space: pre-wrap; overflow-wrap: anywhere; margin: 0; }
.examples { display: grid; gap: 1rem; }
.example { border: 1px solid #e2e2e2; border-radius: 6px; padding: .5rem .75rem; }
.replies { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(14rem, 100%), 1fr));
  gap: .5rem; margin-top: .5rem; }
.reply { border: 1px solid #e2e2e2; border-left-width: 4px; border-radius: 4px; padding: .4rem .6rem; }
.reply h4 { margin: 0 0 .25rem; font-size: .8rem; text-transform: uppercase; color: #555; }
.reply.twin { border-left-color: #0072B2; } .reply.base { border-left-color: #D55E00; }
.reply.real { border-left-color: #009E73; }
"""

_SECTIONS = (
    ("fit", "Fit"),
    ("style", "Style match"),
    ("decisions", "Decisions"),
    ("personality", "Personality"),
    ("privacy", "Privacy"),
    ("retrieval", "Retrieval on and off"),
    ("human", "Human review"),
    ("speed", "Speed"),
    ("history", "Across versions"),
    ("examples", "Example replies"),
)


# --- small formatting helpers ------------------------------------------------------------------


def _e(v: object) -> str:
    return escape(str(v), quote=True)


def _num(v: object, digits: int = 2) -> str:
    """A number for a table cell; anything else is escaped as text, None reads "n/a"."""
    if v is None:
        return '<span class="na">n/a</span>'
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float) and math.isfinite(v):
        return f"{v:,.{digits}f}"
    return _e(v)


def _pct(v: object) -> str:
    if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
        return f"{v * 100:.0f}%"
    return _num(v)


def _get(d: object, *keys: str) -> Any:
    """d[k1][k2]... of the training metrics, or None when any level is missing or not a dict."""
    for k in keys:
        if not isinstance(d, dict):
            return None
        d = d.get(k)
    return d


def _sample(n: object, small: object = False, unit: str = "") -> str:
    """How many examples a number rests on, plus the small-sample marker when flagged."""
    out = f'<span class="n">n = {_num(n)}{" " + _e(unit) if unit else ""}</span>' if n is not None else ""
    if small is True:
        out += '<span class="small-sample" title="few examples: this number can move a lot">small sample</span>'
    return out


def _sample_of(block: Counted | None, unit: str = "") -> str:
    return _sample(block.n, block.small_sample, unit) if block is not None else ""


def _table(headers: list[str], rows: list[list[str]], row_classes: list[str] | None = None) -> str:
    """Headers are plain text (escaped here); cells are already HTML."""
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = []
    for i, row in enumerate(rows):
        cls = row_classes[i] if row_classes and row_classes[i] else ""
        attr = f' class="{_e(cls)}"' if cls else ""
        body.append(f"<tr{attr}>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>")
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'


def _figure(svg: str, caption: str = "") -> str:
    return f"<figure>{svg}{f'<figcaption>{caption}</figcaption>' if caption else ''}</figure>"


def _text(v: object) -> str:
    return f'<p class="text">{_e(v)}</p>' if v is not None else '<p class="text na">n/a</p>'


# --- sections ----------------------------------------------------------------------------------


def _header(sc: Scorecard) -> str:
    title = f"Twin report: {_e(sc.twin)}" if sc.twin else "Twin report"
    fields = (("Version", sc.version), ("Evaluated at", sc.evaluated_at), ("Seed", sc.seed), ("doppel", sc.doppel))
    items = "".join(f"<div><dt>{label}</dt><dd>{_num(value)}</dd></div>" for label, value in fields)
    nav = "".join(f'<li><a href="#{sid}">{name}</a></li>' for sid, name in _SECTIONS)
    return f"<header><h1>{title}</h1><dl>{items}</dl><nav><ul>{nav}</ul></nav></header>"


def _met(flag: object) -> str:
    if flag is True:
        return '<span class="ok">met</span>'
    if flag is False:
        return '<span class="bad">not met</span>'
    return '<span class="na">no target</span>'


def _fit(fit: Fit | None, metrics: object) -> str:
    if fit is None:
        out = NOT_MEASURED
    else:
        rows = []
        for key, label, base, digits in (
            ("train_loss", "Train loss", None, 3),
            ("val_loss", "Validation loss", fit.base_val_loss, 3),
            ("val_perplexity", "Validation perplexity", fit.base_val_perplexity, 2),
        ):
            t = fit.targets.get(key) or Target()
            value = getattr(fit, key) if key in fit.model_fields_set else t.value
            shown_base = _num(base, digits) if key != "train_loss" else '<span class="na">—</span>'
            rows.append([_e(label), _num(value, digits), shown_base, _num(t.target, digits), _met(t.met)])
        out = _table(["Metric", "Twin", "Base model", "Seed target", "Target"], rows)
        imp = fit.improvement
        if imp is not None:
            out += (
                f"<p>Improvement over the base model: validation loss lower by {_num(imp.val_loss, 3)}, "
                f"perplexity {_num(imp.perplexity_ratio, 2)}× lower.</p>"
            )
        sample = _sample(fit.val_examples, fit.small_sample, "examples")
        out += f'<p class="note">Validation rests on {sample} ({_num(fit.val_tokens)} tokens).</p>'
    return out + "<h3>Loss curves</h3>" + _loss_curves(metrics)


def _loss_curves(metrics: object) -> str:
    train = _get(metrics, "train_loss_history") or []
    val = [h for h in _get(metrics, "val_history") or [] if isinstance(h, dict)]
    if not train and not val:
        return NOT_MEASURED
    # One train loss per optimizer step, so step i+1 produced entry i; validation records its own step.
    series = {
        "train loss": [(i + 1, v) for i, v in enumerate(train)],
        "validation loss": [(h.get("step"), h.get("loss")) for h in val],
    }
    svg = line_chart(series, title="Loss by optimizer step", x_label="optimizer step", y_label="loss")
    last = val[-1] if val else {}
    caption = f"{len(train):,} training steps; {len(val):,} validation passes"
    if last:
        caption += f", each over {_num(last.get('examples'))} examples ({_num(last.get('tokens'))} tokens)"
    return _figure(svg, caption + ".")


_HABITS: tuple[tuple[str, str, Callable[[object], str]], ...] = (
    ("mean_words", "Mean words", lambda v: _num(v, 1)),
    ("median_words", "Median words", lambda v: _num(v, 1)),
    ("greeting_share", "Opens with a greeting", _pct),
    ("sign_off_share", "Ends with a sign-off", _pct),
    ("contraction_rate", "Contractions per word", lambda v: _num(v, 3)),
    ("exclamation_rate", "Exclamation marks per word", lambda v: _num(v, 3)),
)
_VOICES = ("twin", "base", "real")


def _bigrams(habits: Habits | None) -> str:
    if habits is None or not habits.top_bigrams:
        return '<span class="na">n/a</span>'
    return ", ".join(f'{_e(pair)} <span class="n">×{_num(count)}</span>' for pair, count in habits.top_bigrams)


def _voice_cell(block: Counted | None, value: object, fmt: Callable[[object], str]) -> str:
    if block is None:
        return '<span class="na">n/a</span>'
    return f"{fmt(value)}<br>{_sample_of(block)}"


def _style(style: Style | None) -> str:
    if style is None:
        return NOT_MEASURED
    clf, sim, habits = style.classifier or Classifier(), style.similarity or Similarity(), style.habits
    out = ""
    if style.classifier is not None:
        shares = {v: style.share(v) for v in _VOICES}
        svg = bar_chart(
            shares, title="Replies the style classifier takes for the person", y_label="share", y_max=1, fmt=_pct
        )
        caption = "Real: held-out texts by the person (the ceiling); base: the untuned model (the floor)."
        if clf.masked:
            caption += " Each reply is judged with its prompt's content words blanked, so copying them is no style."
        if clf.trained_on:
            caption += (
                f" Classifier trained on {_num(clf.trained_on.get('person'))} of the person's texts"
                f" and {_num(clf.trained_on.get('others'))} by others"
                + (
                    f", and on {_num(clf.trained_on['base_model'])} replies of the base model as not the person."
                    if clf.trained_on.get("base_model")
                    else "."
                )
            )
        if clf.others is not None:
            caption += (
                f" Texts by other people it never saw taken for the person: {_pct(clf.others.share_as_person)}"
                f" of {clf.others.n} (false alarms)."
            )
        out += _figure(svg, caption)

    voices = {v: getattr(clf, v) for v in _VOICES}
    means = {v: getattr(sim, v, None) for v in _VOICES}
    distinct, distance = style.distinct, habits.distance if habits else None
    rows = [
        [
            "Share taken for the person",
            *(_voice_cell(b, b.share_as_person if b else None, _pct) for b in voices.values()),
        ],
        [
            "Mean probability of the person",
            *(_voice_cell(b, b.mean_prob_person if b else None, _num) for b in voices.values()),
        ],
        [
            "MiniLM similarity to the real replies",
            *(_voice_cell(b, b.mean if b else None, _num) for b in means.values()),
        ],
        [
            "Distinct replies (no other reply the same)",
            *(_pct(getattr(distinct, v) if distinct else None) for v in _VOICES),
        ],
        ["Habit distance to the real replies", *(_num(getattr(distance, v, None)) for v in _VOICES)],
    ]
    out += _table(["", "Twin", "Base", "Real"], [[_e(r[0]), *r[1:]] for r in rows])
    interval = style.relevance_interval
    spread = ""
    if interval is not None:
        verdict = "" if interval.significant else ", not significant"
        spread = f" (95% interval {_num(interval.low)} to {_num(interval.high)}{verdict})"
    out += (
        f'<p class="note">Relevance (twin similarity minus base similarity): <strong>{_num(style.relevance)}'
        f"</strong>{_e(spread)}. Higher share, probability and similarity are closer to the person; lower "
        "distance is. A twin whose replies are few and repeated can read as the person without answering "
        "anything: read the share with the distinct replies and the relevance.</p>"
    )
    out += "<h3>Writing habits</h3>"
    profiles = {v: getattr(habits, v) if habits else None for v in ("real", "twin", "base")}
    if any(p is not None for p in profiles.values()):
        hrows = [
            [_e(label), *(fmt(getattr(p, key) if p else None) for p in profiles.values())]
            for key, label, fmt in _HABITS
        ]
        hrows.append(["Top word pairs", *(_bigrams(p) for p in profiles.values())])
        hrows.append(["Texts", *(_sample_of(p) or '<span class="na">n/a</span>' for p in profiles.values())])
        out += _table(["Habit", "Real", "Twin", "Base"], hrows)
    else:
        out += NOT_MEASURED
    return out


def _by_scoring(overall: DecisionTally | None) -> str:
    """What every scoring method would have scored (twin / base), so the configured one can be judged."""
    if overall is None or not overall.by_scoring:
        return ""
    parts = [f"{_e(m)} {_pct(v.twin)} / {_pct(v.base)}" for m, v in overall.by_scoring.items()]
    return " Overall accuracy under each scoring (twin / base): " + ", ".join(parts) + "."


def _decisions(dec: Decisions | None) -> str:
    sets = dec.sets if dec else []
    overall = dec.overall if dec else None
    if not sets and overall is None:
        return NOT_MEASURED
    rows, classes = [], []
    tallies: list[tuple[DecisionTally, str]] = [(s, "") for s in sets] + ([(overall, "overall")] if overall else [])
    for s, cls in tallies:
        if cls:
            name = "Overall"
        else:
            name = _e(s.name or "unnamed set")
            if s.source:
                name += f'<br><span class="n">{_e(s.source)}</span>'
        rows.append(
            [
                name,
                _sample_of(s, "questions"),
                _pct(s.rate("twin")),
                _pct(s.rate("base")),
                _pct(s.chance),
                _pct(s.rate("longest")),
                _pct(s.rate("overlap")),
                _paired(s.twin_vs_base),
                _num(s.rate("twin", "brier"), 3),
                _num(s.rate("base", "brier"), 3),
            ]
        )
        classes.append(cls)
    headers = [
        "Set",
        "Questions",
        "Twin accuracy",
        "Base accuracy",
        "Chance",
        "Longest option",
        "Word overlap",
        "Twin vs base",
        "Twin Brier",
        "Base Brier",
    ]
    scoring = dec.scoring if dec else None
    note = (
        '<p class="note">Accuracy: share of choices the person made. Chance, longest option and word overlap '
        "(the option whose words the person writes most often in training texts) ignore the situation: a twin "
        "that does not beat them has not learned to decide. Twin vs base: McNemar's exact test on the questions "
        "only one of them got right (significant below p = 0.05). Brier score: lower is better."
        + (f" Options scored by {_e(scoring)}." if scoring else "")
        + _by_scoring(overall)
        + "</p>"
    )
    return _table(headers, rows, classes) + note


def _paired(test: PairedTest | None) -> str:
    if test is None or test.p_value is None:
        return _num(None)
    verdict = "significant" if test.significant else "not significant"
    counts = f"{_num(test.twin_only)} twin-only, {_num(test.base_only)} base-only right"
    return f'p = {test.p_value:.3f}, {verdict}<br><span class="n">{counts}</span>'


def _personality(p: Personality | None) -> str:
    if p is None:
        return NOT_MEASURED
    out = (
        f"<p>Answers the style classifier takes for the person: <strong>{_pct(p.share_as_person)}</strong>"
        f" (mean probability {_num(p.mean_prob_person)}) {_sample_of(p, 'probes')}</p>"
    )
    if p.answers:
        rows = [[_text(a.probe), _text(a.reply), _num(a.prob_person)] for a in p.answers]
        out += _table(["Probe", "Twin's answer", "Probability of the person"], rows)
    return out


def _privacy(p: Privacy | None) -> str:
    if p is None:
        return NOT_MEASURED
    trained = {True: "pseudonymised", False: "<strong>not</strong> pseudonymised", None: "unknown"}[p.enabled]
    out = f"<p>Training data: {trained}.</p>"
    if p.canaries:
        kinds = ", ".join(f"{_e(k)} {_num(n)}" for k, n in p.emitted_kinds.items())
        out += (
            f"<p>Extraction test: of {_num(p.canaries)} real values from the training split, prompted with the text "
            f"before each, the twin wrote <strong>{_num(p.canaries_emitted)}</strong> back"
            + (f" ({kinds})" if kinds else "")
            + " (must be 0).</p>"
        )
    else:
        out += "<p>Extraction test: no values to test in the training split.</p>"
    if p.n:
        kinds = ", ".join(f"{_e(k)} {_num(n)}" for k, n in p.pii_kinds.items()) or "none"
        out += (
            f"<p>Of {_num(p.n)} sampled replies, <strong>{_pct(p.real_pii_share)}</strong> hold a real value from the "
            f"records; what looks like PII, fakes included, by kind: {kinds}.</p>"
        )
    return out


def _retrieval(r: Retrieval | None) -> str:
    if r is None:
        return NOT_MEASURED
    if r.skipped:
        return f'<p class="missing">{_e(r.skipped)}</p>'
    on, off = r.on or RetrievalArm(), r.off or RetrievalArm()

    def paired(test) -> str:
        if test is None or test.p_value is None:
            return ""
        verdict = "significant" if test.significant else "not significant"
        counts = f"right only with it {_num(test.twin_only)}, only without {_num(test.base_only)}"
        return f"{counts}; p = {_num(test.p_value, 3)}, {verdict}"

    gain = r.similarity_gain
    rows = [
        ["Read as the person (held-out prompts)", _pct(on.share_as_person), _pct(off.share_as_person), ""],
        [
            "MiniLM similarity to the real reply",
            _num(on.similarity, 3),
            _num(off.similarity, 3),
            f"on − off 95% [{_num(gain.low, 3)}, {_num(gain.high, 3)}]" if gain else "",
        ],
        [
            f"Decisions ({_num(r.decisions)} scenarios)",
            _pct(on.decision_accuracy),
            _pct(off.decision_accuracy),
            paired(r.decisions_paired),
        ],
        [
            f"Fact test ({_num(r.facts)} questions on held-out records: {_fact_kinds(r)})",
            _pct(on.fact_accuracy),
            _pct(off.fact_accuracy),
            paired(r.facts_paired),
        ],
    ]
    indexed = ", ".join(f"{_e(k)} {_num(v)}" for k, v in r.indexed.items())
    return _table(["", "Retrieval on", "Off", "Paired"], rows) + (
        f'<p class="note">k = {_num(r.k)}; {_num(r.mean_sources, 1)} records per prompt on average; retrieval '
        f"{_num(r.retrieval_ms, 1)} ms per question (median). Only training-split rows are searched ({indexed} "
        f"indexed), never the question's own record. Rests on {_num(r.n)} held-out prompts.</p>"
    )


def _fact_kinds(r: Retrieval) -> str:
    names = {"stage": "deal stage", "amount": "deal amount", "counterpart": "who an email went to", "tag": "note tags"}
    return ", ".join(f"{names.get(k, _e(k))} {_num(n)}" for k, n in r.fact_kinds.items()) or "none"


def _human(h: Human | None) -> str:
    if h is None:
        return NOT_MEASURED
    if not h.reviews:
        waiting = f" {_num(h.pairs)} pairs are ready for review." if h.pairs else ""
        return f'<p class="missing">No reviews yet.{waiting}</p>'
    rows = [
        ["Reviews", _num(h.reviews)],
        ["Pairs reviewed", f"{_num(h.reviewed_pairs)} of {_num(h.pairs)}"],
        ["Reviewers", _num(h.reviewers)],
        ["Share fooled (took the twin for the person)", _pct(h.share_fooled)],
        ["Mean score", _num(h.mean_score, 1)],
    ]
    return _table(["", "Value"], rows) + f'<p class="note">Rests on {_sample_of(h, "reviews")}</p>'


def _speed(s: Speed | None) -> str:
    if s is None:
        return NOT_MEASURED
    rows = [
        ["Training time (seconds)", _num(s.train_seconds, 1)],
        ["Training throughput (tokens/s)", _num(s.tokens_per_second, 1)],
        ["Generation throughput (tokens/s)", _num(s.generation_tokens_per_second, 1)],
    ]
    rows += [[f"Evaluation: {_e(k)} (seconds)", _num(v, 1)] for k, v in s.parts_seconds.items()]
    if s.total_seconds is not None:
        rows.append(["Evaluation: total (seconds)", _num(s.total_seconds, 1)])
    return _table(["", "Value"], rows)


def _history(history: list[Scorecard], current: str | None) -> str:
    if not history:
        return '<p class="missing">not measured: no version history given</p>'
    rows, classes, loss, share = [], [], [], []
    for i, h in enumerate(history, start=1):
        numbers = h.headline()
        vl, sh = numbers["fit.val_loss"], numbers["style.twin_share"]
        loss.append((i, vl))
        share.append((i, sh))
        rows.append(
            [
                str(i),
                _num(h.version),
                _num(vl, 3),
                _num(numbers["fit.val_perplexity"]),
                _pct(sh),
                _num(numbers["style.twin_similarity"]),
                _pct(numbers["decisions.accuracy"]),
                _num(numbers["human.mean_score"], 1),
            ]
        )
        classes.append("current" if current is not None and h.version == current else "")
    headers = [
        "#",
        "Version",
        "Val loss",
        "Perplexity",
        "Style share",
        "Similarity",
        "Decision accuracy",
        "Human score",
    ]
    svg = line_chart(
        {"validation loss": loss, "style share (twin)": share},
        title="Validation loss and style share by version",
        x_label="version # (see table)",
        y_label="value",
    )
    return _table(headers, rows, classes) + _figure(svg, "Oldest version first; the current one is in bold.")


def _examples(examples: list[Example] | None) -> str:
    if not examples:
        return NOT_MEASURED
    cards = []
    for x in examples:
        replies = "".join(
            f'<div class="reply {v}"><h4>{v}</h4>{_text(getattr(x, v))}</div>' for v in ("real", "twin", "base")
        )
        cards.append(
            f'<article class="example"><h3>Prompt</h3>{_text(x.prompt)}<div class="replies">{replies}</div></article>'
        )
    count = f"{len(examples):,} held-out prompt{'s' if len(examples) != 1 else ''}"
    return f'<p class="note">{count}.</p><div class="examples">{"".join(cards)}</div>'


# --- public ------------------------------------------------------------------------------------


def render_report(
    scorecard: Scorecard | Mapping[str, Any],
    *,
    history: Sequence[Scorecard | Mapping[str, Any]] | None = None,
    metrics: dict | None = None,
) -> str:
    """The whole report as one HTML page (inline CSS and SVG, nothing loaded from elsewhere).

    ``history`` is every scorecard to compare, oldest first, one table row each; include the
    current scorecard in it to see it alongside the others (its row is shown in bold).
    ``metrics`` is the training run's metrics, for the loss curves.
    """
    sc = Scorecard.of(scorecard)
    bodies = {
        "fit": _fit(sc.fit, metrics),
        "style": _style(sc.style),
        "decisions": _decisions(sc.decisions),
        "personality": _personality(sc.personality),
        "privacy": _privacy(sc.privacy),
        "retrieval": _retrieval(sc.retrieval),
        "human": _human(sc.human),
        "speed": _speed(sc.speed),
        "history": _history([Scorecard.of(h) for h in history or []], sc.version),
        "examples": _examples(sc.examples),
    }
    sections = "".join(f'<section id="{sid}"><h2>{title}</h2>{bodies[sid]}</section>' for sid, title in _SECTIONS)
    page_title = " ".join(_e(x) for x in ("doppel report", sc.twin, sc.version) if x)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{page_title}</title><style>{_CSS}</style></head>"
        f"<body><main>{_header(sc)}{sections}</main></body></html>\n"
    )


def write_report(path: str | os.PathLike[str], html: str) -> Path:
    """Write the page atomically: a reader sees the old report or the new one, never half of one."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write(target, html, mode=0o644)  # a report is meant to be shared
