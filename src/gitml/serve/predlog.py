"""The prediction log: every served row, its prediction and model version, as Parquet files.

Monitoring reads `data/inference/predictions-<UTC yyyymmddThhmmss>-<pid>-<seq>.parquet`
(config `serve.log`), with one column per signature input (its dtype), `prediction`,
`proba_<class>` per class for classifiers, `model_version`, `request_id` and `timestamp`
(timestamp[us, tz=UTC]).

A request never waits for the disk: the model thread appends its batch to an in-memory
buffer under a short lock, and a background thread writes what is buffered every
`flush_s`. The log loses nothing it reports as written:

- A flush writes the rows as one closed Parquet segment (a temporary name, fsync, rename,
  fsync of the folder) into the *open part*, a hidden folder
  `.predictions-....parquet.parts/`. Only then are the rows counted as written, so a
  SIGKILL loses at most the rows of the last `flush_s`.
- At `rotate_mb` or `rotate_s`, at shutdown, and for a new signature, the part's segments
  are merged into one Parquet file that is renamed into place: readers see whole files only.
- The open part is held with an exclusive `flock`. A part left open by a crash is
  recovered at the next start (`recover`): its complete segments become the published
  file; a part whose file was published already is just removed.
- A flush that fails (a deleted or read-only folder, a full disk) keeps its rows buffered
  and makes readiness false at once; the next flush tries again (a vanished folder is
  created anew). Rows beyond `max_buffer_rows`, and rows still unwritten at shutdown, are
  dropped and counted, so `written + dropped` equals the rows answered, exactly.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gitml.config import PredictionLog as LogConfig
from gitml.core.errors import ConfigError

if TYPE_CHECKING:
    import pyarrow as pa

    from gitml.serve.inputs import Rows
    from gitml.serve.model import Bundle, Prediction

log = logging.getLogger(__name__)

_MB = 1024 * 1024
_ARROW_TYPES = {"float": ("float64",), "int": ("int64",), "bool": ("bool_",), "str": ("string",),
                "datetime": ("timestamp", "ns")}


@dataclass(frozen=True)
class Entry:
    """One model call's rows; request ids and arrival times are per request, expanded at write time."""

    bundle: Bundle
    rows: Rows
    prediction: Prediction
    request_ids: list[str]
    timestamps: list[float]
    counts: list[int]


def schema(bundle: Bundle) -> pa.Schema:
    """The log's columns for one model (a new model with a new signature starts a new file)."""
    import pyarrow as pa

    fields = [pa.field(spec.name, getattr(pa, _ARROW_TYPES[spec.dtype][0])(*_ARROW_TYPES[spec.dtype][1:]))
              for spec in bundle.signature.inputs]
    if bundle.classes is None:
        fields.append(pa.field("prediction", pa.float64()))
    else:
        kinds = {type(c) for c in bundle.classes}
        label = pa.bool_() if kinds == {bool} else pa.int64() if kinds == {int} else pa.string()
        fields.append(pa.field("prediction", label))
        fields.extend(pa.field(f"proba_{c}", pa.float64()) for c in bundle.classes)
    fields += [
        pa.field("model_version", pa.string()),
        pa.field("request_id", pa.string()),
        pa.field("timestamp", pa.timestamp("us", tz="UTC")),
    ]
    return pa.schema(fields)


def table(entries: list[Entry], target: pa.Schema) -> pa.Table:
    """Entries of one model as one Arrow table in the log's schema."""
    import pyarrow as pa

    def joined(get: Callable[[Entry], np.ndarray]) -> np.ndarray:
        return np.concatenate([get(entry) for entry in entries])

    bundle = entries[0].bundle
    arrays: list[Any] = [joined(lambda e, n=spec.name: e.rows.columns[n]) for spec in bundle.signature.inputs]
    arrays.append(joined(lambda e: e.prediction.labels))
    if bundle.classes is not None:
        proba = joined(lambda e: e.prediction.proba)
        arrays.extend(proba[:, j] for j in range(len(bundle.classes)))
    arrays.append(joined(lambda e: np.repeat(np.array([e.bundle.info.version], dtype=object), e.rows.n)))
    arrays.append(joined(lambda e: np.repeat(np.array(e.request_ids, dtype=object), e.counts)))
    micros = joined(lambda e: np.repeat(np.round(np.array(e.timestamps) * 1e6).astype(np.int64), e.counts))
    arrays.append(micros)
    columns = [pa.array(array, type=field.type, from_pandas=True) for array, field in zip(arrays, target, strict=True)]
    return pa.Table.from_arrays(columns, schema=target)


def check_writable(directory: Path) -> None:
    """Create the log folder and prove a file can be written there, or name the folder and why not."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        probe = directory / f".probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(f"serve.log.dir: cannot write {directory}: {exc.strerror or exc}") from exc


_PARTS = ".parts"
_SEGMENT = "{:06d}.parquet"


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _durable_parquet(table: pa.Table, target: Path) -> None:
    """Write `table` to `target` as a closed Parquet file: temporary name, fsync, rename, fsync the folder."""
    import pyarrow.parquet as pq

    tmp = target.with_name(f".{target.name}.tmp")
    try:
        with open(tmp, "wb") as handle:
            pq.write_table(table, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(target.parent)


def _published(parts: Path) -> Path:
    """The file an open part becomes: `.NAME.parquet.parts` -> `NAME.parquet`."""
    return parts.with_name(parts.name[1:].removesuffix(_PARTS))


def _merge(parts: Path) -> int:
    """Publish a part's complete segments as one Parquet file, then remove the part; return its rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    final = _published(parts)
    tables = []
    if not final.exists():
        for segment in sorted(parts.glob("*.parquet")):
            try:
                tables.append(pq.read_table(segment))
            except (OSError, pa.ArrowException) as exc:  # cannot happen to a renamed segment, short of disk damage
                log.error("prediction log: %s is unreadable, left out: %s", segment, exc)
        if tables:
            _durable_parquet(pa.concat_tables(tables), final)
    shutil.rmtree(parts)
    return sum(t.num_rows for t in tables)


def recover(directory: Path) -> int:
    """Publish the parts that dead processes left open in `directory`; return how many rows they held."""
    rows = 0
    for parts in sorted(directory.glob(f".predictions-*.parquet{_PARTS}")):
        try:
            fd = os.open(parts, os.O_RDONLY)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # a live writer (another worker) holds it
            os.close(fd)
            continue
        try:
            found = _merge(parts)
        except OSError as exc:
            log.error("prediction log: could not recover %s: %s", parts, exc)
            continue
        finally:
            os.close(fd)
        rows += found
        log.warning("prediction log: recovered %d rows a previous process left in %s", found, parts.name)
    return rows


class _Part:
    """The open part: closed segments in a locked hidden folder, published as one file when rotated."""

    def __init__(self, directory: Path, seq: int, key: int) -> None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        self.path = directory / f".predictions-{stamp}-{os.getpid()}-{seq}.parquet{_PARTS}"
        self.path.mkdir(parents=True)
        self._fd = os.open(self.path, os.O_RDONLY)
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        self.key = key
        self.opened = time.monotonic()
        self.segments = 0
        self.bytes = 0

    def write(self, table: pa.Table) -> None:
        target = self.path / _SEGMENT.format(self.segments + 1)
        _durable_parquet(table, target)
        self.segments += 1
        self.bytes += target.stat().st_size

    def publish(self) -> None:
        _merge(self.path)
        self.release()

    def release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class PredictionLog:
    """Buffered, rotated, atomic Parquet log written by one background thread."""

    def __init__(self, config: LogConfig, on_write: Callable[[int], None] | None = None,
                 on_drop: Callable[[int], None] | None = None, *, directory: Path | None = None,
                 on_closed: Callable[[Path], None] | None = None) -> None:
        self.config = config
        self.directory = directory or Path(config.dir)
        #: Called with each part once it is closed and visible (e.g. to upload it: gitml.serve.logsink).
        self._on_closed = on_closed or (lambda path: None)
        self._on_write = on_write or (lambda n: None)
        self._on_drop = on_drop or (lambda n: None)
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._buffer: list[Entry] = []
        self._buffered_rows = 0
        self._stop = False
        self._thread: threading.Thread | None = None
        self._part: _Part | None = None
        self._seq = 0
        self.error: str | None = None
        self._logged: set[str] = set()  # problems logged since the last good write

    # -- request side (model thread) ------------------------------------------------------

    def append(self, entry: Entry) -> None:
        """Queue one model call's rows; O(1), never touches the disk."""
        with self._lock:
            if self._buffered_rows + entry.rows.n > self.config.max_buffer_rows:
                dropped = entry.rows.n
            else:
                self._buffer.append(entry)
                self._buffered_rows += entry.rows.n
                dropped = 0
        if dropped:
            self._on_drop(dropped)

    @property
    def buffered_rows(self) -> int:
        return self._buffered_rows

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Check the folder is writable, publish what crashed processes left open, start the writer."""
        check_writable(self.directory)
        recover(self.directory)
        self._thread = threading.Thread(target=self._run, name="gitml-prediction-log", daemon=True)
        self._thread.start()

    def close(self, timeout: float = 30.0) -> None:
        """Write everything buffered and publish the open part (clean shutdown)."""
        with self._lock:
            self._stop = True
            self._wake.notify()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.error("prediction log: writer did not finish within %.0f s", timeout)

    @property
    def healthy(self) -> bool:
        return self.error is None and (self._thread is None or self._thread.is_alive())

    # -- writer thread ----------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._lock:
                if not self._stop:
                    self._wake.wait(self.config.flush_s)
                stopping = self._stop
            self._flush()
            part = self._part
            if stopping:
                self._rotate()
                with self._lock:
                    left, self._buffer, self._buffered_rows = self._buffered_rows, [], 0
                if left:
                    log.error("prediction log %s: %d rows could not be written before shutdown", self.directory, left)
                    self._on_drop(left)
                if self._part is not None:
                    self._part.release()  # its segments are published at the next start
                return
            if part is not None and (time.monotonic() - part.opened >= self.config.rotate_s
                                     or part.bytes >= self.config.rotate_mb * _MB):
                self._rotate()

    def _flush(self) -> None:
        with self._lock:  # the rows stay counted as buffered until written: the gauge never dips mid-write
            entries, self._buffer = self._buffer, []
        start = 0
        while start < len(entries):
            bundle = entries[start].bundle
            stop = start
            while stop < len(entries) and entries[stop].bundle is bundle:
                stop += 1
            if not self._write(entries[start:stop]):
                self._keep(entries[start:])
                return
            start = stop

    def _write(self, entries: list[Entry]) -> bool:
        """Write one model's entries as a segment of the open part; False (rows kept) when the disk refuses."""
        rows = sum(entry.rows.n for entry in entries)
        try:
            key = id(entries[0].bundle.signature)
            target = schema(entries[0].bundle)
            data = table(entries, target)
            for attempt in range(2):
                try:
                    if self._part is not None and self._part.key != key:
                        self._rotate(raise_errors=True)
                    if self._part is None:
                        self._seq += 1
                        self._part = _Part(self.directory, self._seq, key)
                    self._part.write(data)
                    break
                except FileNotFoundError:  # the folder (or the open part) vanished: start anew, once
                    if attempt:
                        raise
                    log.warning("prediction log: %s disappeared; writing a new part", self.directory)
                    if self._part is not None:
                        self._part.release()
                        self._part = None
                    self.directory.mkdir(parents=True, exist_ok=True)
        except (OSError, ValueError, TypeError) as exc:  # pyarrow's errors derive from ValueError/TypeError
            self._failed(f"prediction log {self.directory}: {type(exc).__name__}: {exc}",
                         f"{rows} rows kept for the next try")
            return False
        if self.error:
            log.warning("prediction log %s: writing again", self.directory)
        self.error = None
        self._logged.clear()
        with self._lock:
            self._buffered_rows -= rows
        self._on_write(rows)
        return True

    def _failed(self, error: str, consequence: str) -> None:
        """Readiness turns false at once; the problem is logged once, not at every flush that meets it again."""
        if error not in self._logged:
            log.error("%s; %s", error, consequence)
            self._logged.add(error)
        self.error = error

    def _keep(self, entries: list[Entry]) -> None:
        """Put unwritten entries back in front of the buffer; beyond `max_buffer_rows`, drop the oldest."""
        with self._lock:
            self._buffer = entries + self._buffer
            self._buffered_rows = sum(entry.rows.n for entry in self._buffer)
            dropped = 0
            while self._buffer and self._buffered_rows > self.config.max_buffer_rows:
                oldest = self._buffer.pop(0)
                self._buffered_rows -= oldest.rows.n
                dropped += oldest.rows.n
        if dropped:
            log.error("prediction log %s: buffer full, %d rows dropped", self.directory, dropped)
            self._on_drop(dropped)

    def _rotate(self, raise_errors: bool = False) -> None:
        """Publish the open part as one Parquet file: only now do readers see its rows."""
        if self._part is None:
            return
        try:
            self._part.publish()
        except OSError as exc:
            self._failed(f"prediction log {self.directory}: cannot publish {self._part.path.name}: {exc}",
                         "its rows stay on disk and are published later")
            if raise_errors:
                raise
            return
        published = _published(self._part.path)
        log.info("prediction log: wrote %s", published)
        self._part = None
        self._on_closed(published)
