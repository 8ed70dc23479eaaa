"""gitml.data.sources: bundled datasets, files and the seeded generator, each with the target named by config."""

from __future__ import annotations

import pandas as pd
import pytest

from gitml.config import Data, SyntheticSource
from gitml.core.errors import ConfigError, DataError
from gitml.data import contract, sources


def _data(source: dict, task: str = "classification", target: str = "target", **extra) -> Data:
    return Data.model_validate({"source": source, "task": task, "target": target, **extra})


def _synthetic(**overrides) -> SyntheticSource:
    spec = {"kind": "synthetic", "n_rows": 300, "n_numeric": 4, "n_categorical": 2, "n_classes": 2, "noise": 0.1}
    return SyntheticSource.model_validate({**spec, **overrides})


def test_breast_cancer_has_named_string_classes():
    frame = sources.load(_data({"kind": "sklearn", "name": "breast_cancer"}, target="diagnosis"), seed=0)

    assert len(frame) == 569
    assert set(frame["diagnosis"]) == {"benign", "malignant"}
    assert frame["diagnosis"].map(type).eq(str).all()
    assert "target" not in frame.columns


def test_breast_cancer_matches_repository_contract(repo_params):
    source = Data.model_validate(repo_params["data"])

    frame = sources.load(source, seed=0)

    report = contract.check(frame, sources.contract(source), source.target)
    assert report["ok"], contract.summary(report)


def test_diabetes_is_regression_with_numeric_target():
    frame = sources.load(_data({"kind": "sklearn", "name": "diabetes"}, task="regression", target="progression"), 0)

    assert len(frame) == 442
    assert pd.api.types.is_float_dtype(frame["progression"])
    assert {"age", "bmi", "s6"} <= set(frame.columns)


def test_iris_has_three_named_classes():
    frame = sources.load(_data({"kind": "sklearn", "name": "iris"}, target="species"), 0)

    assert set(frame["species"]) == {"setosa", "versicolor", "virginica"}


def test_synthetic_is_deterministic_per_seed():
    first = sources.synthetic(_synthetic(), "classification", "target", seed=7)
    again = sources.synthetic(_synthetic(), "classification", "target", seed=7)

    pd.testing.assert_frame_equal(first, again)


def test_synthetic_differs_between_seeds():
    first = sources.synthetic(_synthetic(), "classification", "target", seed=7)
    other = sources.synthetic(_synthetic(), "classification", "target", seed=8)

    assert not first["num_0"].equals(other["num_0"])


def test_synthetic_has_requested_shape():
    frame = sources.synthetic(_synthetic(n_rows=123, n_numeric=5, n_categorical=3), "classification", "y", seed=1)

    assert frame.shape == (123, 5 + 3 + 1)
    assert list(frame.columns) == ["num_0", "num_1", "num_2", "num_3", "num_4", "cat_0", "cat_1", "cat_2", "y"]


@pytest.mark.parametrize("n_classes", [2, 3, 5])
def test_synthetic_classes_are_balanced(n_classes):
    frame = sources.synthetic(_synthetic(n_rows=1000, n_classes=n_classes), "classification", "target", seed=3)

    counts = frame["target"].value_counts()
    assert sorted(counts.index) == [f"class_{k}" for k in range(n_classes)]
    assert counts.max() - counts.min() <= 0.05 * len(frame)


def test_synthetic_categorical_levels():
    frame = sources.synthetic(_synthetic(), "classification", "target", seed=3)

    assert set(frame["cat_0"]) <= set(sources.SYNTHETIC_LEVELS)
    assert len(set(frame["cat_0"])) == len(sources.SYNTHETIC_LEVELS)


def test_synthetic_regression_target_is_float():
    frame = sources.synthetic(_synthetic(), "regression", "target", seed=3)

    assert pd.api.types.is_float_dtype(frame["target"])
    assert frame["target"].nunique() == len(frame)


def test_synthetic_target_depends_on_features():
    frame = sources.synthetic(_synthetic(n_rows=2000, noise=0.0), "regression", "target", seed=3)

    correlations = frame[[f"num_{i}" for i in range(4)]].corrwith(frame["target"]).abs()
    assert correlations.max() > 0.2


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_synthetic_contract_validates_its_own_data(task):
    source = _data(_synthetic().model_dump(), task=task)
    frame = sources.load(source, seed=5)

    report = contract.check(frame, sources.contract(source), "target")

    assert report["ok"], contract.summary(report)
    assert report["columns_checked"] == 4 + 2 + 1


def test_declared_contract_takes_precedence_over_synthetic():
    declared = {"columns": {"num_0": {"dtype": "float", "role": "numeric"}}}
    source = _data(_synthetic().model_dump(), contract=declared)

    assert list(sources.contract(source).columns) == ["num_0"]


def test_file_source_without_contract_is_config_error(tmp_path):
    source = _data({"kind": "file", "path": str(tmp_path / "d.csv")})

    with pytest.raises(ConfigError, match=r"data\.contract\.columns: empty; .*gitml contract infer"):
        sources.contract(source)


def test_file_source_csv(tmp_path):
    (tmp_path / "d.csv").write_text("x,colour,target\n1.5,red,yes\n2.5,blue,no\n")

    frame = sources.load(_data({"kind": "file", "path": str(tmp_path / "d.csv")}), seed=0)

    assert frame.to_dict("list") == {"x": [1.5, 2.5], "colour": ["red", "blue"], "target": ["yes", "no"]}


def test_file_source_parquet(tmp_path):
    expected = pd.DataFrame({"x": [1.0, 2.0, 3.0], "target": ["a", "b", "a"]})
    expected.to_parquet(tmp_path / "d.parquet")

    frame = sources.load(_data({"kind": "file", "path": str(tmp_path / "d.parquet")}), seed=0)

    pd.testing.assert_frame_equal(frame, expected, check_dtype=False)


def test_file_source_explicit_format(tmp_path):
    (tmp_path / "d.txt").write_text("x,target\n1,a\n")

    frame = sources.load(_data({"kind": "file", "path": str(tmp_path / "d.txt"), "format": "csv"}), seed=0)

    assert frame["target"].tolist() == ["a"]


def test_file_source_missing_file(tmp_path):
    with pytest.raises(DataError, match=r"missing\.csv: data file not found"):
        sources.load(_data({"kind": "file", "path": str(tmp_path / "missing.csv")}), seed=0)


def test_missing_target_column_in_file_names_column_and_file(tmp_path):
    (tmp_path / "d.csv").write_text("x,label\n1,a\n")

    with pytest.raises(DataError, match=r"data\.target: column 'target' is not in the data \(.*d\.csv\)"):
        sources.load(_data({"kind": "file", "path": str(tmp_path / "d.csv")}), seed=0)


def test_a_csv_file_with_empty_cells_loads_as_the_same_rows_as_parquet_with_nulls(tmp_path, with_gaps):
    csv_file, parquet_file = with_gaps(tmp_path)

    frames = [sources.load(_data({"kind": "file", "path": str(path)}, target="sex"), seed=0)
              for path in (csv_file, parquet_file)]

    # Missing is missing, whether pandas holds it as NaN (CSV) or None (Parquet's object columns).
    csv_rows, parquet_rows = (frame.astype(object).where(frame.notna(), None) for frame in frames)
    pd.testing.assert_frame_equal(csv_rows, parquet_rows)
    assert frames[0]["sex"].isna().sum() == frames[1]["sex"].isna().sum() > 0
    assert "" not in set(frames[0]["sex"].dropna())
