"""Every metric of `gitml.model.metrics`, for two models at once, as a function of row weights.

Baseline and candidate predicted the same test rows. Accuracy, balanced accuracy, precision,
recall, F1 (of the positive class, or macro averages), log loss, RMSE, MAE, R2 and MAPE are
functions of a few weighted sums of per-row quantities (correct, true and predicted positives
per class, per-row log loss, errors), so those quantities are computed once into a matrix F
and any set of row weights W (one row per resample) gives every metric from W @ F. ROC AUC
is a pairwise statistic: it is recomputed exactly from the weights in score order, or from
its linear (DeLong placement) part, which is also a column of F. With W the counts of a
resample's rows, the results equal `metrics.compute` on the resampled frame (a test checks it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from gitml.model import metrics
from gitml.model.outputs import Y_PRED, Y_TRUE, probabilities

if TYPE_CHECKING:
    import pandas as pd

MODELS = ("base", "cand")
Metrics = dict[str, dict[str, np.ndarray]]


@dataclass
class _Auc:
    """One binary ROC AUC (a model, one class against the rest), ready for weighted recomputation."""

    model: str
    feature: str  # the column of DeLong placements in F (fast method)
    positives: str  # the column of F counting this class's true rows
    value: float  # the full-sample ROC AUC
    order: np.ndarray  # rows sorted by (score, positive): equal scores form one group
    starts: np.ndarray  # where each run of equal (score, positive) starts in `order`
    run_positive: np.ndarray  # whether each run holds positives
    run_group: np.ndarray  # the score group of each run
    groups: int


@dataclass
class Design:
    """Per-row quantities of both models as columns of one matrix, and how to turn sums into metrics."""

    task: str
    n: int
    columns: dict[str, int]
    features: np.ndarray
    labels: list[str] = field(default_factory=list)
    #: Per model: its positive class (the index of its second class in `labels`) when it has two classes.
    positive: dict[str, int | None] = field(default_factory=dict)
    aucs: list[_Auc] = field(default_factory=list)

    def metric_names(self) -> list[str]:
        """The metrics the evaluate stage reports for the task (probability ones when both sides have them)."""
        with_proba = all(f"ll_{m}" in self.columns for m in MODELS)
        binary = all(k is not None for k in self.positive.values())
        return [name for name in metrics.reported(self.task, 2 if binary else len(self.labels))
                if with_proba or not metrics.METRICS[name].proba]


def _add(columns: dict[str, np.ndarray], name: str, values: np.ndarray) -> None:
    columns[name] = np.asarray(values, dtype=np.float64)


def _auc_setup(model: str, k: int, score: np.ndarray, positive: np.ndarray, columns: dict[str, np.ndarray]) -> _Auc:
    """Sort once by (score, positive); DeLong placements follow from per-group counts in that order.

    A positive's placement counts the negatives scored below it, a negative's the positives
    scored above it, ties counting half. With A the full-sample AUC, the weighted AUC is
    A + sum_ij w_i w_j (h_ij - A) / (W+ W-); its linear part is sum_i w_i c_i / (W+ W-) with the
    centred placement c_i = placement_i - A * (negatives if i is positive, else positives).
    Centring matters: the uncentred expansion leaves a term of order A / sqrt(P N) behind.
    """
    by_score = np.argsort(score)  # then order by (dense score rank, positive): two fast sorts beat one lexsort
    s = score[by_score]
    rank = np.empty(len(score), dtype=np.int64)
    rank[by_score] = np.cumsum(np.r_[True, s[1:] != s[:-1]]) - 1
    order = np.argsort(rank * 2 + positive)
    group, p = rank[order], positive[order]
    new_score = np.r_[True, group[1:] != group[:-1]]
    starts = np.flatnonzero(new_score | np.r_[True, p[1:] != p[:-1]])
    groups = int(group[-1]) + 1
    pos = np.bincount(group, weights=p, minlength=groups)
    neg = np.bincount(group, minlength=groups) - pos
    neg_below = np.cumsum(neg) - neg
    pos_above = pos.sum() - np.cumsum(pos)
    total_pos, total_neg = pos.sum(), neg.sum()
    value = float((pos * (neg_below + 0.5 * neg)).sum() / (total_pos * total_neg)) if total_pos * total_neg else 0.0
    centred = np.where(p, (neg_below + 0.5 * neg)[group] - value * total_neg,
                       (pos_above + 0.5 * pos)[group] - value * total_pos)
    placement = np.empty(len(score))
    placement[order] = centred
    name = f"plc_{model}_{k}"
    _add(columns, name, placement)
    return _Auc(model, name, f"true_{k}", value, order, starts, p[starts], group[starts], groups)


def design(base: pd.DataFrame, cand: pd.DataFrame, task: str) -> Design:
    """The per-row quantities every metric of `metrics.compute` needs, for both models.

    Labels compare as strings, as `metrics.compute` compares them, but are coded as integers
    once (hashing the distinct values only), so a million rows cost no Python loop.
    """
    import pandas as pd

    n = len(base)
    columns: dict[str, np.ndarray] = {"n": np.ones(n)}
    frames = {"base": base, "cand": cand}
    if task == "regression":
        y = base[Y_TRUE].to_numpy(dtype=np.float64)
        centre = y.mean()
        _add(columns, "y", y - centre)
        _add(columns, "y2", (y - centre) ** 2)
        for m, frame in frames.items():
            error = frame[Y_PRED].to_numpy(dtype=np.float64) - y
            _add(columns, f"se_{m}", error**2)
            _add(columns, f"ae_{m}", np.abs(error))
            _add(columns, f"ape_{m}", np.abs(error) / np.maximum(np.abs(y), np.finfo(np.float64).eps))
        return _finish(Design(task, n, {}, np.empty(0)), columns)
    proba = {m: probabilities(f) for m, f in frames.items()}
    order = {m: metrics.class_order(f) for m, f in frames.items()}
    raw = {"true": base[Y_TRUE], **{m: f[Y_PRED] for m, f in frames.items()}}
    factorized = {key: pd.factorize(values, use_na_sentinel=False) for key, values in raw.items()}
    labels = sorted({str(v) for _, uniques in factorized.values() for v in uniques}
                    | {label for m in MODELS for label in order[m]})
    index = {label: k for k, label in enumerate(labels)}
    codes = {key: np.array([index[str(v)] for v in uniques], dtype=np.int64)[found]
             for key, (found, uniques) in factorized.items()}
    y = codes["true"]
    result = Design(task, n, {}, np.empty(0), labels=labels)
    for m in MODELS:  # binary metrics look at the positive class, macro averages and balanced accuracy at every class
        result.positive[m] = index[order[m][1]] if len(order[m]) == 2 else None
    for k in range(len(labels)):
        _add(columns, f"true_{k}", y == k)
    for m in MODELS:
        model_labels, matrix = proba[m]
        predicted = codes[m]
        _add(columns, f"correct_{m}", predicted == y)
        for k in range(len(labels)):
            _add(columns, f"pred_{m}_{k}", predicted == k)
            _add(columns, f"tp_{m}_{k}", (predicted == k) & (y == k))
        if matrix is None:
            continue
        column = np.full(len(labels), -1)
        column[[index[label] for label in model_labels]] = np.arange(len(model_labels))
        truth = column[y]
        p_true = np.where(truth >= 0, matrix[np.arange(n), np.maximum(truth, 0)], 0.0)
        eps = np.finfo(matrix.dtype).eps
        _add(columns, f"ll_{m}", -np.log(np.clip(p_true, eps, 1 - eps)))
        for j in [1] if len(model_labels) == 2 else range(len(model_labels)):
            k = index[model_labels[j]]
            result.aucs.append(_auc_setup(m, k, matrix[:, j].astype(np.float64), y == k, columns))
    return _finish(result, columns)


def _finish(result: Design, columns: dict[str, np.ndarray]) -> Design:
    result.columns = {name: j for j, name in enumerate(columns)}
    result.features = np.column_stack(list(columns.values()))
    return result


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, 0 where the denominator is 0 (scikit-learn's zero_division=0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1), 0.0)


def metrics_from_sums(d: Design, sums: np.ndarray, aucs: dict[str, np.ndarray]) -> Metrics:
    """Every metric of both models from weighted sums (resamples x columns) and per-model ROC AUC."""
    s = {name: sums[:, j] for name, j in d.columns.items()}
    out: dict[str, dict[str, np.ndarray]] = {}
    for m in MODELS:
        values: dict[str, np.ndarray] = {}
        if d.task == "regression":
            sst = s["y2"] - s["y"] ** 2 / s["n"]
            sse = s[f"se_{m}"]
            values["rmse"] = np.sqrt(sse / s["n"])
            values["mae"] = s[f"ae_{m}"] / s["n"]
            values["r2"] = np.where(sst > 0, 1 - sse / np.where(sst > 0, sst, 1), np.where(sse == 0, 1.0, 0.0))
            values["mape"] = s[f"ape_{m}"] / s["n"]
        else:
            values["accuracy"] = s[f"correct_{m}"] / s["n"]
            ks = range(len(d.labels))
            tp = np.stack([s[f"tp_{m}_{k}"] for k in ks])
            pred = np.stack([s[f"pred_{m}_{k}"] for k in ks])
            true = np.stack([s[f"true_{k}"] for k in ks])
            precision, recall, f1 = _ratio(tp, pred), _ratio(tp, true), _ratio(2 * tp, pred + true)
            present, in_truth = true + pred > 0, true > 0  # the classes scikit-learn averages over
            values["balanced_accuracy"] = (recall * in_truth).sum(axis=0) / np.maximum(in_truth.sum(axis=0), 1)
            count = np.maximum(present.sum(axis=0), 1)
            for name, per_class in (("precision", precision), ("recall", recall), ("f1", f1)):
                values[f"{name}_macro"] = (per_class * present).sum(axis=0) / count
                if d.positive[m] is not None:
                    values[name] = per_class[d.positive[m]]
            if f"ll_{m}" in s:
                values["log_loss"] = s[f"ll_{m}"] / s["n"]
                values["roc_auc_ovr"] = aucs[m]  # on two classes, the one-vs-rest mean is the ROC AUC
                if d.positive[m] is not None:
                    values["roc_auc"] = aucs[m]
        out[m] = values
    return out


def linear_aucs(d: Design, sums: np.ndarray) -> dict[str, np.ndarray]:
    """ROC AUC per model from the linear (Hajek) part of its centred kernel: A + sum(w * c) / (W+ W-)."""
    per_model: dict[str, list[np.ndarray]] = {}
    for auc in d.aucs:
        positives = sums[:, d.columns[auc.positives]]
        negatives = sums[:, d.columns["n"]] - positives
        per_model.setdefault(auc.model, []).append(
            auc.value + _defined(sums[:, d.columns[auc.feature]], positives * negatives))
    return {m: np.mean(values, axis=0) for m, values in per_model.items()}


def _exact_aucs(d: Design, weights: np.ndarray) -> dict[str, np.ndarray]:
    """ROC AUC per model recomputed exactly from row weights (resamples x rows), ties counting half."""
    per_model: dict[str, list[np.ndarray]] = {}
    rows = weights.shape[0]
    for auc in d.aucs:
        runs = np.add.reduceat(weights[:, auc.order], auc.starts, axis=1)
        positives, negatives = np.zeros((rows, auc.groups)), np.zeros((rows, auc.groups))
        positives[:, auc.run_group[auc.run_positive]] = runs[:, auc.run_positive]
        negatives[:, auc.run_group[~auc.run_positive]] = runs[:, ~auc.run_positive]
        below = np.cumsum(negatives, axis=1) - negatives
        numerator = (positives * (below + 0.5 * negatives)).sum(axis=1)
        per_model.setdefault(auc.model, []).append(_defined(numerator, positives.sum(1) * negatives.sum(1)))
    return {m: np.mean(values, axis=0) for m, values in per_model.items()}


def _defined(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1), np.nan)


def weighted_metrics(d: Design, weights: np.ndarray, exact: bool = True) -> Metrics:
    """Both models' metrics under each row of `weights` (resamples x rows)."""
    sums = weights @ d.features
    return metrics_from_sums(d, sums, _exact_aucs(d, weights) if exact else linear_aucs(d, sums))
