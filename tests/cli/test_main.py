"""gitml.cli.main: each command's exit code, stdout and one-line errors on stderr."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from gitml import config
from gitml.cli import main
from gitml.config import Contract


@pytest.fixture
def table(workdir, small_frame):
    """A small data file in the working directory."""
    small_frame.to_parquet(workdir / "table.parquet", index=False)
    return workdir / "table.parquet"


def test_compose_writes_params(project, capsys, repo_root):
    (project / "params.yaml").unlink()

    assert main.main(["compose"]) == 0

    assert (project / "params.yaml").read_text() == (repo_root / "params.yaml").read_text()
    assert capsys.readouterr().out == "wrote: params.yaml\n"


def test_compose_reports_unchanged(project, capsys):
    assert main.main(["compose"]) == 0

    assert capsys.readouterr().out == "unchanged: params.yaml\n"


def test_compose_applies_overrides(project):
    assert main.main(["compose", "model=hist_gradient_boosting", "model.max_iter=7", "-o", "other.yaml"]) == 0

    model = yaml.safe_load((project / "other.yaml").read_text())["model"]
    assert model["_target_"] == "gitml.model.estimators.HistGradientBoosting"
    assert model["max_iter"] == 7


def test_compose_writes_its_overrides_into_conf_so_they_stick(project, capsys):
    assert main.main(["compose", "model=hist_gradient_boosting", "model.max_iter=7"]) == 0

    assert capsys.readouterr().out.splitlines() == [
        "conf/config.yaml: defaults.model: hist_gradient_boosting",
        "conf/model/hist_gradient_boosting.yaml: max_iter: 7",
        "wrote: params.yaml",
    ]
    assert "max_iter: 7\n" in (project / "conf" / "model" / "hist_gradient_boosting.yaml").read_text()
    assert main.main(["compose", "--check"]) == 0  # what a later `gitml repro` composes keeps them


def test_compose_to_another_file_is_a_preview_that_leaves_conf_alone(project, capsys):
    before = {path: path.read_bytes() for path in (project / "conf").rglob("*") if path.is_file()}

    assert main.main(["compose", "model.n_estimators=3", "-o", "preview.yaml"]) == 0

    assert {path: path.read_bytes() for path in (project / "conf").rglob("*") if path.is_file()} == before
    assert yaml.safe_load((project / "preview.yaml").read_text())["model"]["n_estimators"] == 3


def test_compose_with_conf_elsewhere(workdir, tmp_path_factory, repo_root):
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    (elsewhere / "conf").symlink_to(repo_root / "conf")

    assert main.main(["compose", "--conf", str(elsewhere / "conf"), "-o", "out.yaml"]) == 0

    assert (workdir / "out.yaml").read_text() == (repo_root / "params.yaml").read_text()


def test_compose_unknown_option_exits_one(project, capsys):
    before = (project / "params.yaml").read_bytes()

    assert main.main(["compose", "model=nope"]) == 1

    err = capsys.readouterr().err
    assert err.startswith("error: conf/: cannot compose: ")
    assert err.count("\n") == 1
    assert (project / "params.yaml").read_bytes() == before


def test_compose_check_ok(project, capsys):
    assert main.main(["compose", "--check"]) == 0

    assert capsys.readouterr().out == "params.yaml is the composition of conf/\n"


def test_compose_check_stale_exits_one(project, capsys):
    config_yaml = project / "conf" / "config.yaml"
    config_yaml.write_text(config_yaml.read_text().replace("seed: 42", "seed: 1"))

    assert main.main(["compose", "--check"]) == 1

    err = capsys.readouterr().err
    assert err.startswith("error: params.yaml: differs from the composition of conf/ at ")
    assert "seed" in err
    assert err.count("\n") == 1


def test_check_ok(project, capsys):
    assert main.main(["check"]) == 0

    assert capsys.readouterr().out == "params.yaml: ok\n"


def test_check_failing_prints_every_problem(project, capsys):
    raw = yaml.safe_load((project / "params.yaml").read_text())
    raw["model"] = {"_target_": "sklearn.linear_model.Ridge"}
    raw["features"]["drop"] = ["nope"]
    (project / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))

    assert main.main(["check", "--no-fresh"]) == 1

    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        "error: features.drop: columns not in the data contract: ['nope']",
        "model._target_: 'sklearn.linear_model.Ridge' is not a classification estimator (data.task is classification); "
        "model configs for classification: auto, hist_gradient_boosting, linear, logistic_regression, random_forest",
    ]


def test_check_schema_error_exits_one(project, capsys):
    text = (project / "params.yaml").read_text()
    (project / "params.yaml").write_text(text.replace("  curve_points: 200", "  curve_ponts: 200"))

    assert main.main(["check", "--no-fresh"]) == 1

    assert capsys.readouterr().err == "error: params.yaml: evaluate.curve_ponts: unknown key (check its spelling)\n"


def test_check_stale_exits_one(project, capsys):
    config = project / "conf" / "config.yaml"
    config.write_text(config.read_text().replace("seed: 42", "seed: 5"))

    assert main.main(["check"]) == 1

    assert capsys.readouterr().err.startswith("error: params.yaml: differs from the composition of conf/ at ")


def test_check_other_params_file(project, capsys):
    (project / "params.yaml").rename(project / "custom.yaml")

    assert main.main(["check", "--params", "custom.yaml", "--no-fresh"]) == 0

    assert capsys.readouterr().out == "custom.yaml: ok\n"


def test_contract_infer_to_stdout(table, capsys):
    assert main.main(["contract", "infer", str(table), "--target", "target"]) == 0

    inferred = Contract.model_validate(yaml.safe_load(capsys.readouterr().out)["contract"])
    assert list(inferred.columns) == ["num_0", "num_1", "num_2", "cat_0", "cat_1", "target"]
    assert inferred.columns["target"].categories == ["class_0", "class_1"]


def test_contract_infer_to_file(table, capsys):
    assert main.main(["contract", "infer", str(table), "--target", "target", "-o", "conf/data/mine.yaml"]) == 0

    captured = capsys.readouterr()
    assert captured.out == ""
    assert "wrote conf/data/mine.yaml" in captured.err
    written = yaml.safe_load((table.parent / "conf/data/mine.yaml").read_text())
    assert Contract.model_validate(written["contract"]).columns["num_0"].role == "numeric"


def test_inferred_contract_validates_as_data_section(table, capsys):
    assert main.main(["contract", "infer", str(table), "--target", "target"]) == 0
    section = yaml.safe_load(capsys.readouterr().out)
    section.update(source={"kind": "file", "path": str(table)}, task="classification", target="target")

    params = config.validate({"data": section, "model": {"_target_": "sklearn.linear_model.LogisticRegression"}})

    assert params.data.contract.columns["cat_0"].dtype == "str"


def test_contract_infer_regression_csv(workdir, capsys):
    pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [0.5, 1.5, 2.5]}).to_csv(workdir / "d.csv", index=False)

    assert main.main(["contract", "infer", "d.csv", "--target", "y", "--task", "regression"]) == 0

    assert yaml.safe_load(capsys.readouterr().out)["contract"]["columns"]["y"]["role"] == "numeric"


def test_contract_infer_unknown_target(table, capsys):
    assert main.main(["contract", "infer", str(table), "--target", "label"]) == 1

    assert capsys.readouterr().err == f"error: --target: column 'label' is not in {table}\n"


def test_contract_infer_missing_file(workdir, capsys):
    assert main.main(["contract", "infer", "nope.csv", "--target", "y"]) == 1

    assert capsys.readouterr().err == "error: nope.csv: data file not found\n"


def test_init_refuses_non_empty_directory(tmp_path, capsys):
    (tmp_path / "keep.txt").write_text("mine")

    assert main.main(["init", str(tmp_path)]) == 1

    assert capsys.readouterr().err == f"error: {tmp_path}: exists and is not empty\n"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]
    assert (tmp_path / "keep.txt").read_text() == "mine"


def test_unknown_command_is_usage_error(capsys):
    with pytest.raises(SystemExit) as caught:
        main.main(["nope"])

    assert caught.value.code == 2
    assert "invalid choice: 'nope'" in capsys.readouterr().err
