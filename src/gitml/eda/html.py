"""Render an EDA profile (gitml.eda.profile) as one self-contained HTML page with inline SVG charts.

No scripts, no fonts, no images from anywhere: the page's Content-Security-Policy
forbids every fetch, so it renders the same offline, in CI artifacts and in a browser
that opened it from disk. Charts are inline SVG (gitml.core.svg); every text that comes
from the data is escaped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from markupsafe import Markup

from gitml.core import svg
from gitml.core.text import number


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
            charts[name] = svg.histogram(col["histogram"], f"Histogram of {name}", name)
        elif col.get("top"):
            items = [(str(item["value"]), float(item["count"])) for item in col["top"]]
            charts[name] = svg.bars(items, f"Most frequent values of {name}")
    associations = sorted(
        ((name, col["target_association"]["value"]) for name, col in profile["columns"].items()
         if (col.get("target_association") or {}).get("value") is not None),
        key=lambda item: -abs(item[1]),
    )
    target_chart = svg.bars(associations, "Association with the target", limit=limit, signed=True)
    warned = {w["column"] for w in profile["warnings"]}
    corr = profile.get("correlations") or {}
    correlation_chart = svg.heatmap(corr.get("columns") or [], corr.get("columns") or [], corr.get("matrix") or [],
                                    "Correlations between columns", signed=True)
    gaps = profile.get("missing") or {}
    shares = gaps.get("shares") or {}
    missing_bars = svg.bars([(name, col["missing_fraction"]) for name, col in profile["columns"].items()
                             if col["missing"]], "Missing share per column", limit=1.01)
    rows, step = profile["dataset"]["rows"], gaps.get("rows_per_band") or 1
    bands = [f"rows {i * step + 1:,}–{min((i + 1) * step, rows):,}" for i in range(gaps.get("bands") or 0)]
    missing_map = svg.heatmap(list(shares), bands, list(shares.values()), "Where values are missing",
                              column_labels=False, cell=12)
    return env.get_template("eda.html.j2").render(
        title=title, profile=profile, charts=charts, target_chart=target_chart, warned=warned,
        correlation_chart=correlation_chart, missing_bars=missing_bars, missing_map=missing_map,
    )
