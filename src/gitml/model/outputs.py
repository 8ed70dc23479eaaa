"""What the evaluate stage writes and serving logs, as the files' readers rely on it.

The evaluate stage writes the test predictions (`paths.predictions`: `y_true`, `y_pred`
and one `proba_<class>` column per class, in the model's class order) and, into
`paths.plots`, the curve points (`roc.json`, `precision_recall.json`, each
`{name: [points]}`) and the actual/predicted pairs (`predictions.csv`), and the permutation
importance (`paths.importance`: `[{feature, importance_mean, importance_std}]`). The gate,
the model card and monitoring read them back through this module, so a file or column name
is spelled once. The prediction log that serving writes adds `LOG_COLUMNS` to the inputs.
"""

from __future__ import annotations

import csv
import io
import json
from typing import TYPE_CHECKING, Any

from gitml.core import charts
from gitml.core.errors import DataError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

Y_TRUE, Y_PRED, PROBA = "y_true", "y_pred", "proba_"
#: Curves by name, with their x and y fields.
CURVES = {"roc": ("fpr", "tpr"), "precision_recall": ("recall", "precision")}
PAIRS_FILE = "predictions.csv"
ACTUAL, PREDICTED = "actual", "predicted"
FEATURE, IMPORTANCE_MEAN, IMPORTANCE_STD = "feature", "importance_mean", "importance_std"
#: Columns the prediction log adds beside the model's inputs (and `proba_<class>` for classifiers).
LOG_COLUMNS = ("prediction", "model_version", "request_id", "timestamp")


def on_grid(name: str, points: list[dict[str, Any]]) -> list[float | None]:
    """A curve resampled on `charts.GRID` (rounded to 4 digits), so two models' curves compare point by point:
    ROC takes the best true positive rate at or below each false positive rate, precision-recall the
    interpolated precision (the best at or above each recall)."""
    x, y = CURVES[name]
    values = charts.resample(points, x, y, upper=name == "precision_recall")
    return [None if v is None else round(v, 4) for v in values]


def residual_quantiles(pairs: list[tuple[str, str]]) -> list[float | None] | None:
    """Quantiles of predicted - actual on `charts.GRID`, from a regression's pairs; None for labels."""
    try:
        residuals = [float(p) - float(a) for a, p in pairs]
    except ValueError:
        return None
    return [None if v is None else float(f"{v:.4g}") for v in charts.quantiles(residuals)] if residuals else None


def curve_file(name: str) -> str:
    return f"{name}.json"


def probabilities(frame: pd.DataFrame) -> tuple[list[str], np.ndarray | None]:
    """Class labels and the probability matrix stored in a predictions frame."""
    columns = [c for c in frame.columns if c.startswith(PROBA)]
    if not columns:
        return [], None
    return [c.removeprefix(PROBA) for c in columns], frame[columns].to_numpy()


def pairs_csv(frame: pd.DataFrame) -> str:
    """The actual/predicted pairs of a predictions frame, as the plots folder keeps them."""
    pairs = frame[[Y_TRUE, Y_PRED]].rename(columns={Y_TRUE: ACTUAL, Y_PRED: PREDICTED})
    return pairs.to_csv(index=False)


def parse_curve(text: str | None, name: str) -> list[dict[str, Any]] | None:
    """The points of a curve file, or None when it is missing or unreadable."""
    if not text:
        return None
    try:
        points = json.loads(text).get(name)
    except (json.JSONDecodeError, AttributeError):
        return None
    return [p for p in points if isinstance(p, dict)] if isinstance(points, list) else None


def parse_pairs(text: str | None) -> list[tuple[str, str]] | None:
    """The (actual, predicted) pairs of a pairs file, as text, or None when it is missing or unreadable."""
    if not text:
        return None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if not {ACTUAL, PREDICTED} <= set(reader.fieldnames or ()):
        return None
    try:
        return [(row[ACTUAL], row[PREDICTED]) for row in reader]
    except csv.Error:
        return None


def parse_importance(data: Any, source: str) -> dict[str, float]:
    """Each input column's mean permutation importance, from an importance file's content."""
    rows = data if isinstance(data, list) else None
    if rows is None or not all(isinstance(row, dict) and isinstance(row.get(FEATURE), str)
                               and isinstance(row.get(IMPORTANCE_MEAN), (int, float)) for row in rows):
        raise DataError(f"{source}: expected a list of {{{FEATURE!r}, {IMPORTANCE_MEAN!r}}} objects "
                        "(re-run the evaluate stage)")
    return {row[FEATURE]: float(row[IMPORTANCE_MEAN]) for row in rows}
