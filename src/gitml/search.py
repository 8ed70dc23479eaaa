"""Search spaces and tuning metrics, checked against the task and the estimator before any trial.

The schema (gitml.config) catches empty or inverted ranges and unknown distribution
types; what it cannot see needs the task and the built estimator: a metric that does not
fit the task, a model with no search space, and a parameter the estimator does not
accept. `problems` finds them all at once, for `gitml check` and for the tune stage
before its first trial. Nothing here imports Optuna.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gitml.config import Categorical, Distribution, IntRange, Params
from gitml.errors import ConfigError

if TYPE_CHECKING:
    import numpy as np

#: Each metric's task and whether larger is better.
METRICS: dict[str, tuple[str, str]] = {
    "accuracy": ("classification", "maximize"),
    "balanced_accuracy": ("classification", "maximize"),
    "f1": ("classification", "maximize"),
    "precision": ("classification", "maximize"),
    "recall": ("classification", "maximize"),
    "roc_auc": ("classification", "maximize"),
    "log_loss": ("classification", "minimize"),
    "rmse": ("regression", "minimize"),
    "mae": ("regression", "minimize"),
    "r2": ("regression", "maximize"),
}
DEFAULT_METRIC = {"classification": "roc_auc", "regression": "rmse"}

#: The estimator's step name in gitml's Pipeline; tuned parameters are set as `model__<name>`.
STEP = "model"


def metric(params: Params) -> str:
    """The metric tuning optimises, `auto` resolved; a metric of the other task is an error."""
    name = params.tune.metric
    task = params.data.task
    if name == "auto":
        return DEFAULT_METRIC[task]
    if METRICS[name][0] != task:
        fitting = sorted(m for m, (t, _) in METRICS.items() if t == task)
        raise ConfigError(
            f"tune.metric: {name!r} is a {METRICS[name][0]} metric but data.task is {task} (use one of {fitting})"
        )
    return name


def direction(name: str) -> str:
    return METRICS[name][1]


def space_for(target: str, spaces: dict[str, dict[str, Distribution]]) -> tuple[str, dict[str, Distribution]]:
    """The search space of an estimator class: keyed by its full path or its class name."""
    for key in (target, target.rpartition(".")[2]):
        if key in spaces:
            return key, spaces[key]
    raise ConfigError(
        f"tune.spaces: no search space for {target} (add tune.spaces.{target.rpartition('.')[2]} in conf/tune/)"
    )


def check_space(params: Params, spec: dict[str, Any]) -> list[str]:
    """Problems of one model spec's space: missing, or naming parameters the estimator lacks."""
    from gitml import train

    try:
        key, space = space_for(spec["_target_"], params.tune.spaces)
        accepted = train.pipeline(params.model_copy(update={"model": spec})).get_params(deep=True)
    except ConfigError as exc:
        return [str(exc)]
    name = spec["_target_"].rpartition(".")[2]
    return [
        f"tune.spaces.{key}.{param}: {name} does not accept a parameter {param!r}"
        for param in space
        if f"{STEP}__{param}" not in accepted
    ]


def tuned_specs(params: Params) -> dict[str, dict[str, Any]]:
    """The model specs the tune stage will search, by family: the model, or model=auto's candidates."""
    from gitml import selection

    if selection.is_auto(params.model):
        return {name: candidate.model for name, candidate in selection.candidates(params).items()}
    if params.tune.enabled:
        return {params.model["_target_"].rpartition(".")[2]: params.model}
    return {}


def problems(params: Params) -> list[str]:
    """Every tuning problem, one line each, naming its key path; empty when tuning is off."""
    try:
        specs = tuned_specs(params)
    except ConfigError as exc:
        return [str(exc)]
    if not specs:
        return []
    found: list[str] = []
    try:
        metric(params)
    except ConfigError as exc:
        found.append(str(exc))
    for spec in specs.values():
        found.extend(check_space(params, spec))
    return found


def validate(params: Params) -> None:
    """Raise one ConfigError listing every tuning problem (called before the first trial)."""
    found = problems(params)
    if found:
        raise ConfigError("\n".join(found))


def suggest(trial: Any, space: dict[str, Distribution]) -> dict[str, Any]:
    """Sample one value per parameter from an Optuna trial, in the space's order."""
    values: dict[str, Any] = {}
    for name, dist in space.items():
        if isinstance(dist, Categorical):
            values[name] = trial.suggest_categorical(name, dist.choices)
        elif isinstance(dist, IntRange):
            values[name] = trial.suggest_int(name, dist.low, dist.high, step=dist.step, log=dist.log)
        else:
            values[name] = trial.suggest_float(name, dist.low, dist.high, log=dist.log)
    return values


def score(name: str, model: Any, inputs: Any, truth: np.ndarray) -> float:
    """A fitted model's metric on held-out rows, in natural units (log loss and rmse: lower is better).

    Binary scores take the second class as positive and multiclass ones average over
    classes (macro, one-vs-rest), as the evaluate stage does.
    """
    from sklearn import metrics as m

    if name in {"rmse", "mae", "r2"}:
        predicted = model.predict(inputs)
        func = {"rmse": m.root_mean_squared_error, "mae": m.mean_absolute_error, "r2": m.r2_score}[name]
        return float(func(truth, predicted))
    classes = model.classes_
    binary = len(classes) == 2
    if name in {"roc_auc", "log_loss"}:
        proba = model.predict_proba(inputs)
        if name == "log_loss":
            return float(m.log_loss(truth, proba, labels=classes))
        if binary:
            return float(m.roc_auc_score(truth == classes[1], proba[:, 1]))
        return float(m.roc_auc_score(truth, proba, multi_class="ovr", labels=classes))
    predicted = model.predict(inputs)
    if name in {"accuracy", "balanced_accuracy"}:
        func = m.accuracy_score if name == "accuracy" else m.balanced_accuracy_score
        return float(func(truth, predicted))
    func = {"f1": m.f1_score, "precision": m.precision_score, "recall": m.recall_score}[name]
    if binary:
        return float(func(truth, predicted, pos_label=classes[1], zero_division=0))
    return float(func(truth, predicted, average="macro", zero_division=0))
