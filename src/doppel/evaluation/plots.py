"""Small inline SVG charts for the evaluation report.

Hand-written SVG rather than matplotlib: the report is one self-contained HTML
file that must open anywhere without a network, and a few lines and bars do not
justify a heavy plotting dependency. Every piece of text is escaped, because
series names and titles may carry user data.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from html import escape

# Okabe-Ito colours: they stay distinguishable with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
# Dash patterns as a second cue, so lines stay apart in greyscale print as well.
DASHES = ("", "6 3", "2 3", "8 3 2 3")
# Past this many points (one loss per training step) markers smear into a thick line.
MAX_MARKERS = 60
# No font metrics without a browser: legend layout assumes an average 11px glyph width.
_CHAR_W = 6.5


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _text(x: float, y: float, body: str, *, anchor: str = "middle", size: int = 11, extra: str = "") -> str:
    """A label; ``body`` must already be escaped."""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-family="system-ui, sans-serif" '
        f'font-size="{size}" fill="#333"{extra}>{body}</text>'
    )


def _finite(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def nice_ticks(lo: float, hi: float, *, integer: bool = False) -> list[float]:
    """About 4-5 round values (1, 2, 2.5 or 5 × 10^k apart) covering [lo, hi]."""
    lo, hi = min(lo, hi), max(lo, hi)
    if hi == lo:  # a flat series still needs a visible range around it
        pad = 1.0 if integer or lo == 0 else abs(lo) * 0.1
        lo, hi = lo - pad, hi + pad
    mag = 10.0 ** math.floor(math.log10((hi - lo) / 5))
    if integer:
        mag = max(mag, 1.0)
    best: tuple[float, float, int, int] | None = None
    for k in range(3):
        for m in (1, 2, 2.5, 5):
            step = m * mag * 10**k
            if integer and (step < 1 or step != int(step)):
                continue  # steps and version numbers have no fractional ticks
            first, last = math.floor(lo / step + 1e-9), math.ceil(hi / step - 1e-9)
            count = last - first + 1
            score = 0.0 if 4 <= count <= 5 else abs(count - 4.5)
            if best is None or score < best[0]:  # ties keep the finer step
                best = (score, step, first, last)
    assert best is not None
    _, step, first, last = best
    return [round(i * step, 12) for i in range(first, last + 1)]


def _tick_label(v: float, ticks: list[float]) -> str:
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    digits = 0  # as many decimals as the step needs: 0.25 → 2, 0.5 → 1, 5 → 0
    while digits < 10 and abs(step * 10**digits - round(step * 10**digits)) > 1e-6:
        digits += 1
    return f"{0.0 if abs(v) < step / 2 else v:,.{digits}f}"  # never "-0.00"


def _open(title: str, width: int, height: int, aria: str | None = None) -> list[str]:
    return [
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="{_e(aria or title)}" style="max-width:100%;height:auto">',
        f"<title>{_e(title)}</title>",
        _text(width / 2, 18, _e(title), size=13, extra=' font-weight="600"'),
    ]


def _placeholder(title: str, width: int, height: int) -> str:
    parts = _open(title, width, height, aria=f"{title}: no data")
    parts.append(f'<rect x="8" y="28" width="{width - 16}" height="{height - 36}" fill="#f6f6f6" stroke="#ccc"/>')
    parts.append(_text(width / 2, height / 2 + 10, "no data", size=14))
    return "".join(parts) + "</svg>"


def _axes(
    xt: list[float] | None,
    yt: list[float],
    sx: Callable[[float], float],
    sy: Callable[[float], float],
    box: tuple[float, float, float, float],
    x_label: str,
    y_label: str,
) -> list[str]:
    """Axis lines, y gridlines with labels, and x ticks when the x axis is numeric (None: categories)."""
    left, top, pw, ph = box
    parts = [f'<path d="M{left},{top} V{top + ph} H{left + pw}" fill="none" stroke="#555"/>']
    for v in yt:
        parts.append(f'<line x1="{left}" y1="{sy(v):.1f}" x2="{left + pw}" y2="{sy(v):.1f}" stroke="#e4e4e4"/>')
        parts.append(_text(left - 6, sy(v) + 4, _tick_label(v, yt), anchor="end"))
    for v in xt or []:
        parts.append(f'<line x1="{sx(v):.1f}" y1="{top + ph}" x2="{sx(v):.1f}" y2="{top + ph + 4}" stroke="#555"/>')
        parts.append(_text(sx(v), top + ph + 16, _tick_label(v, xt or [])))
    if xt is not None:
        parts.append(_text(left + pw / 2, top + ph + 32, _e(x_label)))
    parts.append(_text(0, 0, _e(y_label), extra=f' transform="translate(14 {top + ph / 2:.0f}) rotate(-90)"'))
    return parts


def line_chart(
    series: dict[str, list[tuple[float, float]]],
    *,
    title: str,
    x_label: str,
    y_label: str,
    width: int = 640,
    height: int = 280,
) -> str:
    """One line per series over shared axes; points with a None or non-finite coordinate are skipped."""
    clean: dict[str, list[tuple[float, float]]] = {}
    for name, points in series.items():
        kept = [(float(p[0]), float(p[1])) for p in points or [] if p is not None and _finite(p[0]) and _finite(p[1])]
        clean[str(name)] = sorted(kept)  # a line drawn out of x order zig-zags
    every = [p for points in clean.values() for p in points]
    if not every:
        return _placeholder(title, width, height)
    xs, ys = [p[0] for p in every], [p[1] for p in every]
    xt = nice_ticks(min(xs), max(xs), integer=all(x == int(x) for x in xs))
    yt = nice_ticks(min(ys), max(ys))
    names = [name if points else f"{name} (no data)" for name, points in clean.items()]

    # Legend rows under the plot, wrapped so long series names never run off the chart.
    left, top, places, lx, row = 58, 30, [], 58.0, 0
    for name in names:
        w = 44 + len(name) * _CHAR_W
        if lx + w > width - 8 and lx > left:
            lx, row = float(left), row + 1
        places.append((lx, row))
        lx += w
    legend_h = (row + 1) * 16
    pw, ph = width - left - 16, height - top - 42 - legend_h

    def sx(x: float) -> float:
        return left + (x - xt[0]) / (xt[-1] - xt[0]) * pw

    def sy(y: float) -> float:
        return top + ph - (y - yt[0]) / (yt[-1] - yt[0]) * ph

    parts = _open(title, width, height)
    parts += _axes(xt, yt, sx, sy, (left, top, pw, ph), x_label, y_label)
    for i, ((name, points), label, (x0, r)) in enumerate(zip(clean.items(), names, places)):
        colour, dash = PALETTE[i % len(PALETTE)], DASHES[i % len(DASHES)]
        stroke = f'stroke="{colour}" stroke-width="2"' + (f' stroke-dasharray="{dash}"' if dash else "")
        y = height - legend_h + 4 + r * 16
        parts.append(f'<line x1="{x0:.0f}" y1="{y}" x2="{x0 + 24:.0f}" y2="{y}" {stroke}/>')
        parts.append(_text(x0 + 30, y + 4, _e(label), anchor="start"))
        if not points:
            continue
        coords = " ".join(f"{sx(x):.1f},{sy(v):.1f}" for x, v in points)
        parts.append(f'<polyline points="{coords}" fill="none" {stroke}><title>{_e(name)}</title></polyline>')
        if len(points) <= MAX_MARKERS:
            parts += [
                f'<circle cx="{sx(x):.1f}" cy="{sy(v):.1f}" r="3" fill="{colour}">'
                f"<title>{_e(name)}: {x:g}, {v:.4g}</title></circle>"
                for x, v in points
            ]
    return "".join(parts) + "</svg>"


def bar_chart(
    values: dict[str, float | None],
    *,
    title: str,
    y_label: str,
    width: int = 640,
    height: int = 280,
    y_max: float | None = None,
    fmt: Callable[[float], str] | None = None,
) -> str:
    """One bar per label with its value above it; a None value leaves the slot empty and says "n/a"."""
    items = [(str(k), float(v) if _finite(v) else None) for k, v in values.items()]
    nums = [v for _, v in items if v is not None]
    if not nums:
        return _placeholder(title, width, height)
    fmt = fmt or (lambda v: f"{v:.2f}")
    lo = min(0.0, *nums)  # bars grow from zero, so zero is always on the axis
    hi = max(nums) if y_max is None else max(y_max, *nums)
    yt = nice_ticks(lo, hi if hi > lo else lo + 1)
    left, top = 58, 30
    pw, ph = width - left - 16, height - top - 30

    def sy(y: float) -> float:
        return top + ph - (y - yt[0]) / (yt[-1] - yt[0]) * ph

    parts = _open(title, width, height)
    parts += _axes(None, yt, float, sy, (left, top, pw, ph), "", y_label)
    slot = pw / len(items)
    bw = min(slot * 0.6, 90)
    for i, (label, v) in enumerate(items):
        cx = left + slot * (i + 0.5)
        parts.append(_text(cx, top + ph + 16, _e(label)))
        if v is None:
            parts.append(_text(cx, top + ph - 6, "n/a"))
            continue
        y0, y1 = sy(0.0), sy(v)
        parts.append(
            f'<rect x="{cx - bw / 2:.1f}" y="{min(y0, y1):.1f}" width="{bw:.1f}" height="{abs(y0 - y1):.1f}" '
            f'fill="{PALETTE[i % len(PALETTE)]}"><title>{_e(label)}: {_e(fmt(v))}</title></rect>'
        )
        parts.append(_text(cx, min(y0, y1) - 4, _e(fmt(v))))
    return "".join(parts) + "</svg>"
