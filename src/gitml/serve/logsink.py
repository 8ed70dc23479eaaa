"""Closed prediction-log parts, uploaded to `serve.log.dir` when it is a URL (s3://, gs://, az://, ...).

The log is written to a local folder as always (`serve.log.spool`), so a request never
waits for the network. Each part the log closes is handed here, uploaded atomically by a
background thread (a reader of the URL never sees half a part: `gitml.core.io.upload`) and
deleted locally once it is there. A part whose upload fails stays in the spool and is
retried with a growing pause; parts a stopped process left behind are uploaded when the
next one starts, so a crash or an outage of the store loses nothing that was closed.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from pathlib import Path

from gitml.config import PredictionLog as LogConfig
from gitml.core import io
from gitml.core.errors import ConfigError, DataError
from gitml.core.text import reason

log = logging.getLogger(__name__)

#: Closed parts are named `predictions-*.parquet`; the open one is hidden until it is renamed into place.
_PARTS = "predictions-*.parquet"
_MAX_PAUSE_S = 60.0


def local_dir(config: LogConfig) -> Path:
    """Where the log itself writes: `dir`, or the local spool when `dir` is a URL."""
    return Path(config.spool if io.is_url(config.dir) else config.dir)


def check(config: LogConfig) -> None:
    """Fail at start-up, with one line naming `serve.log.dir`, when the URL cannot be written."""
    if not io.is_url(config.dir):
        return
    try:
        io.probe(config.dir)
    except DataError as exc:
        raise ConfigError(f"serve.log.dir: {exc}") from exc
    except Exception as exc:  # the store's client raises its own types (botocore, google, OSError, ...)
        raise ConfigError(f"serve.log.dir: cannot write {config.dir}: {reason(exc)}") from exc


class Uploader:
    """One background thread that uploads closed parts from the spool to the URL, in order."""

    def __init__(self, url: str, spool: Path) -> None:
        self.url = url.rstrip("/")
        self.spool = spool
        self._queue: queue.Queue[Path | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.uploaded = 0
        self.error: str | None = None

    def start(self) -> None:
        """Queue the closed parts already in the spool (a previous process's), then start uploading."""
        for part in sorted(self.spool.glob(_PARTS)):
            self._queue.put(part)
        self._thread = threading.Thread(target=self._run, name="gitml-prediction-upload", daemon=True)
        self._thread.start()

    def put(self, part: Path) -> None:
        """Hand over a closed part (called by the log's writer thread)."""
        self._queue.put(part)

    def close(self, timeout: float = 30.0) -> None:
        """Upload what is queued, within `timeout`; anything left stays in the spool for the next start."""
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                self._stop.set()
                log.error("prediction log: uploads to %s did not finish within %.0f s; the rest stays in %s",
                          self.url, timeout, self.spool)

    def _run(self) -> None:
        pause = 1.0
        while not self._stop.is_set():
            part = self._queue.get()
            if part is None:
                return
            while not self._upload(part):
                if self._stop.wait(pause):
                    return
                pause = min(pause * 2, _MAX_PAUSE_S)
            pause = 1.0

    def _upload(self, part: Path) -> bool:
        """Upload one part and delete it locally; False when the store refused (retry later)."""
        if not part.is_file():  # another worker's uploader took it first
            return True
        try:
            io.upload(part, f"{self.url}/{part.name}")
        except Exception as exc:  # the store's client raises its own types; the part stays for a retry
            # Only a part another uploader took meanwhile is done: s3fs reports a missing bucket as
            # FileNotFoundError too, and that part must stay for the retry.
            if isinstance(exc, FileNotFoundError) and not part.is_file():
                return True
            self.error = f"prediction log: cannot upload {part.name} to {self.url}: {reason(exc)}"
            log.error("%s; retrying", self.error)
            return False
        with contextlib.suppress(FileNotFoundError):
            part.unlink()
        self.error = None
        self.uploaded += 1
        log.info("prediction log: uploaded %s to %s", part.name, self.url)
        return True


def uploader(config: LogConfig) -> Uploader | None:
    """The uploader for a URL `serve.log.dir`, or None for a local folder."""
    return Uploader(config.dir, local_dir(config)) if io.is_url(config.dir) else None

