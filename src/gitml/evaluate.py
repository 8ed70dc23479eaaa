"""Evaluation on the held-out split: metrics, test predictions, curve data, importance.

The prediction file keeps true labels, predictions and class probabilities per row, so
the gate can recompute any metric on resampled rows and compare two commits paired.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gitml.config import Evaluate
from gitml.errors import DataError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


def predictions(model: Any, test: pd.DataFrame, target: str, task: str) -> pd.DataFrame:
    """Per-row `y_true`, `y_pred` and, for classifiers, `proba_<class>` columns."""
    import pandas as pd

    if target not in test.columns:
        raise DataError(f"test data: target column {target!r} is missing")
    inputs = test.drop(columns=[target])
    missing = [name for name in getattr(model, "feature_names_in_", []) if name not in inputs.columns]
    if missing:
        raise DataError(f"test data: input columns the model needs are missing: {missing}")
    frame = pd.DataFrame({"y_true": test[target].to_numpy(), "y_pred": model.predict(inputs)})
    if task == "classification" and hasattr(model, "predict_proba"):
        proba = model.predict_proba(inputs)
        for index, label in enumerate(model.classes_):
            frame[f"proba_{label}"] = proba[:, index]
    return frame


def probabilities(frame: pd.DataFrame) -> tuple[list[str], np.ndarray | None]:
    """Class labels and the probability matrix stored in a predictions frame."""
    columns = [c for c in frame.columns if c.startswith("proba_")]
    if not columns:
        return [], None
    return [c.removeprefix("proba_") for c in columns], frame[columns].to_numpy()


def metrics(frame: pd.DataFrame, task: str) -> dict[str, float]:
    """The headline metrics for the task, computed from a predictions frame."""
    import pandas as pd
    from sklearn import metrics as m

    y_true, y_pred = frame["y_true"].to_numpy(), frame["y_pred"].to_numpy()
    if task == "regression":
        return {
            "rmse": float(m.root_mean_squared_error(y_true, y_pred)),
            "mae": float(m.mean_absolute_error(y_true, y_pred)),
            "r2": float(m.r2_score(y_true, y_pred)),
        }
    labels, proba = probabilities(frame)
    binary = len(labels) == 2
    average = "binary" if binary else "macro"
    pos = labels[1] if binary else 1
    y_true_s, y_pred_s = y_true.astype(str), y_pred.astype(str)
    result = {
        "accuracy": float(m.accuracy_score(y_true_s, y_pred_s)),
        "f1": float(m.f1_score(y_true_s, y_pred_s, average=average, pos_label=pos, zero_division=0)),
        "precision": float(m.precision_score(y_true_s, y_pred_s, average=average, pos_label=pos, zero_division=0)),
        "recall": float(m.recall_score(y_true_s, y_pred_s, average=average, pos_label=pos, zero_division=0)),
    }
    if proba is not None and len(set(y_true_s)) > 1:
        # Probability columns follow the model's class order, which for numeric labels
        # is not the order of their strings: score against column positions.
        codes = pd.Categorical(y_true_s, categories=labels).codes
        positions = list(range(len(labels)))
        score = proba[:, 1] if binary else proba
        truth = codes == 1 if binary else codes
        labels_arg = None if binary else positions
        result["roc_auc"] = float(m.roc_auc_score(truth, score, multi_class="ovr", labels=labels_arg))
        result["log_loss"] = float(m.log_loss(codes, proba, labels=positions))
    return result


def _thin(points: list[dict[str, float]], limit: int) -> list[dict[str, float]]:
    if len(points) <= limit:
        return points
    step = (len(points) - 1) / (limit - 1)
    return [points[round(i * step)] for i in range(limit)]


def curves(frame: pd.DataFrame, cfg: Evaluate) -> dict[str, list[dict[str, Any]]]:
    """Curve data for DVC plots: ROC and precision-recall (micro-averaged beyond two classes)."""
    import numpy as np
    from sklearn import metrics as m
    from sklearn.preprocessing import label_binarize

    labels, proba = probabilities(frame)
    if proba is None:
        return {}
    y_true = frame["y_true"].to_numpy().astype(str)
    if len(labels) == 2:
        truth, score = (y_true == labels[1]).astype(int), proba[:, 1]
    else:
        truth, score = label_binarize(y_true, classes=labels).ravel(), proba.ravel()
    if len(np.unique(truth)) < 2:
        return {}
    fpr, tpr, roc_thr = m.roc_curve(truth, score)
    precision, recall, pr_thr = m.precision_recall_curve(truth, score)
    roc = [
        {"fpr": float(f), "tpr": float(t), "threshold": float(min(th, 1.0))}
        for f, t, th in zip(fpr, tpr, roc_thr, strict=True)
    ]
    pr = [
        {"recall": float(r), "precision": float(p), "threshold": float(th)}
        for r, p, th in zip(recall[:-1], precision[:-1], pr_thr, strict=True)
    ]
    return {"roc": _thin(roc, cfg.curve_points), "precision_recall": _thin(pr, cfg.curve_points)}


def importance(model: Any, test: pd.DataFrame, target: str, cfg: Evaluate, seed: int) -> list[dict[str, Any]]:
    """Permutation importance of each input column on (at most max_rows of) the test split."""
    from sklearn.inspection import permutation_importance

    sample = test.sample(n=min(len(test), cfg.importance.max_rows), random_state=seed)
    inputs = sample.drop(columns=[target])
    result = permutation_importance(
        model, inputs, sample[target], n_repeats=cfg.importance.n_repeats, random_state=seed, n_jobs=1
    )
    rows = [
        {"feature": str(name), "importance_mean": float(mean), "importance_std": float(std)}
        for name, mean, std in zip(inputs.columns, result.importances_mean, result.importances_std, strict=True)
    ]
    return sorted(rows, key=lambda row: -row["importance_mean"])
