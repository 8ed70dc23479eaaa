"""Per-column comparison: read both sides in bounded blocks, check types, measure, then decide.

Numeric columns are read a block at a time (as many columns as fit `read.block_mb`),
filled batch by batch into preallocated float arrays, so a block is in memory once;
categorical columns are reduced to category counts batch by batch, so they are never
held whole. `measure` computes each column's statistics; `decide` applies the rules to all
of them at once, because the significance decisions are corrected across the columns.
Each column ends with two checks, its distribution and its missing share, and a status of
`gitml.monitor.status`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from gitml.config import Monitor
from gitml.monitor import rules, stats, status
from gitml.monitor.sources import Table

if TYPE_CHECKING:
    import pyarrow as pa

log = logging.getLogger(__name__)

#: Value kinds each role accepts; `null` (a column with no values at all) fits any role.
ACCEPTS = {"numeric": {"numeric", "null"}, "categorical": {"string", "numeric", "bool", "null"}}


@dataclass(frozen=True)
class Spec:
    """One comparison: `name` as reported, its role, and the column to read on each side."""

    name: str
    role: str
    ref_column: str
    cur_column: str


def _schema_problem(spec: Spec, ref: Table, cur: Table) -> dict[str, Any] | None:
    """An entry for a column that cannot be compared (`problem` says why), or None."""
    def problem(kind: str, reason: str) -> dict[str, Any]:
        return {"role": spec.role, "problem": kind, "notes": [reason]}

    if spec.ref_column not in ref.columns:
        return problem("missing_column", f"not in the reference data ({ref.path})")
    if spec.cur_column not in cur.columns:
        return problem("missing_column", f"not in the current data ({cur.path})")
    ref_kind, cur_kind = ref.family(spec.ref_column), cur.family(spec.cur_column)
    for side, kind in (("reference", ref_kind), ("current", cur_kind)):
        if kind not in ACCEPTS[spec.role]:
            return problem("type_conflict", f"{side} values are {kind}, the signature says {spec.role}")
    if "null" not in (ref_kind, cur_kind) and ref_kind != cur_kind:
        return problem("type_conflict", f"reference values are {ref_kind}, current values are {cur_kind}")
    return None


def evaluate(specs: list[Spec], ref: Table, cur: Table, monitor: Monitor) -> dict[str, dict[str, Any]]:
    """Compare every spec'd column of `ref` and `cur`, decided together; entries in the order of `specs`."""
    for spec in specs:  # a rule that does not fit is a config error before any data is read
        rules.resolve(monitor, spec.name, spec.role)
    return decide(measure(specs, ref, cur, monitor), monitor, ref.rows, cur.rows)


def measure(specs: list[Spec], ref: Table, cur: Table, monitor: Monitor) -> dict[str, dict[str, Any]]:
    """Each column's statistics, chart and missing shares, or the schema problem that stops it."""
    results: dict[str, dict[str, Any]] = {}
    numeric, categorical = [], []
    for spec in specs:
        problem = _schema_problem(spec, ref, cur)
        if problem is not None:
            results[spec.name] = problem
        else:
            (numeric if spec.role == "numeric" else categorical).append(spec)
    for block in _blocks(numeric, max(ref.rows, cur.rows), monitor.read.block_mb):
        ref_values = _read_floats(ref, [s.ref_column for s in block])
        cur_values = _read_floats(cur, [s.cur_column for s in block])
        for spec in block:
            a, b = ref_values.pop(spec.ref_column), cur_values.pop(spec.cur_column)
            results[spec.name] = _numeric_entry(spec, a, b, monitor)
        log.info("compared numeric columns: %s", ", ".join(s.name for s in block))
    if categorical:
        ref_counts = _read_counts(ref, sorted({s.ref_column for s in categorical}))
        cur_counts = _read_counts(cur, sorted({s.cur_column for s in categorical}))
        for spec in categorical:
            results[spec.name] = _categorical_entry(
                spec, ref_counts[spec.ref_column], cur_counts[spec.cur_column], ref.rows, cur.rows, monitor
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


def _shares(ref_missing: int, ref_rows: int, cur_missing: int, cur_rows: int) -> dict[str, Any]:
    return {"reference": ref_missing / ref_rows if ref_rows else 0.0,
            "current": cur_missing / cur_rows if cur_rows else 0.0}


def _numeric_entry(spec: Spec, ref: np.ndarray, cur: np.ndarray, monitor: Monitor) -> dict[str, Any]:
    ref_rows, cur_rows = len(ref), len(cur)
    ref, cur = ref[~np.isnan(ref)], cur[~np.isnan(cur)]
    entry = {"role": spec.role, "rows": {"reference": len(ref), "current": len(cur)},
             "missing": _shares(ref_rows - len(ref), ref_rows, cur_rows - len(cur), cur_rows), "notes": []}
    if len(ref) and len(cur):
        entry["stats"], entry["chart"] = stats.numeric(ref, cur, monitor.psi_bins, monitor.chart_bins)
        if entry["stats"]["ref_std"] == 0:
            entry["notes"].append("reference is constant")
    return entry


def _categorical_entry(spec: Spec, ref: tuple[dict[str, int], int], cur: tuple[dict[str, int], int],
                       ref_rows: int, cur_rows: int, monitor: Monitor) -> dict[str, Any]:
    (ref_counts, ref_missing), (cur_counts, cur_missing) = ref, cur
    entry = {"role": spec.role, "rows": {"reference": sum(ref_counts.values()), "current": sum(cur_counts.values())},
             "missing": _shares(ref_missing, ref_rows, cur_missing, cur_rows), "notes": []}
    if ref_counts and cur_counts:
        entry["stats"], entry["chart"] = stats.categorical(ref_counts, cur_counts, monitor.chart_bins)
        entry["new_categories"] = entry["chart"]["new"]
        if len(ref_counts) == 1:
            entry["notes"].append("reference is constant")
    return entry


def _too_few(counts: dict[str, int], what: str, min_rows: int) -> str | None:
    """Why a test cannot run on these sample sizes, or None when both sides have enough."""
    side, n = min(counts.items(), key=lambda item: item[1])
    if n == 0:
        return f"no {what} in the {side} data"
    if n < min_rows:
        return f"{n:,} {what} in the {side} data, at least monitor.min_rows={min_rows} needed"
    return None


def decide(entries: dict[str, dict[str, Any]], monitor: Monitor, reference_rows: int,
           current_rows: int) -> dict[str, dict[str, Any]]:
    """Every column's checks and status; the significance tests are corrected across `entries`.

    `reference_rows` picks the rule table's test; both row counts are the missing share's
    sample sizes. Pure: `measure` once, then `decide` under several policies.
    """
    tested, how = {}, {}
    for name, entry in entries.items():
        if "problem" not in entry and _too_few(entry["rows"], "values", monitor.min_rows) is None:
            tested[name] = rules.resolve(monitor, name, entry["role"])
            how[name] = rules.mode(tested[name], reference_rows, monitor.table.small_reference)
    family = [name for name in tested if how[name] != "effect"]
    pvalues = [entries[name]["stats"][f"{tested[name].significance}_pvalue"] for name in family]
    adjusted = dict(zip(family, rules.adjusted(pvalues, monitor.correction), strict=True))
    corrected = monitor.correction != "none"
    decided = {}
    for name, entry in entries.items():
        if "problem" in entry:
            decided[name] = {**entry, **status.check(status.NOT_EVALUATED, entry["notes"][0])}
            continue
        if name in tested:
            distribution = rules.decide(tested[name], entry["stats"], how[name], monitor.correction, monitor.fdr,
                                        adjusted[name] if corrected and name in adjusted else None)
        else:
            distribution = status.check(status.INSUFFICIENT_DATA,
                                        _too_few(entry["rows"], "values", monitor.min_rows) or "")
        missing = _missing_check(entry["missing"], reference_rows, current_rows, monitor)
        checks = (distribution, missing)
        overall = status.worst(check["status"] for check in checks)
        reason = "; ".join(check["reason"] for check in checks if check["status"] == overall)
        decided[name] = {**entry, **status.check(overall, reason), "distribution": distribution, "missing": missing}
    return decided


def _missing_check(shares: dict[str, float], reference_rows: int, current_rows: int,
                   monitor: Monitor) -> dict[str, Any]:
    """Whether the share of missing values moved by more than `missing_change`."""
    few = _too_few({"reference": reference_rows, "current": current_rows}, "rows", monitor.min_rows)
    if few:
        return status.check(status.INSUFFICIENT_DATA, few, **shares)
    moved = abs(shares["current"] - shares["reference"]) > monitor.missing_change
    sign = ">" if moved else "<="
    reason = (f"missing values {shares['reference']:.1%} -> {shares['current']:.1%} "
              f"(change {sign} {monitor.missing_change:g})")
    return status.check(status.DRIFT if moved else status.NO_DRIFT, reason, **shares)
