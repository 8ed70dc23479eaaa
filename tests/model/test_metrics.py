"""gitml.model.metrics: one metric registry; its values are scikit-learn's, and the gate's vectorised copy agrees."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as m
from sklearn.datasets import make_classification, make_regression
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from gitml.gate import _weighted
from gitml.model import metrics

BINARY = ["accuracy", "balanced_accuracy", "precision", "recall", "f1", "roc_auc", "log_loss"]
MULTICLASS = ["accuracy", "balanced_accuracy", "precision_macro", "recall_macro", "f1_macro", "roc_auc_ovr", "log_loss"]
REGRESSION = ["rmse", "mae", "r2", "mape"]


def _classes(labels: list[Any], seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame, np.ndarray]:
    """Fit and test rows of a noisy classification problem with the given class labels."""
    x, codes = make_classification(n_samples=600, n_features=6, n_informative=4, n_redundant=0,
                                   n_classes=len(labels), n_clusters_per_class=1, flip_y=0.1, random_state=seed)
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(x.shape[1])])
    y = np.asarray(labels, dtype=object)[codes]
    if all(isinstance(label, int) for label in labels):
        y = y.astype(np.int64)
    return frame.iloc[:300], y[:300], frame.iloc[300:].reset_index(drop=True), y[300:]


def _values(fit_x: pd.DataFrame, fit_y: np.ndarray, test_x: pd.DataFrame, test_y: np.ndarray, model: Any,
            task: str) -> tuple[Any, pd.DataFrame]:
    fitted = model.fit(fit_x, fit_y)
    return fitted, metrics.predictions(fitted, test_x, test_y, task)


# --- the registry -------------------------------------------------------------------------------

def test_every_metric_has_a_task_and_a_direction() -> None:
    assert metrics.METRICS
    for name, metric in metrics.METRICS.items():
        assert metric.name == name
        assert metric.task in {"classification", "regression"}, name
        assert metric.direction in {"higher", "lower"}, name
        assert metrics.direction(name) == metric.direction
    assert {name for name, metric in metrics.METRICS.items() if metric.direction == "lower"} == {
        "log_loss", "rmse", "mae", "mape"}


def test_reported_metrics_per_kind_of_target_and_the_defaults() -> None:
    assert metrics.reported("classification", 2) == BINARY
    assert metrics.reported("classification", 3) == metrics.reported("classification", 12) == MULTICLASS
    assert metrics.reported("regression", 0) == REGRESSION
    assert set(metrics.for_task("classification")) == {*BINARY, *MULTICLASS}
    for task, name in metrics.DEFAULT.items():
        assert metrics.METRICS[name].task == task


def test_every_classification_metric_says_what_it_averages() -> None:
    for name in metrics.for_task("classification"):
        assert metrics.averaging(name), name
    assert "positive class" in metrics.averaging("f1")
    assert "unweighted mean over the classes" in metrics.averaging("f1_macro")
    assert "one-vs-rest" in metrics.averaging("roc_auc_ovr")
    assert metrics.averaging("my_kpi") is None


@pytest.mark.parametrize(("name", "n_classes", "expected"), [
    ("f1", 2, "f1"), ("f1", 3, "f1_macro"), ("roc_auc", 5, "roc_auc_ovr"), ("precision", 3, "precision_macro"),
    ("recall", 3, "recall_macro"), ("accuracy", 3, "accuracy"), ("f1", None, "f1"), ("my_kpi", 3, "my_kpi"),
])
def test_a_binary_name_stands_for_its_multiclass_counterpart(name: str, n_classes: int | None,
                                                              expected: str) -> None:
    assert metrics.name_for(name, n_classes) == expected


def test_metrics_files_written_before_the_names_said_their_averaging_read_under_the_new_names() -> None:
    old = {"accuracy": 0.9, "f1": 0.8, "precision": 0.7, "recall": 0.6, "roc_auc": 0.95, "log_loss": 0.3}

    assert metrics.readable(old, 4) == {"accuracy": 0.9, "f1_macro": 0.8, "precision_macro": 0.7,
                                        "recall_macro": 0.6, "roc_auc_ovr": 0.95, "log_loss": 0.3}
    assert metrics.readable(old, 2) == old  # on two classes the names always meant the positive class
    assert metrics.readable({"f1": 0.1, "f1_macro": 0.2}, 3) == {"f1": 0.1, "f1_macro": 0.2}


@pytest.mark.parametrize(("name", "expected"), [
    ("mse", "lower"), ("brier", "lower"), ("error", "lower"),  # conventional lower-is-better names
    ("my_business_kpi", "higher"), ("auc_at_10", "higher"),  # anything else: higher is better
    ("reports/metrics.json:log_loss", "lower"), ("reports/metrics.json:roc_auc", "higher"),  # dvc's qualified keys
    ("test.rmse", "lower"), ("holdout.r2", "higher"),
])
def test_direction_of_names_outside_the_registry(name: str, expected: str) -> None:
    assert metrics.direction(name) == expected


# --- compute equals scikit-learn -----------------------------------------------------------------

@pytest.mark.parametrize("labels", [["benign", "malignant"], [2, 10]], ids=["strings", "2-10"])
def test_binary_metrics_equal_sklearn(labels: list[Any]) -> None:
    data = _classes(labels)
    model, frame = _values(*data, LogisticRegression(), "classification")
    y_true, y_pred = frame["y_true"].to_numpy(), frame["y_pred"].to_numpy()
    proba = model.predict_proba(data[2])
    positive = model.classes_[1]

    assert metrics.compute(frame, "classification") == pytest.approx({
        "accuracy": m.accuracy_score(y_true, y_pred),
        "balanced_accuracy": m.balanced_accuracy_score(y_true, y_pred),
        "f1": m.f1_score(y_true, y_pred, pos_label=positive),
        "precision": m.precision_score(y_true, y_pred, pos_label=positive),
        "recall": m.recall_score(y_true, y_pred, pos_label=positive),
        "roc_auc": m.roc_auc_score(y_true == positive, proba[:, 1]),
        "log_loss": m.log_loss(y_true, proba, labels=model.classes_),
    }, rel=1e-12)


def test_multiclass_metrics_equal_sklearn() -> None:
    labels = ["setosa", "versicolor", "virginica", "zebra"]
    data = _classes(labels)
    model, frame = _values(*data, LogisticRegression(max_iter=500), "classification")
    y_true, y_pred = frame["y_true"].to_numpy(), frame["y_pred"].to_numpy()
    proba = model.predict_proba(data[2])

    assert metrics.compute(frame, "classification") == pytest.approx({
        "accuracy": m.accuracy_score(y_true, y_pred),
        "balanced_accuracy": m.balanced_accuracy_score(y_true, y_pred),
        "f1_macro": m.f1_score(y_true, y_pred, average="macro", zero_division=0),
        "precision_macro": m.precision_score(y_true, y_pred, average="macro", zero_division=0),
        "recall_macro": m.recall_score(y_true, y_pred, average="macro", zero_division=0),
        "roc_auc_ovr": m.roc_auc_score(y_true, proba, multi_class="ovr", average="macro", labels=model.classes_),
        "log_loss": m.log_loss(y_true, proba, labels=model.classes_),
    }, rel=1e-12)


def _regression(seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame, np.ndarray]:
    x, y = make_regression(n_samples=400, n_features=5, noise=20.0, random_state=seed)
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(x.shape[1])])
    return frame.iloc[:200], y[:200], frame.iloc[200:].reset_index(drop=True), y[200:]


def test_regression_metrics_equal_sklearn() -> None:
    _, frame = _values(*_regression(), LinearRegression(), "regression")
    y_true, y_pred = frame["y_true"].to_numpy(), frame["y_pred"].to_numpy()

    assert list(frame.columns) == ["y_true", "y_pred"]
    assert metrics.compute(frame, "regression") == pytest.approx({
        "rmse": m.root_mean_squared_error(y_true, y_pred),
        "mae": m.mean_absolute_error(y_true, y_pred),
        "r2": m.r2_score(y_true, y_pred),
        "mape": m.mean_absolute_percentage_error(y_true, y_pred),
    }, rel=1e-12)


def test_compute_takes_named_metrics_only() -> None:
    _, frame = _values(*_classes(["a", "b"]), LogisticRegression(), "classification")

    assert set(metrics.compute(frame, "classification", ["accuracy", "balanced_accuracy"])) == {
        "accuracy", "balanced_accuracy"}
    assert metrics.compute(frame, "classification", ["balanced_accuracy"])["balanced_accuracy"] == pytest.approx(
        m.balanced_accuracy_score(frame["y_true"], frame["y_pred"]))


# --- score: a fitted model on held-out rows -----------------------------------------------------

@pytest.mark.parametrize("labels", [["no", "yes"], ["a", "b", "c"]], ids=["binary", "multiclass"])
def test_score_of_a_fitted_model_equals_compute_on_its_predictions(labels: list[str]) -> None:
    fit_x, fit_y, test_x, test_y = _classes(labels)
    model = LogisticRegression(max_iter=500).fit(fit_x, fit_y)
    names = [name for name in metrics.for_task("classification")
             if len(labels) == 2 or metrics.METRICS[name].targets != "binary"]
    computed = metrics.compute(metrics.predictions(model, test_x, test_y, "classification"), "classification", names)

    assert {name: metrics.score(name, model, test_x, test_y) for name in names} == pytest.approx(computed, rel=1e-12)


def test_score_of_a_binary_metric_on_more_classes_is_an_error() -> None:
    fit_x, fit_y, test_x, test_y = _classes(["a", "b", "c"])
    model = LogisticRegression(max_iter=500).fit(fit_x, fit_y)

    with pytest.raises(ValueError, match="f1 is undefined on these rows"):
        metrics.score("f1", model, test_x, test_y)


def test_score_of_a_binary_label_metric_takes_the_second_class_as_positive() -> None:
    """As the evaluate stage does, so tuning for f1 optimises the f1 that metrics.json reports."""
    fit_x, fit_y, test_x, test_y = _classes(["yes", "no"])  # the model's class order is ["no", "yes"]
    model = LogisticRegression().fit(fit_x, fit_y)
    predicted = model.predict(test_x)

    for name, func in (("f1", m.f1_score), ("precision", m.precision_score), ("recall", m.recall_score)):
        assert metrics.score(name, model, test_x, test_y) == pytest.approx(
            func(test_y, predicted, pos_label="yes"), rel=1e-12), name


def test_score_of_a_regressor_equals_compute() -> None:
    fit_x, fit_y, test_x, test_y = _regression()
    model = LinearRegression().fit(fit_x, fit_y)
    computed = metrics.compute(metrics.predictions(model, test_x, test_y, "regression"), "regression")

    assert {name: metrics.score(name, model, test_x, test_y) for name in REGRESSION} == computed


def test_score_of_a_probability_metric_on_one_class_is_an_error() -> None:
    fit_x, fit_y, test_x, test_y = _classes(["no", "yes"])
    model = LogisticRegression().fit(fit_x, fit_y)
    one_class = test_y == "yes"

    with pytest.raises(ValueError, match="roc_auc is undefined on these rows"):
        metrics.score("roc_auc", model, test_x[one_class], test_y[one_class])
    assert metrics.score("accuracy", model, test_x[one_class], test_y[one_class]) == pytest.approx(
        m.accuracy_score(test_y[one_class], model.predict(test_x[one_class])))


# --- the gate's vectorised metrics agree with compute ------------------------------------------

def _pair(task: str, labels: list[Any] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two different models' predictions of the same test rows (the tree's probabilities have ties and zeros)."""
    if task == "regression":
        data = _regression()
        _, base = _values(*data, LinearRegression(), task)
        _, cand = _values(*data, DecisionTreeRegressor(max_depth=3, random_state=0), task)
        return base, cand
    data = _classes(labels)
    _, base = _values(*data, LogisticRegression(max_iter=500), task)
    _, cand = _values(*data, DecisionTreeClassifier(max_depth=3, random_state=0), task)
    return base, cand


@pytest.mark.parametrize(("task", "labels"), [
    ("classification", ["benign", "malignant"]),
    ("classification", [2, 10]),
    ("classification", ["setosa", "versicolor", "virginica", "zebra"]),
    ("classification", list(range(11))),
    ("regression", None),
], ids=["binary", "binary-2-10", "multiclass", "multiclass-0-10", "regression"])
@pytest.mark.parametrize("exact", [True, False], ids=["exact-auc", "linear-auc"])
def test_gate_bootstrap_metrics_at_unit_weights_equal_compute(task: str, labels: list[Any] | None,
                                                              exact: bool) -> None:
    base, cand = _pair(task, labels)
    design = _weighted.design(base, cand, task)
    names = design.metric_names()

    got = _weighted.weighted_metrics(design, np.ones((1, len(base))), exact=exact)

    assert names == metrics.reported(task, len(labels or []))
    for side, frame in (("base", base), ("cand", cand)):
        expected = metrics.compute(frame, task)
        assert set(expected) == set(names)
        assert {name: float(got[side][name][0]) for name in names} == pytest.approx(expected, rel=1e-9, abs=1e-12), (
            side)


def test_gate_bootstrap_metrics_under_resampling_equal_compute_on_the_resampled_rows() -> None:
    base, cand = _pair("classification", ["a", "b", "c"])
    design = _weighted.design(base, cand, "classification")
    rows = np.random.default_rng(3).integers(0, len(base), size=(4, len(base)))
    weights = np.stack([np.bincount(r, minlength=len(base)) for r in rows]).astype(float)

    got = _weighted.weighted_metrics(design, weights)

    for k, resample in enumerate(rows):
        for side, frame in (("base", base), ("cand", cand)):
            expected = metrics.compute(frame.iloc[resample].reset_index(drop=True), "classification")
            assert {name: float(got[side][name][k]) for name in expected} == pytest.approx(expected, rel=1e-9), side


def test_probability_metrics_are_left_out_without_probabilities() -> None:
    base, cand = _pair("classification", ["a", "b"])
    labels_only = base[["y_true", "y_pred"]]

    label_metrics = ["accuracy", "balanced_accuracy", "precision", "recall", "f1"]
    assert list(metrics.compute(labels_only, "classification")) == label_metrics
    design = _weighted.design(labels_only, cand, "classification")
    assert design.metric_names() == label_metrics
    got = _weighted.weighted_metrics(design, np.ones((1, len(base))))
    assert {name: float(got["base"][name][0]) for name in design.metric_names()} == pytest.approx(
        metrics.compute(labels_only, "classification"), rel=1e-9)
