"""Batch prediction of CSV/Parquet files in chunks, so files larger than memory work.

Each chunk is checked against the signature with the same validator as the server
(columns beyond the signature pass through to the output untouched, e.g. an id), then
predicted; the output (input columns + `prediction` + `proba_<class>`) is written
chunk by chunk to a temporary file renamed into place at the end, so a failure leaves
no partial output and an existing output untouched.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from gitml.core import io
from gitml.core.errors import DataError, RequestError
from gitml.serve.model import Bundle

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)


def _format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in {".csv", ".txt"}:
        return "csv"
    if suffix in {".parquet", ".pq"}:
        return "parquet"
    raise DataError(f"{path}: unknown format {suffix or '(no suffix)'!r}; use .csv or .parquet")


def total_rows(path: Path) -> int | None:
    """Rows in the input when cheap to know (Parquet metadata), else None."""
    if _format(path) != "parquet":
        return None
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).metadata.num_rows


def chunks(path: Path, bundle: Bundle, chunk_rows: int) -> Iterator[pd.DataFrame]:
    """The input file in chunks of at most `chunk_rows` rows."""
    import pandas as pd
    import pyarrow.parquet as pq

    if not path.is_file():
        raise DataError(f"{path}: input file not found")
    io.check_columns(path, _format(path))
    try:
        if _format(path) == "csv":
            # Declared string columns stay strings ("007" is not the number 7).
            text = {spec.name: "str" for spec in bundle.signature.inputs if spec.dtype == "str"}
            yield from pd.read_csv(path, chunksize=chunk_rows, dtype=text)
        else:
            for batch in pq.ParquetFile(path).iter_batches(batch_size=chunk_rows):
                yield batch.to_pandas()
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{path}: cannot be read: {reason}") from exc


def predicted(frame: pd.DataFrame, bundle: Bundle, first_row: int) -> pd.DataFrame:
    """One chunk with its predictions appended."""
    try:
        rows = bundle.validator.from_frame(frame)
    except RequestError as exc:
        raise DataError(f"rows {first_row}-{first_row + len(frame) - 1}: {exc}") from exc
    prediction = bundle.predict(rows)
    out = frame.copy()
    added = {"prediction": prediction.labels}
    if prediction.proba is not None:
        added.update({f"proba_{c}": prediction.proba[:, j] for j, c in enumerate(bundle.classes)})
    clash = [name for name in added if name in out.columns]
    if clash:
        raise DataError(f"input columns {clash} would be overwritten by the prediction columns")
    for name, values in added.items():
        out[name] = values
    return out


def predict_file(source: str | Path, output: str | Path, bundle: Bundle, chunk_rows: int = 50_000,
                 progress: Callable[[int], None] = lambda n: None) -> int:
    """Predict every row of `source` into `output` (CSV or Parquet by suffix); returns the row count."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    source, output = Path(source), Path(output)
    out_format = _format(output)
    done = 0
    with io.atomic_path(output) as tmp:
        writer: pq.ParquetWriter | None = None
        try:
            for frame in chunks(source, bundle, chunk_rows):
                result = predicted(frame, bundle, done)
                if out_format == "csv":
                    result.to_csv(tmp, mode="a" if done else "w", header=not done, index=False)
                else:
                    table = pa.Table.from_pandas(result, preserve_index=False)
                    if writer is None:
                        writer = pq.ParquetWriter(tmp, table.schema)
                    writer.write_table(table.cast(writer.schema))
                done += len(frame)
                progress(len(frame))
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise DataError(f"{source}: rows from {done} on do not match the earlier rows' types: {exc}") from exc
        finally:
            if writer is not None:
                writer.close()
        if not done:
            raise DataError(f"{source}: no rows to predict")
    log.info("predicted %d rows from %s into %s", done, source, output)
    return done
