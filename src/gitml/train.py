"""Training: any scikit-learn compatible estimator named by `_target_`, behind the preprocessing.

The fitted object is one Pipeline (preprocessing + estimator) and its signature records
the input columns from the data contract, so serving validates requests against the
same contract the training data was checked with.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from gitml import data, features, targets
from gitml.config import Params
from gitml.errors import ConfigError, DataError

if TYPE_CHECKING:
    import pandas as pd
    from sklearn.pipeline import Pipeline

log = logging.getLogger(__name__)


def estimator(params: Params) -> Any:
    """The configured estimator, checked to suit the task before any fitting."""
    from sklearn.base import is_classifier, is_regressor

    built = targets.instantiate(params.model, "model", params.project.allowed_targets)
    suits = is_classifier if params.data.task == "classification" else is_regressor
    if not suits(built):
        raise ConfigError(
            f"model._target_: {params.model['_target_']!r} is not a {params.data.task} estimator "
            f"(data.task is {params.data.task})"
        )
    return built


def pipeline(params: Params) -> Pipeline:
    """Preprocessing and estimator as one unfitted Pipeline."""
    from sklearn.pipeline import Pipeline

    contract = data.contract(params.data)
    columns = features.input_columns(contract, params.data.target, params.features)
    pre = features.preprocessor(columns, params.features, params.project.allowed_targets)
    return Pipeline([("features", pre), ("model", estimator(params))])


def fit(params: Params, train: pd.DataFrame) -> Pipeline:
    """Fit the configured pipeline on the training split."""
    target = params.data.target
    if target not in train.columns:
        raise DataError(f"{params.paths.train}: target column {target!r} is missing")
    model = pipeline(params)
    started = time.perf_counter()
    log.info("fitting %s on %d rows", params.model["_target_"], len(train))
    try:
        model.fit(train.drop(columns=[target]), train[target])
    except ValueError as exc:
        raise ConfigError(f"model: fitting {params.model['_target_']} failed: {exc}") from exc
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
        "estimator": params.model["_target_"],
        "inputs": inputs,
    }
    if params.data.task == "classification":
        result["classes"] = [c.item() if hasattr(c, "item") else c for c in model.classes_]
    return result
