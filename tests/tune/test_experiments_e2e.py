"""End to end with real git and dvc: a queued sweep, model=auto inside `dvc exp run`, an S3 remote."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

import pytest
import yaml

from gitml.model import estimators

pytestmark = pytest.mark.e2e

Run = Callable[..., CompletedProcess[str]]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, new_project: Callable[[Path], Path], run: Run) -> Path:
    """A project whose pipeline has run once and been committed (this module's own instance)."""
    path = new_project(tmp_path_factory.mktemp("experiments") / "demo")
    run(path, "dvc", "repro")
    run(path, "git", "add", "--all")
    run(path, "git", "commit", "-qm", "first run")
    return path


def _restore(run: Run, project: Path) -> None:
    run(project, "git", "checkout", "--", ".")
    run(project, "git", "clean", "-fdq", "conf")
    run(project, "dvc", "checkout", "--force")


def test_queued_sweep_runs_with_hydra_and_gitml_experiments_compares_it(project: Path, run: Run) -> None:
    run(project, "dvc", "exp", "run", "--queue", "-S", "model.n_estimators=5,40")
    run(project, "dvc", "queue", "start", "-j", "2")
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            status = run(project, "dvc", "queue", "status").stdout
            if "Queued" not in status and "Running" not in status:
                break
            time.sleep(2)
    finally:
        run(project, "dvc", "queue", "stop")  # a started queue leaves idle workers otherwise
    assert status.count("Success") == 2, status
    rows = json.loads(run(project, "gitml", "experiments", "--json").stdout)
    done = [row for row in rows if row["state"] == "success"]
    assert sorted(row["params"]["model.n_estimators"] for row in done) == [5, 40]
    assert all(0.9 < row["metrics"]["roc_auc"] <= 1.0 for row in done)
    table = run(project, "gitml", "experiments", "--sort-by", "log_loss").stdout.splitlines()
    assert table[0].split()[:4] == ["Experiment", "rev", "state", "model.n_estimators"]
    assert "roc_auc" in table[0] and len(table) == 1 + len(rows)
    losses = [float(line.split()[-1]) for line in table[1:]]
    assert losses == sorted(losses)


def test_model_auto_in_an_experiment_writes_the_winner_for_review(project: Path, run: Run) -> None:
    budgets = [f"model.candidates.{name}.n_trials=1"
               for name in ("linear", "random_forest", "hist_gradient_boosting")]
    try:
        run(project, "dvc", "exp", "run", "-S", "model=auto", "-S", "tune.cv_folds=2", *(a for b in budgets
                                                                                         for a in ("-S", b)))
        report = json.loads((project / "reports" / "model_selection.json").read_text())
        assert [c["family"] for c in report["candidates"]] != [] and len(report["candidates"]) == 3
        selected = yaml.safe_load((project / "conf" / "model" / "selected.yaml").read_text())
        best = yaml.safe_load((project / "models" / "best_params.yaml").read_text())
        assert selected["_target_"] == best["estimator"]
        # The winner's config names its task-neutral family, as conf/model/ does (adopted with model=selected);
        # the signature names the plain scikit-learn class that family built for the data's task.
        family, _, name = selected["_target_"].rpartition(".")
        assert family == "gitml.model.estimators"
        signature = json.loads((project / "models" / "signature.json").read_text())
        assert signature["estimator"] == getattr(estimators, name).classes[signature["task"]]
        shown = json.loads(run(project, "dvc", "plots", "show", "--json").stdout)["data"]
        assert shown["Tuning history"] and "Parameter importance" in shown  # importance needs 2+ trials
        # The review copy is no pipeline input: the run leaves the pipeline up to date.
        assert run(project, "dvc", "status").stdout.strip() == "Data and pipelines are up to date."
        # Adopting it is a normal config change.
        run(project, "gitml", "compose", "model=selected")
        assert yaml.safe_load((project / "params.yaml").read_text())["model"] == selected
    finally:
        _restore(run, project)


def test_push_and_pull_through_an_s3_remote(project: Path, run: Run, s3_remote: Callable[[Path], str]) -> None:
    url = s3_remote(project)
    try:
        assert url in run(project, "dvc", "remote", "list").stdout
        model = project / "models" / "model.skops"
        expected = model.read_bytes()
        run(project, "dvc", "push")
        shutil.rmtree(project / ".dvc" / "cache")
        model.unlink()
        run(project, "dvc", "pull")
        assert model.read_bytes() == expected
    finally:
        (project / ".dvc" / "config.local").unlink()  # the remote's credentials
        _restore(run, project)


def test_gitml_get_fetches_a_registered_model_from_an_s3_remote(
    project: Path, run: Run, s3_remote: Callable[[Path], str], tmp_path: Path
) -> None:
    s3_remote(project)
    run(project, "git", "commit", "-qam", "team remote on S3")
    try:
        expected = (project / "models" / "model.skops").read_bytes()
        run(project, "gitml", "register", "--force", "--reason", "test of the S3 remote")
        run(project, "gitml", "promote", "model", "latest", "--stage", "prod")
        run(project, "dvc", "push")
        shutil.rmtree(project / ".dvc" / "cache")  # nothing local: `get` must fetch from S3
        run(project, "gitml", "get", "model", "--stage", "prod", "-o", str(tmp_path / "prod"))
        assert (tmp_path / "prod" / "model.skops").read_bytes() == expected
        assert json.loads((tmp_path / "prod" / "version.json").read_text())["stage"] == "prod"
    finally:
        tags = run(project, "git", "tag", "--list", "model*").stdout.split()
        if tags:
            run(project, "git", "tag", "-d", *tags)
        run(project, "git", "reset", "-q", "--hard", "HEAD~1")
        (project / ".dvc" / "config.local").unlink()
        _restore(run, project)
