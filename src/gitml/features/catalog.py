"""The feature catalog: every model feature's definition, documentation, statistics and content hash.

Written by the `catalog` stage as `data/features/catalog.json` (for machines: registry
lineage records each feature's `definition_hash`) and `reports/features.md` (for people).
A feature's definition is what determines its values — name, kind, dtype, role, source
columns, expression and transform steps (shorthands expanded) — and `definition_hash`
is the SHA-256 of its canonical JSON, so editing a description or owner leaves it alone
while any change to how the feature is computed changes it.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from gitml.config import Params
from gitml.core import io
from gitml.core.errors import ConfigError, ExpressionError
from gitml.core.text import md_cell, number
from gitml.data import sources, tables
from gitml.features import expressions, spec

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

VERSION = 1
#: How many most frequent values a categorical feature's statistics list.
TOP_VALUES = 5


def definition_hash(definition: dict[str, Any]) -> str:
    """SHA-256 (hex) of a definition's canonical JSON: sorted keys, no whitespace."""
    text = json.dumps(definition, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def definitions(params: Params) -> list[dict[str, Any]]:
    """Each model feature's definition, documentation and hash, in the order the model reads them."""
    cfg = params.features
    contract = sources.contract(params.data)
    roles = spec.feature_columns(spec.input_columns(contract, params.data.target, cfg), cfg)
    group_of = {name: group for group in cfg.transforms for name in group.columns}
    derived = {d.name: d for d in cfg.derived}
    entries = []
    for role in (*spec.ROLES, "datetime"):
        for name in roles[role]:
            if name in group_of:
                steps = group_of[name].steps
            elif role == "datetime":  # its calendar parts, then the numeric steps
                steps = [spec.calendar_step(contract, name), *cfg.numeric]
            else:
                steps = getattr(cfg, role)
            if name in derived:
                expr = derived[name].expr
                reads, dtype, kind = _sources(expr, cfg), "float", "derived"
            else:
                expr, reads, dtype, kind = None, [name], contract.columns[name].dtype, "raw"
            definition = {
                "name": name,
                "kind": kind,
                "dtype": dtype,
                "role": role,
                "source_columns": reads,
                "expression": expr,
                "transform": [spec.step_spec(step) for step in steps],
            }
            doc = cfg.docs.get(name)
            own = derived.get(name)
            entries.append({
                **definition,
                "description": (doc.description if doc and doc.description else own.description if own else ""),
                "owner": (doc and doc.owner) or (own and own.owner) or cfg.owner,
                "definition_hash": definition_hash(definition),
            })
    return entries


def _sources(expr: str, cfg: Any) -> list[str]:
    try:
        return list(expressions.parse(expr).columns)
    except ExpressionError as exc:
        index = next(i for i, d in enumerate(cfg.derived) if d.expr == expr)
        raise ConfigError(f"features.derived[{index}].expr: cannot parse {expr!r}: {exc}") from exc


def view_definitions(params: Params) -> list[dict[str, Any]]:
    """The point-in-time feature views, each with its definition hash."""
    result = []
    for view in params.features.views:
        definition = view.model_dump(exclude={"description", "owner"})
        result.append({
            **view.model_dump(),
            "owner": view.owner or params.features.owner,
            "definition_hash": definition_hash(definition),
        })
    return result


def build(params: Params, train: pa.Table) -> dict[str, Any]:
    """The whole catalog, with statistics of each feature on the training split `train`."""
    entries = definitions(params)
    columns: dict[str, np.ndarray] = {}
    for entry in entries:
        entry["statistics"] = _statistics(entry, train, columns)
    combined = {
        "features": [[entry["name"], entry["definition_hash"]] for entry in entries],
        "drop": params.features.drop,
        "dedup": params.features.dedup.model_dump(),
    }
    ordered = ("name", "kind", "dtype", "role", "source_columns", "expression", "transform",
               "description", "owner", "statistics", "definition_hash")
    return {
        "version": VERSION,
        "source": params.paths.train,
        "rows": train.num_rows,
        "definition_hash": definition_hash(combined),
        "features": [{key: entry[key] for key in ordered} for entry in entries],
        "views": view_definitions(params),
    }


def _statistics(entry: dict[str, Any], train: pa.Table, derived: dict[str, np.ndarray]) -> dict[str, Any]:
    if entry["kind"] == "derived":
        parsed = expressions.parse(entry["expression"])
        values = parsed.evaluate(lambda name: derived.get(name, _floats(train, name)), train.num_rows)
        derived[entry["name"]] = values
        return _numeric(values)
    column = train.column(entry["name"])
    if entry["role"] == "numeric" and entry["dtype"] != "str":
        return _numeric(_floats(train, entry["name"]))
    if entry["role"] == "datetime":
        return _dates(column)
    return _categorical(column)


def _dates(column: pa.ChunkedArray) -> dict[str, Any]:
    """Count, missing values and the first and last date (ISO 8601), as the model parses them."""
    from gitml.data import dates as parse_dates

    dates = parse_dates.parse(column.to_pandas())
    present = dates.dropna()
    stats: dict[str, Any] = {"count": int(present.size), "missing": int(dates.size - present.size)}
    if present.size:
        stats.update(first=present.min().isoformat(), last=present.max().isoformat())
    return stats


def _floats(table: pa.Table, name: str) -> np.ndarray:
    import numpy as np

    return np.asarray(table.column(name).to_numpy(), dtype=np.float64)


def _numeric(values: np.ndarray) -> dict[str, Any]:
    import numpy as np

    present = values[~np.isnan(values)]
    stats: dict[str, Any] = {"count": int(present.size), "missing": int(values.size - present.size)}
    if present.size:
        stats.update(
            mean=float(present.mean()),
            std=float(present.std(ddof=1)) if present.size > 1 else None,
            min=float(present.min()),
            max=float(present.max()),
        )
    return stats


def _categorical(column: pa.ChunkedArray) -> dict[str, Any]:
    import numpy as np
    import pyarrow.compute as pc

    counts = pc.value_counts(column.drop_null())
    values, freq = counts.field("values").to_pylist(), counts.field("counts").to_numpy()
    order = np.lexsort((np.arange(len(freq)), -freq))[:TOP_VALUES]
    return {
        "count": int(len(column) - column.null_count),
        "missing": int(column.null_count),
        "distinct": len(values),
        "top": [{"value": values[i], "count": int(freq[i])} for i in order],
    }


def markdown(catalog: dict[str, Any]) -> str:
    """The catalog as a readable Markdown page (reports/features.md)."""
    lines = [
        "# Feature catalog",
        "",
        f"{len(catalog['features'])} features; statistics from `{catalog['source']}` ({catalog['rows']:,} rows). "
        f"Feature set hash `{catalog['definition_hash'][:12]}`.",
        "",
        "| feature | dtype | kind | source columns | transform | owner | hash |",
        "|---|---|---|---|---|---|---|",
    ]
    for f in catalog["features"]:
        steps = " → ".join(step["_target_"].rsplit(".", 1)[-1] for step in f["transform"]) or "passthrough"
        columns = ", ".join(f["source_columns"])
        lines.append(
            f"| {md_cell(f['name'])} | {f['dtype']} | {f['kind']} | {md_cell(columns)} | {md_cell(steps)} "
            f"| {md_cell(f['owner'])} | `{f['definition_hash'][:12]}` |"
        )
    for f in catalog["features"]:
        lines += ["", f"## {f['name']}", ""]
        if f["description"]:
            lines += [f["description"], ""]
        if f["expression"]:
            lines += [f"Expression: `{f['expression']}`", ""]
        stats = ", ".join(f"{key} {number(value)}" for key, value in f["statistics"].items() if key != "top")
        lines.append(f"Statistics: {stats}.")
        if f["statistics"].get("top"):
            top = ", ".join(f"{item['value']} ({item['count']:,})" for item in f["statistics"]["top"])
            lines.append(f"Most frequent: {top}.")
    for view in catalog["views"]:
        lines += ["", f"## View {view['name']}", "",
                  f"Entity `{view['entity']}`, event time `{view['timestamp']}`, time-to-live {view['ttl'] or 'none'}; "
                  f"features: {', '.join(view['features']) or 'all columns'}; owner {view['owner']}."]
    return "\n".join(lines) + "\n"


def run(params: Params) -> None:
    """The catalog stage: the catalog with statistics of the training split, as JSON and Markdown."""
    inputs = spec.raw_columns(sources.contract(params.data), params.data.target, params.features)
    built = build(params, tables.read_columns(params.paths.train, inputs))
    io.write_json(params.paths.catalog, built)
    io.write_text(params.paths.features_report, markdown(built))
