"""The drift report for people: one self-contained HTML page, and Markdown for issues and PRs.

Charts are inline SVG drawn from the binned shares each column's statistics already
carry (a few dozen numbers per column), so the page's size depends on the number of
columns, never on the number of rows, and it needs no script or network to open.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gitml.core import svg
from gitml.core.text import md_cell, number


def html(report: dict[str, Any]) -> str:
    """The report as one self-contained HTML page."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["figure"] = lambda value, digits=3: number(value, digits)
    env.globals["chart"] = svg.comparison
    env.globals["detail"] = svg.distribution
    return env.get_template("drift.html.j2").render(r=report)


def markdown(report: dict[str, Any], limit: int = 30) -> str:
    """A short Markdown summary for a GitHub issue, pull request or job summary."""
    lines = [f"**Drift report**: {report['status'].replace('_', ' ')}"]
    if report.get("reason"):
        lines.append(f"\n{report['reason']}")
    if "n_evaluated" in report:
        lines.append(
            f"\n- drifted columns: {report['n_drifted']} of {report['n_evaluated']} evaluated "
            f"({report['share_drifted']:.0%}; dataset drift at {report['drift_share']:.0%}): "
            f"{'**yes**' if report['dataset_drift'] else 'no'}"
        )
        lines.append(f"- prediction drift: {'**yes**' if report['prediction_drift'] else 'no'}")
        if report.get("performance", {}).get("metrics"):
            degraded = "**yes**" if report["performance_degraded"] else "no"
            lines.append(f"- metrics on labelled current data degraded: {degraded}")
        else:
            lines.append("- metrics: no labelled current data")
    ref, cur = report["reference"], report["current"]
    origin = ref.get("version") or (ref.get("commit") or "")[:10] or ref.get("path")
    lines.append(
        f"- reference: {ref['source']} {origin} ({ref['rows']:,} rows); current: {cur['path']} ({cur['rows']:,} rows)"
    )
    alerts = report.get("alerts", [])
    if alerts:
        lines.append("\n| | |\n|---|---|")
        lines += [f"| {i} | {md_cell(text)} |" for i, text in enumerate(alerts[:limit], 1)]
        if len(alerts) > limit:
            lines.append(f"\n…and {len(alerts) - limit} more in reports/drift.json")
    return "\n".join(lines) + "\n"

