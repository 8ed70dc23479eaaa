"""Request rows checked against the signature and turned into one numpy array per column.

Every request is validated on its own, before it can join a micro-batch, so a bad
request fails alone with a 400 naming the column and the problem (never a 500, never
the whole schema). Checks are per column and vectorised where it pays: a JSON column's
value types are read in one `set(map(type, values))` pass.

What is accepted follows MLflow's scoring server where the two would differ, unless a
setting (`Rules`, from the `serve` section) says otherwise: columns beyond the signature
are ignored (`extra_columns`), numeric strings are numbers, a missing value is `null`,
`NaN` or an empty CSV cell alike, in every column and both endpoints (`nulls`); values
outside the declared categories are refused (`unknown_categories`, stricter than MLflow
on purpose) and so are values of the wrong JSON type (`true` for a number, `3` for a
string, `2.5` for an integer).

Column arrays are what the model sees: float64 (NaN for missing), int64 (float64 with
NaN when an integer column has missing values), bool (object with NaN when missing),
object arrays of str (NaN for missing), the representation scikit-learn's imputers
recognise as missing, and datetime64 (NaT for missing) for dates and times.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from gitml.core.errors import RequestError
from gitml.core.io import CSV_MISSING
from gitml.core.text import quoted
from gitml.model.signature import InputSpec, Signature

if TYPE_CHECKING:
    import pandas as pd

    from gitml.config import Serve

_NONE = type(None)
#: Python types a JSON value of each dtype may arrive as (bool is not a number here; numeric
#: strings are converted first).
_JSON_KINDS: dict[str, frozenset[type]] = {
    "float": frozenset({float, int}),
    "int": frozenset({int, float}),
    "bool": frozenset({bool}),
    "str": frozenset({str}),
    "datetime": frozenset({str}),
}
_WANTED = {"float": "a number", "int": "an integer", "bool": "true or false", "str": "a string",
           "datetime": "a date or time (text such as 2024-05-31 or 2024-05-31T17:45:00)"}
_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})
#: How many columns one error message names before "and N more".
_SHOWN = 5
_INT64_MAX = 2**63


@dataclass(frozen=True)
class Rules:
    """What a request may hold beyond the letter of the signature (the `serve` settings of that name)."""

    out_of_range: str = "accept"
    extra_columns: str = "ignore"
    nulls: str = "accept"
    unknown_categories: str = "reject"
    types: str = "strict"

    @classmethod
    def of(cls, serve: Serve) -> Rules:
        return cls(serve.out_of_range, serve.extra_columns, serve.nulls, serve.unknown_categories, serve.types)


#: MLflow's behaviour, with categories checked: the defaults of the `serve` section.
DEFAULT_RULES = Rules()


@dataclass(frozen=True)
class Rows:
    """Validated rows: one array per signature input (signature order), all of length `n`.

    `ignored` counts the request's columns beyond the signature that were left out.
    """

    columns: dict[str, np.ndarray]
    n: int
    ignored: int = 0

    def frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(self.columns, copy=False)


def concat(parts: Sequence[Rows]) -> Rows:
    """Several requests' rows as one block, for one model call."""
    if len(parts) == 1:
        return parts[0]
    names = parts[0].columns.keys()
    columns = {name: np.concatenate([part.columns[name] for part in parts]) for name in names}
    return Rows(columns, sum(part.n for part in parts))


def show(value: Any) -> str:
    """A value for an error message, `quoted` short (a list or object is named, never printed: it may nest deeply)."""
    if isinstance(value, list | dict):
        return f"a JSON {'list' if isinstance(value, list) else 'object'} of {len(value)} items"
    if isinstance(value, int) and abs(value) > 10**30:
        return f"an integer of {len(str(abs(value)))} digits"
    return quoted(value, 40)


class _Problem(Exception):
    """One column's problem, collected so a response names every failing column at once."""


class Validator:
    """Checks requests against one signature; built once per loaded model."""

    def __init__(self, signature: Signature, rules: Rules = DEFAULT_RULES) -> None:
        self.signature = signature
        self.specs = signature.by_name
        self.names = signature.names
        self.rules = rules

    # -- entry points -------------------------------------------------------------------

    def from_columns(self, data: Mapping[str, Sequence[Any]], n: int, *, text: bool = False) -> Rows:
        """Columns of JSON values (or of CSV text when `text`), each of length `n`."""
        ignored = self._check_names(data.keys())
        columns: dict[str, np.ndarray] = {}
        problems: list[str] = []
        for name in self.names:
            spec = self.specs[name]
            try:
                if text:
                    values = _parse_text(spec, data[name])
                elif self.rules.types == "coerce":
                    values = _coerce(spec, data[name])
                else:
                    values = data[name]
                columns[name] = self._finish(spec, _from_json(spec, values))
            except _Problem as exc:
                problems.append(f"column {show(name)}: {exc}")
        _raise(problems)
        return Rows(columns, n, ignored)

    def from_records(self, records: Sequence[Mapping[str, Any]], where: str) -> Rows:
        """Row objects; a key absent from one record is a missing value in that row."""
        keys: set[str] = set()
        for i, record in enumerate(records):
            if not isinstance(record, dict):
                raise RequestError(f"{where}[{i}]: expected an object of column values", 400, "BAD_REQUEST")
            keys.update(record)
        ignored = self._check_names(keys)
        rows = self.from_columns({name: [r.get(name) for r in records] for name in self.names}, len(records))
        return Rows(rows.columns, rows.n, ignored)

    def from_frame(self, frame: pd.DataFrame, *, request: bool = False) -> Rows:
        """A pandas table: a Parquet request body (`request`), or a chunk of batch prediction, whose
        columns beyond the signature pass through untouched."""
        ignored = self._check_names(frame.columns) if request else 0
        missing = [name for name in self.names if name not in frame.columns]
        if missing:
            raise RequestError(_name_list("missing column", missing))
        columns: dict[str, np.ndarray] = {}
        problems: list[str] = []
        for name in self.names:
            spec = self.specs[name]
            try:
                columns[name] = self._finish(spec, _from_series(spec, frame[name]))
            except _Problem as exc:
                problems.append(f"column {show(name)}: {exc}")
        _raise(problems)
        return Rows(columns, len(frame), ignored)

    # -- shared checks ------------------------------------------------------------------

    def _check_names(self, given: Iterable[Any]) -> int:
        """Refuse missing columns (and extra ones, if so configured); return how many extra ones there are."""
        given = list(given)
        known = self.specs.keys()
        unknown = [name for name in dict.fromkeys(given) if name not in known]
        if unknown and self.rules.extra_columns == "reject":
            index = " (the index column `DataFrame.to_csv()` writes: use index=False)" if "" in unknown else ""
            raise RequestError(_name_list("unknown column", unknown) + index + "; serve.extra_columns is reject")
        present = set(given)
        missing = [name for name in self.names if name not in present]
        if missing:
            raise RequestError(_name_list("missing column", missing))
        return len(unknown)

    def _finish(self, spec: InputSpec, values: np.ndarray) -> np.ndarray:
        """Null, integrality, category and range checks on a typed column array."""
        import pandas as pd

        dtype = spec.dtype
        nulls = np.isnan(values) if values.dtype.kind == "f" else pd.isna(values)
        has_nulls = bool(nulls.any())
        if has_nulls and not spec.nullable and self.rules.nulls == "reject":
            raise _Problem(f"missing value in row {int(np.argmax(nulls))}, and the column is not nullable "
                           "(serve.nulls is reject)")
        if dtype in {"float", "int"}:
            values = self._numbers(spec, values, nulls, has_nulls)
        elif dtype == "datetime":
            values = _dates(values, nulls)
        elif has_nulls:
            values = values.astype(object)
            values[nulls] = np.nan
        if spec.categories is not None and self.rules.unknown_categories == "reject":
            present = values[~nulls] if has_nulls else values
            unique = present.tolist() if len(present) < 256 else pd.unique(present).tolist()
            outside = [v for v in dict.fromkeys(unique) if v not in spec.allowed]
            if outside:
                shown = ", ".join(show(v) for v in outside[:3])
                raise _Problem(f"{shown} not among the declared categories (serve.unknown_categories is reject)")
        return values

    def _numbers(self, spec: InputSpec, values: np.ndarray, nulls: np.ndarray, has_nulls: bool) -> np.ndarray:
        if values.dtype.kind == "f":
            infinite = np.isinf(values)
            if infinite.any():
                raise _Problem(f"infinite value in row {int(np.argmax(infinite))}")
            if spec.dtype == "int":
                fractional = ~nulls & (values != np.round(values))
                if fractional.any() and self.rules.types == "strict":
                    row = int(np.argmax(fractional))
                    raise _Problem(f"expected an integer, got {show(values[row].item())} (row {row})")
                if not has_nulls and not fractional.any():  # (coerce: fractions stay floats, as MLflow's do)
                    if np.abs(values).max(initial=0) >= _INT64_MAX:
                        raise _Problem("integer out of the 64-bit range")
                    values = values.astype(np.int64)
        if self.rules.out_of_range == "reject":
            _check_bound(values, spec.min, np.less, "below min")
            _check_bound(values, spec.max, np.greater, "above max")
        return values


def _check_bound(values: np.ndarray, bound: float | None, beyond: np.ufunc, side: str) -> None:
    if bound is None:
        return
    mask = beyond(values, bound)  # NaN compares False: missing values pass
    if mask.any():
        row = int(np.argmax(mask))
        raise _Problem(f"{show(values[row].item())} {side} {bound:g} (row {row})")


def _dates(values: np.ndarray, nulls: np.ndarray) -> np.ndarray:
    """Dates and times as datetime64 (NaT for missing), read as the model reads them; other text refused."""
    from gitml.data import dates

    parsed = dates.parse(values)
    unread = parsed.isna().to_numpy() & ~np.asarray(nulls, dtype=bool)
    if unread.any():
        row = int(np.argmax(unread))
        raise _Problem(f"expected {_WANTED['datetime']}, got {show(values[row])} (row {row})")
    return parsed.to_numpy(dtype="datetime64[ns]")


def _from_json(spec: InputSpec, values: Sequence[Any]) -> np.ndarray:
    """A typed array from JSON values, refusing values of the wrong JSON type.

    A NaN is a missing value in any column (JSON `NaN` is as good as `null`); in a number
    column, strings are parsed as numbers, as MLflow does.
    """
    kinds = set(map(type, values))
    if float in kinds and spec.dtype in {"bool", "str"}:
        values = [None if type(v) is float and math.isnan(v) else v for v in values]
        kinds = set(map(type, values))
    if str in kinds and spec.dtype in {"float", "int"}:
        values = [_number(v, spec.dtype, row) if type(v) is str else v for row, v in enumerate(values)]
        kinds = set(map(type, values))
    wrong = kinds - _JSON_KINDS[spec.dtype] - {_NONE}
    if wrong:
        row, value = next((i, v) for i, v in enumerate(values) if type(v) in wrong)
        raise _Problem(f"expected {_WANTED[spec.dtype]}, got {show(value)} (row {row})")
    if spec.dtype in {"float", "int"}:
        if spec.dtype == "int" and kinds <= {int}:
            try:
                return np.array(values, dtype=np.int64)
            except OverflowError as exc:
                raise _Problem("integer out of the 64-bit range") from exc
        try:
            return np.array(values, dtype=np.float64)  # None becomes NaN
        except OverflowError as exc:
            raise _Problem("number out of the 64-bit float range") from exc
    if spec.dtype == "bool" and _NONE not in kinds:
        return np.array(values, dtype=bool)
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


def _coerce(spec: InputSpec, values: Sequence[Any]) -> list[Any]:
    """JSON values of another type converted as MLflow's schema enforcement converts them."""
    if spec.dtype == "str":
        return [v if v is None or type(v) is str else json.dumps(v) if type(v) is bool else str(v) for v in values]
    if spec.dtype in {"float", "int"}:
        return [float(v) if type(v) is bool else v for v in values]
    if spec.dtype == "bool":
        flags = {0: False, 1: True, **{t: True for t in _TRUE}, **{f: False for f in _FALSE}}
        return [flags.get(v.lower() if type(v) is str else v, v) if type(v) is not bool else v for v in values]
    return list(values)


def _number(text: str, dtype: str, row: int) -> int | float:
    """A numeric string as the number it spells (an integer column also takes "3.0")."""
    try:
        return int(text) if dtype == "int" and text.strip().lstrip("+-").isdigit() else float(text)
    except ValueError:
        raise _Problem(f"expected {_WANTED[dtype]}, got {show(text)} (row {row})") from None


def _parse_text(spec: InputSpec, cells: Sequence[str]) -> list[Any]:
    """CSV cells to JSON-like values: an empty cell (any of `io.CSV_MISSING`) is a missing value, as in ingest."""
    out: list[Any] = []
    for row, cell in enumerate(cells):
        cell = cell.strip() if spec.dtype != "str" else cell
        if cell in CSV_MISSING:
            out.append(None)
        elif spec.dtype in {"str", "datetime"}:
            out.append(cell)
        elif spec.dtype == "bool":
            lowered = cell.lower()
            if lowered not in _TRUE | _FALSE:
                raise _Problem(f"expected true or false, got {show(cell)} (row {row})")
            out.append(lowered in _TRUE)
        else:
            out.append(_number(cell, spec.dtype, row))
    return out


def _from_series(spec: InputSpec, series: pd.Series) -> np.ndarray:
    """A typed array from a pandas column, refusing dtypes that cannot hold the declared type."""
    import pandas as pd
    from pandas.api import types

    if spec.dtype in {"float", "int"}:
        if types.is_bool_dtype(series) or not types.is_numeric_dtype(series):
            raise _Problem(f"dtype {series.dtype} does not hold {_WANTED[spec.dtype]}s")
        if types.is_integer_dtype(series) and not series.hasnans:
            return series.to_numpy(dtype=np.int64) if spec.dtype == "int" else series.to_numpy(np.float64)
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    if spec.dtype == "bool":
        if not types.is_bool_dtype(series) and not series.dropna().isin([True, False]).all():
            raise _Problem(f"dtype {series.dtype} does not hold true/false values")
        return series.to_numpy(dtype=bool) if not series.hasnans else series.to_numpy(dtype=object)
    if spec.dtype == "datetime" and types.is_datetime64_any_dtype(series):
        return series.to_numpy(dtype=object)
    if not (types.is_string_dtype(series) or isinstance(series.dtype, pd.CategoricalDtype)):
        raise _Problem(f"dtype {series.dtype} does not hold strings")
    return series.to_numpy(dtype=object, na_value=np.nan)


def _name_list(what: str, names: list[str]) -> str:
    shown = ", ".join(quoted(n) for n in names[:_SHOWN])
    more = f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else ""
    return f"{what}{'s' if len(names) > 1 else ''}: {shown}{more}"


def _raise(problems: list[str]) -> None:
    if problems:
        more = f"; and {len(problems) - _SHOWN} more columns" if len(problems) > _SHOWN else ""
        raise RequestError("; ".join(problems[:_SHOWN]) + more)
