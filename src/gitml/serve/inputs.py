"""Request rows checked against the signature and turned into one numpy array per column.

Every request is validated on its own, before it can join a micro-batch, so a bad
request fails alone with a 4xx naming the column and the problem (never a 500, never
the whole schema). Checks are per column and vectorised where it pays: a JSON column's
value types are read in one `set(map(type, values))` pass.

Column arrays are what the model sees: float64 (NaN for missing), int64 (float64 with
NaN when an integer column has missing values), bool (object with NaN when missing) and
object arrays of str (NaN for missing), the representation scikit-learn's imputers
recognise as missing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from gitml.core.errors import RequestError
from gitml.core.io import CSV_MISSING
from gitml.core.text import quoted
from gitml.model.signature import InputSpec, Signature

if TYPE_CHECKING:
    import pandas as pd

_NONE = type(None)
#: Python types a JSON value of each dtype may arrive as (bool is not a number here).
_JSON_KINDS: dict[str, frozenset[type]] = {
    "float": frozenset({float, int}),
    "int": frozenset({int, float}),
    "bool": frozenset({bool}),
    "str": frozenset({str}),
}
_WANTED = {"float": "a number", "int": "an integer", "bool": "true or false", "str": "a string"}
_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})
#: How many columns one error message names before "and N more".
_SHOWN = 5
_INT64_MAX = 2**63


@dataclass(frozen=True)
class Rows:
    """Validated rows: one array per signature input (signature order), all of length `n`."""

    columns: dict[str, np.ndarray]
    n: int

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
    """A value for an error message: `quoted`, at a limit short enough for a response body."""
    return quoted(value, 40)


class _Problem(Exception):
    """One column's problem, collected so a response names every failing column at once."""


class Validator:
    """Checks requests against one signature; built once per loaded model."""

    def __init__(self, signature: Signature, reject_out_of_range: bool = False) -> None:
        self.signature = signature
        self.specs = signature.by_name
        self.names = signature.names
        self.reject_out_of_range = reject_out_of_range

    # -- entry points -------------------------------------------------------------------

    def from_columns(self, data: Mapping[str, Sequence[Any]], n: int, *, text: bool = False) -> Rows:
        """Columns of JSON values (or of CSV text when `text`), each of length `n`."""
        self._check_names(data.keys())
        columns: dict[str, np.ndarray] = {}
        problems: list[str] = []
        for name in self.names:
            spec = self.specs[name]
            try:
                values = _parse_text(spec, data[name]) if text else data[name]
                columns[name] = self._finish(spec, _from_json(spec, values))
            except _Problem as exc:
                problems.append(f"column {quoted(name)}: {exc}")
        _raise(problems)
        return Rows(columns, n)

    def from_records(self, records: Sequence[Mapping[str, Any]], where: str) -> Rows:
        """Row objects; a key absent from one record is a missing value in that row."""
        keys: set[str] = set()
        for i, record in enumerate(records):
            if not isinstance(record, dict):
                raise RequestError(f"{where}[{i}]: expected an object of column values", 400, "BAD_REQUEST")
            keys.update(record)
        self._check_names(keys)
        return self.from_columns({name: [r.get(name) for r in records] for name in self.names}, len(records))

    def from_frame(self, frame: pd.DataFrame) -> Rows:
        """A pandas table (batch prediction); columns beyond the signature are left alone."""
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
                problems.append(f"column {quoted(name)}: {exc}")
        _raise(problems)
        return Rows(columns, len(frame))

    # -- shared checks ------------------------------------------------------------------

    def _check_names(self, given: Any) -> None:
        given = set(given)
        unknown = sorted(given - self.specs.keys())
        if unknown:
            raise RequestError(_name_list("unknown column", unknown))
        missing = [name for name in self.names if name not in given]
        if missing:
            raise RequestError(_name_list("missing column", missing))

    def _finish(self, spec: InputSpec, values: np.ndarray) -> np.ndarray:
        """Null, integrality, category and range checks on a typed column array."""
        import pandas as pd

        dtype = spec.dtype
        nulls = np.isnan(values) if values.dtype.kind == "f" else pd.isna(values)
        has_nulls = bool(nulls.any())
        if has_nulls and not spec.nullable:
            raise _Problem(f"missing value in row {int(np.argmax(nulls))}, and the column is not nullable")
        if dtype in {"float", "int"}:
            values = self._numbers(spec, values, nulls, has_nulls)
        elif has_nulls:
            values = values.astype(object)
            values[nulls] = np.nan
        if spec.categories is not None:
            present = values[~nulls] if has_nulls else values
            unique = present.tolist() if len(present) < 256 else pd.unique(present).tolist()
            outside = [v for v in dict.fromkeys(unique) if v not in spec.allowed]
            if outside:
                shown = ", ".join(show(v) for v in outside[:3])
                raise _Problem(f"{shown} not among the declared categories")
        return values

    def _numbers(self, spec: InputSpec, values: np.ndarray, nulls: np.ndarray, has_nulls: bool) -> np.ndarray:
        if values.dtype.kind == "f":
            infinite = np.isinf(values)
            if infinite.any():
                raise _Problem(f"infinite value in row {int(np.argmax(infinite))}")
            if spec.dtype == "int":
                fractional = ~nulls & (values != np.round(values))
                if fractional.any():
                    row = int(np.argmax(fractional))
                    raise _Problem(f"expected an integer, got {show(values[row].item())} (row {row})")
                if not has_nulls:
                    if np.abs(values).max(initial=0) >= _INT64_MAX:
                        raise _Problem("integer out of the 64-bit range")
                    values = values.astype(np.int64)
        if self.reject_out_of_range:
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


def _from_json(spec: InputSpec, values: Sequence[Any]) -> np.ndarray:
    """A typed array from JSON values, refusing values of the wrong JSON type."""
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


def _parse_text(spec: InputSpec, cells: Sequence[str]) -> list[Any]:
    """CSV cells to JSON-like values: an empty cell (any of `io.CSV_MISSING`) is a missing value, as in ingest."""
    out: list[Any] = []
    for row, cell in enumerate(cells):
        cell = cell.strip() if spec.dtype != "str" else cell
        if cell in CSV_MISSING:
            out.append(None)
        elif spec.dtype == "str":
            out.append(cell)
        elif spec.dtype == "bool":
            lowered = cell.lower()
            if lowered not in _TRUE | _FALSE:
                raise _Problem(f"expected true or false, got {show(cell)} (row {row})")
            out.append(lowered in _TRUE)
        else:
            try:
                out.append(int(cell) if spec.dtype == "int" else float(cell))
            except ValueError:
                try:
                    out.append(float(cell))
                except ValueError:
                    raise _Problem(f"expected {_WANTED[spec.dtype]}, got {show(cell)} (row {row})") from None
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
