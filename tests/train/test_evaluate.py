"""gitml.train.evaluate: metrics equal scikit-learn's own, curves are thinned, importance covers every input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as m

from gitml.config import Evaluate
from gitml.core.errors import DataError
from gitml.data import sources
from gitml.model import metrics, outputs
from gitml.train import evaluate, fit


def _fit(params, frame):
    return fit.fit(params, frame, params.model.spec())


def _classification_frame(labels: list, n: int = 300, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Predictions of a noisy but informative classifier: (frame, y_true, proba)."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, len(labels), size=n)
    logits = rng.normal(size=(n, len(labels)))
    logits[np.arange(n), codes] += 1.5
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y_true = np.asarray(labels, dtype=object)[codes]
    y_pred = np.asarray(labels, dtype=object)[proba.argmax(axis=1)]
    frame = pd.DataFrame({"y_true": y_true, "y_pred": y_pred})
    for index, label in enumerate(labels):
        frame[f"proba_{label}"] = proba[:, index]
    return frame, y_true, proba


@pytest.mark.parametrize("labels", [["benign", "malignant"], [0, 1], [2, 10]], ids=["strings", "0-1", "2-10"])
def test_binary_metrics_equal_sklearn(labels):
    frame, y_true, proba = _classification_frame(labels)
    y_pred, positive = frame["y_pred"].to_numpy(), labels[1]

    got = metrics.compute(frame, "classification")

    assert got == pytest.approx(
        {
            "accuracy": m.accuracy_score(y_true.tolist(), y_pred.tolist()),
            "balanced_accuracy": m.balanced_accuracy_score(y_true.tolist(), y_pred.tolist()),
            "f1": m.f1_score(y_true.tolist(), y_pred.tolist(), pos_label=positive),
            "precision": m.precision_score(y_true.tolist(), y_pred.tolist(), pos_label=positive),
            "recall": m.recall_score(y_true.tolist(), y_pred.tolist(), pos_label=positive),
            "roc_auc": m.roc_auc_score(y_true == positive, proba[:, 1]),
            "log_loss": m.log_loss(y_true.tolist(), proba, labels=labels),
        }
    )


@pytest.mark.parametrize("labels", [["a", "b", "c"], list(range(11))], ids=["strings", "0-10"])
def test_multiclass_metrics_equal_sklearn(labels):
    frame, y_true, proba = _classification_frame(labels, n=600)
    y_true, y_pred = y_true.tolist(), frame["y_pred"].tolist()

    got = metrics.compute(frame, "classification")

    assert got == pytest.approx(
        {
            "accuracy": m.accuracy_score(y_true, y_pred),
            "balanced_accuracy": m.balanced_accuracy_score(y_true, y_pred),
            "f1_macro": m.f1_score(y_true, y_pred, average="macro", zero_division=0),
            "precision_macro": m.precision_score(y_true, y_pred, average="macro", zero_division=0),
            "recall_macro": m.recall_score(y_true, y_pred, average="macro", zero_division=0),
            "roc_auc_ovr": m.roc_auc_score(y_true, proba, multi_class="ovr", labels=labels),
            "log_loss": m.log_loss(y_true, proba, labels=labels),
        }
    )


def test_regression_metrics_equal_sklearn():
    rng = np.random.default_rng(0)
    y_true = rng.normal(size=200)
    y_pred = y_true + rng.normal(scale=0.5, size=200)

    got = metrics.compute(pd.DataFrame({"y_true": y_true, "y_pred": y_pred}), "regression")

    assert got == pytest.approx(
        {
            "rmse": m.root_mean_squared_error(y_true, y_pred),
            "mae": m.mean_absolute_error(y_true, y_pred),
            "r2": m.r2_score(y_true, y_pred),
            "mape": m.mean_absolute_percentage_error(y_true, y_pred),
        }
    )


def test_single_class_test_set_has_no_ranking_metrics():
    frame = pd.DataFrame(
        {
            "y_true": ["a"] * 4,
            "y_pred": ["a", "b", "a", "a"],
            "proba_a": [0.9, 0.4, 0.8, 0.7],
            "proba_b": [0.1, 0.6, 0.2, 0.3],
        }
    )

    got = metrics.compute(frame, "classification")

    assert got["accuracy"] == 0.75
    assert "roc_auc" not in got


def test_predictions_have_truth_prediction_and_probabilities(small_params, small_frame):
    model = _fit(small_params, small_frame)

    frame = evaluate.predictions(model, small_frame, "target", "classification")

    assert list(frame.columns) == ["y_true", "y_pred", "proba_class_0", "proba_class_1"]
    assert frame["y_true"].tolist() == small_frame["target"].tolist()
    assert np.allclose(frame[["proba_class_0", "proba_class_1"]].sum(axis=1), 1.0)


def test_regression_predictions_have_no_probabilities(make_params):
    params = make_params({"data.task": "regression", "model": {"_target_": "sklearn.linear_model.Ridge"}})
    frame = sources.load(params.data, params.seed)

    got = evaluate.predictions(_fit(params, frame), frame, "target", "regression")

    assert list(got.columns) == ["y_true", "y_pred"]


def test_predictions_without_target(small_params, small_frame):
    model = _fit(small_params, small_frame)

    with pytest.raises(DataError, match=r"target column 'target' is missing"):
        evaluate.predictions(model, small_frame.drop(columns=["target"]), "target", "classification")


def test_probabilities_reads_labels_and_matrix():
    frame = pd.DataFrame({"y_true": ["x"], "y_pred": ["x"], "proba_x": [0.75], "proba_y": [0.25]})

    labels, proba = outputs.probabilities(frame)

    assert labels == ["x", "y"]
    assert proba.tolist() == [[0.75, 0.25]]


def test_curves_thinned_to_curve_points():
    frame, _, _ = _classification_frame(["n", "p"], n=2000)

    curves = evaluate.curves(frame, Evaluate(curve_points=25))

    assert len(curves["roc"]) == 25
    assert len(curves["precision_recall"]) == 25


def test_thinned_roc_keeps_both_ends():
    frame, _, _ = _classification_frame(["n", "p"], n=2000)

    roc = evaluate.curves(frame, Evaluate(curve_points=25))["roc"]

    assert (roc[0]["fpr"], roc[0]["tpr"]) == (0.0, 0.0)
    assert (roc[-1]["fpr"], roc[-1]["tpr"]) == (1.0, 1.0)


def test_short_curves_are_not_padded():
    frame, _, _ = _classification_frame(["n", "p"], n=12)

    roc = evaluate.curves(frame, Evaluate(curve_points=200))["roc"]

    assert len(roc) < 200
    assert len(roc) == len(m.roc_curve(frame["y_true"] == "p", frame["proba_p"])[0])


def test_curve_points_have_finite_thresholds():
    frame, _, _ = _classification_frame(["n", "p"], n=100)

    roc = evaluate.curves(frame, Evaluate())["roc"]

    assert all(0.0 <= point["threshold"] <= 1.0 for point in roc)


def test_multiclass_curves_are_micro_averaged():
    frame, y_true, proba = _classification_frame(["a", "b", "c"], n=50)

    roc = evaluate.curves(frame, Evaluate(curve_points=10_000))["roc"]

    truth = (y_true[:, None] == np.array(["a", "b", "c"])).ravel()
    assert len(roc) == len(m.roc_curve(truth, proba.ravel())[0])


def test_no_curves_without_probabilities():
    assert evaluate.curves(pd.DataFrame({"y_true": [1.0, 2.0], "y_pred": [1.5, 2.5]}), Evaluate()) == {}


def test_importance_one_row_per_input_sorted(small_params, small_frame):
    model = _fit(small_params, small_frame)

    rows = evaluate.importance(model, small_frame, "target", small_params.evaluate, seed=0)

    assert sorted(row["feature"] for row in rows) == sorted(c for c in small_frame.columns if c != "target")
    means = [row["importance_mean"] for row in rows]
    assert means == sorted(means, reverse=True)
    assert all(isinstance(row["importance_std"], float) for row in rows)


def test_importance_is_seeded(small_params, small_frame):
    model = _fit(small_params, small_frame)

    first = evaluate.importance(model, small_frame, "target", small_params.evaluate, seed=3)
    again = evaluate.importance(model, small_frame, "target", small_params.evaluate, seed=3)

    assert first == again
