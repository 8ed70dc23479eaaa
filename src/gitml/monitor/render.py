"""The drift report for people: one self-contained HTML page, and Markdown for issues and PRs.

Charts are inline SVG drawn from the binned shares each column's statistics already
carry (a few dozen numbers per column), so the page's size depends on the number of
columns, never on the number of rows, and it needs no script or network to open.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from markupsafe import Markup, escape

_WIDTH, _HEIGHT = 180, 40
_REF, _CUR = "#9aa5b1", "#d9480f"


def _num(value: float) -> str:
    return f"{value:.1f}"


def chart(spec: dict[str, Any] | None) -> Markup:
    """A small SVG comparing reference (grey bars) with current (orange) shares per bin."""
    if not spec:
        return Markup("")
    ref, cur = spec["ref"], spec["cur"]
    top = max(max(ref, default=0), max(cur, default=0)) or 1.0
    slot = _WIDTH / max(len(ref), 1)
    parts = []
    if spec["kind"] == "numeric":
        for i, share in enumerate(ref):
            height = share / top * (_HEIGHT - 2)
            parts.append(f'<rect x="{_num(i * slot)}" y="{_num(_HEIGHT - height)}" width="{_num(slot - 0.5)}" '
                         f'height="{_num(height)}" fill="{_REF}"/>')
        points = []
        for i, share in enumerate(cur):
            y = _num(_HEIGHT - share / top * (_HEIGHT - 2))
            points += [f"{_num(i * slot)},{y}", f"{_num((i + 1) * slot)},{y}"]
        parts.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="{_CUR}" stroke-width="1.5"/>')
        title = f"{spec['low']:.4g} to {spec['high']:.4g}; grey: reference, orange: current"
    else:
        for i, (label, a, b) in enumerate(zip(spec["labels"], ref, cur, strict=True)):
            half = (slot - 1) / 2
            for j, (share, colour) in enumerate(((a, _REF), (b, _CUR))):
                height = share / top * (_HEIGHT - 2)
                parts.append(
                    f'<rect x="{_num(i * slot + j * half)}" y="{_num(_HEIGHT - height)}" width="{_num(half)}" '
                    f'height="{_num(height)}" fill="{colour}"><title>{escape(label)}: '
                    f'{"reference" if j == 0 else "current"} {share:.1%}</title></rect>'
                )
        title = "categories by share; grey: reference, orange: current"
    return Markup(
        f'<svg class="chart" width="{_WIDTH}" height="{_HEIGHT}" viewBox="0 0 {_WIDTH} {_HEIGHT}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>{"".join(parts)}</svg>'
    )


def _figure(value: Any, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def html(report: dict[str, Any]) -> str:
    """The report as one self-contained HTML page."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(
        loader=FileSystemLoader(Path(__file__).parent),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["figure"] = _figure
    env.globals["chart"] = chart
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
        lines += [f"| {i} | {_cell(text)} |" for i, text in enumerate(alerts[:limit], 1)]
        if len(alerts) > limit:
            lines.append(f"\n…and {len(alerts) - limit} more in reports/drift.json")
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
