"""gitml.config: params.yaml is validated at the door, every problem one line with its key path."""

from __future__ import annotations

import pydantic
import pytest

from gitml import config
from gitml.core.errors import ConfigError


def test_repository_params_load(write_params, repo_params):
    params = config.load(write_params(raw=repo_params))

    assert params.data.target == "diagnosis"
    assert params.model.target_ == "sklearn.ensemble.RandomForestClassifier"
    assert params.features.split.test_size == 0.2


def test_defaults_fill_optional_sections(small_raw):
    minimal = {"data": small_raw["data"], "model": {"_target_": "sklearn.linear_model.LogisticRegression"}}

    params = config.validate(minimal)

    assert params.paths.raw == "data/raw/dataset.parquet"
    assert params.project.allowed_targets == ["sklearn.", "gitml."]


def test_misspelled_key_names_key_path(small_raw, edit_params):
    raw = edit_params(small_raw, {"features.split.tset_size": 0.3})

    with pytest.raises(ConfigError, match=r"features\.split\.tset_size: unknown key"):
        config.validate(raw)


def test_misspelled_top_level_section(small_raw, edit_params):
    raw = edit_params(small_raw, {"evalute": {}})

    with pytest.raises(ConfigError, match=r"params\.yaml: evalute: unknown key"):
        config.validate(raw)


def test_wrong_type_names_key_path_and_value(small_raw, edit_params):
    raw = edit_params(small_raw, {"features.split.stratify": "maybe"})

    with pytest.raises(ConfigError, match=r"features\.split\.stratify: .*\(got 'maybe'\)"):
        config.validate(raw)


def test_wrong_type_in_contract_column(small_raw, edit_params):
    raw = edit_params(small_raw, {"data.contract.columns": {"x": {"dtype": "float64", "role": "numeric"}}})

    with pytest.raises(ConfigError, match=r"data\.contract\.columns\.x\.dtype: .*\(got 'float64'\)"):
        config.validate(raw)


def test_several_problems_reported_one_line_each(small_raw, edit_params):
    raw = edit_params(small_raw, {"seed": "abc", "project.nmae": "x", "evaluate.curve_points": 3})

    with pytest.raises(ConfigError) as caught:
        config.validate(raw)

    lines = str(caught.value).splitlines()
    assert len(lines) == 3
    assert any(line.startswith("params.yaml: seed: ") and "'abc'" in line for line in lines)
    assert any(line.startswith("params.yaml: project.nmae: unknown key") for line in lines)
    assert any(line.startswith("params.yaml: evaluate.curve_points: ") and "(got 3)" in line for line in lines)


def test_model_without_target(small_raw, edit_params):
    raw = edit_params(small_raw)
    del raw["model"]["_target_"]

    with pytest.raises(ConfigError, match=r"params\.yaml: model: .*needs a `_target_`"):
        config.validate(raw)


def test_feature_step_without_target(small_raw, edit_params):
    raw = edit_params(small_raw)
    raw["features"]["numeric"].append({"strategy": "mean"})

    with pytest.raises(ConfigError, match=r"features\.numeric: .*each step needs a `_target_`"):
        config.validate(raw)


def test_missing_required_section(small_raw, edit_params):
    raw = edit_params(small_raw)
    del raw["data"]

    with pytest.raises(ConfigError, match=r"params\.yaml: data: Field required"):
        config.validate(raw)


def test_bad_source_kind(small_raw, edit_params):
    raw = edit_params(small_raw, {"data.source": {"kind": "url", "name": "x"}})

    with pytest.raises(ConfigError, match=r"data\.source: .*'url'.*'sklearn', 'file', 'synthetic'"):
        config.validate(raw)


def test_bad_sklearn_dataset_names_the_key_a_user_can_find(small_raw, edit_params):
    # The key in params.yaml is data.source.name; the union's tag ("sklearn") is not a key.
    raw = edit_params(small_raw, {"data.source": {"kind": "sklearn", "name": "mnist"}})

    with pytest.raises(ConfigError, match=r"params\.yaml: data\.source\.name: .*\(got 'mnist'\)"):
        config.validate(raw)


@pytest.mark.parametrize("test_size", [0.0, 1.0, 1.5, -0.1])
def test_test_size_out_of_range(small_raw, test_size, edit_params):
    raw = edit_params(small_raw, {"features.split.test_size": test_size})

    with pytest.raises(ConfigError, match=rf"features\.split\.test_size: .*\(got {test_size}\)"):
        config.validate(raw)


def test_null_fraction_above_one(small_raw, edit_params):
    raw = edit_params(small_raw, {"data.contract.max_null_fraction": 1.5})

    with pytest.raises(ConfigError, match=r"data\.contract\.max_null_fraction: .*\(got 1\.5\)"):
        config.validate(raw)


def test_not_a_mapping():
    with pytest.raises(ConfigError, match=r"params\.yaml: expected a mapping of sections, got list"):
        config.validate(["seed", 1])


def test_load_names_the_file_in_every_line(write_params):
    path = write_params({"seed": "abc"}, name="custom.yaml")

    with pytest.raises(ConfigError, match=r"^custom\.yaml: seed: "):
        config.load(path.name)


def test_load_missing_file(workdir):
    with pytest.raises(ConfigError, match=r"nope\.yaml: not found \(run `gitml compose`"):
        config.load("nope.yaml")


def test_load_invalid_yaml(workdir):
    (workdir / "params.yaml").write_text("seed: [1, 2\n")

    with pytest.raises(ConfigError, match=r"params\.yaml: not valid YAML: "):
        config.load("params.yaml")


def test_load_invalid_yaml_is_one_line(workdir):
    (workdir / "params.yaml").write_text("seed: [1, 2\n")

    with pytest.raises(ConfigError) as caught:
        config.load("params.yaml")

    assert "\n" not in str(caught.value)


def test_sections_are_frozen(small_params):
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        small_params.seed = 1


@pytest.mark.parametrize(("value", "why"), [
    ("/abs/model.skops", "is absolute"),
    ("C:\\models\\m.skops", "is absolute"),
    ("../m.skops", "leaves the project through `..`"),
    ("models/../../m.skops", "leaves the project through `..`"),
    ("gs://bucket/m.skops", "is a URL"),
    (".", "names no file"),
    ("", "names no file"),
])
def test_paths_outside_the_project(value, why):
    (line,) = config.Paths(model=value).outside()

    assert line.startswith(f"paths.model: {value!r} {why}")


def test_paths_inside_the_project_pass():
    assert config.Paths(model="models/./m.skops", raw="data/../data/raw.parquet").outside() == []
    assert config.Paths(model="/abs").outside("raw") == []
