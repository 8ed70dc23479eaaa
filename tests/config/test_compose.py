"""gitml.config.compose: conf/ → params.yaml exactly as DVC composes it; stale params are caught by key path."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from gitml import config
from gitml.config import compose
from gitml.core.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def _composed(*overrides: str, conf=ROOT / "conf") -> dict:
    return yaml.safe_load(compose.compose(conf, overrides))


def test_committed_params_equal_composition_of_conf():
    assert (ROOT / "params.yaml").read_text(encoding="utf-8") == compose.compose(ROOT / "conf")


def test_group_override_switches_model():
    model = _composed("model=hist_gradient_boosting")["model"]

    assert model["_target_"] == "sklearn.ensemble.HistGradientBoostingClassifier"
    assert "n_estimators" not in model


def test_key_override_changes_only_that_key():
    default, changed = _composed(), _composed("model.n_estimators=7")

    assert changed["model"]["n_estimators"] == 7
    assert {**changed["model"], "n_estimators": 100} == default["model"]
    assert {k: v for k, v in changed.items() if k != "model"} == {k: v for k, v in default.items() if k != "model"}


def test_interpolation_is_resolved_from_overridden_seed():
    assert _composed("seed=3")["model"]["random_state"] == 3


@pytest.mark.parametrize("option", sorted(p.stem for p in (ROOT / "conf" / "data").glob("*.yaml")))
def test_every_data_option_composes_to_valid_params(option):
    params = config.validate(_composed(f"data={option}"))

    assert params.data.source.kind in {"sklearn", "synthetic", "file"}


def test_unknown_group_option():
    with pytest.raises(ConfigError, match=r"conf/: cannot compose: .*Could not find 'model/nope'"):
        compose.compose(ROOT / "conf", ["model=nope"])


def test_unknown_key_override():
    with pytest.raises(ConfigError, match=r"cannot compose: Could not override 'model\.nope'"):
        compose.compose(ROOT / "conf", ["model.nope=1"])


def test_compose_error_is_one_line():
    with pytest.raises(ConfigError) as caught:
        compose.compose(ROOT / "conf", ["model=nope"])

    assert "\n" not in str(caught.value)


def test_missing_conf_dir(tmp_path):
    with pytest.raises(ConfigError, match=r"config\.yaml: not found \(is this a gitml project\?\)"):
        compose.compose(tmp_path / "conf")


def test_check_fresh_passes_on_committed_params(project):
    compose.check_fresh("params.yaml", "conf")


def test_check_fresh_names_key_edited_in_conf(project):
    evaluate = project / "conf" / "evaluate" / "default.yaml"
    evaluate.write_text(evaluate.read_text().replace("curve_points: 200", "curve_points: 50"))

    with pytest.raises(ConfigError, match=r"params\.yaml: stale, .* at evaluate\.curve_points; run `gitml compose`"):
        compose.check_fresh("params.yaml", "conf")


def test_check_fresh_names_key_edited_in_params(project):
    params = project / "params.yaml"
    params.write_text(params.read_text().replace("seed: 42", "seed: 7"))

    with pytest.raises(ConfigError, match=r"stale, .* at gate\.bootstrap\.seed, seed, tune\.seed;"):
        compose.check_fresh("params.yaml", "conf")


def test_check_fresh_on_missing_params(project):
    (project / "params.yaml").unlink()

    with pytest.raises(ConfigError, match=r"params\.yaml: stale, .* and \d+ more"):
        compose.check_fresh("params.yaml", "conf")


def test_check_fresh_reports_formatting_only_difference(project):
    params = project / "params.yaml"
    params.write_text("# a comment\n" + params.read_text())

    with pytest.raises(ConfigError, match=r"at <formatting>"):
        compose.check_fresh("params.yaml", "conf")


def test_stale_keys_lists_changed_added_and_removed_leaves():
    assert compose.stale_keys("a: 1\nb: {c: 2}\n", "a: 1\nb: {c: 3}\nd: 4\n") == ["b.c", "d"]


def test_write_creates_params(project):
    (project / "params.yaml").unlink()

    assert compose.write("params.yaml", "conf") is True
    assert (project / "params.yaml").read_text() == (ROOT / "params.yaml").read_text()


def test_write_returns_false_when_unchanged(project):
    before = (project / "params.yaml").stat().st_mtime_ns

    assert compose.write("params.yaml", "conf") is False
    assert (project / "params.yaml").stat().st_mtime_ns == before


def test_write_applies_overrides(project):
    assert compose.write("params.yaml", "conf", ["model=ridge", "data=diabetes"]) is True

    written = yaml.safe_load((project / "params.yaml").read_text())
    assert written["model"]["_target_"] == "sklearn.linear_model.Ridge"
    assert written["data"]["target"] == "progression"


def test_write_leaves_no_temp_files(project, leftovers):
    compose.write("params.yaml", "conf", ["seed=1"])

    assert leftovers(project) == []


def test_failed_write_keeps_previous_params(project, leftovers):
    before = (project / "params.yaml").read_bytes()

    with pytest.raises(ConfigError):
        compose.write("params.yaml", "conf", ["model=nope"])

    assert (project / "params.yaml").read_bytes() == before
    assert leftovers(project) == []
