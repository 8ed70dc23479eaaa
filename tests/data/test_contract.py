"""gitml.sources.contract: each violation is reported on its column; an inferred contract accepts its own data."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from gitml.config import Contract, Data
from gitml.core.errors import DataError
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


def test_rows_without_a_target_are_counted_not_failed(frame, spec):
    frame["label"] = ["yes", None, "yes", "no"]
    relaxed = spec.model_copy(update={"max_null_fraction": 1.0})

    report = contract.check(frame, relaxed, "label", "classification")

    assert report["ok"] is True and report["rows_without_target"] == 1
    assert report["warnings"] == ["1 rows have no target 'label': they are left out of training and testing"]


@pytest.mark.parametrize(("task", "values", "message"), [
    ("classification", ["yes", "yes", None, "yes"], r"target 'label' has a single class \('yes' in all 3 rows\)"),
    ("regression", [2.5, 2.5, 2.5, 2.5], r"target 'label' has a single value \(2\.5 in all 4 rows\)"),
    ("classification", [None, None, None, None], "target 'label' has no values"),
])
def test_a_target_with_one_value_fails_in_one_line(frame, task, values, message):
    frame["label"] = values
    relaxed = _contract({"label": {"dtype": "str" if task == "classification" else "float",
                                   "role": "categorical" if task == "classification" else "numeric"}},
                        max_null_fraction=1.0, extra_columns="ignore")

    report = contract.check(frame, relaxed, "label", task)

    assert report["ok"] is False
    assert len(report["problems"]) == 1
    assert re.match(message + ": nothing to learn$", report["problems"][0])


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


# --- inference on real-shaped columns -------------------------------------------------------------

@pytest.mark.parametrize(("values", "task", "reason"), [
    (["a", "b", "c"] * 10, "classification", "target 'y' is text with 3 classes"),
    ([True, False] * 10, "classification", "target 'y' is true/false"),
    ([1, 2, 3, 4, 5] * 6, "classification", "target 'y' holds 5 whole numbers: class codes (at most 20 are)"),
    ([1.0, 2.0, None] * 10, "classification", "target 'y' holds 2 whole numbers: class codes"),
    (list(range(100, 11702)), "regression", "target 'y' holds 11,602 distinct whole numbers: a quantity"),
    ([0.5, 1.25, 3.0] * 10, "regression", "target 'y' holds 3 distinct numbers: a quantity"),
    (list(range(21)), "regression", "target 'y' holds 21 distinct whole numbers: a quantity"),
])
def test_task_inference_gets_real_targets_right(values, task, reason):
    found, said = contract.infer_task(pd.Series(values, name="y"), "y")

    assert found == task
    assert said.startswith(reason)


def test_a_single_class_target_cannot_be_inferred():
    with pytest.raises(DataError, match=r"^target 'y' has a single class \('no' in all 3 rows\): nothing to learn$"):
        contract.infer_task(pd.Series(["no", "no", None, "no"]), "y")


def test_class_balance_names_the_smallest_classes_first():
    assert contract.class_balance(pd.Series([0] * 98 + [1] * 2)) == "2 classes, smallest first: 1 2.0%, 0 98.0%"


def test_real_table_columns_get_their_roles():
    n = 40
    frame = pd.DataFrame({
        "customer_id": range(1000, 1000 + n),
        "row": range(n),
        "code": [f"C-{i:04d}" for i in range(n)],
        "signup": [f"2024-01-{1 + i % 28:02d}" for i in range(n)],
        "seen_at": pd.date_range("2024-01-01 08:00", periods=n, freq="h"),
        "active": [True, False, None, True] * 10,
        "zone": [1, 2, 3, 4, 5] * 8,
        "city": ["Oslo", "Lima", None, "Pune"] * 10,
        "amount": [0.5 * i for i in range(n)],
        "y": ["a", "b"] * 20,
    })

    columns = contract.infer(frame, "y", "classification")["columns"]

    assert {name: (c["dtype"], c["role"]) for name, c in columns.items()} == {
        "customer_id": ("int", "id"), "row": ("int", "id"), "code": ("str", "id"),
        "signup": ("datetime", "datetime"), "seen_at": ("datetime", "datetime"),
        "active": ("bool", "categorical"), "zone": ("int", "numeric"), "city": ("str", "categorical"),
        "amount": ("float", "numeric"), "y": ("str", "categorical"),
    }
    assert columns["signup"]["calendar"] == ["year", "month", "day", "day_of_week"]
    assert columns["seen_at"]["calendar"] == ["year", "month", "day", "day_of_week", "hour"]
    assert columns["city"]["categories"] == ["Lima", "Oslo", "Pune"]
    report = contract.check(frame, Contract.model_validate(contract.infer(frame, "y", "classification")), "y")
    assert report["ok"], contract.summary(report)
    assert contract.notes(frame, contract.infer(frame, "y", "classification"), "y") == [
        "identifiers (kept out of the model, passed through by `gitml predict`): customer_id, row, code",
        "date 'signup': the model reads its year, month, day, day_of_week (`calendar: []` leaves it out)",
        "date 'seen_at': the model reads its year, month, day, day_of_week, hour (`calendar: []` leaves it out)",
        "whole numbers with few values, kept numeric: zone (5 values); if they are codes, give them "
        "`role: categorical`",
    ]


def test_a_number_target_of_a_classification_holds_its_codes():
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "y": [3.0, 1.0, None, 1.0]})

    assert contract.infer(frame, "y", "classification")["columns"]["y"] == {
        "dtype": "int", "role": "categorical", "categories": [1, 3], "max_null_fraction": 0.385}


def test_text_cannot_be_a_regression_target():
    with pytest.raises(DataError, match="target 'y' holds text, not numbers"):
        contract.infer(pd.DataFrame({"y": ["a", "b"]}), "y", "regression")


def test_dates_that_do_not_parse_are_named(frame):
    frame["when"] = ["2024-01-01", "2024-13-45", "soon", None]
    spec = _contract({"when": {"dtype": "datetime", "role": "datetime", "max_null_fraction": 0.5}},
                     extra_columns="ignore")

    report = contract.check(frame, spec, "label")

    assert report["columns"]["when"]["problems"] == ["2 values are not dates or times: '2024-13-45', 'soon'"]
