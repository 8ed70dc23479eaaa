"""Exploratory profile of the raw data: per-column figures, association with the target, warnings.

The profile is computed column by column from the pyarrow table (numpy on one column at
a time, pyarrow's hash kernels for distinct values and counts), so the raw table is held
once and never converted to a DataFrame; the figures are those pandas computes (count,
`nunique`, `mean`, `std` with ddof=1, `quantile` with linear interpolation,
`value_counts`, `duplicated`), which the tests check. `gitml.eda.html` renders it.

Association with the target uses the measure that fits the two column kinds: Pearson's
r for a numeric column and a numeric target, the correlation ratio (eta) for a numeric
and a categorical one (for two classes that is |point-biserial r|), Cramér's V for two
categorical ones. All lie in [0, 1] in absolute value, so one threshold flags leakage.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from gitml.config import Contract, Eda, Params
from gitml.core import io
from gitml.core.errors import DataError
from gitml.core.text import cut, quoted, reason
from gitml.data import sources, tables

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

log = logging.getLogger(__name__)

#: Categorical columns whose distinct values exceed this fraction of rows look like identifiers.
IDENTIFIER_FRACTION = 0.5


def profile(table: pa.Table, contract: Contract, target: str, task: str, cfg: Eda,
            seed: int = 0) -> dict[str, Any]:
    """The profile of `table`: dataset figures, one entry per column, and warnings."""
    rows = table.num_rows
    duplicates = int(tables.duplicated(table).sum())
    target_values = _target(table.column(target), task) if target in table.column_names else None
    columns: dict[str, dict[str, Any]] = {}
    for name in table.column_names:
        log.info("profiling column %r", name)
        column = table.column(name)
        spec = contract.columns.get(name)
        role = spec.role if spec else _role(column)
        entry = {"name": name, "role": role, "dtype": spec.dtype if spec else str(column.type),
                 "storage_type": str(column.type)}
        if role == "numeric":
            values = _floats(column)
            entry.update(_numeric(values, cfg))
        else:
            values = None
            entry.update(_categorical(column, cfg))
        entry["missing_fraction"] = entry["missing"] / rows if rows else 0.0
        if target_values is not None and name != target:
            entry["target_association"] = _association(column, values, role, target_values, task)
        columns[name] = entry
    result = {
        "dataset": {
            "rows": rows,
            "columns": table.num_columns,
            "duplicate_rows": duplicates,
            "in_memory_bytes": int(table.nbytes),
            "target": target,
            "task": task,
        },
        "columns": columns,
    }
    result["correlations"] = correlations(table, columns, cfg, seed)
    result["missing"] = missing(table, cfg.missing_bands)
    result["duplicates"] = duplicate_examples(table, cfg.duplicate_examples) if duplicates else []
    result["warnings"] = warnings(result, cfg)
    return result


def correlations(table: pa.Table, columns: dict[str, dict[str, Any]], cfg: Eda, seed: int = 0) -> dict[str, Any]:
    """Pairwise association of the columns, each pair by the measure that fits its kinds: Pearson's r for two
    numeric columns, the correlation ratio for numeric with categorical, Cramér's V for two categorical.

    Constant and identifier-like columns are left out; at most `cfg.correlation_columns` columns (those most
    associated with the target first), on a seeded sample of at most `cfg.correlation_rows` rows.
    """
    import numpy as np

    usable = [name for name, col in columns.items() if col["distinct"] > 1 and (
        col["role"] == "numeric" or col["distinct"] <= cfg.high_cardinality)]
    strength = {name: abs((columns[name].get("target_association") or {}).get("value") or 0) for name in usable}
    chosen = sorted(usable, key=lambda name: -strength[name])[: cfg.correlation_columns]
    chosen = [name for name in usable if name in chosen]  # file order reads best
    rows = table.num_rows
    if rows > cfg.correlation_rows:
        picked = np.sort(np.random.default_rng(seed).choice(rows, cfg.correlation_rows, replace=False))
        table = table.take(picked)
    data = {}
    for name in chosen:
        column = table.column(name)
        if columns[name]["role"] == "numeric":
            data[name] = ("numeric", _floats(column))
        else:
            valid = ~np.asarray(column.is_null().to_numpy(zero_copy_only=False), dtype=bool)
            data[name] = ("categorical", (tables.codes(column), valid))
    matrix = [[None] * len(chosen) for _ in chosen]
    for i, a in enumerate(chosen):
        matrix[i][i] = 1.0
        for j in range(i + 1, len(chosen)):
            matrix[i][j] = matrix[j][i] = _pair(data[a], data[chosen[j]])
    return {"columns": chosen, "matrix": matrix, "rows": min(rows, cfg.correlation_rows),
            "measures": {"numeric": "pearson", "mixed": "correlation_ratio", "categorical": "cramers_v"}}


def _pair(a: tuple[str, Any], b: tuple[str, Any]) -> float | None:
    import numpy as np

    (kind_a, x), (kind_b, y) = sorted((a, b), key=lambda item: item[0] != "numeric")
    if kind_a == kind_b == "numeric":
        ok = ~np.isnan(x) & ~np.isnan(y)
        return _pearson(x[ok], y[ok])
    if kind_a == "numeric":
        codes, valid = y
        ok = valid & ~np.isnan(x)
        return _eta(codes[ok], x[ok])
    (ca, va), (cb, vb) = x, y
    ok = va & vb
    return _cramers_v(ca[ok], cb[ok])


def missing(table: pa.Table, bands: int) -> dict[str, Any]:
    """Where values are missing: per column with any, the missing share of each band of rows (file order)."""
    import numpy as np

    rows = table.num_rows
    edges = np.linspace(0, rows, min(bands, max(rows, 1)) + 1).astype(int)
    found = {}
    for name in table.column_names:
        column = table.column(name)
        nulls = np.asarray(column.is_null(nan_is_null=True).to_numpy(zero_copy_only=False), dtype=bool)
        if nulls.any():
            counts = np.add.reduceat(nulls, edges[:-1]) if rows else np.zeros(0)
            found[name] = [round(float(c) / max(int(n), 1), 4) for c, n in zip(counts, np.diff(edges), strict=True)]
    return {"bands": len(edges) - 1, "rows_per_band": int(np.ceil(rows / max(len(edges) - 1, 1))), "shares": found}


def duplicate_examples(table: pa.Table, limit: int) -> list[dict[str, Any]]:
    """The most repeated rows, each with how often it occurs (values as text, cut to a readable length)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not limit or table.num_rows < 2:
        return []
    keys = pa.table({name: pc.cast(table.column(name), pa.string()) for name in table.column_names})
    counts = keys.group_by(keys.column_names, use_threads=False).aggregate([([], "count_all")])
    repeated = counts.filter(pc.greater(counts.column("count_all"), 1))
    repeated = repeated.sort_by([("count_all", "descending")]).slice(0, limit)
    found = []
    for row in repeated.to_pylist():
        count = row.pop("count_all")
        found.append({"count": count, "values": {k: cut("" if v is None else v, 40) for k, v in row.items()}})
    return found


def warnings(result: dict[str, Any], cfg: Eda) -> list[dict[str, str]]:
    """Constant columns, high cardinality, heavy missingness, likely target leakage, duplicate rows."""
    found: list[dict[str, str]] = []
    rows = result["dataset"]["rows"]

    def warn(column: str, kind: str, message: str) -> None:
        found.append({"column": column, "kind": kind, "message": message})

    for name, col in result["columns"].items():
        if col["distinct"] <= 1:
            warn(name, "constant", f"{quoted(name)} has {col['distinct']} distinct value(s): it carries no information")
        identifier = col["role"] == "categorical" and col["count"] and col["distinct"] > IDENTIFIER_FRACTION * rows
        if col["role"] == "categorical" and col["distinct"] > cfg.high_cardinality:
            hint = "; it looks like an identifier" if identifier else ""
            limit = cfg.high_cardinality
            warn(name, "high_cardinality", f"{quoted(name)} has {col['distinct']:,} categories (> {limit}){hint}")
        if col["missing_fraction"] > cfg.missing_warn:
            warn(name, "missing", f"{quoted(name)} is {col['missing_fraction']:.1%} missing (> {cfg.missing_warn:.0%})")
        assoc = col.get("target_association") or {}
        value = assoc.get("value")
        if value is not None and abs(value) >= cfg.leakage_warn and not identifier:
            warn(name, "leakage", f"{quoted(name)} is almost identical to the target ({assoc['measure']} {value:.3f}): "
                                  "likely target leakage")
    if result["dataset"]["duplicate_rows"]:
        warn("", "duplicates", f"{result['dataset']['duplicate_rows']:,} duplicate rows")
    return found


def _role(column: pa.ChunkedArray) -> str:
    import pyarrow as pa

    numeric = pa.types.is_integer(column.type) or pa.types.is_floating(column.type)
    return "numeric" if numeric else "categorical"


def _floats(column: pa.ChunkedArray) -> np.ndarray:
    import numpy as np

    return np.asarray(column.to_numpy(), dtype=np.float64)


def _numeric(values: np.ndarray, cfg: Eda) -> dict[str, Any]:
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    present = values[~np.isnan(values)]
    figures = {"count": int(present.size), "missing": int(values.size - present.size),
              "distinct": int(pc.count_distinct(pa.array(present)).as_py()) if present.size else 0}
    if not present.size:
        return {**figures, "mean": None, "std": None, "min": None, "max": None, "quantiles": {}, "histogram": None}
    levels = np.quantile(present, [0.0, *cfg.quantiles, 1.0])
    counts, edges = np.histogram(present, bins=cfg.bins, range=(levels[0], levels[-1]))
    return {
        **figures,
        "mean": float(present.mean()),
        "std": float(present.std(ddof=1)) if present.size > 1 else None,
        "min": float(levels[0]),
        "max": float(levels[-1]),
        "quantiles": {f"{q:g}": float(v) for q, v in zip(cfg.quantiles, levels[1:-1], strict=True)},
        "histogram": {"edges": edges.tolist(), "counts": counts.tolist()},
    }


def _categorical(column: pa.ChunkedArray, cfg: Eda) -> dict[str, Any]:
    import numpy as np
    import pyarrow.compute as pc

    counts = pc.value_counts(column.drop_null())
    values, freq = counts.field("values").to_pylist(), counts.field("counts").to_numpy()
    order = np.lexsort((np.arange(len(freq)), -freq))  # count descending, first seen first, as value_counts
    top = [{"value": values[i], "count": int(freq[i])} for i in order[: cfg.top_categories]]
    present = len(column) - column.null_count
    return {
        "count": present,
        "missing": column.null_count,
        "distinct": len(values),
        "top": top,
        "other": int(present - sum(item["count"] for item in top)),
    }


def _target(column: pa.ChunkedArray, task: str) -> tuple[np.ndarray, np.ndarray]:
    """The target as floats (regression) or class codes (classification), and its present-mask."""
    import numpy as np

    valid = ~np.asarray(column.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    if task == "regression":
        values = _floats(column)
        return values, valid & ~np.isnan(values)
    return tables.codes(column, ordered=True), valid


def _association(
    column: pa.ChunkedArray, values: np.ndarray | None, role: str, target: tuple[np.ndarray, np.ndarray], task: str
) -> dict[str, Any]:
    import numpy as np

    y, y_ok = target
    if role == "numeric":
        ok = y_ok & ~np.isnan(values)
        if task == "regression":
            return {"measure": "pearson", "value": _pearson(values[ok], y[ok])}
        return {"measure": "correlation_ratio", "value": _eta(y[ok], values[ok])}
    x_ok = ~np.asarray(column.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    ok = y_ok & x_ok
    groups = tables.codes(column)[ok]
    if task == "regression":
        return {"measure": "correlation_ratio", "value": _eta(groups, y[ok])}
    return {"measure": "cramers_v", "value": _cramers_v(groups, y[ok])}


def _pearson(x: np.ndarray, y: np.ndarray) -> float | None:
    import numpy as np

    if x.size < 2:
        return None
    dx, dy = x - x.mean(), y - y.mean()
    denominator = np.sqrt((dx * dx).sum() * (dy * dy).sum())
    return float((dx * dy).sum() / denominator) if denominator > 0 else None


def _eta(groups: np.ndarray, values: np.ndarray) -> float | None:
    """Correlation ratio: sqrt(between-group sum of squares / total sum of squares)."""
    import numpy as np

    if values.size < 2:
        return None
    _, groups = np.unique(groups, return_inverse=True)
    n = np.bincount(groups)
    sums = np.bincount(groups, weights=values)
    mean = values.mean()
    total = ((values - mean) ** 2).sum()
    if total <= 0:
        return None
    between = (n * (sums / n - mean) ** 2).sum()
    return float(np.sqrt(min(between / total, 1.0)))


def _cramers_v(a: np.ndarray, b: np.ndarray) -> float | None:
    import numpy as np

    _, a = np.unique(a, return_inverse=True)
    _, b = np.unique(b, return_inverse=True)
    ka, kb = int(a.max(initial=-1)) + 1, int(b.max(initial=-1)) + 1
    if min(ka, kb) < 2:
        return None
    table = np.bincount(a * kb + b, minlength=ka * kb).reshape(ka, kb).astype(np.float64)
    n = table.sum()
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / n
    chi2 = ((table - expected) ** 2 / expected).sum()
    return float(np.sqrt(chi2 / (n * (min(ka, kb) - 1))))


def run(params: Params) -> None:
    """The eda stage: profile the raw table, write it as JSON and as a self-contained page."""
    import pyarrow.parquet as pq

    from gitml.eda import html

    try:
        table = pq.read_table(params.paths.raw)
    except (OSError, ValueError) as exc:
        raise DataError(f"{params.paths.raw}: cannot be read as parquet: {reason(exc)}") from exc
    found = profile(table, sources.contract(params.data), params.data.target, params.data.task, params.eda,
                    params.seed)
    io.write_json(params.paths.eda_json, found)
    title = f"Exploratory data analysis: {params.project.name}"
    io.write_text(params.paths.eda_html, html.render(found, title, params.eda.leakage_warn))
    for warning in found["warnings"]:
        log.warning("%s", warning["message"])
