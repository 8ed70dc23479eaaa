"""gitml.gate.sides: a baseline committed before metric names said their averaging reads under today's names."""

from __future__ import annotations

import json

import pytest
import yaml

from gitml.gate import sides

#: What the evaluate stage wrote for a multiclass model before f1 was called f1_macro.
OLD_METRICS = {"accuracy": 0.9, "f1": 0.8, "precision": 0.7, "recall": 0.6, "roc_auc": 0.95, "log_loss": 0.3}


@pytest.fixture
def old_baseline(tmp_path, run, small_params):
    """A repository whose one commit holds an old-style metrics.json and a signature of `classes`."""

    def commit(classes: list[str]) -> str:
        repo = tmp_path / f"repo{len(classes)}"
        (repo / "reports").mkdir(parents=True)
        (repo / "models").mkdir()
        run(tmp_path, "git", "init", "-q", str(repo))
        (repo / "params.yaml").write_text(yaml.safe_dump({"paths": small_params.paths.model_dump()}))
        (repo / "reports" / "metrics.json").write_text(json.dumps(OLD_METRICS))
        (repo / "models" / "signature.json").write_text(json.dumps({"task": "classification", "classes": classes}))
        run(repo, "git", "add", "--all")
        run(repo, "git", "commit", "-qm", "old baseline")
        return repo, run(repo, "git", "rev-parse", "HEAD").stdout.strip()

    return commit


def test_an_old_multiclass_baseline_reads_under_the_multiclass_names(old_baseline, small_params):
    repo, commit = old_baseline(["a", "b", "c"])

    side = sides.at_commit(repo, commit, small_params)

    assert side.metrics == {"accuracy": 0.9, "f1_macro": 0.8, "precision_macro": 0.7, "recall_macro": 0.6,
                            "roc_auc_ovr": 0.95, "log_loss": 0.3}


def test_an_old_binary_baseline_keeps_its_names(old_baseline, small_params):
    repo, commit = old_baseline(["no", "yes"])

    assert sides.at_commit(repo, commit, small_params).metrics == OLD_METRICS
