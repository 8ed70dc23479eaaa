"""A whole drift comparison: input columns, predictions, metrics on labels, one verdict.

`run` resolves the two sides from params (or explicit paths) and returns the report;
`write` stores it as reports/drift.json (scalars only, so `dvc metrics show` reads it)
and reports/drift.html; `exit_code` maps the verdict to 0 no drift, 1 drift, 2 could
not evaluate.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from typing import Any

from gitml.config import Monitor, Params
from gitml.core import errors, io
from gitml.core.errors import DataError
from gitml.model import metrics, outputs
from gitml.monitor import columns, sources
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
        report.update(status="drift", drift=True)
    return report


def compare(ref: sources.Reference, cur: sources.Table, monitor: Monitor) -> dict[str, Any]:
    """The drift report of `cur` against `ref`, for the model inputs its signature lists."""
    signature = ref.signature
    inputs = signature.get("inputs") or []
    for item in inputs:
        if not isinstance(item, dict) or "name" not in item or item.get("role") not in columns.ACCEPTS:
            raise DataError(f"model signature ({ref.origin.get('source')}): input {item!r} needs a name and a "
                            "role, numeric or categorical")
    report: dict[str, Any] = {
        "status": "not_evaluated",
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
    entries = columns.evaluate(specs, ref.table, cur, monitor)
    prediction = _prediction(ref, cur, monitor)
    performance = _performance(ref, cur, monitor)
    return _verdict(report, entries, prediction, performance, monitor, cur)


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
        return {"status": "not_available", "note": f"no {name!r} column in the current data"}
    role = "categorical" if signature.get("task") == "classification" else "numeric"
    if ref.predictions is not None and "y_pred" in ref.predictions.columns:
        table, against, source = ref.predictions, "y_pred", "test-split predictions"
    elif signature.get("target") in ref.table.columns:
        table, against, source = ref.table, signature["target"], "training labels"
    else:
        return {"status": "not_available", "note": "no reference predictions or labels"}
    specs = [Spec(name, role, against, name)]
    specs += [Spec(c, "numeric", c, c) for c in cur.columns if c.startswith("proba_") and c in table.columns]
    entries = columns.evaluate(specs, table, cur, monitor)
    drifted = [key for key, entry in entries.items() if entry["drifted"]]
    return {"status": "drift" if drifted else "ok", "drifted": bool(drifted), "reference": source,
            "drifted_columns": drifted, "columns": entries}


def _performance(ref: sources.Reference, cur: sources.Table, monitor: Monitor) -> dict[str, Any] | None:
    """Metrics on the current rows that carry a label, against the evaluation metrics."""
    target, prediction = ref.signature.get("target"), monitor.prediction
    if not target or target not in cur.columns:
        return None
    if prediction not in cur.columns:
        return {"status": "not_available", "note": f"labels present but no {prediction!r} column"}
    import pandas as pd

    # Probability columns in the model's class order (sklearn's is sorted), as the metrics expect.
    classes = [f"proba_{c}" for c in ref.signature.get("classes") or []]
    probas = sorted((c for c in cur.columns if c.startswith("proba_")),
                    key=lambda c: (classes.index(c) if c in classes else len(classes), c))
    frames = [batch.to_pandas() for batch in cur.batches([target, prediction, *probas])]
    frame = pd.concat(frames, ignore_index=True).rename(columns={target: outputs.Y_TRUE, prediction: outputs.Y_PRED})
    frame = frame[frame[outputs.Y_TRUE].notna()]
    if len(frame) < monitor.min_rows:
        return {"status": "insufficient_data", "rows": len(frame),
                "note": f"{len(frame)} labelled rows, at least monitor.min_rows={monitor.min_rows} needed"}
    current = metrics.compute(frame, ref.signature.get("task", "classification"))
    baseline = ref.metrics or {}
    compared = {}
    for key, value in current.items():
        before = baseline.get(key)
        if isinstance(before, (int, float)):
            worse = (value - before) if metrics.direction(key) == "lower" else (before - value)
            compared[key] = {"reference": before, "current": value, "delta": value - before,
                             "degraded": worse > monitor.performance.max_drop}
        else:
            compared[key] = {"reference": None, "current": value, "delta": None, "degraded": False}
    degraded = [key for key, item in compared.items() if item["degraded"]]
    return {"status": "degraded" if degraded else "ok", "rows": len(frame), "metrics": compared,
            "degraded": degraded}


def _verdict(report: dict[str, Any], entries: dict[str, dict[str, Any]], prediction: dict[str, Any],
             performance: dict[str, Any] | None, monitor: Monitor, cur: sources.Table) -> dict[str, Any]:
    evaluated = [name for name, entry in entries.items() if entry["status"] in ("ok", "drift")]
    drifted = [name for name, entry in entries.items() if entry["drifted"]]
    problems = [name for name, entry in entries.items() if entry["status"] in columns.PROBLEMS]
    share = len(drifted) / len(evaluated) if evaluated else 0.0
    dataset_drift = bool(evaluated) and share >= monitor.drift_share
    prediction_drift = bool(prediction.get("drifted"))
    degraded = bool(performance and performance.get("degraded"))
    if dataset_drift or prediction_drift or degraded:
        status = "drift"
    elif not evaluated:
        status = "not_evaluated"
        report["reason"] = "no column could be compared (see each column's status)"
    else:
        status = "incomplete" if problems else "no_drift"
    known = set(entries) | set(outputs.LOG_COLUMNS) | {monitor.prediction, report["target"]}
    report.update(
        status=status,
        drift=status == "drift",
        dataset_drift=dataset_drift,
        share_drifted=share,
        drift_share=monitor.drift_share,
        n_columns=len(entries),
        n_evaluated=len(evaluated),
        n_drifted=len(drifted),
        drifted_columns=drifted,
        problem_columns=problems,
        prediction_drift=prediction_drift,
        performance_degraded=degraded,
        ignored_columns=[c for c in cur.columns if c not in known and not c.startswith("proba_")],
    )
    report["alerts"] = _alerts(entries, prediction, performance)
    report["columns"], report["prediction"] = entries, prediction
    if performance is not None:
        report["performance"] = performance
    return report


def _alerts(entries: dict[str, dict[str, Any]], prediction: dict[str, Any],
            performance: dict[str, Any] | None) -> list[str]:
    """The lines a person reads first: what drifted, what is new, what could not be compared."""
    lines = []
    for name, entry in entries.items():
        if entry["drifted"]:
            lines.append(f"column {name!r} drifted: {entry['reason']}")
        if entry.get("new_categories"):
            shown = ", ".join(repr(c) for c in entry["new_categories"])
            lines.append(f"column {name!r}: new categories {shown} ({entry['stats']['new_share']:.1%} of current rows)")
        if entry["status"] in columns.PROBLEMS | {"all_null", "insufficient_data"} and not entry["drifted"]:
            lines.append(f"column {name!r}: {entry['status'].replace('_', ' ')}: {'; '.join(entry['notes'])}")
    for name in prediction.get("drifted_columns", []):
        lines.append(f"prediction drift in {name!r}: {prediction['columns'][name]['reason']}")
    for key in (performance or {}).get("degraded", []):
        item = performance["metrics"][key]
        lines.append(
            f"metric {key} on labelled current data: {item['current']:.4g} (evaluation {item['reference']:.4g})"
        )
    return lines


def exit_code(report: dict[str, Any]) -> int:
    """FAILED for drift, OK for none, NOT_EVALUATED when nothing (or not everything) could be compared."""
    if report["status"] == "drift":
        return errors.FAILED
    return errors.OK if report["status"] == "no_drift" else errors.NOT_EVALUATED


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
