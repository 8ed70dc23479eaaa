"""Per-column comparison: read both sides in bounded blocks, check types, guard, test, decide.

Numeric columns are read a block at a time (as many columns as fit `read.block_mb`),
filled batch by batch into preallocated float arrays, so a block is in memory once;
categorical columns are reduced to category counts batch by batch, so they are never
held whole. Every column ends with a status: ok, drift, insufficient_data, all_null,
missing_column or type_conflict.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from gitml.config import Monitor
from gitml.monitor import rules, stats
from gitml.monitor.sources import Table

if TYPE_CHECKING:
    import pyarrow as pa

log = logging.getLogger(__name__)

#: Value kinds each role accepts; `null` (a column with no values at all) fits any role.
ACCEPTS = {"numeric": {"numeric", "null"}, "categorical": {"string", "numeric", "bool", "null"}}
#: Statuses that mean the column could not be compared for a schema reason.
PROBLEMS = {"missing_column", "type_conflict"}


@dataclass(frozen=True)
class Spec:
    """One comparison: `name` as reported, its role, and the column to read on each side."""

    name: str
    role: str
    ref_column: str
    cur_column: str


def _entry(spec: Spec, status: str, **extra: Any) -> dict[str, Any]:
    return {"role": spec.role, "status": status, "drifted": False, "reason": None, **extra}


def _schema_status(spec: Spec, ref: Table, cur: Table) -> dict[str, Any] | None:
    """A missing_column or type_conflict entry, or None when both sides can be compared."""
    if spec.ref_column not in ref.columns:
        return _entry(spec, "missing_column", notes=[f"not in the reference data ({ref.path})"])
    if spec.cur_column not in cur.columns:
        return _entry(spec, "missing_column", notes=[f"not in the current data ({cur.path})"])
    ref_kind, cur_kind = ref.family(spec.ref_column), cur.family(spec.cur_column)
    for side, kind in (("reference", ref_kind), ("current", cur_kind)):
        if kind not in ACCEPTS[spec.role]:
            return _entry(spec, "type_conflict", notes=[f"{side} values are {kind}, the signature says {spec.role}"])
    if "null" not in (ref_kind, cur_kind) and ref_kind != cur_kind:
        return _entry(spec, "type_conflict", notes=[f"reference values are {ref_kind}, current values are {cur_kind}"])
    return None


def evaluate(specs: list[Spec], ref: Table, cur: Table, monitor: Monitor) -> dict[str, dict[str, Any]]:
    """Compare every spec'd column of `ref` and `cur`; entries in the order of `specs`."""
    results: dict[str, dict[str, Any]] = {}
    numeric, categorical = [], []
    for spec in specs:
        problem = _schema_status(spec, ref, cur)
        if problem is not None:
            results[spec.name] = problem
        else:
            (numeric if spec.role == "numeric" else categorical).append(spec)
    resolved = {spec.name: rules.resolve(monitor, spec.name, spec.role) for spec in numeric + categorical}
    for block in _blocks(numeric, max(ref.rows, cur.rows), monitor.read.block_mb):
        ref_values = _read_floats(ref, [s.ref_column for s in block])
        cur_values = _read_floats(cur, [s.cur_column for s in block])
        for spec in block:
            a, b = ref_values.pop(spec.ref_column), cur_values.pop(spec.cur_column)
            results[spec.name] = _numeric_entry(spec, a, b, ref.rows, cur.rows, resolved[spec.name], monitor)
        log.info("compared numeric columns: %s", ", ".join(s.name for s in block))
    if categorical:
        ref_counts = _read_counts(ref, sorted({s.ref_column for s in categorical}))
        cur_counts = _read_counts(cur, sorted({s.cur_column for s in categorical}))
        for spec in categorical:
            results[spec.name] = _categorical_entry(
                spec, ref_counts[spec.ref_column], cur_counts[spec.cur_column], ref.rows, cur.rows,
                resolved[spec.name], monitor,
            )
        log.info("compared categorical columns: %s", ", ".join(s.name for s in categorical))
    return {spec.name: results[spec.name] for spec in specs}


def _blocks(specs: list[Spec], rows: int, block_mb: int) -> list[list[Spec]]:
    per_block = max(1, (block_mb << 20) // max(8 * rows, 1))
    return [specs[i : i + per_block] for i in range(0, len(specs), per_block)]


def _read_floats(table: Table, columns: list[str]) -> dict[str, np.ndarray]:
    """The columns as float64 arrays (missing values as NaN), filled batch by batch."""
    import pyarrow as pa
    import pyarrow.compute as pc

    out = {name: np.empty(table.rows) for name in dict.fromkeys(columns)}
    start = 0
    for batch in table.batches(list(out)):
        stop = start + batch.num_rows
        for name in out:
            column = pc.cast(batch.column(name), pa.float64())
            out[name][start:stop] = column.to_numpy(zero_copy_only=False)
        start = stop
    return out


def _as_labels(column: pa.Array) -> pa.Array:
    """Category labels as strings, with float NaN counted as missing."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.types as t

    if t.is_dictionary(column.type):
        column = column.dictionary_decode()
    if t.is_floating(column.type):
        column = pc.if_else(pc.is_nan(column), pa.scalar(None, column.type), column)
    return pc.cast(column, pa.string())


def _read_counts(table: Table, columns: list[str]) -> dict[str, tuple[dict[str, int], int]]:
    """(counts per category, missing count) of each column, reduced batch by batch."""
    import pyarrow as pa

    parts: dict[str, list[pa.StructArray]] = {name: [] for name in columns}
    missing = dict.fromkeys(columns, 0)
    for batch in table.batches(columns):
        for name in columns:
            labels = _as_labels(batch.column(name))
            missing[name] += labels.null_count
            parts[name].append(labels.value_counts())
    result = {}
    for name in columns:
        counts: dict[str, int] = {}
        if parts[name]:
            merged = pa.Table.from_struct_array(pa.concat_arrays(parts[name]))
            grouped = merged.group_by("values").aggregate([("counts", "sum")])
            for value, count in zip(grouped["values"].to_pylist(), grouped["counts_sum"].to_pylist(), strict=True):
                if value is not None:
                    counts[value] = int(count)
        result[name] = (counts, missing[name])
    return result


def _missing(ref_missing: int, ref_rows: int, cur_missing: int, cur_rows: int,
             monitor: Monitor) -> dict[str, Any]:
    ref_share = ref_missing / ref_rows if ref_rows else 0.0
    cur_share = cur_missing / cur_rows if cur_rows else 0.0
    return {"reference": ref_share, "current": cur_share,
            "changed": abs(cur_share - ref_share) > monitor.missing_change}


def _guarded(spec: Spec, ref_n: int, cur_n: int, missing: dict[str, Any], monitor: Monitor) -> dict[str, Any] | None:
    """An entry when the column cannot be tested: no values, or fewer than `min_rows`."""
    notes = []
    if cur_n == 0 or ref_n == 0:
        status = "all_null"
        notes.append(f"no values in the {'current' if cur_n == 0 else 'reference'} data")
    elif min(ref_n, cur_n) < monitor.min_rows:
        status = "insufficient_data"
        notes.append(f"{min(ref_n, cur_n)} values, at least monitor.min_rows={monitor.min_rows} needed")
    else:
        return None
    entry = _entry(spec, status, rows={"reference": ref_n, "current": cur_n}, missing=missing, notes=notes)
    if missing["changed"]:
        _mark_missing_drift(entry)
    return entry


def _mark_missing_drift(entry: dict[str, Any]) -> None:
    missing = entry["missing"]
    why = f"missing values {missing['reference']:.1%} -> {missing['current']:.1%}"
    entry["drifted"] = True
    entry["status"] = "drift"
    entry["reason"] = f"{entry['reason']}; {why}" if entry["reason"] else why


def _finish(entry: dict[str, Any], decision: dict[str, Any]) -> dict[str, Any]:
    entry["rule"] = decision
    if decision["drifted"]:
        entry.update(status="drift", drifted=True, reason=rules.describe(decision))
    if entry["missing"]["changed"]:
        _mark_missing_drift(entry)
    return entry


def _numeric_entry(spec: Spec, ref: np.ndarray, cur: np.ndarray, ref_rows: int, cur_rows: int,
                   rule: rules.Rule, monitor: Monitor) -> dict[str, Any]:
    ref, cur = ref[~np.isnan(ref)], cur[~np.isnan(cur)]
    missing = _missing(ref_rows - len(ref), ref_rows, cur_rows - len(cur), cur_rows, monitor)
    guarded = _guarded(spec, len(ref), len(cur), missing, monitor)
    if guarded is not None:
        return guarded
    values, chart = stats.numeric(ref, cur, monitor.psi_bins, monitor.chart_bins)
    notes = ["reference is constant"] if values["ref_std"] == 0 else []
    entry = _entry(spec, "ok", rows={"reference": len(ref), "current": len(cur)}, missing=missing,
                   stats=values, notes=notes, chart=chart)
    return _finish(entry, rules.decide(rule, values, ref_rows, monitor.table.small_reference))


def _categorical_entry(spec: Spec, ref: tuple[dict[str, int], int], cur: tuple[dict[str, int], int],
                       ref_rows: int, cur_rows: int, rule: rules.Rule, monitor: Monitor) -> dict[str, Any]:
    (ref_counts, ref_missing), (cur_counts, cur_missing) = ref, cur
    missing = _missing(ref_missing, ref_rows, cur_missing, cur_rows, monitor)
    ref_n, cur_n = sum(ref_counts.values()), sum(cur_counts.values())
    guarded = _guarded(spec, ref_n, cur_n, missing, monitor)
    if guarded is not None:
        return guarded
    values, chart = stats.categorical(ref_counts, cur_counts, monitor.chart_bins)
    notes = ["reference is constant"] if len(ref_counts) == 1 else []
    entry = _entry(spec, "ok", rows={"reference": ref_n, "current": cur_n}, missing=missing, stats=values,
                   new_categories=chart["new"], notes=notes, chart=chart)
    return _finish(entry, rules.decide(rule, values, ref_rows, monitor.table.small_reference))
