"""Training: any scikit-learn compatible estimator named by `_target_`, behind the preprocessing.

The fitted object is one Pipeline (preprocessing + estimator) and its signature records
the input columns from the data contract, so serving validates requests against the
same contract the training data was checked with.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from gitml import data, features, targets, tuning
from gitml.config import Params
from gitml.errors import ConfigError, DataError

if TYPE_CHECKING:
    import pandas as pd
    from sklearn.pipeline import Pipeline

log = logging.getLogger(__name__)


def estimator(params: Params, best: dict[str, Any] | None = None) -> Any:
    """The configured estimator, tuned parameters (`best`, from the tune stage) on top,
    checked to suit the task before any fitting."""
    from sklearn.base import is_classifier, is_regressor

    spec = tuning.apply(params.model, best or {}, params.paths.best_params)
    built = targets.instantiate(spec, "model", params.project.allowed_targets)
    suits = is_classifier if params.data.task == "classification" else is_regressor
    if not suits(built):
        raise ConfigError(
            f"model._target_: {spec['_target_']!r} is not a {params.data.task} estimator "
            f"(data.task is {params.data.task})"
        )
    return built


def pipeline(params: Params, best: dict[str, Any] | None = None) -> Pipeline:
    """Preprocessing and estimator (with tuned parameters `best`) as one unfitted Pipeline."""
    from sklearn.pipeline import Pipeline

    contract = data.contract(params.data)
    columns = features.input_columns(contract, params.data.target, params.features)
    pre = features.preprocessor(columns, params.features, params.project.allowed_targets)
    return Pipeline([("features", pre), ("model", estimator(params, best))])


def fit(params: Params, train: pd.DataFrame, best: dict[str, Any] | None = None) -> Pipeline:
    """Fit the configured pipeline (with tuned parameters `best`) on the training split."""
    target = params.data.target
    if target not in train.columns:
        raise DataError(f"{params.paths.train}: target column {target!r} is missing")
    model = pipeline(params, best)
    name = _class_path(model[-1])
    started = time.perf_counter()
    log.info("fitting %s on %d rows", name, len(train))
    try:
        model.fit(train.drop(columns=[target]), train[target])
    except ValueError as exc:
        raise ConfigError(f"model: fitting {name} failed: {exc}") from exc
    log.info("fitted in %.1f s", time.perf_counter() - started)
    return model


def signature(params: Params, model: Pipeline) -> dict[str, Any]:
    """What a caller must send and gets back: input columns from the contract, task, classes."""
    contract = data.contract(params.data)
    roles = features.input_columns(contract, params.data.target, params.features)
    wanted = {name for names in roles.values() for name in names}
    inputs = [
        {"name": name, **spec.model_dump(exclude_none=True)}
        for name, spec in contract.columns.items()
        if name in wanted
    ]
    result: dict[str, Any] = {
        "name": params.project.model_name,
        "task": params.data.task,
        "target": params.data.target,
        "estimator": _class_path(model[-1]),
        "inputs": inputs,
    }
    if params.data.task == "classification":
        result["classes"] = [c.item() if hasattr(c, "item") else c for c in model.classes_]
    return result


def _class_path(obj: Any) -> str:
    """The estimator's class as a `_target_` would name it (after tuning or model=auto)."""
    cls = type(obj)
    public = ".".join(part for part in cls.__module__.split(".") if not part.startswith("_"))
    return f"{public}.{cls.__qualname__}"
