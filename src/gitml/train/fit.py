"""The train stage: fit the preprocessing and the estimator (tuned parameters on top), save both.

The fitted object is one Pipeline (preprocessing + estimator) and its signature records
the input columns from the data contract, so serving validates requests against the
same contract the training data was checked with.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from gitml.config import Params
from gitml.core import io
from gitml.core.errors import ConfigError, DataError
from gitml.data import sources
from gitml.features import spec as feature_spec
from gitml.model import modelio, pipeline

if TYPE_CHECKING:
    import pandas as pd
    from sklearn.pipeline import Pipeline

log = logging.getLogger(__name__)


def fit(params: Params, train: pd.DataFrame, spec: dict[str, Any]) -> Pipeline:
    """Fit the preprocessing and the estimator `spec` names on the training split."""
    target = params.data.target
    if target not in train.columns:
        raise DataError(f"{params.paths.train}: target column {target!r} is missing")
    model = pipeline.build(params, spec)
    name = pipeline.class_path(model[-1])
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
    contract = sources.contract(params.data)
    wanted = set(feature_spec.raw_columns(contract, params.data.target, params.features))
    inputs = [{"name": name, **spec.model_dump(exclude_none=True)}
              for name, spec in contract.columns.items() if name in wanted]
    result: dict[str, Any] = {
        "name": params.project.model_name,
        "task": params.data.task,
        "target": params.data.target,
        "estimator": pipeline.class_path(model[-1]),
        "inputs": inputs,
    }
    if params.data.task == "classification":
        result["classes"] = [c.item() if hasattr(c, "item") else c for c in model.classes_]
    return result


def run(params: Params) -> None:
    """The train stage: the model config with the tuned parameters merged in, fitted, saved with its signature."""
    spec = pipeline.with_best(params.model, pipeline.read_best(params.paths.best_params), params.paths.best_params)
    model = fit(params, io.read_table(params.paths.train), spec)
    described = signature(params, model)
    modelio.save_model(model, params.paths.model)
    io.write_json(params.paths.signature, described)
