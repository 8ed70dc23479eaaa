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
