"""The featurize stage, columnar: de-duplicate and split the raw table in pyarrow.

The split files keep the raw input schema (monitoring compares the train file with live
requests; every transform lives inside the model). Splitting needs only row numbers, so
the table never becomes a pandas DataFrame: at 10M rows x 25 columns that round trip
would double both the memory and the time. The row numbers come from scikit-learn's own
`train_test_split` over `arange(n)`, stratified on class codes numbered in sorted label
order as `numpy.unique` numbers them, so the rows and their order are exactly those of
`train_test_split` on the DataFrame; each split is then one `take`, written straight to
Parquet.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from gitml.config import Params, Split
from gitml.core import io
from gitml.core.errors import ConfigError, DataError
from gitml.data import sources, tables
from gitml.features import spec

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

log = logging.getLogger(__name__)


def split_indices(table: pa.Table, rows: np.ndarray, split: Split, target: str, task: str,
                  seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Row numbers of the train and test splits of `table`'s `rows`: `train_test_split`'s rows and order."""
    from sklearn.model_selection import train_test_split

    stratify = None
    if task == "classification" and split.stratify:
        stratify = tables.codes(table.column(target), ordered=True)[rows]
    try:
        train, test = train_test_split(rows, test_size=split.test_size, random_state=seed, stratify=stratify)
    except ValueError as exc:
        raise ConfigError(f"features.split: cannot split {len(rows)} rows: {exc}") from exc
    return train, test


def _with_target(table: pa.Table, target: str, declared: Any) -> pa.Table:
    """The rows that have a target (the validation report counts the others), whole-number codes as integers.

    A CSV column of integer class codes with empty cells reads as floats; once those rows
    are gone, the contract's `int` makes the classes 1, 2, 3 again, not 1.0, 2.0, 3.0.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    column = table.column(target)
    if column.null_count or (pa.types.is_floating(column.type) and pc.any(pc.is_nan(column)).as_py()):
        kept = pc.invert(pc.is_null(column, nan_is_null=True))
        log.info("%d rows without a target %r left out", table.num_rows - pc.sum(kept).as_py(), target)
        table = table.filter(kept)
    if declared is not None and declared.dtype == "int" and pa.types.is_floating(table.column(target).type):
        table = table.set_column(table.column_names.index(target), target, table.column(target).cast(pa.int64()))
    return table


def run(params: Params) -> dict[str, Any]:
    """The featurize stage: read, de-duplicate, split and write the train and test files; what was done."""
    import numpy as np

    target = params.data.target
    contract = sources.contract(params.data)
    wanted = [*spec.raw_columns(contract, target, params.features), target]
    raw = tables.read_columns(params.paths.raw, wanted).replace_schema_metadata(None)
    table = _with_target(raw, target, contract.columns.get(target))
    if not table.num_rows:
        raise DataError(f"{params.paths.raw}: no row has a target {target!r}")
    rows = np.arange(table.num_rows)
    dedup = params.features.dedup
    if dedup.policy != "none":
        # Kept row numbers, not a de-duplicated copy: the table is copied once, by the split's takes.
        keep = False if dedup.policy == "all" else dedup.policy
        mask = tables.duplicated(table.select(dedup.subset or wanted), keep=keep)
        rows = np.flatnonzero(~mask)
        log.info("dedup (%s): %d of %d rows dropped", dedup.policy, table.num_rows - len(rows), table.num_rows)
        if not len(rows):
            raise DataError(f"features.dedup: no rows left after de-duplication (policy {dedup.policy})")
    train, test = split_indices(table, rows, params.features.split, target, params.data.task, params.seed)
    io.write_arrow(params.paths.train, table.take(train))
    io.write_arrow(params.paths.test, table.take(test))
    log.info("split %d rows into %d train and %d test rows", len(rows), len(train), len(test))
    return {"rows": raw.num_rows, "rows_without_target": raw.num_rows - table.num_rows,
            "duplicates_dropped": table.num_rows - len(rows),
            "train_rows": len(train), "test_rows": len(test)}
