"""`gitml serve` and `gitml predict` as a user runs them: real processes, signals, files."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

from gitml.cli import main as cli
from gitml.model import modelio

pytestmark = pytest.mark.e2e

#: uvicorn finishes a graceful shutdown on SIGTERM, then exits by the same signal.
CLEAN_EXIT = (0, -signal.SIGTERM)


@pytest.fixture(scope="module")
def rows(serve_kit: Any) -> list[dict[str, Any]]:
    """Four valid request rows."""
    return serve_kit.records(4)


@contextmanager
def _hammering(url: str, rows: list[dict[str, Any]], clients: int) -> Iterator[tuple[list[str], list[str]]]:
    """`clients` keep-alive clients posting `rows` in a loop until the block ends; yields (the model
    version of every answer, every failure), so a test can count each row."""
    stop, seen, failures = threading.Event(), [], []

    def hammer() -> None:
        with httpx.Client(base_url=url, timeout=30) as client:
            while not stop.is_set():
                try:
                    response = client.post("/predict", json={"records": rows})
                except httpx.HTTPError as exc:
                    failures.append(repr(exc))
                    continue
                if response.status_code == 200:
                    seen.append(response.json()["model_version"])
                else:
                    failures.append(f"{response.status_code} {response.text}")

    threads = [threading.Thread(target=hammer) for _ in range(clients)]
    for thread in threads:
        thread.start()
    try:
        yield seen, failures
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)


def test_sighup_reloads_under_load_and_shutdown_flushes_the_log(tmp_path: Path, rows: list[dict[str, Any]],
                                                                 serve_kit: Any) -> None:
    live = serve_kit.train_model(tmp_path / "models", version={"name": "model", "version": "v1.0.0"})
    with serve_kit.cli_server(tmp_path, "--model", "models") as (url, process):
        with _hammering(url, rows, 3) as (seen, failures):
            while len(seen) < 10:
                time.sleep(0.05)
            serve_kit.train_model(live, n_estimators=12, seed=4, version={"name": "model", "version": "v1.1.0"})
            process.send_signal(signal.SIGHUP)
            deadline = time.monotonic() + 60
            while httpx.get(url + "/version").json()["version"] != "v1.1.0":
                assert time.monotonic() < deadline, "SIGHUP did not reload the model"
                time.sleep(0.1)
            count = len(seen)
            while len(seen) < count + 10:
                time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        assert process.wait(60) in CLEAN_EXIT
    assert failures == []
    assert seen[0] == "v1.0.0" and seen[-1] == "v1.1.0"
    logged = pd.concat(pd.read_parquet(f) for f in sorted((tmp_path / "data" / "inference").glob("*.parquet")))
    assert len(logged) == 4 * len(seen)  # every answered row, nothing lost on shutdown
    assert logged["model_version"].value_counts().to_dict() == {v: 4 * seen.count(v) for v in set(seen)}
    assert not list((tmp_path / "data" / "inference").glob(".*"))


def test_serve_refuses_an_untrusted_model_and_bad_settings(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                            serve_kit: Any, repo_root: Path) -> None:
    import operator

    import yaml
    from sklearn.preprocessing import FunctionTransformer

    good = serve_kit.train_model(tmp_path / "good")
    params = yaml.safe_load((repo_root / "params.yaml").read_text())
    (tmp_path / "blocker").write_text("")
    params["serve"]["log"]["dir"] = str(tmp_path / "blocker" / "inference")
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    directory = serve_kit.train_model(tmp_path / "m")
    modelio.save_model(FunctionTransformer(operator.neg), directory / "model.skops")
    for args, words in (
        (["--model", str(good), "--params", str(tmp_path / "params.yaml")], "serve.log.dir: cannot write"),
        (["--model", str(directory)], "untrusted types: _operator.neg"),
        (["--model", str(directory), "--port", "70000"], "serve.port: Input should be less than or equal to 65535"),
        (["--model", str(directory), "--stage", "prod"], "--model and --stage: give one of them"),
        (["--model", str(tmp_path / "nothing")], "model directory not found"),
        (["--params", str(tmp_path / "none.yaml")], "none.yaml: not found"),
    ):
        assert cli.main(["serve", *args]) == 1
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1 and words in err, err


def test_several_workers_share_one_metrics_view(tmp_path: Path, rows: list[dict[str, Any]], serve_kit: Any) -> None:
    serve_kit.train_model(tmp_path / "models")
    with serve_kit.cli_server(tmp_path, "--model", "models", "--workers", "2") as (url, process):
        for _ in range(12):
            with httpx.Client(base_url=url) as client:  # a new connection each time: both workers get some
                assert client.post("/invocations", json={"instances": rows}).status_code == 200
        text = httpx.get(url + "/metrics").text
        process.send_signal(signal.SIGTERM)
        assert process.wait(60) in CLEAN_EXIT
    total = re.search(r'gitml_requests_total\{endpoint="/invocations",status="200"\} (\S+)', text)
    assert total and float(total.group(1)) == 12.0
    logged = pd.concat(pd.read_parquet(f) for f in (tmp_path / "data" / "inference").glob("*.parquet"))
    assert len(logged) == 12 * len(rows)


def test_rolling_reload_of_two_workers_drops_nothing_and_coalesces_signals(
        tmp_path: Path, rows: list[dict[str, Any]], serve_kit: Any) -> None:
    live = serve_kit.train_model(tmp_path / "models", version={"name": "model", "version": "v1.0.0"})
    with serve_kit.cli_server(tmp_path, "--model", "models", "--workers", "2") as (url, process):
        with _hammering(url, rows, 4) as (seen, failures):
            deadline = time.monotonic() + 120
            while len(seen) < 20:
                assert time.monotonic() < deadline
                time.sleep(0.05)
            serve_kit.train_model(live, n_estimators=12, seed=4, version={"name": "model", "version": "v1.1.0"})
            for _ in range(8):  # a burst of signals is one reload (two at most: one may already be running)
                process.send_signal(signal.SIGHUP)
                time.sleep(0.05)
            while seen[-40:].count("v1.1.0") < 40:  # both workers replaced
                assert time.monotonic() < deadline, "the reload did not finish"
                time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        assert process.wait(60) in CLEAN_EXIT
        log = process.stderr.read()
    assert failures == []
    assert 1 <= log.count("every worker replaced") <= 2, log
    logged = pd.concat(pd.read_parquet(f) for f in (tmp_path / "data" / "inference").glob("*.parquet"))
    assert len(logged) == len(rows) * len(seen)  # every answered row, from every worker, old and new
    assert not list((tmp_path / "data" / "inference").glob(".*"))


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory, serve_kit: Any) -> Path:
    return serve_kit.train_model(tmp_path_factory.mktemp("batch") / "model")


def test_predict_csv_in_chunks_with_progress(model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture,
                                             serve_kit: Any) -> None:
    inputs = list(serve_kit.INPUTS)
    table = serve_kit.frame(45, seed=9)[inputs]
    table.insert(0, "id", range(45))  # an extra column passes through
    source, output = tmp_path / "in.csv", tmp_path / "out.csv"
    table.to_csv(source, index=False)
    assert cli.main(["predict", str(source), "-o", str(output), "--model", str(model_dir), "--chunk-rows", "10"]) == 0
    err = capsys.readouterr().err
    assert "45/" not in err and "45rows" in err.replace(" ", "") and f"wrote {output}: 45 rows" in err
    result = pd.read_csv(output)
    fitted = modelio.load_model(model_dir / "model.skops")
    expected = table[inputs].astype({"k": "float64", "color": object})
    assert result["id"].tolist() == list(range(45))
    assert result["prediction"].tolist() == fitted.predict(expected).tolist()
    np.testing.assert_allclose(result[["proba_no", "proba_yes"]], fitted.predict_proba(expected))


def test_predict_parquet_and_bad_input_leaves_output_untouched(model_dir: Path, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture, serve_kit: Any) -> None:
    inputs = list(serve_kit.INPUTS)
    table = serve_kit.frame(30, seed=2)[inputs]
    source, output = tmp_path / "in.parquet", tmp_path / "out.parquet"
    table.to_parquet(source)
    assert cli.main(["predict", str(source), "-o", str(output), "--model", str(model_dir), "--chunk-rows", "8",
                     "--no-progress"]) == 0
    assert "30/30" not in capsys.readouterr().err
    first = output.read_bytes()
    assert len(pd.read_parquet(output)) == 30

    table.loc[17, "color"] = "purple"
    table.to_parquet(source)
    assert cli.main(["predict", str(source), "-o", str(output), "--model", str(model_dir), "--chunk-rows", "8",
                     "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "rows 16-23" in err and "'color'" in err and "'purple'" in err
    assert output.read_bytes() == first and not list(tmp_path.glob(".*"))

    assert cli.main(["predict", str(tmp_path / "missing.csv"), "-o", str(output), "--model", str(model_dir)]) == 1
    assert "input file not found" in capsys.readouterr().err
    table[inputs[:3]].to_parquet(source)
    assert cli.main(["predict", str(source), "-o", str(output), "--model", str(model_dir)]) == 1
    assert "missing column: 'flag'" in capsys.readouterr().err


def test_serving_never_imports_training_code(model_dir: Path, tmp_path: Path, rows: list[dict[str, Any]],
                                             run: Callable[..., Any]) -> None:
    script = f"""
import sys
from pathlib import Path
from gitml.serve import batch, model, settings
from gitml.serve.main import create_app
from gitml.cli.commands import serve
bundle = model.load_dir({str(model_dir)!r})
create_app(settings.load(model_dir={str(model_dir)!r}), bundle)
bundle.predict(bundle.validator.from_records({rows!r}, "records"))
training = ("gitml.train", "gitml.tune", "gitml.features.split", "gitml.features.spec", "gitml.data.sources")
leaked = sorted(m for m in sys.modules if m in training)
assert not leaked, leaked
"""
    result = run(tmp_path, sys.executable, "-c", script, check=False)
    assert result.returncode == 0, result.stderr


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout


def _commit_model(repo: Path, seed: int, serve_kit: Any) -> None:
    """A trained model committed to git itself, with the md5 dvc.lock would record for it."""
    import hashlib

    import yaml

    serve_kit.train_model(repo / "models", seed=seed, n_estimators=6 + seed)
    md5 = hashlib.md5((repo / "models" / "model.skops").read_bytes()).hexdigest()
    lock = {"schema": "2.0", "stages": {"train": {"cmd": "python -m stages.train", "outs": [
        {"path": "models/model.skops", "hash": "md5", "md5": md5, "size": 1}]}}}
    (repo / "dvc.lock").write_text(yaml.safe_dump(lock))
    _git(repo, "add", "--all")
    _git(repo, "commit", "-qm", f"model {seed}")


def test_serve_a_registry_stage_and_follow_a_promotion(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       rows: list[dict[str, Any]], serve_kit: Any,
                                                       repo_root: Path) -> None:
    from gitml.serve import settings
    from gitml.serve.main import create_app

    root = repo_root
    for key, value in {"GIT_AUTHOR_NAME": "Ada", "GIT_AUTHOR_EMAIL": "ada@gitml.local",
                       "GIT_COMMITTER_NAME": "Ada", "GIT_COMMITTER_EMAIL": "ada@gitml.local"}.items():
        monkeypatch.setenv(key, value)
    repo = tmp_path / "project"
    repo.mkdir()
    _git(repo, "init", "-q", "--initial-branch=main")
    for name in ("params.yaml", "dvc.yaml"):
        (repo / name).write_bytes((root / name).read_bytes())
    _commit_model(repo, 1, serve_kit)
    first = _git(repo, "rev-parse", "HEAD").strip()
    monkeypatch.chdir(repo)
    # These commits hold a model and no evaluation: the gate cannot judge them, which is not this test's business.
    unjudged = ["--force", "--reason", "serving test: no evaluation"]
    assert cli.main(["register", *unjudged]) == 0
    assert cli.main(["promote", "model", "v0.0.1", "--stage", "prod", *unjudged]) == 0

    monkeypatch.setenv("GITML_TEST_STAGE_TOKEN", "t")
    app = create_app(settings.load(stage="prod", config={"log": {"dir": str(tmp_path / "log")},
                                                         "auth": {"token_env": "GITML_TEST_STAGE_TOKEN"}}))
    with serve_kit.thread_server(app) as url, \
            httpx.Client(base_url=url, headers={"Authorization": "Bearer t"}) as client:
        version = client.get("/version").json()
        assert (version["version"], version["stage"], version["commit"]) == ("v0.0.1", "prod", first)
        _commit_model(repo, 2, serve_kit)
        assert cli.main(["register", *unjudged]) == 0
        assert cli.main(["promote", "model", "v0.0.2", "--stage", "prod", *unjudged]) == 0
        assert client.post("/admin/reload").json()["version"] == "v0.0.2"
        assert client.post("/predict", json={"records": rows}).json()["model_version"] == "v0.0.2"
    assert not [p for p in Path(tempfile.gettempdir()).glob("gitml-serve-*") if p.stat().st_mtime > time.time() - 60]
