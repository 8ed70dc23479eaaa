"""A whole drift comparison: input columns, the dataset, predictions, metrics on labels, one verdict.

`run` resolves the two sides from params (or explicit paths) and returns the report. Every
check (each column, the dataset, the predictions, the metrics on labelled rows) ends in a
status of `gitml.monitor.status` with its reason; `report["checks"]` holds the report-level
ones, and the verdict is drift when any of them is. Library warnings raised while comparing
(scikit-learn's `UndefinedMetricWarning` on a one-class batch, say) go into
`report["warnings"]`, not to the terminal. `write` stores reports/drift.json (`dvc metrics
show` reads it) and reports/drift.html; `exit_code` maps the verdict to 0 no drift, 1 drift,
2 could not evaluate.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import warnings
from typing import Any

from gitml.config import DatasetDrift, Monitor, Params
from gitml.core import errors, io
from gitml.core.errors import DataError
from gitml.core.text import quoted
from gitml.model import metrics, outputs
from gitml.monitor import columns, sources, status
from gitml.monitor.columns import Spec

log = logging.getLogger(__name__)


def run(params: Params, current: str | None = None, reference: str | None = None) -> dict[str, Any]:
    """Compare `current` (default `monitor.current`) with the reference (default `monitor.reference`)."""
    if reference is not None:
        params = params.model_copy(update={"monitor": params.monitor.model_copy(update={"reference": reference})})
    ref = sources.resolve_reference(params)
    cur = sources.Table(current or params.monitor.current, params.monitor.read.batch_rows)
    log.info("reference %s: %d rows; current %s: %d rows", ref.table.path, ref.table.rows, cur.path, cur.rows)
    report = compare(ref, cur, params.monitor)
    return model_age(report, params) if params.monitor.max_model_age else report


def model_age(report: dict[str, Any], params: Params, repo: str = ".",
              now: dt.datetime | None = None) -> dict[str, Any]:
    """Add the prod model's age to the report; one older than `monitor.max_model_age` raises the drift alert.

    A model is refreshed on a schedule as well as on drift: the world moves on whether or not
    the inputs show it yet. Its age runs from its training (the registry records it).
    """
    from gitml.config import duration_seconds
    from gitml.registry import tags

    limit = params.monitor.max_model_age
    prod = tags.in_stage(params.registry.artifact, "prod", repo)
    if prod is None:
        report["model_age"] = {"status": "not_available", "note": "no version is in prod"}
        return report
    age = ((now or dt.datetime.now(dt.UTC)) - dt.datetime.fromisoformat(prod.trained_at)).total_seconds()
    stale = age > duration_seconds(limit)
    report["model_age"] = {"status": "stale" if stale else "ok", "version": prod.version,
                           "trained_at": prod.trained_at, "age_days": round(age / 86400, 2), "max_model_age": limit}
    if stale:
        report.setdefault("alerts", []).insert(0, (
            f"the prod model {prod.version} was trained {age / 86400:.0f} days ago ({prod.trained_at}), "
            f"longer ago than monitor.max_model_age ({limit}): retrain it"))
        report.update(status=status.DRIFT, drift=True)
    return report


def compare(ref: sources.Reference, cur: sources.Table, monitor: Monitor) -> dict[str, Any]:
    """The drift report of `cur` against `ref`, for the model inputs its signature lists."""
    signature = ref.signature
    # Dates are not compared: time moves on, so a date column would always read as drift.
    inputs = [item for item in signature.get("inputs") or []
              if not isinstance(item, dict) or item.get("role") != "datetime"]
    for item in inputs:
        if not isinstance(item, dict) or "name" not in item or item.get("role") not in columns.ACCEPTS:
            raise DataError(f"model signature ({ref.origin.get('source')}): input {item!r} needs a name and a "
                            "role, numeric or categorical")
    report: dict[str, Any] = {
        "status": status.NOT_EVALUATED,
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "reference": {**ref.origin, "rows": ref.table.rows},
        "current": {"path": str(cur.path), "rows": cur.rows, **_log_summary(cur)},
        "target": signature.get("target"),
    }
    if not inputs:
        return {**report, "reason": "the model signature lists no input columns"}
    if cur.rows == 0:
        return {**report, "reason": f"the current data ({cur.path}) has no rows"}
    if ref.table.rows == 0:
        return {**report, "reason": f"the reference data ({ref.table.path}) has no rows"}
    specs = [Spec(item["name"], item["role"], item["name"], item["name"]) for item in inputs]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        entries = columns.evaluate(specs, ref.table, cur, monitor)
        checks = {
            "dataset": dataset_check(entries, monitor.dataset_drift, ref.importance, ref.importance_source),
            "prediction": _prediction(ref, cur, monitor),
            "performance": _performance(ref, cur, monitor),
        }
    report["warnings"] = _warnings(caught)
    return _verdict(report, entries, checks, monitor, cur)


def _warnings(caught: list[warnings.WarningMessage]) -> list[dict[str, Any]]:
    """Library warnings raised while comparing, once each with a count, for the report rather than the terminal."""
    seen: dict[tuple[str, str], int] = {}
    for item in caught:
        key = (item.category.__name__, " ".join(str(item.message).split()))
        seen[key] = seen.get(key, 0) + 1
    return [{"category": category, "message": message, "count": count} for (category, message), count in seen.items()]


def dataset_check(entries: dict[str, dict[str, Any]], rule: DatasetDrift, importance: dict[str, float] | None,
                  source: str | None = None) -> dict[str, Any]:
    """Whether the input columns together drifted, by `monitor.dataset_drift` (see `DatasetDrift`)."""
    evaluated = [name for name, entry in entries.items() if entry["status"] in status.DECIDED]
    drifted = [name for name in evaluated if entries[name]["status"] == status.DRIFT]
    share = len(drifted) / len(evaluated) if evaluated else 0.0
    details: dict[str, Any] = {"rule": rule.rule, "n_columns": len(entries), "n_evaluated": len(evaluated),
                               "n_drifted": len(drifted), "drifted_columns": drifted, "share_drifted": share}
    if not evaluated:
        few = any(entry["status"] == status.INSUFFICIENT_DATA for entry in entries.values())
        return status.check(status.INSUFFICIENT_DATA if few else status.NOT_EVALUATED,
                            "no column could be compared (see each column's status)", **details)
    weights, missing = _weights(entries, importance, source)
    if rule.rule != "share" and weights is None:
        details.update(rule="share", asked=rule.rule)
    if details["rule"] == "share":
        found = share >= rule.share
        reason = (f"{len(drifted)} of {len(evaluated)} evaluated columns drifted ({share:.0%}; "
                  f"dataset drift at {rule.share:.0%})")
        if weights is None and rule.rule != "share":
            reason += f"; decided by the share of columns, as there is {missing}"
        return status.check(status.DRIFT if found else status.NO_DRIFT, reason, threshold=rule.share, **details)
    assert weights is not None
    carried = sum(weights[name] for name in drifted)
    unseen = sum(weight for name, weight in weights.items() if name not in evaluated)
    details.update(importance_share=carried, importance_not_evaluated=unseen)
    ranked = [name for name in sorted(weights, key=lambda n: (-weights[n], n)) if weights[name] > 0]
    if rule.rule == "importance":
        found = carried >= rule.importance
        reason = (f"drifted columns carry {carried:.0%} of the model's permutation importance "
                  f"(dataset drift at {rule.importance:.0%})")
        details["threshold"] = rule.importance
    else:
        top = ranked[: rule.top]
        hit = [name for name in top if name in drifted]
        found = bool(hit)
        shown = ", ".join(repr(name) for name in (hit or top))
        reason = (f"drifted among the {len(top)} most important columns: {shown}" if hit
                  else f"none of the {len(top)} most important columns drifted ({shown})")
        details["top_columns"] = top
    if drifted:
        reason += "; drifted: " + ", ".join(f"{name!r} ({weights[name]:.0%})" for name in drifted[:5])
        reason += f" and {len(drifted) - 5} more" if len(drifted) > 5 else ""
    if unseen > 0:
        reason += f"; {unseen:.0%} of the importance is in columns that could not be evaluated"
    return status.check(status.DRIFT if found else status.NO_DRIFT, reason, **details)


def _weights(entries: dict[str, dict[str, Any]], importance: dict[str, float] | None,
             source: str | None) -> tuple[dict[str, float] | None, str | None]:
    """Each input column's share of the positive permutation importance, or None and why not."""
    where = source or "the reference"
    if importance is None:
        return None, f"no permutation importance ({where})"
    positive = {name: max(importance.get(name, 0.0), 0.0) for name in entries}
    total = sum(positive.values())
    if total <= 0:
        return None, f"no input column has a positive permutation importance ({where})"
    return {name: value / total for name, value in positive.items()}, None


def _log_summary(cur: sources.Table) -> dict[str, Any]:
    """Which model versions wrote the current rows, and over which time span."""
    import pyarrow.compute as pc

    wanted = [name for name in ("model_version", "timestamp") if name in cur.columns]
    if not wanted:
        return {}
    versions: dict[str, int] = {}
    first, last = None, None
    for batch in cur.batches(wanted):
        if "model_version" in wanted:
            for item in batch.column("model_version").value_counts().to_pylist():
                key = str(item["values"])
                versions[key] = versions.get(key, 0) + item["counts"]
        if "timestamp" in wanted:
            span = pc.min_max(batch.column("timestamp")).as_py()
            if span["min"] is not None:
                first = span["min"] if first is None else min(first, span["min"])
                last = span["max"] if last is None else max(last, span["max"])
    summary: dict[str, Any] = {}
    if versions:
        summary["model_versions"] = versions
    if first is not None:
        summary["from"], summary["to"] = str(first), str(last)
    return summary


def _prediction(ref: sources.Reference, cur: sources.Table, monitor: Monitor) -> dict[str, Any]:
    """The model's outputs now against its outputs on the test split (else the training labels)."""
    signature, name = ref.signature, monitor.prediction
    if name not in cur.columns:
        return status.check(status.NOT_EVALUATED, f"no {quoted(name)} column in the current data")
    role = "categorical" if signature.get("task") == "classification" else "numeric"
    if ref.predictions is not None and outputs.Y_PRED in ref.predictions.columns:
        table, against, source = ref.predictions, outputs.Y_PRED, "test-split predictions"
    elif signature.get("target") in ref.table.columns:
        table, against, source = ref.table, signature["target"], "training labels"
    else:
        return status.check(status.NOT_EVALUATED, "no test-split predictions or training labels in the reference")
    specs = [Spec(name, role, against, name)]
    specs += [Spec(c, "numeric", c, c) for c in cur.columns if c.startswith(outputs.PROBA) and c in table.columns]
    entries = columns.evaluate(specs, table, cur, monitor)
    drifted = [key for key, entry in entries.items() if entry["status"] == status.DRIFT]
    overall = status.worst(entry["status"] for entry in entries.values())
    shown = drifted or [key for key, entry in entries.items() if entry["status"] == overall][:1]
    reason = "; ".join(f"{key!r}: {entries[key]['reason']}" for key in shown) + f" (against the {source})"
    return status.check(overall, reason, reference=source, drifted_columns=drifted, columns=entries)


def _performance(ref: sources.Reference, cur: sources.Table, monitor: Monitor) -> dict[str, Any]:
    """Metrics on the current rows that carry a label, against the evaluation metrics."""
    target, prediction = ref.signature.get("target"), monitor.prediction
    if not target or target not in cur.columns:
        return status.check(status.NOT_EVALUATED, f"no labels: no {quoted(target)} column in the current data")
    if prediction not in cur.columns:
        return status.check(status.NOT_EVALUATED,
                            f"labels present but no {quoted(prediction)} column in the current data")
    import pandas as pd

    # Probability columns in the model's class order (sklearn's is sorted), as the metrics expect.
    classes = [f"{outputs.PROBA}{c}" for c in ref.signature.get("classes") or []]
    probas = sorted((c for c in cur.columns if c.startswith(outputs.PROBA)),
                    key=lambda c: (classes.index(c) if c in classes else len(classes), c))
    frames = [batch.to_pandas() for batch in cur.batches([target, prediction, *probas])]
    frame = pd.concat(frames, ignore_index=True).rename(columns={target: outputs.Y_TRUE, prediction: outputs.Y_PRED})
    frame = frame[frame[outputs.Y_TRUE].notna()]
    rows = len(frame)
    if rows < monitor.min_rows:
        return status.check(status.INSUFFICIENT_DATA,
                            f"{rows:,} labelled rows, at least monitor.min_rows={monitor.min_rows} needed", rows=rows)
    current = metrics.compute(frame, ref.signature.get("task", "classification"))
    baseline = ref.metrics or {}
    compared, degraded = {}, []
    for key, value in current.items():
        before = baseline.get(key)
        item = {"reference": None, "current": value, "delta": None, "degraded": False}
        if isinstance(before, (int, float)):
            worse = (value - before) if metrics.direction(key) == "lower" else (before - value)
            item.update(reference=before, delta=value - before, degraded=worse > monitor.performance.max_drop)
        compared[key] = item
        if item["degraded"]:
            degraded.append(key)
    details = {"rows": rows, "metrics": compared, "degraded": degraded}
    on = f"on {rows:,} labelled rows"
    if degraded:
        worse = "; ".join(f"{key} {compared[key]['current']:.4g} (evaluation {compared[key]['reference']:.4g})"
                          for key in degraded)
        return status.check(status.DRIFT, f"{worse} {on}, allowed drop {monitor.performance.max_drop:g}", **details)
    if all(item["reference"] is None for item in compared.values()):
        return status.check(status.NOT_EVALUATED, f"no evaluation metrics of the reference to compare with ({on})",
                            **details)
    return status.check(status.NO_DRIFT, f"no metric dropped by more than {monitor.performance.max_drop:g} {on}",
                        **details)


def _verdict(report: dict[str, Any], entries: dict[str, dict[str, Any]], checks: dict[str, dict[str, Any]],
             monitor: Monitor, cur: sources.Table) -> dict[str, Any]:
    """Drift when any check drifted; else not evaluated when a column could not be compared; else the dataset's."""
    problems = [name for name, entry in entries.items() if "problem" in entry]
    drifting = [name for name, check in checks.items() if check["status"] == status.DRIFT]
    if drifting:
        verdict = status.DRIFT
        reason = "; ".join(f"{status.CHECKS[name]}: {checks[name]['reason']}" for name in drifting)
    elif problems:
        verdict = status.NOT_EVALUATED
        shown = ", ".join(repr(name) for name in problems[:5]) + (f" and {len(problems) - 5} more"
                                                                   if len(problems) > 5 else "")
        reason = f"{len(problems)} column{'s' if len(problems) > 1 else ''} could not be compared: {shown}"
    else:
        verdict, reason = checks["dataset"]["status"], checks["dataset"]["reason"]
    known = set(entries) | set(outputs.LOG_COLUMNS) | {monitor.prediction, report["target"]}
    report.update(
        status=verdict,
        reason=reason,
        drift=verdict == status.DRIFT,
        checks=checks,
        problem_columns=problems,
        ignored_columns=[c for c in cur.columns if c not in known and not c.startswith(outputs.PROBA)],
        alerts=_alerts(entries, checks),
        columns=entries,
    )
    return report


def _alerts(entries: dict[str, dict[str, Any]], checks: dict[str, dict[str, Any]]) -> list[str]:
    """The lines a person reads first: every column that is not `no drift`, new categories, what else drifted."""
    lines = []
    for name, entry in entries.items():
        if entry["status"] != status.NO_DRIFT:
            lines.append(f"column {quoted(name)}: {status.label(entry['status'])}: {entry['reason']}")
        if entry.get("new_categories"):
            shown = ", ".join(quoted(c) for c in entry["new_categories"])
            share = entry["stats"]["new_share"]
            lines.append(f"column {quoted(name)}: new categories {shown} ({share:.1%} of current rows)")
    for name in ("prediction", "performance"):
        if checks[name]["status"] == status.DRIFT:
            lines.append(f"{status.CHECKS[name]}: {status.label(status.DRIFT)}: {checks[name]['reason']}")
    return lines


def exit_code(report: dict[str, Any]) -> int:
    """FAILED for drift, OK for none, NOT_EVALUATED when nothing (or not everything) could be compared."""
    if report["status"] == status.DRIFT:
        return errors.FAILED
    return errors.OK if report["status"] == status.NO_DRIFT else errors.NOT_EVALUATED


def _plain(value: Any) -> Any:
    """JSON-ready: no charts, no numpy scalars, non-finite floats as null."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items() if k != "chart"}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write(report: dict[str, Any], json_path: str, html_path: str | None) -> None:
    """Write the JSON report and, if asked, the HTML one (each atomically)."""
    io.write_json(json_path, _plain(report))
    if html_path:
        from gitml.monitor import render

        io.write_text(html_path, render.html(report))
