"""gitml.sources.contract: each violation is reported on its column; an inferred contract accepts its own data."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from gitml.config import Contract, Data
from gitml.data import contract, sources


def _contract(columns: dict, **policy) -> Contract:
    return Contract.model_validate({"columns": columns, **policy})


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "age": [30, 41, 52, 23],
            "height": [1.7, 1.8, 1.6, 1.9],
            "colour": ["red", "blue", "red", "green"],
            "label": ["yes", "no", "yes", "no"],
        }
    )


@pytest.fixture
def spec() -> Contract:
    return _contract(
        {
            "age": {"dtype": "int", "role": "numeric", "min": 18, "max": 99},
            "height": {"dtype": "float", "role": "numeric", "min": 1.0, "max": 2.5},
            "colour": {"dtype": "str", "role": "categorical", "categories": ["red", "green", "blue"]},
            "label": {"dtype": "str", "role": "categorical", "categories": ["yes", "no"]},
        }
    )


def _roundtrip(frame: pd.DataFrame, target: str, task: str) -> dict:
    inferred = Contract.model_validate(contract.infer(frame, target, task))
    return contract.check(frame, inferred, target)


def test_valid_frame_is_ok(frame, spec):
    report = contract.check(frame, spec, "label")

    assert report["ok"] is True
    assert report["failed_columns"] == []
    assert report["rows"] == 4
    assert report["columns_checked"] == 4
    assert contract.summary(report) == ""


def test_inferred_contract_accepts_breast_cancer():
    frame = sources.load(
        Data.model_validate(
            {"source": {"kind": "sklearn", "name": "breast_cancer"}, "task": "classification", "target": "diagnosis"}
        ),
        seed=0,
    )

    report = _roundtrip(frame, "diagnosis", "classification")

    assert report["ok"], contract.summary(report)


def test_inferred_contract_accepts_mixed_frame_with_nulls():
    frame = pd.DataFrame(
        {
            "name": ["a", None, "b", "a", "c"],
            "count": [1, 2, 3, 4, 5],
            "flag": [True, False, None, True, False],
            "score": [0.5, None, 2.0, 3.5, 1.0],
            "label": ["x", "y", "x", "y", "x"],
        }
    )

    report = _roundtrip(frame, "label", "classification")

    assert report["ok"], contract.summary(report)


def test_inferred_contract_accepts_all_null_column():
    frame = pd.DataFrame({"empty": [None, None, None], "label": ["x", "y", "x"]})

    report = _roundtrip(frame, "label", "classification")

    assert report["ok"], contract.summary(report)


def test_inferred_contract_accepts_nullable_dtypes():
    frame = pd.DataFrame(
        {
            "count": pd.array([1, None, 3, 4], dtype="Int64"),
            "flag": pd.array([True, None, False, True], dtype="boolean"),
            "label": [0, 1, 0, 1],
        }
    )

    report = _roundtrip(frame, "label", "classification")

    assert report["ok"], contract.summary(report)


def test_infer_roles_and_dtypes():
    frame = pd.DataFrame({"n": [1, 2], "f": [0.5, 1.5], "s": ["a", "b"], "b": [True, False], "y": [0, 1]})

    columns = contract.infer(frame, "y", "classification")["columns"]

    assert {name: (c["dtype"], c["role"]) for name, c in columns.items()} == {
        "n": ("int", "numeric"),
        "f": ("float", "numeric"),
        "s": ("str", "categorical"),
        "b": ("bool", "categorical"),
        "y": ("int", "categorical"),
    }
    assert columns["f"]["min"] == 0.5
    assert columns["y"]["categories"] == [0, 1]


def test_infer_regression_target_is_numeric():
    frame = pd.DataFrame({"x": [1.0, 2.0], "y": [3.5, 4.5]})

    assert contract.infer(frame, "y", "regression")["columns"]["y"]["role"] == "numeric"


def test_infer_omits_categories_beyond_limit():
    frame = pd.DataFrame({"id": [f"id{i}" for i in range(20)], "y": [0, 1] * 10})

    assert "categories" not in contract.infer(frame, "y", "classification", max_categories=10)["columns"]["id"]


def test_infer_allows_observed_null_fraction():
    frame = pd.DataFrame({"x": [1.0, None, None, 4.0], "y": [0, 1, 0, 1]})

    assert contract.infer(frame, "y", "classification")["columns"]["x"]["max_null_fraction"] >= 0.5


def test_missing_column(frame, spec):
    report = contract.check(frame.drop(columns=["height"]), spec, "label")

    assert report["ok"] is False
    assert report["failed_columns"] == ["height"]
    assert report["columns"]["height"]["problems"] == ["column is missing"]


def test_wrong_dtype(frame, spec):
    frame["height"] = ["tall", "short", "tall", "short"]

    report = contract.check(frame, spec, "label")

    assert report["failed_columns"] == ["height"]
    assert "does not hold float values" in report["columns"]["height"]["problems"][0]


def test_float_values_in_int_column(frame, spec):
    frame["age"] = [30.5, 41.0, 52.0, 23.0]

    report = contract.check(frame, spec, "label")

    assert report["failed_columns"] == ["age"]
    assert "does not hold int values" in report["columns"]["age"]["problems"][0]


def test_bool_column_is_not_numeric(frame, spec):
    frame["height"] = [True, False, True, False]

    report = contract.check(frame, spec, "label")

    assert report["failed_columns"] == ["height"]


def test_below_min(frame, spec):
    frame.loc[0, "age"] = 3

    report = contract.check(frame, spec, "label")

    assert report["failed_columns"] == ["age"]
    assert report["columns"]["age"]["problems"] == ["1 values below min 18 (lowest 3)"]


def test_above_max(frame, spec):
    frame.loc[[1, 2], "height"] = [3.0, 4.5]

    report = contract.check(frame, spec, "label")

    assert report["failed_columns"] == ["height"]
    assert report["columns"]["height"]["problems"] == ["2 values above max 2.5 (highest 4.5)"]


def test_unknown_category(frame, spec):
    frame.loc[3, "colour"] = "purple"

    report = contract.check(frame, spec, "label")

    assert report["failed_columns"] == ["colour"]
    assert report["columns"]["colour"]["problems"] == ["1 values outside the allowed categories: 'purple'"]


def test_null_fraction_above_contract_default(frame, spec):
    frame["height"] = [1.7, None, 1.6, 1.9]

    report = contract.check(frame, spec, "label")

    assert report["failed_columns"] == ["height"]
    assert report["columns"]["height"]["problems"] == ["25.0% missing values, at most 0.0% allowed"]


def test_column_null_fraction_overrides_default(frame):
    frame["height"] = [1.7, None, 1.6, 1.9]
    spec = _contract(
        {
            "height": {"dtype": "float", "role": "numeric", "max_null_fraction": 0.5},
            "age": {"dtype": "int", "role": "numeric"},
            "colour": {"dtype": "str", "role": "categorical"},
            "label": {"dtype": "str", "role": "categorical"},
        }
    )

    assert contract.check(frame, spec, "label")["ok"] is True


def test_undeclared_column_fails(frame, spec):
    frame["extra"] = 1

    report = contract.check(frame, spec, "label")

    assert report["failed_columns"] == ["extra"]
    assert report["columns"]["extra"]["problems"] == ["column is not declared in the contract"]


def test_undeclared_column_ignored_by_policy(frame, spec):
    frame["extra"] = 1

    report = contract.check(frame, spec.model_copy(update={"extra_columns": "ignore"}), "label")

    assert report["ok"] is True


def test_duplicates_fail_by_policy(frame, spec):
    doubled = pd.concat([frame, frame.iloc[[0]]], ignore_index=True)

    report = contract.check(doubled, spec.model_copy(update={"duplicates": "fail"}), "label")

    assert report["ok"] is False
    assert report["problems"] == ["1 duplicate rows (policy: fail)"]
    assert report["failed_columns"] == []


def test_duplicates_warn_by_policy(frame, spec):
    doubled = pd.concat([frame, frame.iloc[[0]]], ignore_index=True)

    report = contract.check(doubled, spec.model_copy(update={"duplicates": "warn"}), "label")

    assert report["ok"] is True
    assert report["warnings"] == ["1 duplicate rows"]


def test_duplicates_allowed_by_policy(frame, spec):
    doubled = pd.concat([frame, frame.iloc[[0]]], ignore_index=True)

    report = contract.check(doubled, spec.model_copy(update={"duplicates": "allow"}), "label")

    assert report["ok"] is True
    assert report["warnings"] == []


def test_target_nulls_fail_even_when_nulls_allowed(frame, spec):
    frame["label"] = ["yes", None, "yes", "no"]
    relaxed = spec.model_copy(update={"max_null_fraction": 1.0})

    report = contract.check(frame, relaxed, "label")

    assert report["failed_columns"] == ["label"]
    assert report["columns"]["label"]["problems"] == ["1 rows have no target"]


def test_missing_target_is_dataset_problem(frame, spec):
    report = contract.check(frame.drop(columns=["label"]), spec, "label")

    assert report["ok"] is False
    assert "target column 'label' is missing" in report["problems"]


def test_several_columns_each_reported(frame, spec):
    frame.loc[0, "age"] = 200
    frame.loc[0, "colour"] = "pink"

    report = contract.check(frame, spec, "label")

    assert report["failed_columns"] == ["age", "colour"]
    assert report["columns"]["height"] == {"ok": True, "problems": []}


def test_summary_lines_name_the_column(frame, spec):
    frame.loc[0, "age"] = 200
    frame.loc[0, "colour"] = "pink"

    lines = contract.summary(contract.check(frame, spec, "label")).splitlines()

    assert lines == [
        "column 'age': 1 values above max 99 (highest 200)",
        "column 'colour': 1 values outside the allowed categories: 'pink'",
    ]


def test_summary_lists_dataset_problems_first(frame, spec):
    frame.loc[0, "age"] = 200
    doubled = pd.concat([frame, frame.iloc[[1]]], ignore_index=True)

    lines = contract.summary(contract.check(doubled, spec.model_copy(update={"duplicates": "fail"}), "label"))

    assert lines.splitlines()[0] == "dataset: 1 duplicate rows (policy: fail)"
    assert lines.splitlines()[1].startswith("column 'age': ")


def test_report_is_json_serialisable(frame, spec):
    frame.loc[0, "age"] = 5

    json.dumps(contract.check(frame, spec, "label"), allow_nan=False)
