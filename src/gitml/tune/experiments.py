"""The experiments comparison table: `dvc exp show --json`, reduced to what differs.

`dvc exp run --queue -S 'model.n_estimators=100,200,400'` queues one experiment per
value (composed from conf/ by DVC's own Hydra support); `gitml experiments` shows each
one's changed parameters and metrics side by side, with the baseline commit.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitml.core.errors import GitmlError
from gitml.core.text import flatten, number, quoted
from gitml.model import metrics
from gitml.vcs import dvc


@dataclass
class Row:
    name: str
    rev: str
    state: str
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)


def show_json(dvc_args: Sequence[str] = (), repo: str | Path = ".") -> list[dict[str, Any]]:
    """`dvc exp show --json`; a failure is one line with DVC's own reason."""
    return dvc.run_json(repo, "exp", "show", *dvc_args) or []


def _flat(files: dict[str, Any] | None, qualify: bool) -> dict[str, Any]:
    """Leaves of every params or metrics file; keys get the file name when there are several."""
    flat: dict[str, Any] = {}
    for path, content in (files or {}).items():
        for key, value in flatten((content or {}).get("data") or {}).items():
            flat[f"{path}:{key}" if qualify else key] = value
    return flat


def _row(entry: dict[str, Any], name: str, state: str) -> Row:
    data = entry.get("data") or {}
    params, metrics = data.get("params") or {}, data.get("metrics") or {}
    if entry.get("error"):
        state = "failed"
    rev = str(entry.get("rev", ""))
    short = "-" if rev == "workspace" else rev[:7]
    return Row(name, short, state, _flat(params, len(params) > 1), _flat(metrics, len(metrics) > 1))


def rows(shown: list[dict[str, Any]]) -> list[Row]:
    """Workspace, each baseline commit, and each commit's experiments, in `dvc exp show` order."""
    found: list[Row] = []
    for entry in shown:
        name = entry.get("name") or ("workspace" if entry.get("rev") == "workspace" else str(entry.get("rev"))[:7])
        found.append(_row(entry, name, "baseline" if name != "workspace" else "workspace"))
        for experiment in entry.get("experiments") or []:
            state = (experiment.get("executor") or {}).get("state") or "done"
            for rev in experiment.get("revs") or []:
                found.append(_row(rev, rev.get("name") or experiment.get("name") or "", state))
    return found


def varying(values: list[dict[str, Any]]) -> list[str]:
    """Keys whose value is not the same in every row, in first-seen order."""
    keys = list(dict.fromkeys(key for row in values for key in row))
    return [key for key in keys if len({json.dumps(row.get(key), sort_keys=True, default=str) for row in values}) > 1]


def table(found: list[Row], params: Sequence[str] = (), sort_by: str | None = None) -> str:
    """A plain-text table: name, rev, state, the chosen (default: differing) params, all metrics."""
    if not found:
        return "no experiments\n"
    param_keys = list(params) or varying([row.params for row in found])
    metric_keys = list(dict.fromkeys(key for row in found for key in row.metrics))
    if sort_by:
        if sort_by not in metric_keys:
            raise GitmlError(f"--sort-by: no metric {quoted(sort_by)} (metrics: {', '.join(metric_keys) or 'none'})")
        sign = 1.0 if metrics.direction(sort_by) == "lower" else -1.0
        found = sorted(found, key=lambda r: (r.metrics.get(sort_by) is None, sign * (r.metrics.get(sort_by) or 0)))
    header = ["Experiment", "rev", "state", *param_keys, *metric_keys]
    body = [[row.name, row.rev, row.state, *(_cell(row.params.get(k)) for k in param_keys),
             *(_cell(row.metrics.get(k)) for k in metric_keys)] for row in found]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
             for line in [header, *body]]
    return "\n".join(lines) + "\n"


def _cell(value: Any) -> str:
    if isinstance(value, str):
        return value
    return number(value, missing="-") if value is None or isinstance(value, float) else json.dumps(value)
