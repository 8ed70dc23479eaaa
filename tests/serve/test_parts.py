"""gitml.serve parts on their own: the micro-batcher, the prediction log, settings, signatures."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from gitml.config import PredictionLog as LogConfig
from gitml.core.errors import ConfigError, ModelFileError, RequestError
from gitml.model import signature as signatures
from gitml.serve import model, predlog, settings
from gitml.serve.batcher import Job, MicroBatcher
from gitml.serve.inputs import Rows
from gitml.serve.predlog import Entry, PredictionLog


def rows(n: int) -> Rows:
    return Rows({"a": np.arange(n, dtype=np.float64)}, n)


class Recorder:
    """A model call that records which jobs it got; the first call can be slow."""

    def __init__(self, first_call_s: float = 0.0) -> None:
        self.calls: list[list[str]] = []
        self.first_call_s = first_call_s

    def __call__(self, jobs: list[Job]) -> list[Any]:
        if not self.calls:
            time.sleep(self.first_call_s)
        self.calls.append([job.request_id for job in jobs])
        return [f"result-{job.request_id}" for job in jobs]


def run_batcher(recorder: Recorder, scenario: Any, max_rows: int = 100, max_wait_s: float = 0.0) -> Any:
    async def main() -> Any:
        batcher = MicroBatcher(recorder, max_rows, max_wait_s)
        batcher.start()
        try:
            return await scenario(batcher)
        finally:
            await batcher.close()

    return asyncio.run(main())


def job(name: str, n: int = 1, bundle: Any = "m1") -> Job:
    return Job(bundle, rows(n), name, time.time())


def test_requests_arriving_during_a_model_call_share_the_next_call() -> None:
    recorder = Recorder(first_call_s=0.2)

    async def scenario(batcher: MicroBatcher) -> list[Any]:
        first = asyncio.ensure_future(batcher.submit(job("a")))
        await asyncio.sleep(0.05)  # "a" is in the model now
        rest = [asyncio.ensure_future(batcher.submit(job(name))) for name in "bcde"]
        return await asyncio.gather(first, *rest)

    assert run_batcher(recorder, scenario) == [f"result-{n}" for n in "abcde"]
    assert recorder.calls == [["a"], ["b", "c", "d", "e"]]


def test_batches_respect_max_rows_and_never_mix_models() -> None:
    recorder = Recorder(first_call_s=0.2)

    async def scenario(batcher: MicroBatcher) -> None:
        first = asyncio.ensure_future(batcher.submit(job("a")))
        await asyncio.sleep(0.05)
        queued = [job("b", 2), job("c", 2), job("d", 2), job("e", 1, bundle="m2"), job("f", 1, bundle="m2")]
        await asyncio.gather(first, *(batcher.submit(j) for j in queued))

    run_batcher(recorder, scenario, max_rows=4)
    assert recorder.calls == [["a"], ["b", "c"], ["d"], ["e", "f"]]


def test_an_idle_model_waits_only_for_requests_still_arriving() -> None:
    recorder = Recorder()

    async def alone(batcher: MicroBatcher) -> float:
        started = time.perf_counter()
        await batcher.submit(job("a"))
        return time.perf_counter() - started

    assert run_batcher(recorder, alone, max_wait_s=1.0) < 0.5  # nothing else arriving: no wait

    recorder = Recorder()

    async def with_arrival(batcher: MicroBatcher) -> None:
        async with batcher.arrival() as arriving:  # "b" is being received
            first = asyncio.ensure_future(batcher.submit(job("a")))
            await asyncio.sleep(0.1)
            await asyncio.gather(first, arriving.submit(job("b")))

    run_batcher(recorder, with_arrival, max_wait_s=1.0)
    assert recorder.calls == [["a", "b"]]

    async def given_up(batcher: MicroBatcher) -> float:
        started = time.perf_counter()
        async with batcher.arrival():  # "b" arrives, then fails validation and never queues
            first = asyncio.ensure_future(batcher.submit(job("a")))
            await asyncio.sleep(0.05)
        await first
        return time.perf_counter() - started

    assert run_batcher(Recorder(), given_up, max_wait_s=1.0) < 0.5  # "a" did not wait out max_wait


def test_under_steady_load_a_call_waits_for_the_clients_of_the_last_call() -> None:
    """Without it, concurrent clients settle into half-size batches that take turns."""
    recorder = Recorder(first_call_s=0.2)

    async def client(batcher: MicroBatcher, name: str, requests: int) -> None:
        for i in range(requests):
            await batcher.submit(job(f"{name}{i}"))
            await asyncio.sleep(0.01)  # the round trip before the client's next request

    async def busy(batcher: MicroBatcher) -> float:
        first = asyncio.ensure_future(client(batcher, "a", 2))
        await asyncio.sleep(0.05)  # a0 is in the model; b, c, d queue behind it
        rest = [asyncio.ensure_future(batcher.submit(job(name))) for name in "bcd"]
        started = time.perf_counter()
        await asyncio.gather(first, *rest)
        return time.perf_counter() - started

    assert run_batcher(recorder, busy, max_wait_s=1.0) < 0.6  # a1 came back: no wait for the rest of max_wait
    assert recorder.calls == [["a0"], ["b", "c", "d", "a1"]]

    recorder = Recorder()

    async def alone(batcher: MicroBatcher) -> float:  # one client in a loop: nothing queued, never a wait
        started = time.perf_counter()
        await client(batcher, "a", 3)
        return time.perf_counter() - started

    assert run_batcher(recorder, alone, max_wait_s=1.0) < 0.5
    assert recorder.calls == [["a0"], ["a1"], ["a2"]]


def test_a_failing_call_fails_its_jobs_and_the_batcher_goes_on() -> None:
    calls = []

    def flaky(jobs: list[Job]) -> list[Any]:
        calls.append(len(jobs))
        if len(calls) == 1:
            raise RuntimeError("boom")
        return [RequestError("bad row") if j.request_id == "bad" else "ok" for j in jobs]

    async def scenario(batcher: MicroBatcher) -> list[Any]:
        return await asyncio.gather(*(batcher.submit(job(n)) for n in ("a", "b", "bad")), return_exceptions=True)

    async def second(batcher: MicroBatcher) -> list[Any]:
        first = await scenario(batcher)
        return first + await scenario(batcher)

    results = run_batcher(flaky, second)  # type: ignore[arg-type]
    assert [type(r).__name__ for r in results[:3]] == ["RuntimeError"] * 3
    assert results[3:5] == ["ok", "ok"] and isinstance(results[5], RequestError)


# -- prediction log --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory, serve_kit: Any) -> tuple[model.Bundle, model.Bundle]:
    root = tmp_path_factory.mktemp("models")
    classifier = model.load_dir(serve_kit.train_model(root / "c"))
    regressor = model.load_dir(serve_kit.train_model(root / "r", task="regression"))
    return classifier, regressor


@pytest.fixture
def entry(serve_kit: Any) -> Callable[..., Entry]:
    """`entry(bundle, n, request="r1")`: a log entry of `n` valid rows the bundle predicted."""

    def make(bundle: model.Bundle, n: int, request: str = "r1") -> Entry:
        validated = bundle.validator.from_records(serve_kit.records(n), "records")
        return Entry(bundle, validated, bundle.predict(validated), [request], [time.time()], [n])

    return make


def published(directory: Path) -> list[Path]:
    return sorted(directory.glob("predictions-*.parquet"))


def test_log_rotates_by_size_and_by_age_and_publishes_whole_files(bundles: Any, tmp_path: Path,
                                                                   entry: Callable[..., Entry]) -> None:
    classifier, _ = bundles
    written: list[int] = []
    log = PredictionLog(LogConfig(dir=str(tmp_path), flush_s=0.05, rotate_mb=0.000001, rotate_s=60),
                        on_write=written.append)
    log.start()
    log.append(entry(classifier, 4, "first"))
    time.sleep(0.3)
    log.append(entry(classifier, 2, "second"))
    log.close()
    files = published(tmp_path)
    assert [len(pd.read_parquet(f)) for f in files] == [4, 2]  # one file per flush: each passed the size
    assert written == [4, 2] and not list(tmp_path.glob(".*"))

    aged = tmp_path / "aged"
    log = PredictionLog(LogConfig(dir=str(aged), flush_s=0.05, rotate_s=0.6))
    log.start()
    log.append(entry(classifier, 3))
    time.sleep(0.3)
    # Flushed: a closed, fsynced segment of the open part, which readers do not see yet.
    (parts,) = aged.glob(".predictions-*.parquet.parts")
    assert published(aged) == [] and len(pd.read_parquet(next(parts.glob("*.parquet")))) == 3
    deadline = time.monotonic() + 5
    while not published(aged) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(pd.read_parquet(published(aged)[0])) == 3  # published by age, before any shutdown
    assert not parts.exists()
    log.close()


def test_a_part_left_open_by_a_crash_is_published_at_the_next_start(bundles: Any, tmp_path: Path,
                                                                     entry: Callable[..., Entry]) -> None:
    import fcntl
    import os

    classifier, _ = bundles
    log = PredictionLog(LogConfig(dir=str(tmp_path), flush_s=0.05, rotate_s=600))
    log.start()
    for n in (3, 4):
        log.append(entry(classifier, n))
        time.sleep(0.3)
    (parts,) = tmp_path.glob(".predictions-*.parquet.parts")
    (parts / ".000003.parquet.tmp").write_bytes(b"PAR1 half a segment")  # a write the crash cut short
    # Another process cannot take the part while this writer holds its lock...
    assert predlog.recover(tmp_path) == 0 and parts.exists()
    log._part.release()  # ...and a crash releases it (the process is gone), leaving the segments behind
    log._part = None
    log.close()
    fd = os.open(parts, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # nobody holds it now
    os.close(fd)
    restarted = PredictionLog(LogConfig(dir=str(tmp_path), flush_s=0.05))
    restarted.start()  # recovers what the crash left
    restarted.close()
    (only,) = published(tmp_path)
    assert len(pd.read_parquet(only)) == 7 and only.name == parts.name[1:].removesuffix(".parts")
    assert not list(tmp_path.glob(".*"))


def test_log_starts_a_new_file_for_a_new_model_and_drops_beyond_its_buffer(bundles: Any, tmp_path: Path,
                                                                             entry: Callable[..., Entry]) -> None:
    classifier, regressor = bundles
    dropped: list[int] = []
    log = PredictionLog(LogConfig(dir=str(tmp_path), flush_s=60, max_buffer_rows=10), on_drop=dropped.append)
    log.start()
    log.append(entry(classifier, 4))
    log.append(entry(regressor, 4))
    log.append(entry(regressor, 4))  # over the buffer: dropped, not queued
    log.close()
    assert dropped == [4]
    first, second = (pd.read_parquet(f) for f in published(tmp_path))
    assert "proba_yes" in first.columns and len(first) == 4
    assert "proba_yes" not in second.columns and len(second) == 4


def test_log_keeps_rows_while_the_disk_fails_and_writes_them_after(bundles: Any, tmp_path: Path,
                                                                     entry: Callable[..., Entry]) -> None:
    classifier, _ = bundles
    folder = tmp_path / "inference"
    written: list[int] = []
    dropped: list[int] = []
    log = PredictionLog(LogConfig(dir=str(folder), flush_s=0.05, rotate_s=0.1, max_buffer_rows=8),
                        on_write=written.append, on_drop=dropped.append)
    log.start()
    folder.rename(tmp_path / "moved")
    folder.write_text("not a folder any more")  # every write fails now
    log.append(entry(classifier, 3))
    deadline = time.monotonic() + 5
    while log.healthy and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not log.healthy and "prediction log" in log.error and str(folder) in log.error
    log.append(entry(classifier, 4))
    log.append(entry(classifier, 2))  # 9 rows > max_buffer_rows: these 2 are dropped, and counted
    time.sleep(0.3)
    assert dropped == [2] and written == [] and log.buffered_rows == 7
    folder.unlink()
    folder.mkdir()
    while not log.healthy and time.monotonic() < deadline:
        time.sleep(0.02)
    assert log.healthy and log.error is None
    log.close()
    assert sum(len(pd.read_parquet(f)) for f in published(folder)) == sum(written) == 7


def test_log_refuses_an_unwritable_folder_at_start(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ConfigError, match="serve.log.dir: cannot write"):
        PredictionLog(LogConfig(dir=str(blocker / "inference"))).start()


# -- settings and signatures ------------------------------------------------------------------


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GITML_SERVE_MODEL_DIR", str(tmp_path))
    monkeypatch.setenv("GITML_SERVE_CONFIG__PORT", "9123")
    monkeypatch.setenv("GITML_SERVE_CONFIG__MICRO_BATCH__MAX_ROWS", "16")
    loaded = settings.load()
    assert loaded.model_dir == tmp_path and loaded.config.port == 9123 and loaded.config.micro_batch.max_rows == 16
    assert settings.load(config={"port": 9000}).config.port == 9000  # given values win over the environment
    rebuilt = loaded.environment()
    assert json.loads(rebuilt["GITML_SERVE_CONFIG"])["micro_batch"]["max_rows"] == 16
    monkeypatch.setenv("GITML_SERVE_CONFIG__PORT", "99999")
    with pytest.raises(ConfigError, match="GITML_SERVE_CONFIG__PORT: Input should be less than or equal to 65535"):
        settings.load()


def test_signature_problems_name_the_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "signature.json"
    good = {"name": "m", "task": "classification", "target": "y", "classes": ["a", "b"],
            "inputs": [{"name": "x", "dtype": "float", "role": "numeric"}]}
    path.write_text(json.dumps(good))
    assert signatures.load(path).names == ["x"]
    for broken, words in (
        ({**good, "inputs": [{"name": "x", "dtype": "complex", "role": "numeric"}]}, "inputs.0.dtype"),
        ({**good, "inputs": [{"name": "prediction", "dtype": "float", "role": "numeric"}]}, "reserved"),
        ({**good, "classes": None}, "needs `classes`"),
    ):
        path.write_text(json.dumps(broken))
        with pytest.raises(ModelFileError, match=words) as info:
            signatures.load(path)
        assert str(path) in str(info.value)
    path.unlink()
    with pytest.raises(ModelFileError, match="signature .*not found"):
        signatures.load(path)


def test_model_directory_problems_are_one_line(tmp_path: Path, serve_kit: Any) -> None:
    import operator

    from sklearn.preprocessing import FunctionTransformer

    from gitml.model import modelio

    directory = serve_kit.train_model(tmp_path / "m")
    modelio.save_model(FunctionTransformer(operator.neg), directory / "model.skops")
    with pytest.raises(ModelFileError, match="untrusted types: _operator.neg"):
        model.load_dir(directory)
    with pytest.raises(ModelFileError, match="model directory not found"):
        model.load_dir(tmp_path / "missing")
    other = serve_kit.train_model(tmp_path / "o")
    (other / "version.json").write_text('{"version": 3}')
    with pytest.raises(ModelFileError, match="version.json: expected an object with a string `version`"):
        model.load_dir(other)
