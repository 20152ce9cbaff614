import copy
import re
from html.parser import HTMLParser

import pytest

from doppel.evaluation.plots import bar_chart, line_chart, nice_ticks
from doppel.evaluation.report import render_report, write_report

EVIL = "<script>alert(1)</script>"
SECTIONS = ("fit", "style", "decisions", "personality", "privacy", "retrieval", "human", "speed", "history", "examples")
VOID = {"meta", "br", "hr", "img", "input", "link", "area", "base", "col", "embed", "source", "track", "wbr"}


def _habits(mean_words: float, small: bool) -> dict:
    return {
        "mean_words": mean_words,
        "median_words": 35.0,
        "greeting_share": 0.8,
        "sign_off_share": 0.7,
        "contraction_rate": 0.03,
        "exclamation_rate": 0.001,
        "top_bigrams": [["let s", 12], ["talk soon", 4]],
        "n": 24,
        "small_sample": small,
    }


def _scorecard(small: bool = False, version: str = "v1.0", val_loss: float = 2.4) -> dict:
    """A complete scorecard; every small_sample flag follows `small`."""
    voice = {"share_as_person": 0.7, "mean_prob_person": 0.64, "threshold": 0.5, "n": 24, "small_sample": small}
    return {
        "twin": "allan-maverick",
        "version": version,
        "evaluated_at": "2026-11-26T03:00:00+00:00",
        "seed": 0,
        "doppel": "0.1.0",
        "fit": {
            "train_loss": 2.1,
            "val_loss": val_loss,
            "val_perplexity": 11.0,
            "base_val_loss": 3.3,
            "base_val_perplexity": 27.1,
            "val_examples": 48,
            "val_tokens": 5000,
            "small_sample": small,
            "improvement": {"val_loss": 0.9, "perplexity_ratio": 2.46},
            "targets": {
                "train_loss": {"value": 2.1, "target": 0.5, "met": False},
                "val_loss": {"value": val_loss, "target": 2.5, "met": True},
                "val_perplexity": {"value": 11.0, "target": 10, "met": False},
            },
        },
        "style": {
            "classifier": {
                "twin": dict(voice),
                "base": {**voice, "share_as_person": 0.2},
                "real": {**voice, "share_as_person": 0.9},
                "trained_on": {"person": 300, "others": 250},
            },
            "similarity": {
                "twin": {"mean": 0.55, "n": 24, "small_sample": small},
                "base": {"mean": 0.31, "n": 24, "small_sample": small},
            },
            "habits": {
                "real": _habits(40.2, small),
                "twin": _habits(38.0, small),
                "base": _habits(90.5, small),
                "distance": {"twin": 0.2, "base": 0.6},
            },
        },
        "decisions": {
            "sets": [
                {
                    "name": "scenarios",
                    "source": "demo/scenarios.yaml",
                    "n": 30,
                    "small_sample": small,
                    "chance": 0.36,
                    "twin": {"accuracy": 0.7, "brier": 0.4},
                    "base": {"accuracy": 0.35, "brier": 0.7},
                }
            ],
            "overall": {
                "n": 35,
                "small_sample": small,
                "chance": 0.4,
                "twin": {"accuracy": 0.68, "brier": 0.41},
                "base": {"accuracy": 0.37, "brier": 0.69},
                "longest": {"accuracy": 0.3},
                "overlap": {"accuracy": 0.41},
                "twin_vs_base": {"twin_only": 12, "base_only": 1, "p_value": 0.0034, "significant": True},
                "by_scoring": {
                    "pmi": {"twin": 0.68, "base": 0.37},
                    "pmi_self": {"twin": 0.31, "base": 0.37},
                    "mean": {"twin": 0.52, "base": 0.3},
                },
                "scoring": "pmi",
            },
            "scoring": "pmi",
        },
        "personality": {
            "n": 8,
            "small_sample": small,
            "share_as_person": 0.6,
            "mean_prob_person": 0.55,
            "answers": [{"probe": "What do you do on a Sunday?", "reply": "Golf, mostly.", "prob_person": 0.7}],
        },
        "privacy": {
            "enabled": True,
            "n": 100,
            "small_sample": small,
            "canaries": 12,
            "canaries_emitted": 0,
            "emitted_kinds": {},
            "pii_kinds": {"email": 2, "name": 14},
            "real_pii_replies": 1,
            "real_pii_share": 0.01,
        },
        "retrieval": {
            "n": 16,
            "small_sample": small,
            "k": 4,
            "indexed": {"train": 480, "val": 52},
            "on": {"share_as_person": 0.81, "similarity": 0.412, "decision_accuracy": 0.44, "fact_accuracy": 0.3},
            "off": {"share_as_person": 0.75, "similarity": 0.371, "decision_accuracy": 0.39, "fact_accuracy": 0.05},
            "similarity_gain": {"low": 0.012, "high": 0.07, "significant": True, "n": 16},
            "decisions": 36,
            "decisions_paired": {"twin_only": 4, "base_only": 2, "p_value": 0.6875, "significant": False},
            "facts": 40,
            "fact_kinds": {"stage": 15, "amount": 15, "counterpart": 10},
            "facts_paired": {"twin_only": 10, "base_only": 0, "p_value": 0.002, "significant": True},
            "mean_sources": 3.6,
            "retrieval_ms": 14.2,
        },
        "human": {
            "reviews": 3,
            "pairs": 24,
            "reviewed_pairs": 3,
            "reviewers": 1,
            "share_fooled": 0.33,
            "mean_score": 6.0,
            "n": 3,
            "small_sample": small,
        },
        "speed": {
            "train_seconds": 360.0,
            "tokens_per_second": 83.0,
            "generation_tokens_per_second": 120.0,
            "parts_seconds": {"fit": 3.1, "style": 40.2, "decisions": 12.0, "personality": 8.0},
            "total_seconds": 63.3,
        },
        "examples": [
            {"prompt": "Can we move Thursday?", "real": "Sure, 3pm works.", "twin": "Yes - 3?", "base": "Certainly."}
        ],
    }


METRICS = {
    "train_loss_history": [3.2, 3.0, 2.8, 2.7, 2.5, 2.4, 2.3, 2.2],
    "val_history": [
        {"epoch": 1, "step": 4, "loss": 2.9, "perplexity": 18.2, "tokens": 5000, "examples": 48},
        {"epoch": 2, "step": 8, "loss": 2.4, "perplexity": 11.0, "tokens": 5000, "examples": 48},
    ],
}


class _Page(HTMLParser):
    """Records tags, attributes, nesting problems and the text inside each <section id=...>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.starts: list[tuple[str, dict]] = []
        self.section_text: dict[str, list[str]] = {}
        self.section_html_starts: dict[str, list[tuple[str, dict]]] = {}
        self._section: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.starts.append((tag, a))
        if tag == "section":
            self._section = a.get("id")
            self.section_text[self._section] = []
            self.section_html_starts[self._section] = []
        if self._section:
            self.section_html_starts[self._section].append((tag, a))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.starts.append((tag, dict(attrs)))
        if self._section:
            self.section_html_starts[self._section].append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            return
        self.stack.pop()
        if tag == "section":
            self._section = None

    def handle_data(self, data):
        if self._section:
            self.section_text[self._section].append(data)

    def text(self, section: str) -> str:
        return " ".join(" ".join(self.section_text[section]).split())

    def tags(self, section: str, name: str) -> list[dict]:
        return [a for t, a in self.section_html_starts[section] if t == name]


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    page.close()
    return page


def _history() -> list[dict]:
    return [
        _scorecard(version="v0.9", val_loss=2.9),
        _scorecard(version="v0.95", val_loss=2.6),
        _scorecard(version="v1.0", val_loss=2.4),
    ]


def test_full_report_is_well_formed_and_has_every_section():
    html = render_report(_scorecard(), history=_history(), metrics=METRICS)
    page = _parse(html)
    assert page.errors == []
    assert page.stack == []
    names = [t for t, _ in page.starts]
    for tag in ("html", "head", "body", "main", "style"):
        assert names.count(tag) == 1, tag
    head = names[: names.index("body")]
    assert head.count("title") == 1  # the others are SVG <title>s for screen readers
    assert [a.get("id") for t, a in page.starts if t == "section"] == list(SECTIONS)
    viewport = [a for t, a in page.starts if t == "meta" and a.get("name") == "viewport"]
    assert viewport and "width=device-width" in viewport[0]["content"]
    for sid in SECTIONS:
        assert "not measured" not in page.text(sid), sid
    assert "allan-maverick" in html and "2026-11-26T03:00:00+00:00" in html


def test_no_scripts_and_no_external_references():
    sc = _scorecard()
    sc["examples"][0]["twin"] = 'see https://evil.example/x.js and <img src="http://evil.example/p.png">'
    html = render_report(sc, history=_history(), metrics=METRICS)
    page = _parse(html)
    assert "<script" not in html.lower()
    assert not [t for t, _ in page.starts if t in ("script", "img", "link", "iframe", "object", "embed")]
    for tag, attrs in page.starts:
        for name in ("src", "href", "xlink:href", "action", "srcset"):
            value = (attrs.get(name) or "").strip().lower()
            assert not re.match(r"^(https?:)?//", value), (tag, name, value)
    assert "@import" not in html and "url(" not in html


def test_user_text_is_escaped_everywhere():
    sc = _scorecard()
    sc["twin"] = 'x" onload="alert(2)'
    sc["examples"][0].update(prompt=EVIL, real=EVIL, twin=EVIL, base=EVIL)
    sc["personality"]["answers"][0].update(probe=EVIL, reply=EVIL)
    sc["decisions"]["sets"][0]["name"] = EVIL
    sc["style"]["habits"]["twin"]["top_bigrams"] = [[EVIL, 3]]
    history = _history()
    history[0]["version"] = EVIL
    html = render_report(sc, history=history, metrics=METRICS)
    assert EVIL not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    page = _parse(html)
    assert page.errors == []
    assert not any("onload" in attrs for _, attrs in page.starts)
    # The parsed text still shows the reply the way it was written.
    assert EVIL in page.text("examples")


def test_small_sample_marker_only_when_flagged():
    marker = 'class="small-sample"'
    quiet = render_report(_scorecard(small=False), metrics=METRICS)
    assert marker not in quiet
    assert "small sample" not in quiet

    one = _scorecard(small=False)
    one["personality"]["small_sample"] = True
    page = _parse(render_report(one, metrics=METRICS))
    flagged = [s for s in SECTIONS if "small sample" in page.text(s)]
    assert flagged == ["personality"]

    loud = render_report(_scorecard(small=True), metrics=METRICS)
    page = _parse(loud)
    for sid in ("fit", "style", "decisions", "personality", "human"):
        assert "small sample" in page.text(sid), sid


def test_decisions_stand_beside_the_trivial_pickers_and_every_scoring():
    text = _parse(render_report(_scorecard(), metrics=METRICS)).text("decisions")
    assert "30%" in text and "41%" in text  # longest option, word overlap
    assert "Options scored by pmi" in text
    assert "pmi_self 31% / 37%" in text and "mean 52% / 30%" in text


def test_privacy_says_what_was_tested_and_what_came_back():
    text = _parse(render_report(_scorecard(), metrics=METRICS)).text("privacy")
    assert "pseudonymised" in text and "of 12 real values" in text and "wrote 0 back" in text
    assert "Of 100 sampled replies, 1% hold a real value" in text and "name 14" in text
    off = _scorecard()
    off["privacy"].update(enabled=False, canaries_emitted=3, emitted_kinds={"phone": 3})
    text = _parse(render_report(off, metrics=METRICS)).text("privacy")
    assert "not pseudonymised" in text and "wrote 3 back (phone 3)" in text


def test_numbers_say_what_they_rest_on():
    page = _parse(render_report(_scorecard(), metrics=METRICS))
    assert "n = 48 examples" in page.text("fit")
    assert "n = 24" in page.text("style")
    assert "n = 30 questions" in page.text("decisions") and "n = 35 questions" in page.text("decisions")
    assert "n = 8 probes" in page.text("personality")
    assert "n = 3 reviews" in page.text("human")
    assert "40.2" in page.text("speed") and "63.3" in page.text("speed")


@pytest.mark.parametrize("how", ["absent", "none"])
def test_missing_sections_render_not_measured(how):
    sc = {"twin": "allan-maverick", "version": "v1.0"}
    if how == "none":
        parts = ("fit", "style", "decisions", "personality", "privacy", "human", "speed", "examples")
        sc.update({k: None for k in parts})
    page = _parse(render_report(sc))
    assert page.errors == []
    for sid in SECTIONS:
        assert "not measured" in page.text(sid), sid
    assert not page.tags("fit", "svg")  # no metrics, no loss curves


def test_partial_sections_do_not_crash():
    sc = _scorecard()
    sc["style"] = {"classifier": {"twin": {"share_as_person": 0.5}}}
    sc["fit"] = {"val_loss": 2.0}
    sc["human"] = {"reviews": 0, "pairs": 24}
    sc["decisions"] = {"sets": [{"name": "scenarios"}]}
    page = _parse(render_report(sc, metrics={"train_loss_history": [], "val_history": []}))
    assert page.errors == []
    assert "No reviews yet" in page.text("human")
    assert "n/a" in page.text("style") and "50%" in page.text("style")
    assert "2.000" in page.text("fit") and "not measured" in page.text("fit")  # loss curves missing
    assert "scenarios" in page.text("decisions")


def test_history_table_has_one_row_per_entry():
    history = _history()
    html = render_report(_scorecard(), history=history, metrics=METRICS)
    page = _parse(html)
    rows = re.findall(r"<tr[ >]", re.search(r'<section id="history">.*?<tbody>(.*?)</tbody>', html, re.S).group(1))
    assert len(rows) == len(history)
    assert [a.get("class") for a in page.tags("history", "tr")].count("current") == 1
    svgs = page.tags("history", "svg")
    assert len(svgs) == 1 and len(page.tags("history", "polyline")) == 2
    for version in ("v0.9", "v0.95", "v1.0"):
        assert version in page.text("history")

    single = _parse(render_report(_scorecard(), history=[_scorecard()]))
    assert "not measured" not in single.text("history")


def test_loss_curves_have_one_polyline_per_series():
    page = _parse(render_report(_scorecard(), metrics=METRICS))
    assert len(page.tags("fit", "svg")) == 1
    assert len(page.tags("fit", "polyline")) == 2
    # Markers: one per train step plus one per validation pass.
    assert len(page.tags("fit", "circle")) == len(METRICS["train_loss_history"]) + len(METRICS["val_history"])
    assert "8 training steps" in page.text("fit")


def _svg(svg: str) -> _Page:
    page = _Page()
    page.feed(svg)
    page.close()
    return page


def _numbers(svg: str) -> list[float]:
    coords = re.findall(r'(?:x|y|cx|cy|x1|x2|y1|y2|width|height)="(-?[\d.]+)"', svg)
    coords += re.findall(r"(-?[\d.]+),(-?[\d.]+)", svg)
    return [float(c) for group in coords for c in (group if isinstance(group, tuple) else (group,))]


def test_line_chart_empty_series_gives_placeholder():
    for series in ({}, {"train": []}, {"train": [None, (1, None), (None, 2.0), (2, float("nan"))]}):
        svg = line_chart(series, title="Loss", x_label="step", y_label="loss")
        page = _svg(svg)
        assert page.errors == [] and svg.startswith("<svg")
        assert "no data" in svg and "polyline" not in svg
        assert [a.get("role") for t, a in page.starts if t == "svg"] == ["img"]


@pytest.mark.parametrize(
    "points",
    [[(1, 2.5)], [(1, 2.0), (2, 2.0), (3, 2.0)], [(0, 0.0), (5, 0.0)], [(3, 7.0), (3, 7.0)]],
    ids=["single", "flat", "flat-zero", "same-point"],
)
def test_line_chart_degenerate_series_have_finite_geometry(points):
    svg = line_chart({"a": points}, title="T", x_label="x", y_label="y")
    assert "nan" not in svg.lower() and "inf" not in svg.lower()
    page = _svg(svg)
    assert page.errors == []
    assert [t for t, _ in page.starts].count("polyline") == 1
    assert [t for t, _ in page.starts].count("circle") == len(points)
    for v in _numbers(svg):
        assert -1 <= v <= 640, v  # everything inside the drawing area


def test_line_chart_series_skips_none_and_escapes():
    svg = line_chart(
        {"<b>train</b>": [(1, 3.0), (2, None), None, (3, 2.0)], "val": [(2, 2.5)], "gone": []},
        title="A & B",
        x_label="<x>",
        y_label="y",
    )
    page = _svg(svg)
    assert page.errors == []
    tags = [t for t, _ in page.starts]
    assert tags.count("polyline") == 2 and tags.count("circle") == 3
    assert "<b>" not in svg and "&lt;b&gt;train&lt;/b&gt;" in svg and "A &amp; B" in svg
    assert "gone (no data)" in svg
    colours = {a["stroke"] for t, a in page.starts if t == "polyline"}
    assert len(colours) == 2
    assert re.search(r"<title>A &amp; B</title>", svg)


def test_long_series_drop_markers_but_keep_line():
    svg = line_chart({"train": [(i, 1 / (i + 1)) for i in range(500)]}, title="T", x_label="x", y_label="y")
    assert svg.count("<polyline") == 1 and "<circle" not in svg


def test_bar_chart():
    svg = bar_chart(
        {"twin": 0.7, "base": 0.2, "<real>": None}, title="Share", y_label="share", y_max=1, fmt=lambda v: f"{v:.0%}"
    )
    page = _svg(svg)
    assert page.errors == []
    rects = [a for t, a in page.starts if t == "rect"]
    assert len(rects) == 2
    assert float(rects[0]["height"]) > float(rects[1]["height"]) > 0
    assert "70%" in svg and "n/a" in svg and "&lt;real&gt;" in svg
    assert ">1.00<" in svg  # the axis reaches y_max
    assert "no data" in bar_chart({"a": None}, title="T", y_label="y")
    flat = bar_chart({"a": 0.0, "b": 0.0}, title="T", y_label="y")
    assert "nan" not in flat.lower()


@pytest.mark.parametrize(
    "lo,hi",
    [(0, 1), (0.12, 0.88), (2.1, 3.4), (1, 500), (-3, 7), (0.001, 0.0013), (2.5, 2.5), (0, 0), (5000, 5200)],
)
def test_nice_ticks_cover_the_range_with_round_steps(lo, hi):
    ticks = nice_ticks(lo, hi)
    assert 3 <= len(ticks) <= 6
    assert ticks[0] <= lo and ticks[-1] >= hi and ticks[0] < ticks[-1]
    steps = {round(b - a, 12) for a, b in zip(ticks, ticks[1:])}
    assert len(steps) == 1
    mantissa = float(f"{steps.pop():e}".split("e")[0])
    assert mantissa in (1.0, 2.0, 2.5, 5.0)


def test_integer_ticks_have_no_fractions():
    for lo, hi in ((1, 1), (1, 3), (1, 2), (0, 700)):
        assert all(t == int(t) for t in nice_ticks(lo, hi, integer=True))


def test_write_report_is_atomic_and_overwrites(tmp_path):
    target = tmp_path / "reports" / "v1.0.html"
    html = render_report(_scorecard(), metrics=METRICS)
    assert write_report(target, html) == target
    assert target.read_text(encoding="utf-8") == html
    write_report(target, "<p>new</p>")
    assert target.read_text(encoding="utf-8") == "<p>new</p>"
    assert [p.name for p in target.parent.iterdir()] == ["v1.0.html"]  # no temp file left behind


def test_render_does_not_modify_its_inputs():
    sc, history, metrics = _scorecard(), _history(), copy.deepcopy(METRICS)
    before = copy.deepcopy((sc, history, metrics))
    render_report(sc, history=history, metrics=metrics)
    assert (sc, history, metrics) == before


def test_the_retrieval_section_sets_on_beside_off_with_the_paired_tests():
    html = render_report(_scorecard(), history=_history(), metrics=METRICS)
    text = _parse(html).text("retrieval")
    assert "Retrieval on" in text and "Fact test (40 questions" in text and "who an email went to 10" in text
    assert "30%" in text and "5%" in text  # fact accuracy on and off
    assert "p = 0.002, significant" in text and "p = 0.688, not significant" in text
    assert "Only training-split rows are searched" in text


def test_a_skipped_retrieval_part_says_why():
    sc = _scorecard()
    sc["retrieval"] = {"skipped": "no retrieval index for allan-maverick: run `doppel index`"}
    text = _parse(render_report(sc, history=_history(), metrics=METRICS)).text("retrieval")
    assert "doppel index" in text
