"""End to end: `gitml init`, then real `dvc repro` / `dvc exp run` / `dvc push` in a temporary repository."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

import pytest
import yaml

pytestmark = pytest.mark.e2e

Run = Callable[..., CompletedProcess[str]]

FAST = ["model.n_estimators=20", "evaluate.importance.n_repeats=2"]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, new_project: Callable[[Path], Path], run: Run) -> Path:
    """A project whose pipeline has run once and been committed."""
    path = new_project(tmp_path_factory.mktemp("e2e") / "demo")
    run(path, "dvc", "repro")
    run(path, "git", "add", "--all")
    run(path, "git", "commit", "-qm", "first run")
    return path


def test_repro_produces_every_output(project: Path, run: Run) -> None:
    metrics = json.loads((project / "reports" / "metrics.json").read_text())
    assert set(metrics) == {"accuracy", "balanced_accuracy", "f1", "precision", "recall", "roc_auc", "log_loss"}
    assert metrics["roc_auc"] > 0.95
    for output in ("models/model.skops", "models/signature.json", "reports/predictions.parquet",
                   "reports/plots/roc.json", "reports/importance.json", "data/features/train.parquet",
                   "reports/eda.html", "reports/eda.json", "data/features/catalog.json", "reports/features.md"):
        assert (project / output).is_file(), output
    assert run(project, "git", "status", "--porcelain").stdout == ""


def test_second_repro_runs_nothing(project: Path, run: Run) -> None:
    result = run(project, "dvc", "repro")
    assert "Running stage" not in result.stdout
    assert run(project, "dvc", "status").stdout.strip() == "Data and pipelines are up to date."


def test_plots_render_offline(project: Path, run: Run) -> None:
    result = run(project, "dvc", "plots", "show", "--json")
    shown = json.loads(result.stdout)
    assert {"ROC", "Precision-recall", "Confusion matrix"} <= set(shown["data"])
    assert shown["data"]["ROC"], "ROC plot has no data"


def test_experiment_override_changes_params_and_metrics(project: Path, run: Run) -> None:
    before = json.loads((project / "reports" / "metrics.json").read_text())
    run(project, "dvc", "exp", "run", "-S", "model.n_estimators=2", "-S", "model.max_depth=1")
    params = yaml.safe_load((project / "params.yaml").read_text())
    assert params["model"]["n_estimators"] == 2
    after = json.loads((project / "reports" / "metrics.json").read_text())
    assert after["log_loss"] != before["log_loss"]
    run(project, "git", "checkout", "--", ".")
    run(project, "dvc", "checkout", "--force")


def test_gitml_compose_matches_dvc_exp_run(project: Path, run: Run, tmp_path: Path) -> None:
    overrides = ["model=hist_gradient_boosting", "model.max_iter=5"]
    run(project, "gitml", "compose", *overrides, "-o", str(tmp_path / "params.yaml"))
    run(project, "dvc", "exp", "run", *[arg for o in overrides for arg in ("-S", o)])
    assert (project / "params.yaml").read_bytes() == (tmp_path / "params.yaml").read_bytes()
    run(project, "git", "checkout", "--", ".")
    run(project, "dvc", "checkout", "--force")


def test_stale_params_stop_dvc_repro_and_gitml_repro_recomposes(project: Path, run: Run) -> None:
    config = project / "conf" / "model" / "random_forest.yaml"
    original = config.read_text()
    config.write_text(original.replace("n_estimators: 20", "n_estimators: 5"))
    try:
        result = run(project, "dvc", "repro", check=False)
        assert result.returncode != 0
        assert "model.n_estimators" in result.stderr and "gitml compose" in result.stderr
        assert run(project, "gitml", "repro").returncode == 0
        assert yaml.safe_load((project / "params.yaml").read_text())["model"]["n_estimators"] == 5
    finally:
        config.write_text(original)
        run(project, "git", "checkout", "--", ".")
        run(project, "dvc", "checkout", "--force")


def test_push_and_pull_through_the_default_local_remote(project: Path, run: Run) -> None:
    model = project / "models" / "model.skops"
    expected = model.read_bytes()
    run(project, "dvc", "push")
    assert run(project, "git", "status", "--porcelain", ".dvc").stdout == "", "the local remote must be ignored"
    shutil.rmtree(project / ".dvc" / "cache")
    model.unlink()
    run(project, "dvc", "pull")
    assert model.read_bytes() == expected


def test_two_runs_from_scratch_give_identical_locks_and_metrics(
    project: Path, run: Run, tmp_path: Path, new_project: Callable[[Path], Path]
) -> None:
    again = new_project(tmp_path / "demo")
    run(again, "dvc", "repro")
    lock = yaml.safe_load((project / "dvc.lock").read_text())
    assert yaml.safe_load((again / "dvc.lock").read_text()) == lock
    assert (again / "reports" / "metrics.json").read_bytes() == (project / "reports" / "metrics.json").read_bytes()


def test_an_edited_file_source_reruns_ingest(project: Path, run: Run) -> None:
    import pandas as pd

    csv = project / "data" / "external" / "mine.csv"
    pd.read_parquet(project / "data" / "raw" / "dataset.parquet").to_csv(csv, index=False)
    mine = yaml.safe_load((project / "conf" / "data" / "breast_cancer.yaml").read_text())
    mine["source"] = {"kind": "file", "path": "data/external/mine.csv"}
    (project / "conf" / "data" / "mine.yaml").write_text(yaml.safe_dump(mine, sort_keys=False))
    try:
        run(project, "gitml", "compose", "data=mine")
        run(project, "dvc", "repro", "--single-item", "check", "ingest")
        assert "ingest" not in run(project, "dvc", "status", "ingest").stdout
        csv.write_text(csv.read_text().replace("malignant", "benign", 1))
        assert "changed deps" in run(project, "dvc", "status", "ingest").stdout
    finally:
        csv.unlink()
        (project / "conf" / "data" / "mine.yaml").unlink()
        run(project, "git", "checkout", "--", ".")
        run(project, "dvc", "checkout", "--force")
