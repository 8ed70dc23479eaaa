"""The evaluate stage: metrics, test predictions, curve data and importance on the held-out split.

The prediction file keeps true labels, predictions and class probabilities per row, so
the gate can recompute any metric on resampled rows and compare two commits paired.
What is written where is `gitml.model.outputs`; what each metric means, `gitml.model.metrics`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitml.config import Evaluate, Params
from gitml.core import charts, io
from gitml.core.errors import DataError
from gitml.model import metrics, modelio, outputs

if TYPE_CHECKING:
    import pandas as pd


def predictions(model: Any, test: pd.DataFrame, target: str, task: str) -> pd.DataFrame:
    """Per-row `y_true`, `y_pred` and, for classifiers, `proba_<class>` columns."""
    if target not in test.columns:
        raise DataError(f"test data: target column {target!r} is missing")
    inputs = test.drop(columns=[target])
    missing = [name for name in getattr(model, "feature_names_in_", []) if name not in inputs.columns]
    if missing:
        raise DataError(f"test data: input columns the model needs are missing: {missing}")
    return metrics.predictions(model, inputs, test[target], task)


def curves(frame: pd.DataFrame, cfg: Evaluate) -> dict[str, list[dict[str, Any]]]:
    """Curve data for DVC plots: ROC and precision-recall (micro-averaged beyond two classes)."""
    import numpy as np
    from sklearn import metrics as m
    from sklearn.preprocessing import label_binarize

    labels, proba = outputs.probabilities(frame)
    if proba is None:
        return {}
    y_true = frame[outputs.Y_TRUE].to_numpy().astype(str)
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
    return {"roc": charts.sample(roc, cfg.curve_points), "precision_recall": charts.sample(pr, cfg.curve_points)}


def importance(model: Any, test: pd.DataFrame, target: str, cfg: Evaluate, seed: int) -> list[dict[str, Any]]:
    """Permutation importance of each input column on (at most max_rows of) the test split."""
    from sklearn.inspection import permutation_importance

    sample = test.sample(n=min(len(test), cfg.importance.max_rows), random_state=seed)
    inputs = sample.drop(columns=[target])
    result = permutation_importance(
        model, inputs, sample[target], n_repeats=cfg.importance.n_repeats, random_state=seed, n_jobs=1
    )
    rows = [
        {outputs.FEATURE: str(name), outputs.IMPORTANCE_MEAN: float(mean), outputs.IMPORTANCE_STD: float(std)}
        for name, mean, std in zip(inputs.columns, result.importances_mean, result.importances_std, strict=True)
    ]
    return sorted(rows, key=lambda row: -row[outputs.IMPORTANCE_MEAN])


def run(params: Params) -> None:
    """The evaluate stage: every output of `gitml.model.outputs`, each written atomically."""
    model = modelio.load_model(params.paths.model)
    test = io.read_table(params.paths.test)
    target, task = params.data.target, params.data.task
    frame = predictions(model, test, target, task)
    plots = Path(params.paths.plots)
    for name, points in curves(frame, params.evaluate).items():
        io.write_json(plots / outputs.curve_file(name), {name: points})
    io.write_text(plots / outputs.PAIRS_FILE, outputs.pairs_csv(frame))
    io.write_json(params.paths.importance, importance(model, test, target, params.evaluate, params.seed))
    io.write_parquet(params.paths.predictions, frame)
    io.write_json(params.paths.metrics, metrics.compute(frame, task))
