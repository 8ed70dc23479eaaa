"""Baseline-vs-candidate plots for the gate report, written as SVG/PNG files.

The charts are `gitml.core.charts` comparisons, rendered offline: no Node toolchain, no
browser, no image host. Their data is what each side's evaluate stage already wrote into
`paths.plots` and git keeps (curve points, actual/predicted pairs), so plots need neither
the DVC-cached predictions nor recomputation. Classification gets ROC and
precision-recall curves and both confusion matrices; regression gets predicted vs actual.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from gitml.config import GateReport
from gitml.core import charts, io
from gitml.model import outputs
from gitml.model.outputs import CURVES

log = logging.getLogger(__name__)

#: Every file stem this module writes: an earlier run's plots that this run does not redo are removed.
STEMS = ("roc", "precision_recall", "confusion", "predicted_vs_actual")
FORMATS = ("svg", "png")
_TITLES = {"roc": "ROC", "precision_recall": "Precision-recall"}


def specs(curves: dict[str, dict[str, list[dict[str, Any]]]], pairs: dict[str, list[tuple[str, str]]], task: str,
          cfg: GateReport) -> dict[str, dict[str, Any]]:
    """Vega-Lite specs by file stem, from each side's curves and actual/predicted pairs (keyed by side)."""
    out: dict[str, dict[str, Any]] = {}
    if task == "regression":
        if pairs:
            numeric = {side: [(float(a), float(p)) for a, p in rows] for side, rows in pairs.items()}
            out["predicted_vs_actual"] = charts.scatters(numeric, limit=cfg.max_points)
        return out
    for name, (x, y) in CURVES.items():
        series = {side: by_name[name] for side, by_name in curves.items() if by_name.get(name)}
        if series:
            out[name] = charts.curves(series, x, y, _TITLES[name], diagonal=name == "roc")
    if pairs:
        out["confusion"] = charts.confusions(pairs)
    return out


def render(curves: dict[str, dict[str, list[dict[str, Any]]]], pairs: dict[str, list[tuple[str, str]]], task: str,
           cfg: GateReport, folder: str | Path) -> list[str]:
    """Write each plot in each configured format into `folder`; the paths written."""
    written = []
    for stem, spec in specs(curves, pairs, task, cfg).items():
        for fmt in cfg.plot_formats:
            path = Path(folder) / f"{stem}.{fmt}"
            if fmt == "svg":
                io.write_text(path, charts.svg(spec))
            else:
                with io.atomic_path(path) as tmp:
                    tmp.write_bytes(charts.png(spec))
            written.append(str(path))
    for stem in STEMS:
        for fmt in FORMATS:
            old = Path(folder) / f"{stem}.{fmt}"
            if str(old) not in written:
                old.unlink(missing_ok=True)
    log.info("plots: %s", ", ".join(written))
    return written


#: Mermaid charts draw in a pull-request comment (GitHub renders them); each says which colour is which.
_SIDES_NOTE = "grey: baseline, blue: candidate"
_AXES = {"roc": ("false positive rate", "true positive rate"), "precision_recall": ("recall", "precision")}


def _relative(metric: dict[str, Any]) -> float | None:
    """The candidate's value as a percentage of the baseline's, oriented so that above 100 is better."""
    base, cand = metric.get("baseline"), metric.get("candidate")
    if base is None or cand is None or base == 0 or cand == 0:
        return None
    ratio = cand / base if metric.get("direction") != "lower" else base / cand
    return 100 * ratio if ratio > 0 else None


def mermaid(curves: dict[str, dict[str, list[dict[str, Any]]]], pairs: dict[str, list[tuple[str, str]]], task: str,
            judged: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Mermaid charts for the comment: metric changes, then ROC and precision-recall resampled on a fixed
    grid (or the quantiles of the residuals for regression), baseline against candidate."""
    found = []
    moved = [(m["name"], _relative(m)) for m in judged]
    moved = [(name, value) for name, value in moved if value is not None]
    if moved:
        low, high = min(v for _, v in moved), max(v for _, v in moved)
        pad = max((high - low) * 0.1, 0.5)
        found.append({
            "title": "Metrics, candidate relative to baseline",
            "note": "Blue bars: the candidate's value as a percentage of the baseline's (the grey line, 100), "
                    "turned so that up is better for every metric.",
            "text": charts.xychart("Candidate relative to baseline (baseline = 100, up is better)",
                                   [name for name, _ in moved], ("% of baseline", min(low, 100) - pad,
                                                                 max(high, 100) + pad),
                                   [("bar", [v for _, v in moved]), ("line", [100.0] * len(moved))],
                                   colours=("#1f77b4", "#8c8c8c")),
        })
    if task == "regression":
        series = {side: outputs.residual_quantiles(rows) for side, rows in pairs.items() if rows}
        series = {side: values for side, values in series.items() if values}
        if len(series) == 2:
            values = [v for side in series.values() for v in side if v is not None]
            found.append({"title": "Residuals", "note": f"Quantiles of predicted − actual; {_SIDES_NOTE}.",
                          "text": charts.xychart("Residual quantiles (test set)", ("quantile", 0, 1),
                                                 ("predicted - actual", min(values), max(values)),
                                                 [("line", series["baseline"]), ("line", series["candidate"])])})
        return found
    for name, (x_title, y_title) in _AXES.items():
        sides = {side: by_name.get(name) for side, by_name in curves.items()}
        if sides.get("baseline") and sides.get("candidate"):
            found.append({"title": _TITLES[name], "note": f"Resampled on a grid of {len(charts.GRID)} points; "
                                                          f"{_SIDES_NOTE}.",
                          "text": charts.xychart(f"{_TITLES[name]} (test set)", (x_title, 0, 1), (y_title, 0, 1),
                                                 [("line", outputs.on_grid(name, sides["baseline"])),
                                                  ("line", outputs.on_grid(name, sides["candidate"]))])})
    return found
