"""Small charts drawn as inline SVG, for report pages that must open anywhere with no script.

The EDA profile and the drift report draw dozens of small charts per page; plain SVG
written here is far cheaper than a chart library per chart, and a page that embeds them
needs no script, no font and no network. Every text that comes from the data is escaped.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup, escape

from gitml.core.text import number

_WIDTH, _HEIGHT, _PAD = 360, 140, 24
_BAR = "#4c78a8"
_WARN = "#e45756"
#: The small drift comparison: reference in grey, current in orange.
_SMALL_WIDTH, _SMALL_HEIGHT = 180, 40
_REF, _CUR = "#9aa5b1", "#d9480f"


def histogram(histogram: dict[str, list[float]] | None, title: str) -> Markup:
    """Vertical bars of a histogram, with the range and the tallest count labelled."""
    if not histogram or not histogram["counts"]:
        return Markup("")
    counts, edges = histogram["counts"], histogram["edges"]
    top = max(counts) or 1
    inner_w, inner_h = _WIDTH - 2 * _PAD, _HEIGHT - 2 * _PAD
    step = inner_w / len(counts)
    rects = []
    for i, count in enumerate(counts):
        h = inner_h * count / top
        label = f"[{number(edges[i])}, {number(edges[i + 1])}): {count:,}"
        rects.append(
            f'<rect x="{_PAD + i * step:.1f}" y="{_PAD + inner_h - h:.1f}" width="{max(step - 1, 0.5):.1f}" '
            f'height="{h:.1f}" fill="{_BAR}"><title>{escape(label)}</title></rect>'
        )
    axis = (
        f'<text x="{_PAD}" y="{_HEIGHT - 6}" font-size="10">{escape(number(edges[0]))}</text>'
        f'<text x="{_WIDTH - _PAD}" y="{_HEIGHT - 6}" font-size="10" text-anchor="end">'
        f"{escape(number(edges[-1]))}</text>"
        f'<text x="{_PAD}" y="{_PAD - 6}" font-size="10">max {top:,}</text>'
    )
    return _svg(title, _WIDTH, _HEIGHT, "".join(rects) + axis)


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
