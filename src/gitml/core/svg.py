"""Small charts drawn as inline SVG, for report pages that must open anywhere with no script.

The EDA profile and the drift report draw dozens of small charts per page; plain SVG
written here is far cheaper than a chart library per chart, and a page that embeds them
needs no script, no font and no network. Every text that comes from the data is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from markupsafe import Markup, escape

from gitml.core.text import number

_WIDTH, _HEIGHT, _PAD = 360, 140, 24
_BAR = "#4c78a8"
_WARN = "#e45756"
#: The small drift comparison: reference in grey, current in orange.
_SMALL_WIDTH, _SMALL_HEIGHT = 180, 40
_REF, _CUR = "#9aa5b1", "#d9480f"


def histogram(histogram: dict[str, list[float]] | None, title: str, x_label: str = "value") -> Markup:
    """Vertical bars of a histogram with both axes: value ticks below, row-count ticks on the left."""
    if not histogram or not histogram["counts"]:
        return Markup("")
    counts, edges = histogram["counts"], histogram["edges"]
    width, height, left, right, top, bottom = _WIDTH, 170, 46, 10, 10, 34
    top_count = max(counts) or 1
    x = _scale(edges[0], edges[-1], left, width - right)
    y = _scale(0, top_count, height - bottom, top)
    parts = []
    for i, count in enumerate(counts):
        x0, x1 = x(edges[i]), x(edges[i + 1])
        label = f"[{number(edges[i])}, {number(edges[i + 1])}): {count:,} rows"
        parts.append(f'<rect x="{x0:.1f}" y="{y(count):.1f}" width="{max(x1 - x0 - 1, 0.5):.1f}" '
                     f'height="{y(0) - y(count):.1f}" fill="{_BAR}"><title>{escape(label)}</title></rect>')
    parts.append(_axes(width, height, left, right, top, bottom,
                       [(x(v), number(v, 3)) for v in ticks(edges[0], edges[-1]) if edges[0] <= v <= edges[-1]],
                       [(y(v), number(int(v)) if float(v).is_integer() else number(v, 3))
                        for v in ticks(0, top_count, 4)], x_label, "rows"))
    return _svg(title, width, height, "".join(parts))


def _axes(width: int, height: int, left: int, right: int, top: int, bottom: int, x_ticks: list[tuple[float, str]],
          y_ticks: list[tuple[float, str]], x_label: str, y_label: str) -> str:
    """Both axis lines, their tick marks and labels, and the axis titles."""
    base, mid_y = height - bottom, (top + height - bottom) / 2
    parts = [f'<line x1="{left}" y1="{base}" x2="{width - right}" y2="{base}" stroke="#666"/>',
             f'<line x1="{left}" y1="{top}" x2="{left}" y2="{base}" stroke="#666"/>']
    for at, text in x_ticks:
        parts.append(f'<line x1="{at:.1f}" y1="{base}" x2="{at:.1f}" y2="{base + 4}" stroke="#666"/>'
                     f'<text x="{at:.1f}" y="{base + 14}" font-size="9" text-anchor="middle">{escape(text)}</text>')
    for at, text in y_ticks:
        parts.append(f'<line x1="{left - 4}" y1="{at:.1f}" x2="{left}" y2="{at:.1f}" stroke="#666"/>'
                     f'<text x="{left - 6}" y="{at + 3:.1f}" font-size="9" text-anchor="end">{escape(text)}</text>')
    parts.append(f'<text x="{(left + width - right) / 2:.0f}" y="{height - 4}" font-size="10" '
                 f'text-anchor="middle">{escape(x_label)}</text><text x="10" y="{mid_y:.0f}" font-size="10" '
                 f'text-anchor="middle" transform="rotate(-90 10 {mid_y:.0f})">{escape(y_label)}</text>')
    return "".join(parts)


def _shade(value: float | None, signed: bool) -> str:
    """A cell colour: blue for positive, red for negative (signed scales), darker the stronger; grey for none."""
    if value is None:
        return "#eeeeee"
    strength = min(abs(value), 1.0)
    r, g, b = (201, 42, 42) if value < 0 and signed else (31, 119, 180)
    mix = lambda c: round(255 - (255 - c) * strength)  # noqa: E731
    return f"#{mix(r):02x}{mix(g):02x}{mix(b):02x}"


def heatmap(rows: list[str], columns: list[str], values: list[list[float | None]], title: str,
            signed: bool = False, column_labels: bool = True, cell: int = 16) -> Markup:
    """A grid of shaded cells (values in [0, 1], or [-1, 1] when `signed`), each titled with its value."""
    if not rows or not columns:
        return Markup("")
    label_w = 130
    top = 96 if column_labels else 16
    width, height = label_w + cell * len(columns) + 10, top + cell * len(rows) + 6
    parts = []
    for i, name in enumerate(rows):
        text = name if len(name) <= 20 else name[:19] + "…"
        parts.append(f'<text x="{label_w - 4}" y="{top + i * cell + cell * 0.7:.1f}" font-size="10" '
                     f'text-anchor="end">{escape(text)}</text>')
        for j, value in enumerate(values[i]):
            shown = "–" if value is None else f"{value:.3g}"
            parts.append(f'<rect x="{label_w + j * cell}" y="{top + i * cell}" width="{cell - 1}" '
                         f'height="{cell - 1}" fill="{_shade(value, signed)}"><title>{escape(name)} × '
                         f"{escape(columns[j])}: {shown}</title></rect>")
    if column_labels:
        for j, name in enumerate(columns):
            text = name if len(name) <= 20 else name[:19] + "…"
            x, y = label_w + j * cell + cell / 2, top - 4
            parts.append(f'<text x="{x:.1f}" y="{y}" font-size="10" transform="rotate(-55 {x:.1f} {y})">'
                         f"{escape(text)}</text>")
    else:
        parts.append(f'<text x="{label_w}" y="12" font-size="9">{escape(columns[0])}</text>'
                     f'<text x="{width - 10}" y="12" font-size="9" text-anchor="end">{escape(columns[-1])}</text>')
    return _svg(title, width, height, "".join(parts))


def distribution(spec: dict[str, Any] | None, title: str) -> Markup:
    """The drift drill-down: reference (grey bars) against current (orange) shares, with both axes."""
    if not spec:
        return Markup("")
    ref, cur = spec["ref"], spec["cur"]
    width, height, left, right, top, bottom = 520, 200, 46, 10, 10, 48
    top_share = max(max(ref, default=0), max(cur, default=0)) or 1.0
    y = _scale(0, top_share, height - bottom, top)
    slot = (width - left - right) / max(len(ref), 1)
    parts = []
    if spec["kind"] == "numeric":
        x = _scale(spec["low"], spec["high"], left, width - right)
        for i, share in enumerate(ref):
            parts.append(f'<rect x="{left + i * slot:.1f}" y="{y(share):.1f}" width="{max(slot - 1, 0.5):.1f}" '
                         f'height="{y(0) - y(share):.1f}" fill="{_REF}"><title>reference {share:.1%}</title></rect>')
        points = []
        for i, share in enumerate(cur):
            points += [f"{left + i * slot:.1f},{y(share):.1f}", f"{left + (i + 1) * slot:.1f},{y(share):.1f}"]
        parts.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="{_CUR}" stroke-width="2">'
                     f"<title>current</title></polyline>")
        x_ticks = [(x(v), number(v, 3)) for v in ticks(spec["low"], spec["high"]) if spec["low"] <= v <= spec["high"]]
        x_label = "value (1st to 99th percentile; the end bins hold the rest)"
    else:
        half = (slot - 2) / 2
        for i, (label, a, b) in enumerate(zip(spec["labels"], ref, cur, strict=True)):
            for j, (share, colour, side) in enumerate(((a, _REF, "reference"), (b, _CUR, "current"))):
                parts.append(f'<rect x="{left + i * slot + 1 + j * half:.1f}" y="{y(share):.1f}" '
                             f'width="{max(half, 0.5):.1f}" height="{y(0) - y(share):.1f}" fill="{colour}">'
                             f"<title>{escape(label)}: {side} {share:.1%}</title></rect>")
        x_ticks = [(left + (i + 0.5) * slot, label if len(label) <= 10 else label[:9] + "…")
                   for i, label in enumerate(spec["labels"])]
        x_label = "category"
    y_ticks = [(y(v), f"{v:.0%}" if top_share >= 0.05 else f"{v:.1%}") for v in ticks(0, top_share, 4)]
    parts.append(_axes(width, height, left, right, top, bottom, x_ticks, y_ticks, x_label, "share of rows"))
    return _svg(title, width, height, "".join(parts))


def bars(items: list[tuple[str, float]], title: str, limit: float | None = None, signed: bool = False) -> Markup:
    """Horizontal labelled bars; values at or beyond `limit` (absolute) are drawn in the warning colour."""
    if not items:
        return Markup("")
    row, label_w = 18, 160
    height = row * len(items) + 8
    scale = max((abs(v) for _, v in items), default=1.0) or 1.0
    if limit is not None or signed:
        scale = max(scale, 1.0)
    bar_w = _WIDTH + 120 - label_w - 60
    parts = []
    for i, (label, value) in enumerate(items):
        y = 4 + i * row
        w = bar_w * abs(value) / scale
        colour = _WARN if limit is not None and abs(value) >= limit else _BAR
        text = label if len(label) <= 24 else label[:23] + "…"
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 12}" font-size="11" text-anchor="end">{escape(text)}</text>'
            f'<rect x="{label_w}" y="{y + 2}" width="{w:.1f}" height="{row - 5}" fill="{colour}">'
            f"<title>{escape(label)}: {escape(number(value))}</title></rect>"
            f'<text x="{label_w + w + 4:.1f}" y="{y + 12}" font-size="10">{escape(number(value))}</text>'
        )
    return _svg(title, _WIDTH + 120, height, "".join(parts))


def _svg(title: str, width: int, height: int, body: str) -> Markup:
    return Markup(
        f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>{body}</svg>'
    )


def _coord(value: float) -> str:
    return f"{value:.1f}"


def comparison(spec: dict[str, Any] | None) -> Markup:
    """A small SVG comparing reference (grey bars) with current (orange) shares per bin."""
    if not spec:
        return Markup("")
    ref, cur = spec["ref"], spec["cur"]
    top = max(max(ref, default=0), max(cur, default=0)) or 1.0
    slot = _SMALL_WIDTH / max(len(ref), 1)
    parts = []
    if spec["kind"] == "numeric":
        for i, share in enumerate(ref):
            height = share / top * (_SMALL_HEIGHT - 2)
            parts.append(f'<rect x="{_coord(i * slot)}" y="{_coord(_SMALL_HEIGHT - height)}" '
                         f'width="{_coord(slot - 0.5)}" height="{_coord(height)}" fill="{_REF}"/>')
        points = []
        for i, share in enumerate(cur):
            y = _coord(_SMALL_HEIGHT - share / top * (_SMALL_HEIGHT - 2))
            points += [f"{_coord(i * slot)},{y}", f"{_coord((i + 1) * slot)},{y}"]
        parts.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="{_CUR}" stroke-width="1.5"/>')
        title = f"{spec['low']:.4g} to {spec['high']:.4g}; grey: reference, orange: current"
    else:
        for i, (label, a, b) in enumerate(zip(spec["labels"], ref, cur, strict=True)):
            half = (slot - 1) / 2
            for j, (share, colour) in enumerate(((a, _REF), (b, _CUR))):
                height = share / top * (_SMALL_HEIGHT - 2)
                parts.append(
                    f'<rect x="{_coord(i * slot + j * half)}" y="{_coord(_SMALL_HEIGHT - height)}" '
                    f'width="{_coord(half)}" height="{_coord(height)}" fill="{colour}"><title>{escape(label)}: '
                    f'{"reference" if j == 0 else "current"} {share:.1%}</title></rect>'
                )
        title = "categories by share; grey: reference, orange: current"
    return Markup(
        f'<svg class="chart" width="{_SMALL_WIDTH}" height="{_SMALL_HEIGHT}" '
        f'viewBox="0 0 {_SMALL_WIDTH} {_SMALL_HEIGHT}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>{"".join(parts)}</svg>'
    )


def ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About `count` round values spanning [low, high] (1, 2 or 5 times a power of ten apart)."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return []
    if high <= low:
        return [low]
    raw = (high - low) / max(count - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(low / step - 1e-9) * step
    found = []
    value = first
    while value <= high + step * 1e-9:
        found.append(0.0 if abs(value) < step * 1e-9 else value)
        value += step
    return found


def _scale(low: float, high: float, start: float, end: float) -> Callable[[float], float]:
    span = (high - low) or 1.0
    return lambda v: start + (v - low) / span * (end - start)


def series(points: list[tuple[str, float | None]], title: str, y_label: str,
           marks: Sequence[tuple[int, str, str]] = (), width: int = 720, height: int = 220) -> Markup:
    """A metric along a history: a line over `points` (label, value), y ticks, a few x labels, and
    `marks` (index, text, kind) drawn as labelled vertical lines (registered versions, stage moves)."""
    values = [v for _, v in points if v is not None]
    if not values:
        return Markup("")
    left, right, top, bottom = 56, 12, 30, 34
    low, high = min(values), max(values)
    if high == low:
        low, high = low - abs(low) * 0.01 - 1e-9, high + abs(high) * 0.01 + 1e-9
    grid = ticks(low, high)
    low, high = min(low, *grid), max(high, *grid)
    x = _scale(0, max(len(points) - 1, 1), left, width - right)
    y = _scale(low, high, height - bottom, top)
    parts = [f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" y2="{height - bottom}" stroke="#999"/>',
             f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}" stroke="#999"/>']
    for value in grid:
        parts.append(f'<line x1="{left - 4}" y1="{y(value):.1f}" x2="{width - right}" y2="{y(value):.1f}" '
                     f'stroke="#eee"/><text x="{left - 6}" y="{y(value) + 3:.1f}" font-size="10" '
                     f'text-anchor="end">{escape(number(value, 3))}</text>')
    for index in sorted({round(i * (len(points) - 1) / 5) for i in range(6)}):
        parts.append(f'<text x="{x(index):.1f}" y="{height - bottom + 14}" font-size="10" text-anchor="middle">'
                     f"{escape(points[index][0])}</text>")
    parts.append(f'<text x="{(left + width - right) / 2:.0f}" y="{height - 4}" font-size="10" text-anchor="middle">'
                 f"commits of the default branch, oldest to newest</text>"
                 f'<text x="12" y="{(top + height - bottom) / 2:.0f}" font-size="10" text-anchor="middle" '
                 f'transform="rotate(-90 12 {(top + height - bottom) / 2:.0f})">{escape(y_label)}</text>')
    for index, text, kind in marks:
        colour = _WARN if kind == "stage" else "#6b7280"
        dy = 10 if kind == "stage" else 20
        end = x(index) > width * 0.8  # a label near the right edge reads leftwards
        anchor = ' text-anchor="end"' if end else ""
        parts.append(f'<line x1="{x(index):.1f}" y1="{top}" x2="{x(index):.1f}" y2="{height - bottom}" '
                     f'stroke="{colour}" stroke-dasharray="3 3"/><text x="{x(index) + (-2 if end else 2):.1f}" '
                     f'y="{top - dy + 8}" font-size="9" fill="{colour}"{anchor}>'
                     f"{escape(text)}</text>")
    line: list[str] = []
    for index, (_, value) in enumerate(points):
        if value is None:
            if len(line) > 1:
                parts.append(f'<polyline points="{" ".join(line)}" fill="none" stroke="{_BAR}" stroke-width="1.5"/>')
            line = []
        else:
            line.append(f"{x(index):.1f},{y(value):.1f}")
    if len(line) > 1:
        parts.append(f'<polyline points="{" ".join(line)}" fill="none" stroke="{_BAR}" stroke-width="1.5"/>')
    step = max(1, len(points) // 300)
    for index in range(0, len(points), step):
        label, value = points[index]
        if value is not None:
            parts.append(f'<circle cx="{x(index):.1f}" cy="{y(value):.1f}" r="2.5" fill="{_BAR}">'
                         f"<title>{escape(label)}: {escape(number(value))}</title></circle>")
    return _svg(title, width, height, "".join(parts))


def dag(nodes: list[tuple[str, int]], edges: list[tuple[str, str]]) -> Markup:
    """A layered graph: `nodes` (name, layer) as linked boxes, a row per layer, `edges` (from, to) as arrows."""
    if not nodes:
        return Markup("")
    box_w, box_h, gap_x, gap_y, pad = 150, 32, 24, 46, 12
    rows: dict[int, list[str]] = {}
    for name, layer in nodes:
        rows.setdefault(layer, []).append(name)
    widest = max(len(names) for names in rows.values())
    width = pad * 2 + widest * box_w + (widest - 1) * gap_x
    height = pad * 2 + len(rows) * box_h + (len(rows) - 1) * gap_y
    where: dict[str, tuple[float, float]] = {}
    for row, layer in enumerate(sorted(rows)):
        names = rows[layer]
        span = len(names) * box_w + (len(names) - 1) * gap_x
        for i, name in enumerate(names):
            where[name] = ((width - span) / 2 + i * (box_w + gap_x), pad + row * (box_h + gap_y))
    parts = ['<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
             'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#6b7280"/></marker></defs>']
    for start, end in edges:
        (x1, y1), (x2, y2) = where[start], where[end]
        a, b = (x1 + box_w / 2, y1 + box_h), (x2 + box_w / 2, y2)
        mid = (a[1] + b[1]) / 2
        parts.append(f'<path d="M{a[0]:.1f},{a[1]:.1f} C{a[0]:.1f},{mid:.1f} {b[0]:.1f},{mid:.1f} {b[0]:.1f},'
                     f'{b[1]:.1f}" fill="none" stroke="#6b7280" marker-end="url(#arrow)"/>')
    for name, (x0, y0) in where.items():
        text = name if len(name) <= 20 else name[:19] + "…"
        parts.append(f'<a href="#stage-{escape(name)}"><rect x="{x0:.1f}" y="{y0:.1f}" width="{box_w}" '
                     f'height="{box_h}" rx="6" fill="#eef2ff" stroke="{_BAR}"/><text x="{x0 + box_w / 2:.1f}" '
                     f'y="{y0 + box_h / 2 + 4:.1f}" font-size="12" text-anchor="middle">{escape(text)}</text></a>')
    return _svg("Pipeline stages", int(width), int(height), "".join(parts))
