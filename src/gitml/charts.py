"""Static charts for reports: Vega-Lite specs rendered to SVG in Python, with no network.

`dvc plots show` writes HTML that loads Vega from the internet; a model card must open
anywhere, so its plots are rendered here by vl-convert (Vega-Lite compiled and drawn
in-process) and embedded as `data:` URIs. The same inputs give the same bytes.
"""

from __future__ import annotations

import base64
from collections import Counter
from typing import Any

#: Scatter plots keep at most this many points (evenly spaced rows), so a card stays small.
MAX_POINTS = 2000
_WIDTH, _HEIGHT = 320, 240


def _spec(values: list[dict[str, Any]], mark: Any, encoding: dict[str, Any], title: str) -> dict[str, Any]:
    return {"$schema": "https://vega.github.io/schema/vega-lite/v5.json", "title": title,
            "width": _WIDTH, "height": _HEIGHT, "data": {"values": values}, "mark": mark, "encoding": encoding}


def _q(field: str, title: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"field": field, "type": "quantitative", "title": title or field, **extra}


def curve(points: list[dict[str, float]], x: str, y: str, title: str) -> dict[str, Any]:
    """A line chart of a ROC or precision-recall curve on the unit square."""
    unit = {"scale": {"domain": [0, 1]}}
    return _spec(points, {"type": "line", "interpolate": "step-after"},
                 {"x": _q(x, **unit), "y": _q(y, **unit), "order": {"field": x, "type": "quantitative"}}, title)


def confusion(pairs: list[tuple[str, str]], title: str = "Confusion matrix (test set)") -> dict[str, Any]:
    """A heat map of (actual, predicted) counts, each cell labelled with its count."""
    counts = Counter(pairs)
    values = [{"actual": a, "predicted": p, "count": n} for (a, p), n in sorted(counts.items())]
    base = {"x": {"field": "predicted", "type": "nominal"}, "y": {"field": "actual", "type": "nominal"}}
    return {"$schema": "https://vega.github.io/schema/vega-lite/v5.json", "title": title,
            "width": _HEIGHT, "height": _HEIGHT, "data": {"values": values}, "encoding": base,
            "layer": [{"mark": "rect", "encoding": {"color": _q("count", scale={"scheme": "blues"}, legend=None)}},
                      {"mark": {"type": "text", "fontSize": 13}, "encoding": {"text": _q("count")}}]}


def scatter(pairs: list[tuple[float, float]], title: str = "Predicted vs actual (test set)") -> dict[str, Any]:
    """Predicted against actual values, thinned to MAX_POINTS rows."""
    step = max(1, -(-len(pairs) // MAX_POINTS))
    values = [{"actual": a, "predicted": p} for a, p in pairs[::step]]
    return _spec(values, {"type": "point", "opacity": 0.5, "size": 12},
                 {"x": _q("actual"), "y": _q("predicted")}, title)


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
    return {"$schema": "https://vega.github.io/schema/vega-lite/v5.json", "title": title, "width": _WIDTH,
            "height": {"step": 16}, "data": {"values": values}, "layer": layers}


def svg_data_uri(spec: dict[str, Any]) -> str:
    """Render a Vega-Lite spec to SVG, as a `data:` URI an <img> or Markdown image can embed."""
    import vl_convert

    svg = vl_convert.vegalite_to_svg(spec)
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")
