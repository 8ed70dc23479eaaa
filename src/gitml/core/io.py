"""Atomic file writes and the few formats gitml reads and writes.

A stage writes to a temporary file in the target folder and renames it into place,
so an interrupted or failing stage leaves the previous output (or none), never half
a file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitml.core.errors import DataError
from gitml.core.text import reason

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa


#: Outputs are ordinary files, readable by the team and by CI.
FILE_MODE = 0o644

#: The CSV cells that are missing values, in every CSV reader gitml has (ingest, monitoring,
#: serving's CSV bodies): the empty cell and pandas' default spellings of a missing value, so
#: the same file reads alike everywhere, and as the same rows as Parquet with nulls.
CSV_MISSING = frozenset({
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
})


@contextlib.contextmanager
def atomic_path(path: str | Path, durable: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it into place only on success.

    An existing file keeps its permission bits, a new one gets FILE_MODE. `durable` flushes
    the bytes to disk before the rename, so a crash right after cannot leave an empty file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        mode = FILE_MODE  # not mkstemp's 0600, which would make outputs private to their writer
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    os.chmod(tmp, mode)
    try:
        yield Path(tmp)
        if durable:
            with open(tmp, "rb") as handle:
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def md5_file(path: str | Path) -> str:
    """The md5 of a file's bytes: what DVC 3 records for a file output."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_json_if_exists(path: str | Path) -> Any:
    """A JSON file's content, or None when there is no such file (an optional output)."""
    return read_json(path) if Path(path).is_file() else None


def write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | Path, data: Any) -> None:
    write_text(path, json.dumps(data, indent=2, sort_keys=False, allow_nan=False) + "\n")


def read_json(path: str | Path) -> Any:
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise DataError(f"{path}: not found") from exc
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not valid JSON: {exc}") from exc


def write_parquet(path: str | Path, frame: pd.DataFrame) -> None:
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False)


def write_arrow(path: str | Path, table: pa.Table) -> None:
    """A pyarrow Table as Parquet, atomically (no pandas round trip)."""
    import pyarrow.parquet as pq

    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


def read_table(path: str | Path, fmt: str = "auto") -> pd.DataFrame:
    """Read a CSV or Parquet file; any failure names the file and why, in one line."""
    import pandas as pd

    path = Path(path)
    if fmt == "auto":
        fmt = "csv" if path.suffix.lower() in {".csv", ".txt"} else "parquet"
    if not path.is_file():
        raise DataError(f"{path}: data file not found")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: data file is empty")
    try:
        if fmt == "csv":
            frame = pd.read_csv(path, keep_default_na=False, na_values=sorted(CSV_MISSING))
        else:
            frame = pd.read_parquet(path)
    except Exception as exc:  # the readers raise many unrelated types for a bad file
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{path}: cannot be read as {fmt}: {reason}") from exc
    if frame.empty:
        raise DataError(f"{path}: data file has no rows")
    return frame


# --- remote folders: fsspec URLs (s3://bucket/prefix, gs://..., az://...) ------------------------

#: Object stores where one upload becomes visible whole (a multipart upload only when it completes).
_WHOLE_PUTS = {"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "memory"}


def is_url(path: str | Path) -> bool:
    """Whether `path` is an fsspec URL of a remote store (`s3://bucket/prefix`) rather than a local path."""
    text = str(path)
    return "://" in text and not text.startswith("file://")


def filesystem(url: str) -> tuple[Any, str]:
    """The fsspec filesystem of `url` and the path inside it; an unknown protocol or missing client is one line.

    Credentials and endpoints come from the store's usual environment (AWS_*, AWS_ENDPOINT_URL,
    GOOGLE_APPLICATION_CREDENTIALS, ...) or fsspec's own (FSSPEC_S3_ENDPOINT_URL=...).
    """
    import fsspec

    try:
        return fsspec.core.url_to_fs(url)
    except (ImportError, ValueError) as exc:
        raise DataError(f"{url}: {reason(exc)}") from exc


def _whole_puts(fs: Any) -> bool:
    protocols = {fs.protocol} if isinstance(fs.protocol, str) else set(fs.protocol)
    return bool(protocols & _WHOLE_PUTS)


def upload(local: str | Path, url: str) -> None:
    """Copy a local file to `url` so that a reader sees all of it or nothing.

    An object store shows a single upload whole; anywhere else (a folder, SFTP) the file goes
    under a hidden temporary name first and is renamed into place.
    """
    fs, path = filesystem(url)
    if _whole_puts(fs):
        fs.put_file(str(local), path)
        return
    parent, name = path.rsplit("/", 1)
    tmp = f"{parent}/.{name}.tmp"
    fs.makedirs(parent, exist_ok=True)
    fs.put_file(str(local), tmp)
    fs.mv(tmp, path)


def probe(url: str) -> None:
    """Prove a file can be written under `url` (and removed again); raises what the store raised."""
    fs, path = filesystem(url)
    if not _whole_puts(fs):
        fs.makedirs(path, exist_ok=True)  # not on object stores: s3fs would create a missing bucket
    probe_path = f"{path.rstrip('/')}/.probe-{os.getpid()}"
    fs.pipe_file(probe_path, b"")
    fs.rm_file(probe_path)


def swap_into_place(built: str | Path, output: str | Path) -> None:
    """Rename the folder `built` to `output`; an existing output is moved aside first, then removed.

    A reader sees the previous folder or the new one, never a mix, and a failure before the
    rename leaves the previous one whole (`gitml get`, `gitml site`).
    """
    import shutil

    built, output = Path(built), Path(output)
    if not output.exists():
        os.rename(built, output)
        return
    old = Path(tempfile.mkdtemp(dir=output.parent, prefix=f".{output.name}.old."))
    os.rename(output, old / output.name)
    os.rename(built, output)
    shutil.rmtree(old)
