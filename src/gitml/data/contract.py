"""Data contracts: check a table against its declared contract, or infer a starting one.

The contract is written once and then drives validation, the model signature and the
choice of drift test per column, so no component re-guesses column types from dtypes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gitml.config import ColumnSpec, Contract
from gitml.core.text import quoted

if TYPE_CHECKING:
    import pandas as pd

#: How many offending values a report quotes per column.
_EXAMPLES = 5


def _all_of(series: pd.Series, kind: type | tuple[type, ...]) -> bool:
    """For object columns (e.g. bools with nulls from CSV): every non-null value is a `kind`."""
    return series.dtype == object and bool(series.dropna().map(lambda v: isinstance(v, kind)).all())


def _dtype_ok(series: pd.Series, dtype: str) -> bool:
    import numpy as np
    import pandas as pd
    from pandas.api import types

    values = series.dropna()
    if dtype == "bool":
        return types.is_bool_dtype(series) or _all_of(series, (bool, np.bool_))
    if dtype == "str":
        return types.is_string_dtype(series) or isinstance(series.dtype, pd.CategoricalDtype) or _all_of(series, str)
    if types.is_bool_dtype(series) or not types.is_numeric_dtype(series):
        return False
    if dtype == "int":
        return types.is_integer_dtype(series) or bool((values == values.round()).all())
    return True


def _column_problems(series: pd.Series, spec: ColumnSpec, default_nulls: float) -> list[str]:
    problems: list[str] = []
    rows = len(series)
    nulls = int(series.isna().sum())
    limit = default_nulls if spec.max_null_fraction is None else spec.max_null_fraction
    if rows and nulls / rows > limit:
        problems.append(f"{nulls / rows:.1%} missing values, at most {limit:.1%} allowed")
    if not _dtype_ok(series, spec.dtype):
        problems.append(f"dtype {series.dtype} does not hold {spec.dtype} values")
        return problems
    values = series.dropna()
    if spec.min is not None and spec.dtype in {"int", "float"}:
        low = values[values < spec.min]
        if len(low):
            problems.append(f"{len(low)} values below min {spec.min:g} (lowest {low.min():g})")
    if spec.max is not None and spec.dtype in {"int", "float"}:
        high = values[values > spec.max]
        if len(high):
            problems.append(f"{len(high)} values above max {spec.max:g} (highest {high.max():g})")
    if spec.categories is not None:
        unknown = values[~values.isin(spec.categories)]
        if len(unknown):
            examples = ", ".join(quoted(v) for v in sorted(map(str, unknown.unique()))[:_EXAMPLES])
            problems.append(f"{len(unknown)} values outside the allowed categories: {examples}")
    return problems


def check(frame: pd.DataFrame, contract: Contract, target: str) -> dict[str, Any]:
    """Check `frame` against `contract`: a column-level report, `ok` false on any violation."""
    columns: dict[str, list[str]] = {}
    dataset: list[str] = []
    warnings: list[str] = []
    if target not in frame.columns:
        dataset.append(f"target column {quoted(target)} is missing")
    for name, spec in contract.columns.items():
        if name not in frame.columns:
            columns[name] = ["column is missing"]
        else:
            columns[name] = _column_problems(frame[name], spec, contract.max_null_fraction)
    extra = [name for name in frame.columns if name not in contract.columns]
    if extra and contract.extra_columns == "fail":
        for name in extra:
            columns[name] = ["column is not declared in the contract"]
    if target in frame.columns and frame[target].isna().any():
        columns.setdefault(target, []).append(f"{int(frame[target].isna().sum())} rows have no target")
    duplicates = int(frame.duplicated().sum())
    if duplicates and contract.duplicates == "fail":
        dataset.append(f"{duplicates} duplicate rows (policy: fail)")
    elif duplicates and contract.duplicates == "warn":
        warnings.append(f"{duplicates} duplicate rows")
    failed = {name: problems for name, problems in columns.items() if problems}
    return {
        "ok": not failed and not dataset,
        "rows": len(frame),
        "columns_checked": len(contract.columns),
        "problems": dataset,
        "warnings": warnings,
        "columns": {name: {"ok": not problems, "problems": problems} for name, problems in columns.items()},
        "failed_columns": sorted(failed),
    }


def summary(report: dict[str, Any]) -> str:
    """The readable lines a person sees on stderr when validation fails."""
    lines = [f"dataset: {problem}" for problem in report["problems"]]
    for name in report["failed_columns"]:
        lines.extend(f"column {quoted(name)}: {problem}" for problem in report["columns"][name]["problems"])
    return "\n".join(lines)


def infer(frame: pd.DataFrame, target: str, task: str, max_categories: int = 50) -> dict[str, Any]:
    """A starting contract for `frame`, to be reviewed and committed under conf/data/."""
    import numpy as np
    from pandas.api import types

    columns: dict[str, Any] = {}
    for name in frame.columns:
        series = frame[name]
        nulls = float(series.isna().mean())
        spec: dict[str, Any]
        if types.is_bool_dtype(series) or (series.notna().any() and _all_of(series, (bool, np.bool_))):
            spec = {"dtype": "bool", "role": "categorical", "categories": [False, True]}
        elif types.is_numeric_dtype(series) and not (name == target and task == "classification"):
            is_int = types.is_integer_dtype(series)
            spec = {"dtype": "int" if is_int else "float", "role": "numeric"}
            if series.notna().any():
                cast = int if is_int else float
                spec.update(min=cast(series.min()), max=cast(series.max()))
        else:
            levels = series.dropna().unique()
            spec = {"dtype": "str" if not types.is_numeric_dtype(series) else "int", "role": "categorical"}
            if len(levels) <= max_categories:
                spec["categories"] = sorted(v.item() if hasattr(v, "item") else v for v in levels)
        if nulls:
            spec["max_null_fraction"] = round(min(1.0, nulls * 1.5 + 0.01), 4)
        columns[str(name)] = spec
    return {"columns": columns, "max_null_fraction": 0.0, "duplicates": "warn", "extra_columns": "fail"}
