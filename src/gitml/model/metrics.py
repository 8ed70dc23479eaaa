"""The one metric registry: each metric's name, task, direction and averaging, and how it is scored.

The evaluate stage, tuning, the gate's policy, monitoring and the experiments table all
take metrics from here, so "roc_auc" means the same number, and "better" the same
direction, everywhere. Names are scikit-learn's scorer names, so a name says what it
averages: on two classes `precision`, `recall`, `f1` and `roc_auc` score the positive
class (the second in the model's class order: `1`, `True`, `yes`); on more classes
metrics.json holds `precision_macro`, `recall_macro`, `f1_macro` (unweighted means over
the classes) and `roc_auc_ovr` (one-vs-rest, unweighted mean) instead. A binary name in
the gate's policy or `tune.metric` stands for its multiclass counterpart on a multiclass
target (`name_for`), and metrics files written before these names existed, whose `f1` on
more classes was the macro average, read under the new names (`readable`). (The gate's
bootstrap recomputes the same metrics vectorised, in `gitml.gate._weighted`; a test holds
the two to the same values.)
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
#: What a target is, for the metrics it reports.
Kind = Literal["binary", "multiclass", "regression"]


@dataclass(frozen=True)
class Metric:
    name: str
    task: Literal["classification", "regression"]
    direction: Direction
    #: What the number averages, in words (the card and the gate report show it); None: nothing to say.
    averaging: str | None = None
    #: Which classification targets report it in metrics.json. A binary metric exists on two
    #: classes only; the others can be computed for any number (e.g. tuned for on two classes).
    targets: Literal["binary", "multiclass", "any"] = "any"
    #: A binary metric's counterpart on more classes.
    multiclass: str | None = None
    #: Needs class probabilities (not only labels).
    proba: bool = False


_POSITIVE = "the positive class: the second in the model's class order"
_MACRO = "unweighted mean over the classes"
METRICS: dict[str, Metric] = {m.name: m for m in (
    Metric("accuracy", "classification", "higher", "share of rows predicted right"),
    Metric("balanced_accuracy", "classification", "higher", "mean of per-class recall"),
    Metric("precision", "classification", "higher", _POSITIVE, "binary", "precision_macro"),
    Metric("recall", "classification", "higher", _POSITIVE, "binary", "recall_macro"),
    Metric("f1", "classification", "higher", _POSITIVE, "binary", "f1_macro"),
    Metric("roc_auc", "classification", "higher", f"{_POSITIVE}'s probability", "binary", "roc_auc_ovr", proba=True),
    Metric("precision_macro", "classification", "higher", _MACRO, "multiclass"),
    Metric("recall_macro", "classification", "higher", _MACRO, "multiclass"),
    Metric("f1_macro", "classification", "higher", _MACRO, "multiclass"),
    Metric("roc_auc_ovr", "classification", "higher", f"one-vs-rest, {_MACRO}", "multiclass", proba=True),
    Metric("log_loss", "classification", "lower", "mean over rows", proba=True),
    Metric("rmse", "regression", "lower"),
    Metric("mae", "regression", "lower"),
    Metric("r2", "regression", "higher"),
    Metric("mape", "regression", "lower", "mean of |error| / |actual|, as a fraction (0.1 is 10%)"),
)}
#: What tuning optimises when `tune.metric` is auto (a binary name: `name_for` gives the multiclass one).
DEFAULT = {"classification": "roc_auc", "regression": "rmse"}
#: Conventional names of lower-is-better metrics that gitml does not compute (a project's own).
_LOWER_NAMES = frozenset({"mse", "brier", "error"})


def direction(name: str) -> Direction:
    """Which way is better for a metric: the registry's, else by name (a project's own metric)."""
    known = METRICS.get(name.rpartition(":")[2].rpartition(".")[2])
    if known:
        return known.direction
    return "lower" if name in _LOWER_NAMES else "higher"


def for_task(task: str) -> list[str]:
    """Every metric of a task: what `tune.metric` may name."""
    return [m.name for m in METRICS.values() if m.task == task]


def kind(task: str, n_classes: int) -> Kind:
    return "regression" if task == "regression" else "binary" if n_classes == 2 else "multiclass"


def reported(task: str, n_classes: int) -> list[str]:
    """The metrics metrics.json holds for a target with `n_classes` classes (ignored for regression)."""
    target = kind(task, n_classes)
    return [m.name for m in METRICS.values()
            if m.task == task and (task == "regression" or m.targets in ("any", target))]


def counterpart(name: str) -> str:
    """A binary metric's counterpart on more classes (f1: f1_macro); any other name itself."""
    metric = METRICS.get(name)
    return metric.multiclass if metric is not None and metric.multiclass else name


def name_for(name: str, n_classes: int | None) -> str:
    """The metric a name means on a target of `n_classes` classes (None: unknown, the name itself)."""
    return counterpart(name) if n_classes is not None and n_classes > 2 else name


def readable(values: dict[str, float], n_classes: int | None) -> dict[str, float]:
    """A metrics file under today's names: on more classes an older file's `f1` was `f1_macro`."""
    result = dict(values)
    for name in values:
        new = name_for(name, n_classes)
        if new != name and new not in values:
            result[new] = result.pop(name)
    return result


def averaging(name: str) -> str | None:
    """What a metric averages, in words, for reports; None outside the registry."""
    metric = METRICS.get(name)
    return metric.averaging if metric else None


def class_order(frame: pd.DataFrame) -> list[str]:
    """The classes of a predictions frame, as text: the model's (its probability columns), else sorted values."""
    import numpy as np
    import pandas as pd

    labels, _ = probabilities(frame)
    if labels:
        return labels
    values = pd.unique(np.concatenate([frame[Y_TRUE].to_numpy(), frame[Y_PRED].to_numpy()]))
    try:
        ordered = sorted(values)
    except TypeError:  # mixed types
        ordered = sorted(values, key=str)
    return [str(value) for value in ordered]


def _labels(frame: pd.DataFrame) -> dict[str, Any]:
    """What every classification metric reads, computed once per frame."""
    import pandas as pd

    _, proba = probabilities(frame)
    labels = class_order(frame)
    y_true, y_pred = frame[Y_TRUE].to_numpy().astype(str), frame[Y_PRED].to_numpy().astype(str)
    # Probability columns follow the model's class order, which for numeric labels is not
    # the order of their strings: score against column positions.
    codes = pd.Categorical(y_true, categories=labels).codes
    return {"y_true": y_true, "y_pred": y_pred, "labels": labels, "proba": proba, "binary": len(labels) == 2,
            "pos": labels[1] if len(labels) == 2 else None, "codes": codes}


def _binary(func: Callable[..., float]) -> Callable[[dict[str, Any]], float]:
    def score(c: dict[str, Any]) -> float:
        return float(func(c["y_true"], c["y_pred"], average="binary", pos_label=c["pos"], zero_division=0))

    return score


def _macro(func: Callable[..., float]) -> Callable[[dict[str, Any]], float]:
    def score(c: dict[str, Any]) -> float:
        return float(func(c["y_true"], c["y_pred"], average="macro", zero_division=0))

    return score


def _roc_auc(c: dict[str, Any]) -> float:
    from sklearn import metrics as m

    if c["binary"]:
        return float(m.roc_auc_score(c["codes"] == 1, c["proba"][:, 1]))
    return float(m.roc_auc_score(c["codes"], c["proba"], multi_class="ovr", labels=list(range(len(c["labels"])))))


def _log_loss(c: dict[str, Any]) -> float:
    from sklearn import metrics as m

    return float(m.log_loss(c["codes"], c["proba"], labels=list(range(len(c["labels"])))))


def _scorers() -> dict[str, Callable[[Any], float]]:
    from sklearn import metrics as m

    return {
        "accuracy": lambda c: float(m.accuracy_score(c["y_true"], c["y_pred"])),
        # balanced_accuracy_score itself, without its warning when a prediction names a class the truth lacks
        "balanced_accuracy": lambda c: float(m.recall_score(c["y_true"], c["y_pred"], labels=sorted(set(c["y_true"])),
                                                            average="macro", zero_division=0)),
        "precision": _binary(m.precision_score),
        "recall": _binary(m.recall_score),
        "f1": _binary(m.f1_score),
        "roc_auc": _roc_auc,
        "precision_macro": _macro(m.precision_score),
        "recall_macro": _macro(m.recall_score),
        "f1_macro": _macro(m.f1_score),
        "roc_auc_ovr": _roc_auc,
        "log_loss": _log_loss,
        "rmse": lambda yp: float(m.root_mean_squared_error(*yp)),
        "mae": lambda yp: float(m.mean_absolute_error(*yp)),
        "r2": lambda yp: float(m.r2_score(*yp)),
        "mape": lambda yp: float(m.mean_absolute_percentage_error(*yp)),
    }


def compute(frame: pd.DataFrame, task: str, names: Iterable[str] | None = None) -> dict[str, float]:
    """Metrics of a predictions frame (`y_true`, `y_pred`, `proba_*`): `names`, or every reported one.

    A metric is left out where it is undefined: a probability metric without probabilities
    or with a single class in the truth, a binary metric on more than two classes.
    """
    scorers = _scorers()
    if task == "regression":
        pair = (frame[Y_TRUE].to_numpy(), frame[Y_PRED].to_numpy())
        return {name: scorers[name](pair) for name in (names if names is not None else reported(task, 0))}
    context = _labels(frame)
    wanted = list(names) if names is not None else reported(task, len(context["labels"]))
    has_proba = context["proba"] is not None and len(set(context["y_true"])) > 1

    def defined(metric: Metric) -> bool:
        return (has_proba or not metric.proba) and (context["binary"] or metric.targets != "binary")

    return {name: scorers[name](context) for name in wanted if defined(METRICS[name])}


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
        raise ValueError(f"{name} is undefined on these rows (a single class, or a binary metric on more classes)")
    return found[name]
