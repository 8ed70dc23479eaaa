"""The prediction log under faults, with a bounded load loop on 127.0.0.1 counting every row.

After each fault the metrics must say `written + dropped == answered` exactly, readiness
must have turned false while writes failed, and the rows on disk must be the rows the
metrics call written: a SIGKILL, a log folder that disappears, a read-only folder and a
full disk (the last two on a real tmpfs, mounted when the tests run as root).
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
import yaml

from gitml.serve import predlog, settings
from gitml.serve.main import create_app

pytestmark = pytest.mark.e2e
ROWS_PER_REQUEST = 3


class Load:
    """Clients posting /predict until stopped (or `seconds` pass), recording every answered request."""

    def __init__(self, url: str, rows: list[dict[str, Any]], clients: int = 2, seconds: float = 60) -> None:
        self.url, self.rows, self.until = url, rows[:ROWS_PER_REQUEST], time.monotonic() + seconds
        self.answered: dict[str, float] = {}  # request id -> when the answer arrived
        self.errors: list[str] = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._loop, daemon=True) for _ in range(clients)]

    def _loop(self) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as client:
            while not self.stop.is_set() and time.monotonic() < self.until:
                try:
                    response = client.post("/predict", json={"records": self.rows})
                except httpx.TransportError as exc:
                    self.errors.append(repr(exc))
                    time.sleep(0.05)
                    continue
                if response.status_code == 200:
                    self.answered[response.json()["request_id"]] = time.monotonic()
                else:
                    self.errors.append(f"{response.status_code} {response.text}")
                time.sleep(0.005)

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.finish()

    def finish(self) -> None:
        """Stop the clients and wait for their last answers."""
        self.stop.set()
        for thread in self.threads:
            thread.join(30)

    def wait_for(self, n: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while len(self.answered) < n:
            assert time.monotonic() < deadline, f"only {len(self.answered)} answers"
            time.sleep(0.02)

    @property
    def rows_answered(self) -> int:
        return ROWS_PER_REQUEST * len(self.answered)


def _counter(url: str, name: str) -> float:
    found = re.search(rf"^gitml_prediction_log_{name} (\S+)$", httpx.get(url + "/metrics").text, re.M)
    return float(found.group(1)) if found else 0.0


def _settled(url: str, answered: int, timeout: float = 30) -> tuple[float, float]:
    """(written, dropped) once the log has accounted for every answered row."""
    deadline = time.monotonic() + timeout
    while True:
        written, dropped = _counter(url, "rows_total"), _counter(url, "dropped_rows_total")
        if written + dropped == answered or time.monotonic() > deadline:
            return written, dropped
        time.sleep(0.1)


def _rows_on_disk(folder: Path) -> int:
    """Rows in published files and in the closed segments of parts still open."""
    files = [*folder.glob("predictions-*.parquet"), *folder.glob(".predictions-*.parts/*.parquet")]
    return sum(len(pd.read_parquet(f)) for f in files)


def _wait_unready(url: str, timeout: float = 20) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = httpx.get(url + "/ready")
        if response.status_code == 503:
            return response.json()["detail"]
        time.sleep(0.05)
    raise AssertionError("readiness never turned false while writes failed")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory, serve_kit: Any) -> Path:
    return serve_kit.train_model(tmp_path_factory.mktemp("faults") / "model")


@contextmanager
def _server(model_dir: Path, log_dir: Path, serve_kit: Any, **log: Any) -> Iterator[str]:
    config = {"log": {"dir": str(log_dir), "flush_s": 0.2, "rotate_s": 1.0, **log}}
    with serve_kit.thread_server(create_app(settings.load(model_dir=model_dir, config=config))) as url:
        yield url


@contextmanager
def _tmpfs(path: Path, size: str) -> Iterator[Path]:
    """A real tmpfs at `path` (root only): a disk that can fill up or turn read-only."""
    path.mkdir(parents=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                             capture_output=True, text=True)
    if mounted.returncode:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_a_log_folder_that_disappears_loses_no_written_row(model_dir: Path, tmp_path: Path, serve_kit: Any) -> None:
    folder, moved = tmp_path / "inference", tmp_path / "moved"
    with _server(model_dir, folder, serve_kit) as url, Load(url, serve_kit.records(3)) as load:
        load.wait_for(30)
        folder.rename(moved)  # as `rm -rf` would, for the server; the test can still count what it held
        load.wait_for(len(load.answered) + 30)
        load.finish()
        written, dropped = _settled(url, load.rows_answered)
    assert load.errors == []
    assert written + dropped == load.rows_answered and dropped == 0
    predlog.recover(moved)  # the part that was open when the folder went is published where it went
    assert _rows_on_disk(folder) + _rows_on_disk(moved) == written


def test_a_read_only_folder_turns_readiness_false_and_loses_no_row(model_dir: Path, tmp_path: Path,
                                                                   serve_kit: Any) -> None:
    with _tmpfs(tmp_path / "disk", "16m") as disk:
        folder = disk / "inference"
        with _server(model_dir, folder, serve_kit) as url, Load(url, serve_kit.records(3)) as load:
            load.wait_for(20)
            subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
            try:
                assert "Read-only file system" in _wait_unready(url)
                load.wait_for(len(load.answered) + 20)  # requests are still answered; rows wait in the buffer
            finally:
                subprocess.run(["mount", "-o", "remount,rw", str(disk)], check=True)
            deadline = time.monotonic() + 20
            while httpx.get(url + "/ready").status_code != 200:
                assert time.monotonic() < deadline, "readiness did not come back"
                time.sleep(0.05)
            load.finish()
            written, dropped = _settled(url, load.rows_answered)
        assert load.errors == [] and dropped == 0 and written == load.rows_answered
        assert _rows_on_disk(folder) == written


def test_a_full_disk_drops_rows_beyond_the_buffer_and_counts_them(model_dir: Path, tmp_path: Path,
                                                                   serve_kit: Any) -> None:
    with _tmpfs(tmp_path / "disk", "64k") as disk:
        folder = disk / "inference"
        (disk / "filler").write_bytes(b"\0" * 40_000)
        with _server(model_dir, folder, serve_kit, max_buffer_rows=150) as url, \
                Load(url, serve_kit.records(3)) as load:
            assert "No space left on device" in _wait_unready(url)
            load.wait_for(len(load.answered) + 80)
            load.finish()
            time.sleep(1)  # a few failing flushes
            written, dropped = _counter(url, "rows_total"), _counter(url, "dropped_rows_total")
            buffered = _counter(url, "buffered_rows")  # kept for the next try, while the disk stays full
            assert dropped > 0 and written + dropped + buffered == load.rows_answered
            assert httpx.get(url + "/ready").status_code == 503
        # At shutdown whatever is still buffered is dropped and counted, and nothing written is lost.
        assert _rows_on_disk(folder) == written
    assert load.errors == []


def test_sigkill_loses_at_most_the_last_flush_and_the_open_part_is_recovered(tmp_path: Path, model_dir: Path,
                                                                             serve_kit: Any, repo_root: Path) -> None:
    params = yaml.safe_load((repo_root / "params.yaml").read_text())
    params["serve"]["log"].update(flush_s=0.5, rotate_s=600)  # a crash happens with the part open
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    shutil.copytree(model_dir, tmp_path / "model")
    flush_s, folder = 0.5, tmp_path / "data" / "inference"
    with serve_kit.cli_server(tmp_path, "--model", "model") as (url, process), \
            Load(url, serve_kit.records(3)) as load:
        load.wait_for(60)
        written_before = _counter(url, "rows_total")
        time.sleep(1.0)
        process.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        process.wait(30)
    assert not list(folder.glob("predictions-*.parquet"))  # nothing published yet: the part was open
    with serve_kit.cli_server(tmp_path, "--model", "model") as (_, restarted):  # recovers at start
        restarted.send_signal(signal.SIGTERM)
        restarted.wait(60)
    logged = pd.concat(pd.read_parquet(f) for f in folder.glob("predictions-*.parquet"))
    assert not list(folder.glob(".*"))
    ids = logged.groupby("request_id").size()
    assert (ids == ROWS_PER_REQUEST).all()  # whole requests only
    assert len(logged) >= written_before  # nothing reported as written is lost
    old = [rid for rid, at in load.answered.items() if at < killed - flush_s - 0.5]
    assert old and set(old) <= set(ids.index)  # only the last flush window may be missing
