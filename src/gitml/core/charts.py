"""Charts for reports: Vega-Lite specs rendered to SVG or PNG in Python, with no network.

`dvc plots show` writes HTML that loads Vega from the internet; a model card and a gate
report must open anywhere, so their plots are rendered here by vl-convert (Vega-Lite
compiled and drawn in-process). One chart of a model (the card), or the same chart of
two models side by side (the gate: series keyed baseline / candidate). Large point sets
are thinned by one rule, `sample`, so the same inputs always give the same bytes.
"""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import Sequence
from typing import Any, TypeVar

T = TypeVar("T")

_SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"
#: Scatter plots and curves keep at most this many points, so a report stays small.
MAX_POINTS = 2000
_WIDTH, _HEIGHT = 320, 240
#: The two sides of a comparison, always in the same colours.
_SIDES = {"scale": {"domain": ["baseline", "candidate"], "range": ["#8c8c8c", "#1f77b4"]}}


def sample(rows: Sequence[T], limit: int = MAX_POINTS) -> list[T]:
    """At most `limit` evenly spaced rows, the first and the last kept (a curve still ends where it ends)."""
    if len(rows) <= limit:
        return list(rows)
    if limit < 2:
        return list(rows[:limit])
    step = (len(rows) - 1) / (limit - 1)
    return [rows[round(i * step)] for i in range(limit)]


#: The fixed grid curves are resampled on, so two commits' curves compare point by point (and stay small).
GRID = [i / 20 for i in range(21)]


def resample(points: Sequence[dict[str, Any]], x: str, y: str, grid: Sequence[float] = GRID,
             upper: bool = False) -> list[float | None]:
    """A curve's y at each grid x: the best y among points at or left of it (ROC), or at or right of it
    with `upper` (precision-recall: interpolated precision); None where no point qualifies."""
    pairs = sorted((float(p[x]), float(p[y])) for p in points if p.get(x) is not None and p.get(y) is not None)
    values: list[float | None] = []
    for at in grid:
        near = [b for a, b in pairs if (a >= at if upper else a <= at)]
        values.append(max(near) if near else None)
    return values


def quantiles(values: Sequence[float], grid: Sequence[float] = GRID) -> list[float | None]:
    """Quantiles (linear interpolation, as numpy's default) of `values` at each grid level."""
    ordered = sorted(values)
    if not ordered:
        return [None] * len(grid)
    found = []
    for level in grid:
        pos = level * (len(ordered) - 1)
        low = int(pos)
        high = min(low + 1, len(ordered) - 1)
        found.append(ordered[low] + (ordered[high] - ordered[low]) * (pos - low))
    return found


def _spec(values: list[dict[str, Any]], mark: Any, encoding: dict[str, Any], title: str) -> dict[str, Any]:
    return {"$schema": _SCHEMA, "title": title,
            "width": _WIDTH, "height": _HEIGHT, "data": {"values": values}, "mark": mark, "encoding": encoding}


def _q(field: str, title: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"field": field, "type": "quantitative", "title": title or field, **extra}


def curve(points: list[dict[str, float]], x: str, y: str, title: str) -> dict[str, Any]:
    """A line chart of a ROC or precision-recall curve on the unit square."""
    unit = {"scale": {"domain": [0, 1]}}
    return _spec(points, {"type": "line", "interpolate": "step-after"},
                 {"x": _q(x, **unit), "y": _q(y, **unit), "order": {"field": x, "type": "quantitative"}}, title)


def curves(series: dict[str, list[dict[str, float]]], x: str, y: str, title: str,
           diagonal: bool = False) -> dict[str, Any]:
    """The same curve of each side, in its side's colour; `diagonal` draws the chance line (ROC)."""
    rows = [{**point, "model": side, "step": i} for side, points in series.items() for i, point in enumerate(points)]
    layers: list[dict[str, Any]] = [{
        "mark": {"type": "line", "interpolate": "step-after" if not diagonal else "linear"},
        "encoding": {
            "x": {"field": x, "type": "quantitative", "scale": {"domain": [0, 1]}},
            "y": {"field": y, "type": "quantitative", "scale": {"domain": [0, 1]}},
            "color": {"field": "model", "type": "nominal", **_SIDES},
            "order": {"field": "step", "type": "quantitative"},
        },
    }]
    if diagonal:
        layers.insert(0, {
            "data": {"values": [{x: 0, y: 0}, {x: 1, y: 1}]},
            "mark": {"type": "line", "strokeDash": [4, 4], "color": "#cccccc"},
            "encoding": {"x": {"field": x, "type": "quantitative"}, "y": {"field": y, "type": "quantitative"}},
        })
    return {"$schema": _SCHEMA, "title": title, "width": 360, "height": 320, "data": {"values": rows},
            "layer": layers}


def confusion(pairs: list[tuple[str, str]], title: str = "Confusion matrix (test set)") -> dict[str, Any]:
    """A heat map of (actual, predicted) counts, each cell labelled with its count."""
    counts = Counter(pairs)
    values = [{"actual": a, "predicted": p, "count": n} for (a, p), n in sorted(counts.items())]
    base = {"x": {"field": "predicted", "type": "nominal"}, "y": {"field": "actual", "type": "nominal"}}
    return {"$schema": _SCHEMA, "title": title,
            "width": _HEIGHT, "height": _HEIGHT, "data": {"values": values}, "encoding": base,
            "layer": [{"mark": "rect", "encoding": {"color": _q("count", scale={"scheme": "blues"}, legend=None)}},
                      {"mark": {"type": "text", "fontSize": 13}, "encoding": {"text": _q("count")}}]}


def confusions(series: dict[str, list[tuple[str, str]]], title: str = "Confusion matrix") -> dict[str, Any]:
    """Each side's confusion matrix, side by side."""
    rows = [{"model": side, "actual": a, "predicted": p, "count": n}
            for side, pairs in series.items() for (a, p), n in sorted(Counter(pairs).items())]
    cell = {"x": {"field": "predicted", "type": "nominal"}, "y": {"field": "actual", "type": "nominal"}}
    return {
        "$schema": _SCHEMA, "title": title, "data": {"values": rows},
        "facet": {"column": {"field": "model", "type": "nominal", "title": None}},
        "spec": {"width": 200, "height": 200, "layer": [
            {"mark": "rect", "encoding": {**cell, "color": {"field": "count", "type": "quantitative"}}},
            {"mark": {"type": "text", "fontSize": 13},
             "encoding": {**cell, "text": {"field": "count", "type": "quantitative"}}},
        ]},
    }


def scatter(pairs: list[tuple[float, float]], title: str = "Predicted vs actual (test set)",
            limit: int = MAX_POINTS) -> dict[str, Any]:
    """Predicted against actual values, `sample`d to `limit` rows."""
    values = [{"actual": a, "predicted": p} for a, p in sample(pairs, limit)]
    return _spec(values, {"type": "point", "opacity": 0.5, "size": 12},
                 {"x": _q("actual"), "y": _q("predicted")}, title)


def scatters(series: dict[str, list[tuple[float, float]]], title: str = "Predicted vs actual",
             limit: int = MAX_POINTS) -> dict[str, Any]:
    """Each side's predicted against actual values on shared axes, with the identity line."""
    rows = [{"model": side, "actual": a, "predicted": p}
            for side, pairs in series.items() for a, p in sample(pairs, limit)]
    low = min(min(r["actual"], r["predicted"]) for r in rows)
    high = max(max(r["actual"], r["predicted"]) for r in rows)
    axis = {"type": "quantitative", "scale": {"domain": [low, high]}}
    return {"$schema": _SCHEMA, "title": title, "width": 360, "height": 360, "layer": [
        {"data": {"values": [{"actual": low, "predicted": low}, {"actual": high, "predicted": high}]},
         "mark": {"type": "line", "strokeDash": [4, 4], "color": "#cccccc"},
         "encoding": {"x": {"field": "actual", **axis}, "y": {"field": "predicted", **axis}}},
        {"data": {"values": rows}, "mark": {"type": "point", "opacity": 0.5, "size": 12},
         "encoding": {"x": {"field": "actual", **axis}, "y": {"field": "predicted", **axis},
                      "color": {"field": "model", "type": "nominal", **_SIDES}}},
    ]}


def bars(rows: list[dict[str, Any]], label: str, value: str, title: str, error: str | None = None) -> dict[str, Any]:
    """Horizontal bars in the given order (e.g. permutation importance), with optional ± error."""
    order = [str(row[label]) for row in rows]
    y = {"field": label, "type": "nominal", "sort": order, "title": None}
    axis = value.replace("_", " ")
    layers: list[dict[str, Any]] = [{"mark": "bar", "encoding": {"x": _q(value, axis), "y": y}}]
    if error:
        values = [{**row, "low": row[value] - row[error], "high": row[value] + row[error]} for row in rows]
        layers.append({"mark": {"type": "rule", "color": "#333"},
                       "encoding": {"x": _q("low", axis), "x2": {"field": "high"}, "y": y}})
    else:
        values = rows
    return {"$schema": _SCHEMA, "title": title, "width": _WIDTH,
            "height": {"step": 16}, "data": {"values": values}, "layer": layers}


def _mermaid_text(text: str) -> str:
    """A label Mermaid reads as one quoted string (it has no escape for a double quote)."""
    return '"' + " ".join(str(text).replace('"', "'").split()) + '"'


def _mermaid_number(value: float | None) -> str:
    return "0" if value is None else f"{value:.4g}"


def xychart(title: str, x: Sequence[str] | tuple[str, float, float], y: tuple[str, float, float],
            series: Sequence[tuple[str, Sequence[float | None]]],
            colours: Sequence[str] = ("#8c8c8c", "#1f77b4")) -> str:
    """A Mermaid `xychart-beta` (GitHub draws it inside a comment, no image host needed).

    `x` is category labels or (title, low, high); `y` is (title, low, high); each series is
    ("line" | "bar", values), drawn in `colours` order (Mermaid charts have no legend: say in
    the text which colour is which).
    """
    palette = ", ".join(colours)
    lines = [f'%%{{init: {{"themeVariables": {{"xyChart": {{"plotColorPalette": "{palette}"}}}}}}}}%%',
             "xychart-beta", f"    title {_mermaid_text(title)}"]
    if isinstance(x, tuple):
        lines.append(f"    x-axis {_mermaid_text(x[0])} {_mermaid_number(x[1])} --> {_mermaid_number(x[2])}")
    else:
        lines.append(f"    x-axis [{', '.join(_mermaid_text(label) for label in x)}]")
    lines.append(f"    y-axis {_mermaid_text(y[0])} {_mermaid_number(y[1])} --> {_mermaid_number(y[2])}")
    for kind, values in series:
        lines.append(f"    {kind} [{', '.join(_mermaid_number(v) for v in values)}]")
    return "\n".join(lines)


def svg(spec: dict[str, Any]) -> str:
    """The chart as SVG text."""
    import vl_convert

    return vl_convert.vegalite_to_svg(spec)


def png(spec: dict[str, Any], scale: float = 2) -> bytes:
    """The chart as a PNG image, `scale` times its size in pixels."""
    import vl_convert

    return vl_convert.vegalite_to_png(spec, scale=scale)


def svg_data_uri(spec: dict[str, Any]) -> str:
    """The chart as an SVG `data:` URI an <img> or Markdown image can embed."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg(spec).encode("utf-8")).decode("ascii")
