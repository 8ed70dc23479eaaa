"""The one GitHub issue about drift: opened on the first drift, then updated, never duplicated.

The issue is found by its label and a hidden marker in its body, so renaming it does
not make the next run open a second one. Everything goes through the GitHub CLI
(`gh`), which reads its token from GH_TOKEN in CI.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from gitml.config import Alert
from gitml.vcs.github import run as gh

#: Hidden in the issue body; how the next run finds the issue again.
MARKER = "<!-- gitml:drift-issue -->"


def body(report: dict[str, Any], link: str | None = None) -> str:
    from gitml.monitor import render

    text = f"{MARKER}\n{render.markdown(report)}"
    when = report.get("generated_at", "")
    text += f"\nReport generated {when}" + (f"; full report: {link}" if link else "") + ".\n"
    return text


def find(label: str) -> int | None:
    """The number of the open drift issue, or None."""
    listed = gh("issue", "list", "--state", "open", "--label", label, "--json", "number,body", "--limit", "100")
    for issue in json.loads(listed or "[]"):
        if MARKER in (issue.get("body") or ""):
            return int(issue["number"])
    return None


def open_or_update(report: dict[str, Any], cfg: Alert, html_url: str | None = None) -> str:
    """Open the drift issue, or edit its body to the latest report and comment; returns what was done."""
    if report.get("status") != "drift":
        return f"no drift (status {report.get('status')}): no issue opened"
    text = body(report, html_url)
    with tempfile.TemporaryDirectory(prefix="gitml-alert-") as tmp:
        path = Path(tmp) / "body.md"
        path.write_text(text, encoding="utf-8")
        number = find(cfg.label)
        if number is not None:
            gh("issue", "edit", str(number), "--body-file", str(path))
            gh("issue", "comment", str(number), "--body-file", str(path))
            return f"updated issue #{number}"
        gh("label", "create", cfg.label, "--color", "d93f0b", "--description", "Raised by gitml monitor", "--force")
        url = gh("issue", "create", "--title", cfg.title, "--label", cfg.label, "--body-file", str(path))
        return f"opened issue {url.strip()}"
