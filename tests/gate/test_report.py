"""The gate's report: what changed between two locks and params, metrics parsing, rendering and truncation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gitml.core.errors import GateError
from gitml.gate import diff, report, sides

LOCK = {"schema": "2.0", "stages": {
    "featurize": {"cmd": "python -m stages.featurize",
                  "deps": [{"path": "data/raw/dataset.parquet", "md5": "raw1"}],
                  "outs": [{"path": "data/features/test.parquet", "md5": "test1"}]},
    "train": {"cmd": "python -m stages.train", "deps": [{"path": "data/features/train.parquet", "md5": "tr1"}],
              "params": {"params.yaml": {"model": {"max_depth": 2, "n_estimators": 20}}},
              "outs": [{"path": "models/model.skops", "md5": "m1"}]},
    "evaluate": {"cmd": "python -m stages.evaluate",
                 "deps": [{"path": "models/model.skops", "md5": "m1"}, {"path": "data/features/test.parquet",
                                                                          "md5": "test1"}],
                 "outs": [{"path": "reports/predictions.parquet", "md5": "p1"}]},
}}


def _changed_lock() -> dict:
    lock = json.loads(json.dumps(LOCK))
    train = lock["stages"]["train"]
    train["params"]["params.yaml"]["model"]["max_depth"] = 1
    train["outs"][0]["md5"] = "m2"
    lock["stages"]["evaluate"]["deps"][0]["md5"] = "m2"
    lock["stages"]["evaluate"]["outs"][0]["md5"] = "p2"
    lock["stages"]["card"] = {"cmd": "python -m stages.card"}
    return lock


def test_pipeline_diff_names_stages_and_files() -> None:
    found = diff.pipeline_diff(LOCK, _changed_lock())
    assert found["stages"] == [
        {"name": "train", "change": "changed", "details": ["outs: models/model.skops", "params: model.max_depth"]},
        {"name": "evaluate", "change": "changed",
         "details": ["deps: models/model.skops", "outs: reports/predictions.parquet"]},
        {"name": "card", "change": "added", "details": []},
    ]
    assert found["files"] == [{"path": "models/model.skops", "baseline": "m1", "candidate": "m2"},
                              {"path": "reports/predictions.parquet", "baseline": "p1", "candidate": "p2"}]
    assert diff.pipeline_diff(LOCK, LOCK) == {"stages": [], "files": []}
    assert diff.pipeline_diff(None, LOCK)["stages"][0] == {"name": "featurize", "change": "added", "details": []}


def test_the_test_set_hash_comes_from_the_stage_that_made_the_predictions() -> None:
    assert diff.test_md5(LOCK, "reports/predictions.parquet", "data/features/test.parquet") == "test1"
    assert diff.test_md5({}, "reports/predictions.parquet", "data/features/test.parquet") is None
    assert diff.test_md5({"stages": "junk"}, "x", "y") is None


def test_params_diff() -> None:
    old = {"model": {"max_depth": 2, "n_estimators": 20}, "features": {"drop": []}, "seed": 1}
    new = {"model": {"max_depth": None, "n_estimators": 20}, "features": {"drop": ["a"]}, "extra": {"k": 1}}
    assert diff.params_diff(old, new) == [
        {"key": "extra.k", "change": "added", "baseline": None, "candidate": 1},
        {"key": "features.drop", "change": "changed", "baseline": [], "candidate": ["a"]},
        {"key": "model.max_depth", "change": "changed", "baseline": 2, "candidate": None},
        {"key": "seed", "change": "removed", "baseline": 1, "candidate": None},
    ]


@pytest.mark.parametrize(("text", "message"), [
    ("{oops", "m.json: not valid JSON (Expecting property name enclosed in double quotes at line 1)"),
    ("[1, 2]", "m.json: expected a JSON object of metric values, got list"),
    ('{"accuracy": "high"}', "m.json: metric 'accuracy' is not a finite number (got 'high')"),
    ('{"a": {"b": true}}', "m.json: metric 'a.b' is not a finite number (got True)"),
    ('{"a": NaN}', "m.json: metric 'a' is not a finite number (got nan)"),
])
def test_malformed_metrics_are_one_clear_line(text: str, message: str) -> None:
    with pytest.raises(GateError) as err:
        sides.parse_metrics(text, "m.json")
    assert str(err.value) == message


def test_nested_metrics_flatten() -> None:
    assert sides.parse_metrics('{"test": {"f1": 1, "auc": 0.5}}', "m") == {"test.f1": 1.0, "test.auc": 0.5}


def _report(params: int = 0, verdict: str = "pass") -> dict:
    metric = {"name": "roc_auc", "direction": "higher", "gated": True, "baseline": 0.9, "candidate": 0.91,
              "delta": 0.01, "interval": [-0.01, 0.03], "change": "unchanged", "status": "pass", "reasons": [],
              "policy": None, "method": "paired bootstrap", "why": None}
    return {
        "verdict": verdict, "summary": "The candidate passes.", "error": None, "task": "classification",
        "candidate": {"ref": "HEAD", "commit": "c" * 40, "dirty": [], "test_md5": "t" * 32},
        "baseline": {"ref": "merge base with main", "source": "merge-base", "commit": "b" * 40,
                     "sources": {"predictions": "reproduced"}},
        "comparison": {"paired": True, "test_set": "same", "notes": [], "method": "exact", "resamples": 1000,
                       "confidence": 0.95, "seed": 42, "why": None},
        "metrics": [metric], "failures": [],
        "params": [{"key": f"conf.key{i:05d}", "change": "changed", "baseline": "x" * 40, "candidate": i}
                   for i in range(params)],
        "pipeline": {"stages": [{"name": "train", "change": "changed", "details": ["params: model | depth"]}],
                     "files": [{"path": "models/model.skops", "baseline": "a" * 32, "candidate": None}]},
        "plots": ["reports/gate/roc.svg"], "run_url": "https://github.example/acme/demo/actions/runs/9",
    }


def test_the_markdown_report() -> None:
    text = report.render_markdown(_report(params=2), report.environment(), 65536)
    assert text.startswith(report.MARKER + "\n## ✅ gitml gate: pass")
    assert "| roc_auc | 0.9 | 0.91 | +0.01 | [-0.01, +0.03] | = unchanged · ✅ |" in text
    assert "95% paired-bootstrap intervals" in text and "Params changed (2)" in text
    assert "| train | changed: params: model \\| depth |" in text  # pipes escaped inside a cell
    assert "| `models/model.skops` | aaaaaaa | — |" in text
    assert "[workflow run's artifacts](https://github.example/acme/demo/actions/runs/9)" in text
    assert "Averaging" not in text  # a report written before judgements named their averaging


def test_the_markdown_report_says_what_each_metric_averages() -> None:
    data = _report()
    data["metrics"][0].update(name="roc_auc_ovr", averaging="one-vs-rest, unweighted mean over the classes")

    text = report.render_markdown(data, report.environment(), 65536)

    assert "Averaging: `roc_auc_ovr` one-vs-rest, unweighted mean over the classes." in text


def test_long_tables_are_truncated_to_fit_a_comment() -> None:
    env = report.environment()
    text = report.render_markdown(_report(params=5000), env, 65536)
    assert len(text) <= 65536 and text.startswith(report.MARKER)
    shown = text.count("| `conf.key")
    assert 100 < shown < 5000
    assert f"_… {5000 - shown} more params not shown (truncated to fit a comment)" in text
    assert "| roc_auc |" in text and "Plots (`roc.svg`)" in text
    small = report.render_markdown(_report(params=5000), env, 2000)
    assert len(small) <= 2000 and small.startswith(report.MARKER)


def test_the_json_report_and_a_custom_template(tmp_path: Path) -> None:
    data = report.render_json(_report(), report.environment())
    assert data["verdict"] == "pass" and data["candidate"]["commit"] == "c" * 40 and data["schema"] == 1
    (tmp_path / "gate.md.j2").write_text("{{ marker }}\ncustom: {{ report.verdict }}\n")
    (tmp_path / "gate.json.j2").write_text('{"verdict": {{ report.verdict | tojson }},}')
    env = report.environment(str(tmp_path))
    assert report.render_markdown(_report(), env, 65536) == f"{report.MARKER}\ncustom: pass\n"
    with pytest.raises(GateError, match="template gate.json.j2: did not render valid JSON"):
        report.render_json(_report(), env)


def test_an_error_report() -> None:
    data = _report(verdict="error")
    data.update(error="baseline 'nope': no such commit", comparison=None, metrics=[], baseline=None, pipeline=None,
                plots=[])
    text = report.render_markdown(data, report.environment(), 65536)
    assert "⚠️ gitml gate: could not evaluate" in text and "baseline 'nope': no such commit" in text
    assert "No params changed" not in text
