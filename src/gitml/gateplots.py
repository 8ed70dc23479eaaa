"""Baseline-vs-candidate plots for the gate report, rendered to SVG/PNG files in Python.

The charts are Vega-Lite specs (the grammar DVC's own plots use) rendered offline by
vl-convert: no Node toolchain, no browser, no image host. Their data is what the evaluate
stage already wrote into `paths.plots` and git keeps (curve points, actual/predicted pairs),
so plots need neither the DVC-cached predictions nor recomputation. Classification gets ROC
and precision-recall curves and both confusion matrices; regression gets predicted vs actual.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitml import io
from gitml.config import GateReport

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

_SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"
#: Every file stem this module writes: an earlier run's plots that this run does not redo are removed.
STEMS = ("roc", "precision_recall", "confusion", "predicted_vs_actual")
FORMATS = ("svg", "png")
_COLORS = {"scale": {"domain": ["baseline", "candidate"], "range": ["#8c8c8c", "#1f77b4"]}}


def _lines(rows: list[dict[str, Any]], x: str, y: str, title: str, diagonal: bool) -> dict[str, Any]:
    layers: list[dict[str, Any]] = [{
        "mark": {"type": "line", "interpolate": "step-after" if not diagonal else "linear"},
        "encoding": {
            "x": {"field": x, "type": "quantitative", "scale": {"domain": [0, 1]}},
            "y": {"field": y, "type": "quantitative", "scale": {"domain": [0, 1]}},
            "color": {"field": "model", "type": "nominal", **_COLORS},
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


def _confusion(frames: dict[str, pd.DataFrame]) -> dict[str, Any]:
    rows = []
    for model, frame in frames.items():
        counts = frame.astype(str).groupby(["actual", "predicted"]).size()
        rows += [{"model": model, "actual": a, "predicted": p, "count": int(c)} for (a, p), c in counts.items()]
    cell = {"x": {"field": "predicted", "type": "nominal"}, "y": {"field": "actual", "type": "nominal"}}
    return {
        "$schema": _SCHEMA, "title": "Confusion matrix", "data": {"values": rows},
        "facet": {"column": {"field": "model", "type": "nominal", "title": None}},
        "spec": {"width": 200, "height": 200, "layer": [
            {"mark": "rect", "encoding": {**cell, "color": {"field": "count", "type": "quantitative"}}},
            {"mark": {"type": "text", "fontSize": 13},
             "encoding": {**cell, "text": {"field": "count", "type": "quantitative"}}},
        ]},
    }


def _scatter(frames: dict[str, pd.DataFrame], max_points: int, seed: int) -> dict[str, Any]:
    rows = []
    for model, frame in frames.items():
        sample = frame.sample(n=min(len(frame), max_points), random_state=seed)
        rows += [{"model": model, "actual": float(a), "predicted": float(p)}
                 for a, p in zip(sample["actual"], sample["predicted"], strict=True)]
    low = min(min(r["actual"], r["predicted"]) for r in rows)
    high = max(max(r["actual"], r["predicted"]) for r in rows)
    axis = {"type": "quantitative", "scale": {"domain": [low, high]}}
    return {"$schema": _SCHEMA, "title": "Predicted vs actual", "width": 360, "height": 360, "layer": [
        {"data": {"values": [{"actual": low, "predicted": low}, {"actual": high, "predicted": high}]},
         "mark": {"type": "line", "strokeDash": [4, 4], "color": "#cccccc"},
         "encoding": {"x": {"field": "actual", **axis}, "y": {"field": "predicted", **axis}}},
        {"data": {"values": rows}, "mark": {"type": "point", "opacity": 0.5, "size": 12},
         "encoding": {"x": {"field": "actual", **axis}, "y": {"field": "predicted", **axis},
                      "color": {"field": "model", "type": "nominal", **_COLORS}}},
    ]}


def specs(curves: dict[str, dict[str, list[dict[str, Any]]]], pairs: dict[str, pd.DataFrame], task: str,
          cfg: GateReport, seed: int) -> dict[str, dict[str, Any]]:
    """Vega-Lite specs by file stem, from each side's curves and actual/predicted pairs (keyed by side)."""
    out: dict[str, dict[str, Any]] = {}
    if task == "regression":
        if pairs:
            out["predicted_vs_actual"] = _scatter(pairs, cfg.max_points, seed)
        return out
    for name, x, y, title, diagonal in (("roc", "fpr", "tpr", "ROC", True),
                                        ("precision_recall", "recall", "precision", "Precision-recall", False)):
        rows = [{**point, "model": side, "step": i}
                for side, by_name in curves.items() for i, point in enumerate(by_name.get(name, []))]
        if rows:
            out[name] = _lines(rows, x, y, title, diagonal)
    if pairs:
        out["confusion"] = _confusion(pairs)
    return out


def render(curves: dict[str, dict[str, list[dict[str, Any]]]], pairs: dict[str, pd.DataFrame], task: str,
           cfg: GateReport, seed: int, folder: str | Path) -> list[str]:
    """Write each plot in each configured format into `folder`; the paths written."""
    import vl_convert

    written = []
    for stem, spec in specs(curves, pairs, task, cfg, seed).items():
        for fmt in cfg.plot_formats:
            path = Path(folder) / f"{stem}.{fmt}"
            if fmt == "svg":
                io.write_text(path, vl_convert.vegalite_to_svg(spec))
            else:
                with io.atomic_path(path) as tmp:
                    tmp.write_bytes(vl_convert.vegalite_to_png(spec, scale=2))
            written.append(str(path))
    for stem in STEMS:
        for fmt in FORMATS:
            old = Path(folder) / f"{stem}.{fmt}"
            if str(old) not in written:
                old.unlink(missing_ok=True)
    log.info("plots: %s", ", ".join(written))
    return written
