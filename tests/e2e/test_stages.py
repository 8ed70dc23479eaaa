"""stages/: each stage's `main([...])` writes its outputs atomically and fails with one line, keeping old outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from gitml.model import modelio
from stages import evaluate, featurize, ingest, train, validate

ROOT = Path(__file__).resolve().parents[2]
PIPELINE = (ingest, validate, featurize, train, evaluate)


def _small(raw: dict) -> dict:
    """A small run (the `small_raw` fixture's, for a module-wide run): 160 synthetic rows, 10 trees,
    few importance repeats."""
    raw["data"] = {"source": {"kind": "synthetic", "n_rows": 160, "n_numeric": 3, "n_categorical": 2, "n_classes": 2,
                              "noise": 0.3}, "task": "classification", "target": "target"}
    raw["model"]["n_estimators"] = 10
    raw["evaluate"]["importance"]["n_repeats"] = 2
    raw["evaluate"]["curve_points"] = 20
    return raw


def _run(stages, params: Path) -> list[int]:
    return [stage.main(["--params", str(params)]) for stage in stages]


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> tuple[Path, list[int]]:
    """One complete small run of every stage, shared read-only by the output tests."""
    root = tmp_path_factory.mktemp("pipeline")
    raw = _small(yaml.safe_load((ROOT / "params.yaml").read_text()))
    (root / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        codes = _run(PIPELINE, root / "params.yaml")
    return root, codes


@pytest.fixture
def out(finished) -> Path:
    return finished[0]


def test_every_stage_exits_zero(finished):
    assert finished[1] == [0, 0, 0, 0, 0]


def test_no_temp_files_remain(out, leftovers):
    assert leftovers(out) == []


def test_ingest_writes_raw_parquet(out):
    raw = pd.read_parquet(out / "data/raw/dataset.parquet")

    assert raw.shape == (160, 3 + 2 + 1)
    assert raw["target"].nunique() == 2


def test_validate_writes_passing_report(out):
    report = json.loads((out / "reports/validation.json").read_text())

    assert report["ok"] is True
    assert report["rows"] == 160
    assert sorted(report["columns"]) == ["cat_0", "cat_1", "num_0", "num_1", "num_2", "target"]


def test_featurize_writes_disjoint_split(out):
    train_rows = pd.read_parquet(out / "data/features/train.parquet")
    test_rows = pd.read_parquet(out / "data/features/test.parquet")
    raw = pd.read_parquet(out / "data/raw/dataset.parquet")

    assert (len(train_rows), len(test_rows)) == (128, 32)
    assert set(train_rows.columns) == set(raw.columns)
    assert pd.concat([train_rows, test_rows]).merge(raw).shape[0] == 160
    assert train_rows.merge(test_rows).empty


def test_train_writes_loadable_model(out):
    model = modelio.load_model(out / "models/model.skops")
    test_rows = pd.read_parquet(out / "data/features/test.parquet")

    assert set(model.predict(test_rows.drop(columns=["target"]))) <= {"class_0", "class_1"}


def test_train_writes_signature(out):
    signature = json.loads((out / "models/signature.json").read_text())

    assert [i["name"] for i in signature["inputs"]] == ["num_0", "num_1", "num_2", "cat_0", "cat_1"]
    assert signature["classes"] == ["class_0", "class_1"]


def test_evaluate_writes_metrics(out):
    metrics = json.loads((out / "reports/metrics.json").read_text())

    assert set(metrics) == {"accuracy", "balanced_accuracy", "f1", "precision", "recall", "roc_auc", "log_loss"}
    assert 0.5 < metrics["accuracy"] <= 1.0


def test_evaluate_writes_test_predictions(out):
    predictions = pd.read_parquet(out / "reports/predictions.parquet")

    assert list(predictions.columns) == ["y_true", "y_pred", "proba_class_0", "proba_class_1"]
    assert len(predictions) == 32


def test_evaluate_writes_plot_data(out):
    roc = json.loads((out / "reports/plots/roc.json").read_text())
    pr = json.loads((out / "reports/plots/precision_recall.json").read_text())
    confusion = pd.read_csv(out / "reports/plots/predictions.csv")

    assert 2 <= len(roc["roc"]) <= 20
    assert set(pr["precision_recall"][0]) == {"recall", "precision", "threshold"}
    assert list(confusion.columns) == ["actual", "predicted"]
    assert len(confusion) == 32


def test_evaluate_writes_importance(out):
    importance = json.loads((out / "reports/importance.json").read_text())

    assert sorted(row["feature"] for row in importance) == ["cat_0", "cat_1", "num_0", "num_1", "num_2"]


def test_rerun_gives_identical_outputs(out, write_params, small_raw):
    assert yaml.safe_load((out / "params.yaml").read_text()) == small_raw  # the module-wide run is the small run
    again = write_params(raw=yaml.safe_load((out / "params.yaml").read_text()))

    assert _run(PIPELINE, again) == [0, 0, 0, 0, 0]

    for name in (
        "data/raw/dataset.parquet",
        "data/features/train.parquet",
        "data/features/test.parquet",
        "models/model.skops",
        "reports/metrics.json",
        "reports/predictions.parquet",
        "reports/importance.json",
    ):
        assert (again.parent / name).read_bytes() == (out / name).read_bytes(), name


def test_validate_contract_violation_exits_one_with_column_report(write_params, capsys):
    params = write_params()
    assert _run([ingest], params) == [0]
    raw = pd.read_parquet("data/raw/dataset.parquet")
    raw.loc[:4, "cat_1"] = "zzz"
    raw.to_parquet("data/raw/dataset.parquet", index=False)
    capsys.readouterr()

    assert validate.main(["--params", str(params)]) == 1

    report = json.loads(Path("reports/validation.json").read_text())
    assert report["ok"] is False
    assert report["failed_columns"] == ["cat_1"]
    err = capsys.readouterr().err
    assert "column 'cat_1': 5 values outside the allowed categories: 'zzz'" in err.splitlines()
    assert err.startswith("error: data/raw/dataset.parquet violates the data contract")


def test_validate_missing_column_names_it(write_params, capsys):
    params = write_params()
    assert _run([ingest], params) == [0]
    pd.read_parquet("data/raw/dataset.parquet").drop(columns=["num_1"]).to_parquet("data/raw/dataset.parquet")
    capsys.readouterr()

    assert validate.main(["--params", str(params)]) == 1

    assert "column 'num_1': column is missing" in capsys.readouterr().err.splitlines()


def test_bad_params_exit_one_with_one_line(write_params, capsys):
    params = write_params({"features.split.tset_size": 0.3})

    assert ingest.main(["--params", str(params)]) == 1

    assert capsys.readouterr().err == (f"error: {params}: features.split.tset_size: unknown key (check its spelling)\n")
    assert not Path("data").exists()


def test_missing_params_file_exits_one(workdir, capsys):
    assert featurize.main(["--params", "nope.yaml"]) == 1

    assert capsys.readouterr().err == "error: nope.yaml: not found (run `gitml compose` to create it)\n"


def test_failed_ingest_keeps_previous_raw(write_params, capsys, file_bytes):
    assert _run([ingest], write_params()) == [0]
    before = file_bytes([Path("data/raw/dataset.parquet")])
    broken = write_params({"data.source": {"kind": "file", "path": "missing.csv"}})

    assert ingest.main(["--params", str(broken)]) == 1

    assert file_bytes(before) == before
    assert "missing.csv: data file not found" in capsys.readouterr().err


def test_corrupt_raw_keeps_previous_split(write_params, capsys, file_bytes, leftovers):
    params = write_params()
    assert _run([ingest, featurize], params) == [0, 0]
    before = file_bytes([Path("data/features/train.parquet"), Path("data/features/test.parquet")])
    Path("data/raw/dataset.parquet").write_bytes(b"PAR1 this is not a parquet file")

    assert featurize.main(["--params", str(params)]) != 0

    assert file_bytes(before) == before
    assert leftovers(Path.cwd()) == []
    err = capsys.readouterr().err
    assert err.startswith("error: data/raw/dataset.parquet: cannot be read as parquet")
    assert err.count("\n") == 1


def test_featurize_raw_missing_contract_column_exits_one(write_params, capsys):
    params = write_params()
    assert _run([ingest], params) == [0]
    pd.read_parquet("data/raw/dataset.parquet").drop(columns=["num_1"]).to_parquet("data/raw/dataset.parquet")
    capsys.readouterr()

    assert featurize.main(["--params", str(params)]) == 1

    err = capsys.readouterr().err
    assert err.startswith("error: data/raw/dataset.parquet: ")
    assert "num_1" in err
    assert not Path("data/features").exists()


def test_featurize_unknown_drop_column_exits_one(write_params, capsys):
    assert _run([ingest], write_params()) == [0]

    assert featurize.main(["--params", str(write_params({"features.drop": ["nope"]}))]) == 1

    assert "error: features.drop: columns not in the data contract: ['nope']" in capsys.readouterr().err


def test_unimportable_model_keeps_previous_model(write_params, capsys, file_bytes, leftovers):
    params = write_params()
    assert _run([ingest, featurize, train], params) == [0, 0, 0]
    before = file_bytes([Path("models/model.skops"), Path("models/signature.json")])
    broken = write_params({"model": {"_target_": "sklearn.ensemble.NoSuchForest"}})

    assert train.main(["--params", str(broken)]) == 1

    assert file_bytes(before) == before
    assert leftovers(Path.cwd()) == []
    assert capsys.readouterr().err == (
        "error: model._target_: cannot import 'sklearn.ensemble.NoSuchForest' "
        "(module 'sklearn.ensemble' has no attribute 'NoSuchForest')\n"
    )


def test_evaluate_without_test_split_keeps_previous_metrics(write_params, capsys, file_bytes):
    params = write_params()
    assert _run(PIPELINE, params) == [0, 0, 0, 0, 0]
    before = file_bytes([Path("reports/metrics.json"), Path("reports/predictions.parquet")])
    Path("data/features/test.parquet").unlink()

    assert evaluate.main(["--params", str(params)]) == 1

    assert file_bytes(before) == before
    assert "data/features/test.parquet: data file not found" in capsys.readouterr().err
