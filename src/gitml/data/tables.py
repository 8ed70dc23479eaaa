"""Columnar table work in pyarrow: read some columns, code values as integers, find duplicate rows.

The raw table can be tens of millions of rows: these functions never build a pandas
DataFrame of it, and give exactly the answers pandas would (`numpy.unique` codes,
`DataFrame.duplicated` marks), which the tests check.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from gitml.core.errors import DataError

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

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
