"""The prediction log: every served row, its prediction and model version, as Parquet files.

Monitoring reads `data/inference/predictions-<UTC yyyymmddThhmmss>-<pid>-<seq>.parquet`
(config `serve.log`), with one column per signature input (its dtype), `prediction`,
`proba_<class>` per class for classifiers, `model_version`, `request_id` and `timestamp`
(timestamp[us, tz=UTC]).

A request never waits for the disk: the model thread appends its batch to an in-memory
buffer under a short lock, and a background thread writes buffered rows to the open
file every `flush_interval_s` as a Parquet row group. The file is written under a
hidden temporary name and renamed into place when it reaches `rotate_mb` or
`rotate_s`, and on shutdown, so a reader never sees half a file. When the disk
stalls and the buffer passes `max_buffer_rows`, new rows are dropped and counted
rather than growing memory without bound.
"""

from __future__ import annotations

import contextlib
import logging
import os
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
    import pyarrow.parquet as pq

    from gitml.serve.inputs import Rows
    from gitml.serve.model import Bundle, Prediction

log = logging.getLogger(__name__)

_MB = 1024 * 1024
_ARROW_TYPES = {"float": "float64", "int": "int64", "bool": "bool_", "str": "string"}


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

    fields = [pa.field(spec.name, getattr(pa, _ARROW_TYPES[spec.dtype])()) for spec in bundle.signature.inputs]
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
        self._writer: pq.ParquetWriter | None = None
        self._writer_key: int | None = None
        self._tmp: Path | None = None
        self._final: Path | None = None
        self._opened = 0.0
        self._seq = 0
        self.error: str | None = None

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

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Check the folder is writable (fail at start-up, not at the first flush), start the writer."""
        check_writable(self.directory)
        self._thread = threading.Thread(target=self._run, name="gitml-prediction-log", daemon=True)
        self._thread.start()

    def close(self, timeout: float = 30.0) -> None:
        """Write everything buffered and rename the open file into place (clean shutdown)."""
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
                    self._wake.wait(self.config.flush_interval_s)
                stopping = self._stop
            self._flush()
            if stopping:
                self._rotate()
                return
            if self._writer is not None and time.monotonic() - self._opened >= self.config.rotate_s:
                self._rotate()

    def _flush(self) -> None:
        with self._lock:
            entries, self._buffer = self._buffer, []
            self._buffered_rows = 0
        start = 0
        while start < len(entries):
            bundle = entries[start].bundle
            stop = start
            while stop < len(entries) and entries[stop].bundle is bundle:
                stop += 1
            self._write(entries[start:stop])
            start = stop

    def _write(self, entries: list[Entry]) -> None:
        rows = sum(entry.rows.n for entry in entries)
        try:
            key = id(entries[0].bundle.signature)
            if self._writer is not None and self._writer_key != key:
                self._rotate()
            target = schema(entries[0].bundle)
            if self._writer is None:
                self._open(target, key)
            self._writer.write_table(table(entries, target))
            full = self._tmp.stat().st_size >= self.config.rotate_mb * _MB
        except (OSError, ValueError, TypeError) as exc:  # pyarrow's errors derive from ValueError/TypeError
            # The open file is given up (its earlier rows with it): a half-written row
            # group cannot be trusted, and the next flush starts a fresh file.
            self.error = f"prediction log {self.directory}: {type(exc).__name__}: {exc}"
            log.error("%s; %d rows lost", self.error, rows)
            self._on_drop(rows)
            self._abandon()
            return
        self.error = None
        self._on_write(rows)
        if full:
            self._rotate()

    def _open(self, target: pa.Schema, key: int) -> None:
        import pyarrow.parquet as pq

        self._seq += 1
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        self._final = self.directory / f"predictions-{stamp}-{os.getpid()}-{self._seq}.parquet"
        self._tmp = self.directory / f".{self._final.name}.tmp"
        self._writer = pq.ParquetWriter(self._tmp, target)
        self._writer_key = key
        self._opened = time.monotonic()

    def _rotate(self) -> None:
        """Close the open file and rename it into place: only now do readers see it."""
        if self._writer is None:
            return
        try:
            self._writer.close()
            with open(self._tmp, "rb") as handle:
                os.fsync(handle.fileno())
            os.replace(self._tmp, self._final)
        except OSError as exc:
            self.error = f"prediction log {self.directory}: {exc}"
            log.error("%s", self.error)
            self._abandon()
            return
        log.info("prediction log: wrote %s", self._final)
        self._on_closed(self._final)
        self._writer = self._tmp = self._final = None

    def _abandon(self) -> None:
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._writer.close()
        if self._tmp is not None:
            with contextlib.suppress(OSError):
                self._tmp.unlink()
        self._writer = self._tmp = self._final = None
