"""The drift report for people: one self-contained HTML page, and Markdown for issues and PRs.

Charts are inline SVG drawn from the binned shares each column's statistics already
carry (a few dozen numbers per column), so the page's size depends on the number of
columns, never on the number of rows, and it needs no script or network to open.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from gitml.core import svg
from gitml.core.text import cut, md_cell, number
from gitml.monitor import status


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
    env.filters["label"] = status.label
    env.globals["chart"] = svg.comparison
    env.globals["detail"] = svg.distribution
    env.globals["checks"] = status.CHECKS
    env.globals["column_counts"] = column_counts
    return env.get_template("drift.html.j2").render(r=report)


def _word(value: str) -> str:
    """A status as the summary prints it: its label, in bold when it is drift."""
    text = status.label(value)
    return f"**{text}**" if value == status.DRIFT else text


def column_counts(report: dict[str, Any]) -> str:
    """How many columns ended in each status, e.g. `3 drift, 22 no drift (of 25)`."""
    columns = report.get("columns") or {}
    counts = Counter(entry["status"] for entry in columns.values())
    parts = [f"{counts[word]} {status.label(word)}" for word in status.STATUSES if counts[word]]
    return f"{', '.join(parts)} (of {len(columns)})"


def markdown(report: dict[str, Any], limit: int = 30) -> str:
    """A short Markdown summary for the terminal, a GitHub issue, pull request or job summary."""
    lines = [f"**Drift report**: {_word(report['status'])}"]
    checks = report.get("checks") or {}
    if report.get("reason") and (not checks or report.get("problem_columns")):  # else a check's line says it
        lines.append(f"\n{report['reason']}")
    if checks:
        lines.append("")
    for name, title in status.CHECKS.items():
        if name in checks:
            lines.append(f"- {title}: {_word(checks[name]['status'])}: {checks[name]['reason']}")
    if report.get("columns"):
        lines.append(f"- columns: {column_counts(report)}")
    ref, cur = report["reference"], report["current"]
    origin = ref.get("version") or (ref.get("commit") or "")[:10] or ref.get("path")
    lines.append(
        f"- reference: {ref['source']} {origin} ({ref['rows']:,} rows); current: {cur['path']} ({cur['rows']:,} rows)"
    )
    caught = report.get("warnings") or []
    if caught:
        first = caught[0]
        lines.append(f"- library warnings: {sum(w['count'] for w in caught)} ({first['category']}: "
                     f"{cut(first['message'], 120)}{'; ...' if len(caught) > 1 else ''}), kept in the JSON report")
    alerts = report.get("alerts", [])
    if alerts:
        lines.append("\n| | |\n|---|---|")
        lines += [f"| {i} | {md_cell(text)} |" for i, text in enumerate(alerts[:limit], 1)]
        if len(alerts) > limit:
            lines.append(f"\n…and {len(alerts) - limit} more in reports/drift.json")
    return "\n".join(lines) + "\n"
