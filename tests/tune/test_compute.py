"""compute.backend: dask runs the same search on a real Dask cluster; a bad scheduler fails fast."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest
import yaml
from pydantic import ValidationError

from gitml import config
from gitml.core.errors import ComputeError
from gitml.tune import compute, search
from stages import tune as tune_stage

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """A real LocalCluster: a scheduler and two single-threaded worker processes on 127.0.0.1."""
    # Dask's nannies write OMP_NUM_THREADS=1 (and more) into this process's environment
    # before spawning workers; left there, it changes every later subprocess (and, with
    # it, the bytes of a multi-threaded fit), so restore the environment afterwards.
    saved = dict(os.environ)
    try:
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                      dashboard_address=None) as local:
            yield local.scheduler_address
    finally:
        os.environ.clear()
        os.environ.update(saved)


def test_dask_gives_the_same_search_as_local(cluster: str, tune_params, linear_data, fast_tune) -> None:
    frame = linear_data(200)
    tune = {**fast_tune, "n_trials": 8, "pruning": True, "batch_size": 2}
    local = tune_params(frame, "classification", ["model=logistic_regression"], tune=tune)
    on_dask = tune_params(frame, "classification", ["model=logistic_regression"], tune=tune,
                          compute={"backend": "dask", "scheduler": cluster})
    expected = search.search(local, frame, show_progress=False)
    with distributed.Client(cluster) as client, distributed.get_task_stream(client=client) as stream:
        result = search.search(on_dask, frame, show_progress=False)
    workers = {task["worker"] for task in stream.data if "fit_score" in task["key"]}
    assert len(workers) == 2, "the folds did not run on both of the cluster's workers"
    assert expected is not None and result is not None
    assert result.chosen.trials == expected.chosen.trials
    assert result.spec == expected.spec


@pytest.fixture
def run_stage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], tune_params: Callable[..., config.Params],
    linear_data: Callable[..., pd.DataFrame], fast_tune: dict,
) -> Callable[..., tuple[int, str, float]]:
    """`run_stage(scheduler, timeout=2.0)`: the tune stage on a Dask scheduler; (exit code, stderr, seconds)."""

    def stage(scheduler: str, timeout: float = 2.0) -> tuple[int, str, float]:
        params = tune_params(linear_data(60), "classification", ["model=logistic_regression"], tune=fast_tune,
                             compute={"backend": "dask", "scheduler": scheduler, "connect_timeout": timeout})
        path = tmp_path / "params.yaml"
        path.write_text(yaml.safe_dump(params.model_dump(mode="json"), sort_keys=False))
        linear_data(60).to_parquet(tmp_path / "train.parquet")
        raw = yaml.safe_load(path.read_text())
        raw["paths"]["train"] = str(tmp_path / "train.parquet")
        raw["paths"]["best_params"] = str(tmp_path / "best_params.yaml")
        path.write_text(yaml.safe_dump(raw, sort_keys=False))
        (tmp_path / "best_params.yaml").write_text("previous\n")
        started = time.monotonic()
        code = tune_stage.main(["--params", str(path)])
        return code, capsys.readouterr().err, time.monotonic() - started

    return stage


def test_unreachable_scheduler_fails_fast_with_one_line(
    tmp_path: Path, run_stage: Callable[..., tuple[int, str, float]], free_port: Callable[[], int]
) -> None:
    address = f"tcp://127.0.0.1:{free_port()}"  # nothing listens there
    code, err, elapsed = run_stage(address)
    assert code != 0 and elapsed < 5
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert errors == [f"error: compute.scheduler: cannot reach the Dask scheduler at {address} within 2 s "
                      "(Connection refused)"]
    assert (tmp_path / "best_params.yaml").read_text() == "previous\n"


def test_silent_listener_times_out_instead_of_hanging(run_stage: Callable[..., tuple[int, str, float]]) -> None:
    with socket.socket() as listener:  # accepts TCP connections but never speaks Dask
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        address = f"tcp://127.0.0.1:{listener.getsockname()[1]}"
        code, err, elapsed = run_stage(address, timeout=1.0)
    assert code != 0 and elapsed < 8
    assert f"error: compute.scheduler: {address} did not answer as a Dask scheduler within 1 s" in err


@pytest.mark.parametrize(("settings", "message"), [
    ({"backend": "dask"}, "backend dask needs `scheduler`"),
    ({"backend": "dask", "scheduler": "nonsense"}, "must be tcp://HOST:PORT"),
])
def test_bad_compute_config_is_one_line(settings: dict[str, str], message: str) -> None:
    with pytest.raises((ComputeError, ValidationError), match=message), compute.backend(
        config.Compute.model_validate(settings)
    ):
        pass
