"""Data contracts: check a table against its declared contract, or infer a starting one and the task.

The contract is written once and then drives validation, the model signature and the
choice of drift test per column, so no component re-guesses column types from dtypes.
Inference reads the columns real tables have: identifiers (role `id`: checked, never a
feature), dates (role `datetime`: calendar parts for the model), booleans, text with
few or many categories, numbers; and the task from the target (`infer_task`).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from gitml.config import ColumnSpec, Contract
from gitml.core.errors import DataError
from gitml.core.text import quoted
from gitml.data import dates

if TYPE_CHECKING:
    import pandas as pd

#: How many offending values a report quotes per column.
_EXAMPLES = 5
#: A numeric target with at most this many distinct integer values is a set of classes.
MAX_CODED_CLASSES = 20
#: Text in which nearly every value is distinct names rows, it does not describe them.
_IDENTIFIER_SHARE = 0.95
_IDENTIFIER_MIN_ROWS = 20
#: Column names that say "identifier".
_ID_NAME = re.compile(r"(?i)(^|[_\W])(id|uuid|guid)$|^(id|uuid|guid)([_\W]|$)")
#: Integer columns with at most this many values may be codes: inference says so.
_FEW_VALUES = 10


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
    if dtype == "datetime":
        return types.is_datetime64_any_dtype(series) or not len(dates.unparsed(values))
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
        if spec.dtype == "datetime":
            bad = dates.unparsed(series.dropna())
            examples = ", ".join(repr(v) for v in bad.astype(str).unique()[:_EXAMPLES])
            problems.append(f"{len(bad)} values are not dates or times: {examples}")
        else:
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


def check(frame: pd.DataFrame, contract: Contract, target: str, task: str | None = None) -> dict[str, Any]:
    """Check `frame` against `contract`: a column-level report, `ok` false on any violation.

    Rows without a target are counted, not failed: the featurize stage leaves them out. A
    target with one value left (one class, or a constant) fails: there is nothing to learn.
    """
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
    no_target = int(frame[target].isna().sum()) if target in frame.columns else 0
    if no_target:
        warnings.append(f"{no_target} rows have no target {target!r}: they are left out of training and testing")
    if target in frame.columns and task is not None:
        problem = _target_problem(frame[target], target, task)
        if problem:
            dataset.append(problem)
    duplicates = int(frame.duplicated().sum())
    if duplicates and contract.duplicates == "fail":
        dataset.append(f"{duplicates} duplicate rows (policy: fail)")
    elif duplicates and contract.duplicates == "warn":
        warnings.append(f"{duplicates} duplicate rows")
    failed = {name: problems for name, problems in columns.items() if problems}
    return {
        "ok": not failed and not dataset,
        "rows": len(frame),
        "rows_without_target": no_target,
        "columns_checked": len(contract.columns),
        "problems": dataset,
        "warnings": warnings,
        "columns": {name: {"ok": not problems, "problems": problems} for name, problems in columns.items()},
        "failed_columns": sorted(failed),
    }


def _target_problem(series: pd.Series, target: str, task: str) -> str | None:
    values = series.dropna()
    distinct = values.unique()
    if len(distinct) >= 2:
        return None
    if not len(distinct):
        return f"target {target!r} has no values: nothing to learn"
    what = "class" if task == "classification" else "value"
    only = distinct[0].item() if hasattr(distinct[0], "item") else distinct[0]
    return f"target {target!r} has a single {what} ({only!r} in all {len(values)} rows): nothing to learn"


def summary(report: dict[str, Any]) -> str:
    """The readable lines a person sees on stderr when validation fails."""
    lines = [f"dataset: {problem}" for problem in report["problems"]]
    for name in report["failed_columns"]:
        lines.extend(f"column {quoted(name)}: {problem}" for problem in report["columns"][name]["problems"])
    return "\n".join(lines)


def infer_task(series: pd.Series, target: str) -> tuple[str, str]:
    """The task a target asks for, and the reason in words (for `gitml init` to print).

    Text and true/false are classes. A number is a class code when its values are whole
    and at most MAX_CODED_CLASSES distinct (a rating 1-5, a region 0-9), else a quantity to
    regress on (a price of 11,602 distinct values). A target with one value is an error.
    """
    import numpy as np
    from pandas.api import types

    values = series.dropna()
    distinct = values.nunique()
    problem = _target_problem(series, target, "classification")
    if problem:
        raise DataError(problem)
    if types.is_bool_dtype(series) or _all_of(series, (bool, np.bool_)):
        return "classification", f"target {target!r} is true/false"
    if not types.is_numeric_dtype(series):
        return "classification", f"target {target!r} is text with {distinct:,} classes"
    whole = bool((values == np.round(values)).all())
    if whole and distinct <= MAX_CODED_CLASSES:
        return "classification", (f"target {target!r} holds {distinct} whole numbers: class codes "
                                  f"(at most {MAX_CODED_CLASSES} are)")
    kind = "whole numbers" if whole else "numbers"
    return "regression", f"target {target!r} holds {distinct:,} distinct {kind}: a quantity"


def class_balance(series: pd.Series) -> str:
    """The classes' shares, smallest first, in words: how imbalanced a target is."""
    shares = series.dropna().astype(str).value_counts(normalize=True, sort=True, ascending=True)
    shown = ", ".join(f"{label} {share:.1%}" for label, share in shares.head(3).items())
    return f"{len(shares)} classes, smallest first: {shown}" + (", ..." if len(shares) > 3 else "")


def infer(frame: pd.DataFrame, target: str, task: str, max_categories: int = 50) -> dict[str, Any]:
    """A starting contract for `frame`, to be reviewed and committed under conf/data/."""
    columns: dict[str, Any] = {}
    for name in frame.columns:
        series = frame[name]
        spec = _target_spec(series, task, max_categories) if name == target else _spec(series, str(name),
                                                                                        max_categories)
        nulls = float(series.isna().mean())
        if nulls:
            spec["max_null_fraction"] = round(min(1.0, nulls * 1.5 + 0.01), 4)
        columns[str(name)] = spec
    return {"columns": columns, "max_null_fraction": 0.0, "duplicates": "warn", "extra_columns": "fail"}


def _is_bool(series: pd.Series) -> bool:
    import numpy as np
    from pandas.api import types

    return types.is_bool_dtype(series) or (series.notna().any() and _all_of(series, (bool, np.bool_)))


def _spec(series: pd.Series, name: str, max_categories: int) -> dict[str, Any]:
    """A feature column's spec: bool, datetime, identifier, number or category, in that order of tests."""
    from pandas.api import types

    present = series.dropna()
    unique = present.nunique()
    if _is_bool(series):
        return {"dtype": "bool", "role": "categorical", "categories": [False, True]}
    if dates.looks_like_dates(series):
        parsed = dates.parse(present)
        timed = bool((parsed != parsed.dt.normalize()).any())
        calendar = ["year", "month", "day", "day_of_week", *(["hour"] if timed else [])]
        return {"dtype": "datetime", "role": "datetime", "calendar": calendar}
    numeric = types.is_numeric_dtype(series)
    all_distinct = len(present) >= _IDENTIFIER_MIN_ROWS and unique == len(present)
    if numeric and all_distinct and types.is_integer_dtype(present) and (
            _ID_NAME.search(name) or int(present.max()) - int(present.min()) + 1 == len(present)):
        return {"dtype": "int", "role": "id"}
    if numeric:
        spec: dict[str, Any] = {"dtype": "int" if types.is_integer_dtype(series) else "float", "role": "numeric"}
        if len(present):
            cast = int if spec["dtype"] == "int" else float
            spec.update(min=cast(present.min()), max=cast(present.max()))
        return spec
    if len(present) >= _IDENTIFIER_MIN_ROWS and unique > _IDENTIFIER_SHARE * len(present):
        return {"dtype": "str", "role": "id"}
    spec = {"dtype": "str", "role": "categorical"}
    if unique <= max_categories:
        spec["categories"] = sorted(str(v) for v in present.unique())
    return spec


def _target_spec(series: pd.Series, task: str, max_categories: int) -> dict[str, Any]:
    """The target's spec: its classes (text, true/false or integer codes), or a numeric quantity."""
    import numpy as np
    from pandas.api import types

    present = series.dropna()
    if _is_bool(series):
        return {"dtype": "bool", "role": "categorical", "categories": [False, True]}
    numeric = types.is_numeric_dtype(series)
    if task == "regression":
        if not numeric:
            raise DataError(f"target {series.name!r} holds text, not numbers: it cannot be a regression target")
        dtype = "int" if types.is_integer_dtype(series) else "float"
        cast = int if dtype == "int" else float
        return {"dtype": dtype, "role": "numeric", "min": cast(present.min()), "max": cast(present.max())}
    if numeric:
        whole = bool((present == np.round(present)).all())
        spec: dict[str, Any] = {"dtype": "int" if whole else "float", "role": "categorical"}
        levels = sorted(int(v) if whole else float(v) for v in present.unique())
    else:
        spec = {"dtype": "str", "role": "categorical"}
        levels = sorted(str(v) for v in present.unique())
    if len(levels) <= max_categories:
        spec["categories"] = levels
    return spec


def notes(frame: pd.DataFrame, inferred: dict[str, Any], target: str) -> list[str]:
    """What a person should review in an inferred contract, one line each."""
    columns = inferred["columns"]
    by_role: dict[str, list[str]] = {}
    for name, spec in columns.items():
        if name != target:
            by_role.setdefault(spec["role"], []).append(name)
    found = []
    if by_role.get("id"):
        found.append(f"identifiers (kept out of the model, passed through by `gitml predict`): "
                     f"{', '.join(by_role['id'])}")
    for name in by_role.get("datetime", []):
        found.append(f"date {name!r}: the model reads its {', '.join(columns[name]['calendar'])} "
                     "(`calendar: []` leaves it out)")
    many = [name for name in by_role.get("categorical", []) if "categories" not in columns[name]]
    if many:
        found.append("text with many categories (one-hot keeps the 49 most frequent, the rest grouped): "
                     f"{', '.join(many)}")
    coded = [f"{name} ({frame[name].nunique()} values)" for name in by_role.get("numeric", [])
             if columns[name]["dtype"] == "int" and 2 < frame[name].nunique() <= _FEW_VALUES]
    if coded:
        found.append(f"whole numbers with few values, kept numeric: {', '.join(coded)}; if they are codes, "
                     "give them `role: categorical`")
    return found
