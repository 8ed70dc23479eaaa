"""gitml.cli.check: `gitml check` finds every problem a stage would hit, all reported together."""

from __future__ import annotations

import os

import pytest
import yaml

from gitml.cli import check
from gitml.config import compose
from gitml.core.errors import ConfigError


def _edit_params(project, edit, changes: dict) -> None:
    """Make params.yaml differ from conf/ by `changes`, with conf/ edited after it (the stale case)."""
    params = project / "params.yaml"
    params.write_text(yaml.safe_dump(edit(yaml.safe_load(params.read_text()), changes), sort_keys=False))
    later = params.stat().st_mtime + 10
    for path in (project / "conf").rglob("*.yaml"):
        os.utime(path, (later, later))


def test_editing_conf_without_composing_is_stale(project):
    config = project / "conf" / "config.yaml"
    config.write_text(config.read_text().replace("seed: 42", "seed: 7"))
    later = (project / "params.yaml").stat().st_mtime + 10
    os.utime(config, (later, later))

    stale = r"params\.yaml: stale, .* at gate\.bootstrap\.seed, model\.random_state, seed, tune\.seed;"
    with pytest.raises(ConfigError, match=stale):
        check.check_project("params.yaml", "conf")


def test_params_composed_with_overrides_after_conf_are_fresh(project):
    compose.write("params.yaml", "conf", ["seed=7", "model.n_estimators=11"])
    later = max(p.stat().st_mtime for p in (project / "conf").rglob("*")) + 10
    os.utime(project / "params.yaml", (later, later))

    assert check.check_project("params.yaml", "conf").seed == 7


def test_valid_project_passes(project):
    params = check.check_project("params.yaml", "conf")

    assert params.data.target == "diagnosis"


def test_semantic_problems_empty_for_valid_params(small_params):
    assert check.semantic_problems(small_params) == []


def test_semantic_problems_all_reported(make_params):
    params = make_params(
        {
            "model": {"_target_": "sklearn.linear_model.Ridge"},
            "features.drop": ["nope"],
            "features.numeric": [{"_target_": "sklearn.linear_model.LogisticRegression"}],
            "features.categorical": [{"_target_": "sklearn.nope.Encoder"}],
        }
    )

    problems = check.semantic_problems(params)

    assert len(problems) == 4
    assert problems[0].startswith("features.drop: ")
    assert problems[1].startswith("features.numeric[0]._target_: ")
    assert problems[2].startswith("features.categorical[0]._target_: ")
    assert problems[3].startswith("model._target_: ")


def test_file_source_without_contract_is_reported(make_params):
    params = make_params({"data.source": {"kind": "file", "path": "data.csv"}})

    assert check.semantic_problems(params) == [
        "data.contract.columns: empty; declare the data contract "
        "(`gitml contract infer DATA_FILE` writes a starting one)"
    ]


def test_check_reports_every_semantic_problem_one_line_each(write_params):
    path = write_params({"model": {"_target_": "sklearn.nope.Forest"}, "features.drop": ["nope"]})

    with pytest.raises(ConfigError) as caught:
        check.check_project(path, "conf")

    lines = str(caught.value).splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("features.drop: columns not in the data contract")
    assert lines[1].startswith("model._target_: cannot import 'sklearn.nope.Forest'")


def test_check_reports_schema_and_semantic_problems_together(write_params):
    path = write_params({"evaluate.curve_points": 3, "model": {"_target_": "os.system"}})

    with pytest.raises(ConfigError) as caught:
        check.check_project(path, "conf")

    message = str(caught.value)
    assert "evaluate.curve_points" in message
    assert "model._target_: 'os.system' is outside the allowed prefixes" in message


def test_stale_params_detected(project, edit_params):
    _edit_params(project, edit_params, {"seed": 7})

    with pytest.raises(ConfigError, match=r"params\.yaml: stale, .* at seed;"):
        check.check_project("params.yaml", "conf")


def test_stale_and_schema_problems_reported_together(project, edit_params):
    _edit_params(project, edit_params, {"evaluate.curve_points": 3})

    with pytest.raises(ConfigError) as caught:
        check.check_project("params.yaml", "conf")

    lines = str(caught.value).splitlines()
    assert lines[0].startswith("params.yaml: stale, ")
    assert lines[1].startswith("params.yaml: evaluate.curve_points: ")


def test_stale_and_semantic_problems_reported_together(project, edit_params):
    _edit_params(project, edit_params, {"features.drop": ["nope"]})

    with pytest.raises(ConfigError) as caught:
        check.check_project("params.yaml", "conf")

    lines = str(caught.value).splitlines()
    assert lines[0].startswith("params.yaml: stale, ")
    assert lines[1].startswith("features.drop: ")


def test_freshness_skipped_inside_dvc_experiment(project, edit_params, monkeypatch):
    _edit_params(project, edit_params, {"seed": 7})
    monkeypatch.setenv("DVC_EXP_NAME", "exp-1234")

    assert check.check_project("params.yaml", "conf").seed == 7


def test_freshness_skipped_on_request(project, edit_params):
    _edit_params(project, edit_params, {"seed": 7})

    assert check.check_project("params.yaml", "conf", fresh=False).seed == 7


def test_freshness_skipped_without_conf(project, edit_params):
    _edit_params(project, edit_params, {"seed": 7})

    assert check.check_project("params.yaml", "no-conf-here").seed == 7


def test_inside_experiment_reads_environment(monkeypatch):
    monkeypatch.delenv("DVC_EXP_NAME", raising=False)
    assert compose.inside_experiment() is False

    monkeypatch.setenv("DVC_EXP_NAME", "exp-1")
    assert compose.inside_experiment() is True
