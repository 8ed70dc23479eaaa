"""Render an EDA profile (gitml.eda) as one self-contained HTML page with inline SVG charts.

No scripts, no fonts, no images from anywhere: the page's Content-Security-Policy
forbids every fetch, so it renders the same offline, in CI artifacts and in a browser
that opened it from disk. Charts are plain SVG drawn here; every text that comes from
the data is escaped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from markupsafe import Markup, escape

_WIDTH, _HEIGHT, _PAD = 360, 140, 24
_BAR = "#4c78a8"
_WARN = "#e45756"


def number(value: Any) -> str:
    """A figure as people read it: thousands separators for counts, 4 significant digits otherwise."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def histogram_svg(histogram: dict[str, list[float]] | None, title: str) -> Markup:
    """Vertical bars of a histogram, with the range and the tallest count labelled."""
    if not histogram or not histogram["counts"]:
        return Markup("")
    counts, edges = histogram["counts"], histogram["edges"]
    top = max(counts) or 1
    inner_w, inner_h = _WIDTH - 2 * _PAD, _HEIGHT - 2 * _PAD
    step = inner_w / len(counts)
    bars = []
    for i, count in enumerate(counts):
        h = inner_h * count / top
        label = f"[{number(edges[i])}, {number(edges[i + 1])}): {count:,}"
        bars.append(
            f'<rect x="{_PAD + i * step:.1f}" y="{_PAD + inner_h - h:.1f}" width="{max(step - 1, 0.5):.1f}" '
            f'height="{h:.1f}" fill="{_BAR}"><title>{escape(label)}</title></rect>'
        )
    axis = (
        f'<text x="{_PAD}" y="{_HEIGHT - 6}" font-size="10">{escape(number(edges[0]))}</text>'
        f'<text x="{_WIDTH - _PAD}" y="{_HEIGHT - 6}" font-size="10" text-anchor="end">'
        f"{escape(number(edges[-1]))}</text>"
        f'<text x="{_PAD}" y="{_PAD - 6}" font-size="10">max {top:,}</text>'
    )
    return _svg(title, _WIDTH, _HEIGHT, "".join(bars) + axis)


def bars_svg(items: list[tuple[str, float]], title: str, limit: float | None = None, signed: bool = False) -> Markup:
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


def render(profile: dict[str, Any], title: str = "Exploratory data analysis", limit: float = 0.95) -> str:
    """The whole report page for `profile`."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters["num"] = number
    env.filters["pct"] = lambda value: f"{value:.1%}"
    charts: dict[str, Markup] = {}
    for name, col in profile["columns"].items():
        if col.get("histogram"):
            charts[name] = histogram_svg(col["histogram"], f"Histogram of {name}")
        elif col.get("top"):
            items = [(str(item["value"]), float(item["count"])) for item in col["top"]]
            charts[name] = bars_svg(items, f"Most frequent values of {name}")
    associations = sorted(
        ((name, col["target_association"]["value"]) for name, col in profile["columns"].items()
         if (col.get("target_association") or {}).get("value") is not None),
        key=lambda item: -abs(item[1]),
    )
    target_chart = bars_svg(associations, "Association with the target", limit=limit, signed=True)
    warned = {w["column"] for w in profile["warnings"]}
    return env.get_template("eda.html.j2").render(
        title=title, profile=profile, charts=charts, target_chart=target_chart, warned=warned
    )
