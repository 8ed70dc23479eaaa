"""The featurize stage's data work, columnar: de-duplicate and split the raw table in pyarrow.

The split files keep the raw input schema (monitoring compares the train file with live
requests; every transform lives inside the model). Splitting needs only row numbers, so
the table never becomes a pandas DataFrame: at 10M rows x 25 columns that round trip
would double both the memory and the time. The row numbers come from scikit-learn's own
`train_test_split` over `arange(n)`, stratified on class codes numbered in sorted label
order as `numpy.unique` numbers them, so the rows and their order are exactly those of
`gitml.features.split` on the DataFrame; each split is then one `take`, written straight
to Parquet.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitml import data, features, io
from gitml.config import Params
from gitml.errors import ConfigError, DataError

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

log = logging.getLogger(__name__)

#: An odd 64-bit multiplier (FNV-1a's prime) that mixes one column's row hash into the next.
_MIX = 0x100000001B3


def read_columns(path: str | Path, columns: list[str]) -> pa.Table:
    """Only `columns` of a Parquet file, as a pyarrow Table; a missing column is one DataError line."""
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: data file not found")
    try:
        present = set(pq.read_schema(path).names)
        missing = [name for name in columns if name not in present]
        if missing:
            raise DataError(f"{path}: columns {missing} are missing")
        return pq.read_table(path, columns=columns)
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise DataError(f"{path}: cannot be read as parquet: {str(exc).splitlines()[0]}") from exc


def codes(column: pa.ChunkedArray, ordered: bool = False) -> np.ndarray:
    """Integer codes of a column's values (equal values, equal codes; nulls share one code).

    With `ordered`, codes follow the sorted order of the distinct values, as
    `numpy.unique(..., return_inverse=True)` numbers them.
    """
    import numpy as np
    import pyarrow.compute as pc

    distinct = pc.unique(column)
    found = pc.index_in(column, value_set=distinct, skip_nulls=False).to_numpy(zero_copy_only=False)
    found = found.astype(np.int64)
    if not ordered:
        return found
    rank = np.empty(len(distinct), dtype=np.int64)
    rank[pc.array_sort_indices(distinct).to_numpy()] = np.arange(len(distinct))
    return rank[found]


def _row_hashes(table: pa.Table) -> np.ndarray:
    """One uint64 per row mixing every column's values: equal rows always get equal hashes."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    hashes = np.zeros(table.num_rows, dtype=np.uint64)
    for column in table.columns:
        if pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
            values = column.to_numpy()
            if column.null_count or pa.types.is_floating(column.type):
                values = values.astype(np.float64, copy=False)
                # One bit pattern per value pandas calls equal: every NaN, and -0.0 with 0.0.
                values = np.where(values == values, values + 0.0, np.nan)
        else:
            values = codes(column)
        hashes = (hashes * np.uint64(_MIX)) ^ pd.util.hash_array(values, categorize=False)
    return hashes


def duplicated(table: pa.Table, keep: str | bool = "first") -> np.ndarray:
    """Boolean mask of duplicate rows, exactly as `DataFrame.duplicated(keep=...)` marks them.

    Rows are hashed column by column; only rows whose hash repeats (every true duplicate,
    and rare collisions) are compared exactly, in pandas, so the cost stays columnar.
    """
    import numpy as np
    import pandas as pd

    mask = np.zeros(table.num_rows, dtype=bool)
    if table.num_rows < 2:
        return mask
    candidates = np.flatnonzero(pd.Series(_row_hashes(table)).duplicated(keep=False).to_numpy())
    if len(candidates):
        exact = table.take(candidates).to_pandas().duplicated(keep=keep).to_numpy()
        mask[candidates[exact]] = True
    return mask


def split_indices(table: pa.Table, rows: np.ndarray, params: Params) -> tuple[np.ndarray, np.ndarray]:
    """Row numbers of the train and test splits of `table`'s `rows`: `features.split`'s rows and order."""
    from sklearn.model_selection import train_test_split

    split, target = params.features.split, params.data.target
    stratify = None
    if params.data.task == "classification" and split.stratify:
        stratify = codes(table.column(target), ordered=True)[rows]
    try:
        train, test = train_test_split(rows, test_size=split.test_size, random_state=params.seed, stratify=stratify)
    except ValueError as exc:
        raise ConfigError(f"features.split: cannot split {len(rows)} rows: {exc}") from exc
    return train, test


def _write(path: str | Path, table: pa.Table) -> None:
    import pyarrow.parquet as pq

    with io.atomic_path(path) as tmp:
        pq.write_table(table, tmp)


def columns(params: Params) -> list[str]:
    """The split files' columns: the model's raw inputs by role, then the target."""
    roles = features.input_columns(data.contract(params.data), params.data.target, params.features)
    return [name for names in roles.values() for name in names] + [params.data.target]


def run(params: Params) -> dict[str, Any]:
    """Read, de-duplicate, split and write the train and test files; return what was done."""
    import numpy as np

    wanted = columns(params)
    table = read_columns(params.paths.raw, wanted).replace_schema_metadata(None)
    rows = np.arange(table.num_rows)
    dedup = params.features.dedup
    if dedup.policy != "none":
        # Kept row numbers, not a de-duplicated copy: the table is copied once, by the split's takes.
        mask = duplicated(table.select(dedup.subset or wanted), keep=False if dedup.policy == "all" else dedup.policy)
        rows = np.flatnonzero(~mask)
        log.info("dedup (%s): %d of %d rows dropped", dedup.policy, table.num_rows - len(rows), table.num_rows)
        if not len(rows):
            raise DataError(f"features.dedup: no rows left after de-duplication (policy {dedup.policy})")
    train, test = split_indices(table, rows, params)
    _write(params.paths.train, table.take(train))
    _write(params.paths.test, table.take(test))
    log.info("split %d rows into %d train and %d test rows", len(rows), len(train), len(test))
    return {"rows": table.num_rows, "duplicates_dropped": table.num_rows - len(rows),
            "train_rows": len(train), "test_rows": len(test)}
