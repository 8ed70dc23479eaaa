"""The one metric registry: each metric's name, task, direction and averaging, and how it is scored.

The evaluate stage, tuning, the gate's policy, monitoring and the experiments table all
take metrics from here, so "roc_auc" means the same number, and "better" the same
direction, everywhere. Binary label metrics take the second class (in the model's class
order) as positive; with more classes they are macro averages, and ROC AUC is the
one-vs-rest macro average. (The gate's bootstrap recomputes the same metrics vectorised,
in `gitml.gate.bootstrap`; a test holds the two to the same values.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from gitml.model.outputs import PROBA, Y_PRED, Y_TRUE, probabilities

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

Direction = Literal["higher", "lower"]


@dataclass(frozen=True)
class Metric:
    name: str
    task: Literal["classification", "regression"]
    direction: Direction
    #: How a multiclass (or binary) score is formed from per-class scores; None for regression.
    averaging: str | None = None
    #: Needs class probabilities (not only labels).
    proba: bool = False
    #: Written by the evaluate stage into metrics.json (others can only be tuned for).
    reported: bool = True


_LABELS = "binary: the second class is positive; more classes: macro average"
METRICS: dict[str, Metric] = {m.name: m for m in (
    Metric("accuracy", "classification", "higher"),
    Metric("balanced_accuracy", "classification", "higher", "macro average of per-class recall", reported=False),
    Metric("f1", "classification", "higher", _LABELS),
    Metric("precision", "classification", "higher", _LABELS),
    Metric("recall", "classification", "higher", _LABELS),
    Metric("roc_auc", "classification", "higher", "binary: the second class; more classes: one-vs-rest macro",
           proba=True),
    Metric("log_loss", "classification", "lower", proba=True),
    Metric("rmse", "regression", "lower"),
    Metric("mae", "regression", "lower"),
    Metric("r2", "regression", "higher"),
)}
#: What tuning optimises when `tune.metric` is auto.
DEFAULT = {"classification": "roc_auc", "regression": "rmse"}
#: Conventional names of lower-is-better metrics that gitml does not compute (a project's own).
_LOWER_NAMES = frozenset({"mse", "brier", "error"})


def direction(name: str) -> Direction:
    """Which way is better for a metric: the registry's, else by name (a project's own metric)."""
    known = METRICS.get(name.rpartition(":")[2].rpartition(".")[2])
    if known:
        return known.direction
    return "lower" if name in _LOWER_NAMES else "higher"


def for_task(task: str, reported_only: bool = False) -> list[str]:
    return [m.name for m in METRICS.values() if m.task == task and (m.reported or not reported_only)]


def _labels(frame: pd.DataFrame) -> dict[str, Any]:
    """What every classification metric reads, computed once per frame."""
    import pandas as pd

    labels, proba = probabilities(frame)
    y_true, y_pred = frame[Y_TRUE].to_numpy().astype(str), frame[Y_PRED].to_numpy().astype(str)
    binary = len(labels) == 2
    # Probability columns follow the model's class order, which for numeric labels is not
    # the order of their strings: score against column positions.
    codes = pd.Categorical(y_true, categories=labels).codes if labels else None
    return {"y_true": y_true, "y_pred": y_pred, "labels": labels, "proba": proba, "binary": binary,
            "average": "binary" if binary else "macro", "pos": labels[1] if binary else 1, "codes": codes}


def _label_score(func: Callable[..., float]) -> Callable[[dict[str, Any]], float]:
    def score(c: dict[str, Any]) -> float:
        return float(func(c["y_true"], c["y_pred"], average=c["average"], pos_label=c["pos"], zero_division=0))

    return score


def _roc_auc(c: dict[str, Any]) -> float:
    from sklearn import metrics as m

    positions = list(range(len(c["labels"])))
    if c["binary"]:
        return float(m.roc_auc_score(c["codes"] == 1, c["proba"][:, 1]))
    return float(m.roc_auc_score(c["codes"], c["proba"], multi_class="ovr", labels=positions))


def _log_loss(c: dict[str, Any]) -> float:
    from sklearn import metrics as m

    return float(m.log_loss(c["codes"], c["proba"], labels=list(range(len(c["labels"])))))


def _scorers() -> dict[str, Callable[[Any], float]]:
    from sklearn import metrics as m

    return {
        "accuracy": lambda c: float(m.accuracy_score(c["y_true"], c["y_pred"])),
        "balanced_accuracy": lambda c: float(m.balanced_accuracy_score(c["y_true"], c["y_pred"])),
        "f1": _label_score(m.f1_score),
        "precision": _label_score(m.precision_score),
        "recall": _label_score(m.recall_score),
        "roc_auc": _roc_auc,
        "log_loss": _log_loss,
        "rmse": lambda yp: float(m.root_mean_squared_error(*yp)),
        "mae": lambda yp: float(m.mean_absolute_error(*yp)),
        "r2": lambda yp: float(m.r2_score(*yp)),
    }


def compute(frame: pd.DataFrame, task: str, names: Iterable[str] | None = None) -> dict[str, float]:
    """Metrics of a predictions frame (`y_true`, `y_pred`, `proba_*`): `names`, or every reported one.

    A probability metric is left out when the frame has no probabilities or its truth has a
    single class (it is undefined there).
    """
    wanted = list(names) if names is not None else for_task(task, reported_only=True)
    scorers = _scorers()
    if task == "regression":
        pair = (frame[Y_TRUE].to_numpy(), frame[Y_PRED].to_numpy())
        return {name: scorers[name](pair) for name in wanted}
    context = _labels(frame)
    defined = context["proba"] is not None and len(set(context["y_true"])) > 1
    return {name: scorers[name](context) for name in wanted if defined or not METRICS[name].proba}


def predictions(model: Any, inputs: pd.DataFrame, truth: np.ndarray | pd.Series, task: str,
                proba: bool = True) -> pd.DataFrame:
    """A predictions frame: `y_true`, `y_pred` and, for classifiers that give them, `proba_<class>`."""
    import numpy as np
    import pandas as pd

    frame = pd.DataFrame({Y_TRUE: np.asarray(truth), Y_PRED: model.predict(inputs)})
    if task == "classification" and proba and hasattr(model, "predict_proba"):
        values = model.predict_proba(inputs)
        for index, label in enumerate(model.classes_):
            frame[f"{PROBA}{label}"] = values[:, index]
    return frame


def score(name: str, model: Any, inputs: pd.DataFrame, truth: np.ndarray) -> float:
    """A fitted model's `name` on held-out rows, in natural units (log loss and rmse: lower is better).

    The same number `compute` gives on the model's predictions frame: its probability columns
    carry the model's class order, so a binary label metric takes the second class as positive.
    """
    metric = METRICS[name]
    found = compute(predictions(model, inputs, truth, metric.task), metric.task, [name])
    if name not in found:
        raise ValueError(f"{name} is undefined on these rows (a single class)")
    return found[name]
