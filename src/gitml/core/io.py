"""Atomic file writes and the few formats gitml reads and writes.

A stage writes to a temporary file in the target folder and renames it into place,
so an interrupted or failing stage leaves the previous output (or none), never half
a file. Every temporary file or folder is named `.<target>.<pid>.<random>.gitml.tmp`
(`temporary`): the template's .gitignore and .dvcignore ignore `*.gitml.tmp`, so a killed
writer's leftover is never committed or hashed, and `sweep` removes those whose process is
gone (a stage does at its start).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitml.core.errors import DataError
from gitml.core.text import cut, quoted, reason

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa


log = logging.getLogger(__name__)

#: Outputs are ordinary files, readable by the team and by CI.
FILE_MODE = 0o644
#: How every temporary file and folder ends (the template's .gitignore and .dvcignore: `*.gitml.tmp`).
TEMP_SUFFIX = ".gitml.tmp"


def temporary(path: str | Path, folder: bool = False) -> Path:
    """A new temporary file (or folder) beside `path`, named for it and for this process."""
    path = Path(path)
    prefix = f".{path.name}.{os.getpid()}."
    if folder:
        return Path(tempfile.mkdtemp(dir=path.parent, prefix=prefix, suffix=TEMP_SUFFIX))
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=prefix, suffix=TEMP_SUFFIX)
    os.close(fd)
    return Path(name)


def _owner_gone(name: str) -> bool:
    """Whether the process that made temporary `name` has ended (only temporaries of this pattern count)."""
    parts = name.removesuffix(TEMP_SUFFIX).rsplit(".", 2)
    if not (name.startswith(".") and name.endswith(TEMP_SUFFIX) and len(parts) == 3 and parts[1].isdigit()):
        return False
    pid = int(parts[1])
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # alive, another user's
        return False
    return False


def sweep(paths: Iterable[str | Path]) -> list[Path]:
    """Remove the temporaries a killed writer left beside each path (and inside each folder path).

    Only those whose process has ended: a writer still running on this machine keeps its
    own. Returns what was removed.
    """
    targets = [Path(path) for path in paths]
    folders = {path.parent for path in targets} | {path for path in targets if path.is_dir()}
    removed = []
    for folder in sorted(folders):
        if not folder.is_dir():
            continue
        for entry in folder.glob(f".*{TEMP_SUFFIX}"):
            if _owner_gone(entry.name):
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)
                removed.append(entry)
    if removed:
        log.info("removed %d stale temporary file(s) of killed runs: %s", len(removed),
                 ", ".join(str(path) for path in removed[:3]))
    return removed

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
    with _parent_folders(path):
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except FileNotFoundError:
            mode = FILE_MODE  # not mkstemp's 0600, which would make outputs private to their writer
        tmp = temporary(path)
        os.chmod(tmp, mode)
        try:
            yield Path(tmp)
            if durable:
                with open(tmp, "rb") as handle:
                    os.fsync(handle.fileno())
            os.replace(tmp, path)
        except OSError as exc:
            # A write to an open file (disk full, size limit) names no file. Only a system error (with an
            # errno) is named: an OSError of a message alone would print as "[Errno None] None: <file>".
            if exc.filename is None and exc.errno is not None:
                exc.filename = str(path)
            raise
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)


@contextlib.contextmanager
def _parent_folders(path: str | Path) -> Iterator[None]:
    """Create the missing folders above `path`; if the body fails, remove those it created (when empty),
    so a refused input leaves no trace."""
    missing = [folder for folder in Path(path).parents if not folder.exists()]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    try:
        yield
    except BaseException:
        for folder in missing:  # deepest first
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise


def copy_tree(source: str | Path, target: str | Path, ignore: Callable[[str, list[str]], Iterable[str]] | None = None,
              ) -> None:
    """`shutil.copytree`, except that the first OSError is raised as it is, naming its file.

    copytree gathers every failure into one shutil.Error of strings: a full disk or a file size
    limit would lose its errno, and so its one line (HostError). `ignore` is copytree's.
    """
    source, target = Path(source), Path(target)
    for folder, folders, files in os.walk(source, followlinks=True):  # as copytree, which follows links
        ignored = set(ignore(folder, folders + files)) if ignore else set()
        folders[:] = sorted(name for name in folders if name not in ignored)
        here = target / Path(folder).relative_to(source)
        here.mkdir(parents=True, exist_ok=True)
        for name in sorted(files):
            if name in ignored:
                continue
            try:
                shutil.copy2(Path(folder) / name, here / name)
            except OSError as exc:
                if exc.filename is None and exc.errno is not None:  # a write after the open (disk full, size limit)
                    exc.filename = str(here / name)
                raise


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


def table_format(path: str | Path, fmt: str = "auto") -> str:
    """`csv` or `parquet`: `fmt`, or the file's suffix when `fmt` is auto."""
    if fmt != "auto":
        return fmt
    return "csv" if Path(path).suffix.lower() in {".csv", ".txt"} else "parquet"


def check_columns(path: str | Path, fmt: str = "auto") -> None:
    """Refuse a table whose header names a column twice, naming it.

    Read from the header itself: pandas renames the second `x` of a CSV to `x.1`, and
    pyarrow keeps both, so after reading the duplicate would surface as an unknown column
    or an ambiguous one. Unreadable headers are left to the reader to report.
    """
    import csv

    names: list[str] = []
    try:
        if table_format(path, fmt) == "csv":
            with open(path, newline="", encoding="utf-8-sig") as handle:
                names = next(csv.reader(handle), [])
        else:
            import pyarrow.parquet as pq

            names = pq.read_schema(path).names
    except (OSError, UnicodeDecodeError, csv.Error, ValueError):
        return
    seen: dict[str, int] = {}
    for position, name in enumerate(names, start=1):
        if name in seen:
            raise DataError(f"{path}: duplicate column {quoted(name)} (columns {seen[name]} and {position}); "
                            "every column needs its own name")
        seen[name] = position


def read_table(path: str | Path, fmt: str = "auto") -> pd.DataFrame:
    """Read a CSV or Parquet file; any failure names the file and why, in one line."""
    import pandas as pd

    path = Path(path)
    fmt = table_format(path, fmt)
    if not path.is_file():
        raise DataError(f"{path}: data file not found")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: data file is empty")
    check_columns(path, fmt)
    try:
        if fmt == "csv":
            frame = pd.read_csv(path, keep_default_na=False, na_values=sorted(CSV_MISSING))
        else:
            frame = pd.read_parquet(path)
    except Exception as exc:  # the readers raise many unrelated types for a bad file
        raise DataError(f"{path}: cannot be read as {fmt}: {cut(reason(exc), 300)}") from exc
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
    old = temporary(output, folder=True)
    os.rename(output, old / output.name)
    os.rename(built, output)
    shutil.rmtree(old)
