"""End to end: `gitml gate` on branches of a real git + dvc project against the baseline on main."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess
from typing import Any

import pytest
import yaml

from gitml.cli import main as cli

pytestmark = pytest.mark.e2e

GATED = {"roc_auc", "accuracy", "f1", "log_loss"}
#: What the `gate_project` and `run` fixtures are (test modules cannot import conftest's GateProject).
GateProject = Any
Run = Callable[..., CompletedProcess[str]]


def _metrics(report: dict) -> dict[str, dict]:
    return {m["name"]: m for m in report["metrics"]}


def test_a_crippled_model_fails_naming_the_regressed_metrics(gate_project: GateProject, run: Run) -> None:
    outcome, report = gate_project.outcomes["worse"], gate_project.reports["worse"]
    assert outcome.returncode == 1, outcome.stderr
    assert report["verdict"] == "fail"
    failed = {m["name"] for m in report["metrics"] if m["status"] == "fail"}
    assert failed and failed <= GATED
    assert {"accuracy", "log_loss"} <= failed
    for name in failed:
        assert _metrics(report)[name]["change"] == "regressed"
        assert name in outcome.stderr and f"{name}: regressed significantly" in " ".join(report["failures"])
    assert report["comparison"]["paired"] and report["comparison"]["test_set"] == "same"
    assert report["baseline"] == {**report["baseline"], "commit": gate_project.baseline, "source": "merge-base"}
    assert report["candidate"]["commit"] == run(gate_project.path, "git", "rev-parse", "worse").stdout.strip()
    markdown = gate_project.markdown["worse"]
    assert markdown.startswith("<!-- gitml-gate -->") and "gitml gate: fail" in markdown
    assert "▼ regressed · ❌ **regressed significantly by" in markdown


def test_an_improved_model_passes(gate_project: GateProject) -> None:
    outcome, report = gate_project.outcomes["better"], gate_project.reports["better"]
    assert outcome.returncode == 0, outcome.stderr
    assert report["verdict"] == "pass"
    metrics = _metrics(report)
    assert metrics["log_loss"]["change"] == "improved" and metrics["log_loss"]["delta"] < 0
    assert all(metrics[name]["change"] != "regressed" for name in GATED)
    assert "gate: pass" in outcome.stdout
    assert "▲ improved · ✅" in gate_project.markdown["better"]


def test_a_params_only_change_within_noise_is_unchanged(gate_project: GateProject) -> None:
    outcome, report = gate_project.outcomes["noise"], gate_project.reports["noise"]
    assert outcome.returncode == 0, outcome.stderr
    metrics = _metrics(report)
    assert {metrics[name]["change"] for name in GATED} == {"unchanged"}
    assert any(metrics[name]["delta"] != 0 for name in GATED), "the change should move some metric a little"
    low, high = metrics["log_loss"]["interval"]
    assert low < 0 < high
    assert [p["key"] for p in report["params"]] == ["model.n_estimators"]
    stages = {s["name"]: s for s in report["pipeline"]["stages"]}
    assert {"train", "evaluate"} <= set(stages) and not {"ingest", "featurize"} & set(stages)
    assert "params: model.n_estimators" in stages["train"]["details"]
    assert {f["path"] for f in report["pipeline"]["files"]} >= {"params.yaml", "models/model.skops"}


def test_the_report_has_plots_of_both_models(gate_project: GateProject) -> None:
    report = gate_project.reports["worse"]
    assert sorted(Path(p).name for p in report["plots"]) == sorted(
        f"{stem}.{fmt}" for stem in ("roc", "precision_recall", "confusion") for fmt in ("svg", "png"))
    svg = (gate_project.path / "reports" / "gate" / "roc.svg").read_text()
    assert svg.startswith("<svg") and "baseline" in svg and "candidate" in svg
    assert (gate_project.path / "reports" / "gate" / "roc.png").read_bytes()[:4] == b"\x89PNG"


def _gate(project: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    monkeypatch.chdir(project)
    return cli.main(["gate", *args])


def _error(project: Path, capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    report = json.loads((project / "reports" / "gate.json").read_text())
    assert report["verdict"] == "error" and report["error"] in err
    assert "could not evaluate" in (project / "reports" / "gate" / "report.md").read_text()
    return err


def test_a_baseline_ref_that_does_not_exist(gate_project: GateProject, monkeypatch, capsys) -> None:
    assert _gate(gate_project.path, monkeypatch, "--baseline", "no-such-ref") == 2
    assert "baseline 'no-such-ref': no such commit or ref here" in _error(gate_project.path, capsys)


def test_a_baseline_without_metrics(gate_project: GateProject, monkeypatch, capsys, run: Run) -> None:
    first = run(gate_project.path, "git", "rev-list", "--max-parents=0", "HEAD").stdout.strip()
    assert _gate(gate_project.path, monkeypatch, "--baseline", first) == 2
    assert f"baseline {first[:7]}: reports/metrics.json is not committed there" in _error(gate_project.path, capsys)


def test_malformed_baseline_metrics(gate_project: GateProject, monkeypatch, capsys, run: Run) -> None:
    path = gate_project.path
    run(path, "git", "checkout", "-qb", "malformed")
    (path / "reports" / "metrics.json").write_text('{"accuracy": "high",')
    run(path, "git", "commit", "-qam", "broken metrics")
    run(path, "git", "checkout", "-q", "main")
    try:
        assert _gate(path, monkeypatch, "--baseline", "malformed") == 2
        assert "reports/metrics.json at " in _error(path, capsys) and "not valid JSON" in _error_text(path)
    finally:
        run(path, "git", "branch", "-qD", "malformed")


def _error_text(project: Path) -> str:
    return json.loads((project / "reports" / "gate.json").read_text())["error"]


def test_a_policy_metric_that_does_not_exist(gate_project: GateProject, tmp_path, monkeypatch, capsys) -> None:
    text = (gate_project.path / "params.yaml").read_text()
    params = tmp_path / "params.yaml"
    params.write_text(text.replace("      roc_auc:\n", "      roc_auk:\n", 1))
    assert _gate(gate_project.path, monkeypatch, "--params", str(params)) == 2
    err = _error(gate_project.path, capsys)
    assert ("gate.metrics.classification.roc_auk: no such metric in reports/metrics.json "
            "(it has: accuracy, balanced_accuracy, f1") in err


def test_an_invalid_policy_names_its_key(gate_project: GateProject, tmp_path, monkeypatch, capsys) -> None:
    text = (gate_project.path / "params.yaml").read_text()
    params = tmp_path / "params.yaml"
    params.write_text(text.replace("direction: higher", "direction: sideways", 1))
    assert _gate(gate_project.path, monkeypatch, "--params", str(params)) == 2
    assert "gate.metrics.classification.roc_auc.direction" in _error(gate_project.path, capsys)


def test_a_dirty_tree_is_refused_unless_allowed(gate_project: GateProject, monkeypatch, capsys) -> None:
    readme = gate_project.path / "README.md"
    original = readme.read_text()
    readme.write_text(original + "\nedited\n")
    try:
        assert _gate(gate_project.path, monkeypatch) == 2
        assert "uncommitted changes to README.md" in _error(gate_project.path, capsys)
        assert _gate(gate_project.path, monkeypatch, "--allow-dirty") == 0
        report = json.loads((gate_project.path / "reports" / "gate.json").read_text())
        assert report["candidate"]["dirty"] == ["README.md"] and report["verdict"] == "pass"
    finally:
        readme.write_text(original)


def test_a_stale_pipeline_is_refused(gate_project: GateProject, monkeypatch, capsys, run: Run) -> None:
    model = gate_project.path / "conf" / "model" / "random_forest.yaml"
    original = model.read_text()
    model.write_text(original.replace("n_estimators: 20", "n_estimators: 7"))
    run(gate_project.path, "gitml", "compose")
    try:
        assert _gate(gate_project.path, monkeypatch, "--allow-dirty") == 2
        err = _error(gate_project.path, capsys)
        assert "the pipeline is not up to date (stages " in err and " train" in err and "run `dvc repro`" in err
    finally:
        model.write_text(original)
        run(gate_project.path, "git", "checkout", "--", "params.yaml")


def test_the_registry_prod_model_is_the_default_baseline(gate_project: GateProject, monkeypatch, capsys,
                                                          run: Run) -> None:
    path = gate_project.path
    first = run(path, "git", "rev-list", "--max-parents=0", "HEAD").stdout.strip()
    run(path, "git", "tag", "-a", "model@v0.1.0", "-m", "register", gate_project.baseline)
    run(path, "git", "tag", "-a", "model#prod#1", "-m", "promote", gate_project.baseline)
    try:
        assert _gate(path, monkeypatch, "--comment") == 0
        report = json.loads((path / "reports" / "gate.json").read_text())
        assert report["baseline"]["source"] == "registry" and report["baseline"]["ref"] == "model@v0.1.0 (prod)"
        out = capsys.readouterr().out
        assert out == (path / "reports" / "gate" / "report.md").read_text()
        assert out.startswith("<!-- gitml-gate -->") and "model@v0.1.0 (prod)" in out
        assert _gate(path, monkeypatch, "--baseline", first) == 2  # --baseline overrides the registry
    finally:
        run(path, "git", "tag", "-d", "model@v0.1.0", "model#prod#1")


def test_a_shallow_clone_fetches_what_the_gate_needs(gate_project: GateProject, tmp_path: Path, run: Run) -> None:
    origin = gate_project.path
    first = run(origin, "git", "rev-list", "--max-parents=0", "main").stdout.strip()
    run(origin, "dvc", "push", "--quiet", "--all-branches")
    run(origin, "git", "tag", "-a", "model@v0.0.1", "-m", "register", first)
    run(origin, "git", "tag", "-a", "model#prod#1", "-m", "promote", first)
    clone = tmp_path / "shallow"
    try:
        run(tmp_path, "git", "clone", "--quiet", "--depth=1", "--no-tags", "--branch=worse", f"file://{origin}",
            str(clone))
        run(clone, "dvc", "remote", "modify", "--local", "storage", "url", str(gate_project.remote))
        run(clone, "dvc", "pull", "--quiet")
        assert run(clone, "git", "rev-parse", "--is-shallow-repository").stdout.strip() == "true"
        # --baseline SHA: that one commit is fetched, and the baseline's predictions are pulled by hash.
        result = run(clone, "gitml", "gate", "--baseline", gate_project.baseline, check=False)
        assert result.returncode == 1, result.stderr
        report = json.loads((clone / "reports" / "gate.json").read_text())
        assert report["baseline"]["commit"] == gate_project.baseline
        assert report["comparison"]["paired"], report["comparison"]["notes"]
        # The default: the registry's tags (and their commits) are fetched, and the prod model is the baseline.
        result = run(clone, "gitml", "gate", check=False)
        assert result.returncode == 2 and "reports/metrics.json is not committed there" in result.stderr
        report = json.loads((clone / "reports" / "gate.json").read_text())
        assert (report["baseline"]["source"], report["baseline"]["commit"]) == ("registry", first)
    finally:
        run(origin, "git", "tag", "-d", "model@v0.0.1", "model#prod#1")
    run(clone, "git", "tag", "-d", "model@v0.0.1", "model#prod#1")
    # No prod model: the merge base with origin/main, deepening the clone until it appears.
    result = run(clone, "gitml", "gate", check=False)
    assert result.returncode == 1, result.stderr
    report = json.loads((clone / "reports" / "gate.json").read_text())
    assert (report["baseline"]["ref"], report["baseline"]["commit"]) == ("merge base with origin/main",
                                                                         gate_project.baseline)


def test_the_report_and_the_comment_show_the_production_figures(gate_project: GateProject) -> None:
    production = gate_project.reports["better"]["production"]
    figures = {f["name"]: f for f in production["figures"]}
    assert set(figures) == {"latency_p50_ms", "latency_p99_ms", "throughput_rps", "load_s", "memory_mb", "size_mb"}
    assert production["error"] is None and production["clock"] == "process CPU time" and production["rounds"] >= 3
    for figure in figures.values():
        assert figure["baseline"] > 0 and figure["candidate"] > 0 and figure["ratio"] > 0, figure
    assert [name for name, f in figures.items() if f["gated"]] == ["latency_p99_ms"]
    low, high = figures["latency_p99_ms"]["interval"]
    assert low <= figures["latency_p99_ms"]["ratio"] <= high
    markdown = gate_project.markdown["better"]
    assert "**Production figures**" in markdown and "| latency_p99_ms |" in markdown and "| size_mb ¹ |" in markdown


def test_bad_timing_settings_exit_2_naming_the_key_and_keep_the_quality_verdict(
        gate_project: GateProject, tmp_path, monkeypatch, capsys) -> None:
    text = (gate_project.path / "params.yaml").read_text()
    params = tmp_path / "params.yaml"
    params.write_text(text.replace("budget_s: 1.0", "budget_s: 0", 1))
    assert _gate(gate_project.path, monkeypatch, "--params", str(params)) == 2
    assert "gate.timing.budget_s: Input should be greater than 0" in _error(gate_project.path, capsys)
    report = json.loads((gate_project.path / "reports" / "gate.json").read_text())
    assert report["quality"] in {"pass", "fail"} and report["metrics"], "the quality verdict is not lost"
    assert "gate.timing.budget_s" in report["production"]["error"]
    assert "its quality metrics alone" in report["summary"]


def test_a_baseline_model_that_cannot_be_had_exits_2_and_keeps_the_quality_verdict(
        gate_project: GateProject, tmp_path, monkeypatch, capsys, run: Run) -> None:
    path = gate_project.path
    params = tmp_path / "params.yaml"
    params.write_text((path / "params.yaml").read_text().replace("reproduce: true", "reproduce: false", 1))
    lock = yaml.safe_load(run(path, "git", "show", "HEAD:dvc.lock").stdout)
    [md5] = [out["md5"] for stage in lock["stages"].values() for out in stage.get("outs", [])
             if out["path"] == "models/model.skops"]
    cached = path / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]
    run(path, "git", "checkout", "-q", "worse")
    run(path, "dvc", "checkout", "--quiet")
    cached.rename(tmp_path / "held")  # in neither the cache nor the (empty) remote
    (tmp_path / "empty").mkdir()
    run(path, "dvc", "remote", "modify", "--local", "storage", "url", str(tmp_path / "empty"))
    try:
        assert _gate(path, monkeypatch, "--params", str(params)) == 2
        err = _error(path, capsys)
    finally:
        (tmp_path / "held").rename(cached)
        run(path, "dvc", "remote", "modify", "--local", "--unset", "storage", "url")
        run(path, "git", "checkout", "-q", "main")
        run(path, "dvc", "checkout", "--quiet")
    assert "gate.timing: the models cannot be timed: baseline" in err and "models/model.skops at" in err
    report = json.loads((path / "reports" / "gate.json").read_text())
    assert report["quality"] in {"pass", "fail"} and report["metrics"], "the quality verdict is not lost"
    assert "neither in the DVC cache nor on the DVC remote" in report["production"]["error"]
    assert "its quality metrics alone" in report["summary"]
