"""The model as it is built: the preprocessing and the configured estimator as one Pipeline.

The estimator is any scikit-learn compatible class named by `_target_`. Tuned parameters
(the tune stage's `best_params.yaml`) are merged into the model config before anything
is built (`with_best`), so building never needs to know about tuning, and the tuning
search builds its candidates with the same `build`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from gitml.config import Model, Params, targets
from gitml.core.errors import ConfigError
from gitml.data import sources
from gitml.features import spec as feature_spec
from gitml.model import estimators

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

#: The estimator's step name in the Pipeline; tuned parameters are set as `model__<name>`.
STEP = "model"


def read_best(path: str | Path) -> dict[str, Any]:
    """The tune stage's best-params file as a mapping; a missing file means no tuning ({})."""
    path = Path(path)
    return parse_best(path.read_text(encoding="utf-8"), str(path)) if path.is_file() else {}


def parse_best(text: str, source: str = "best params") -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML: {str(exc).splitlines()[0]}") from exc
    if loaded in (None, {}):
        return {}
    if not isinstance(loaded, dict) or not isinstance(loaded.get("params"), dict) or "estimator" not in loaded:
        raise ConfigError(f"{source}: expected `estimator` and a `params` mapping (re-run the tune stage)")
    return loaded


def with_best(model: Model, best: dict[str, Any], source: str = "best params") -> dict[str, Any]:
    """The estimator spec to train: `model` with the tuned parameters on top (model=auto: the winner)."""
    if model.auto:
        if not best:
            raise ConfigError(f"model: model=auto has no selected family yet ({source} is empty); run the tune stage")
        return {"_target_": best["estimator"], **best["params"]}
    if not best:
        return model.spec()
    if best["estimator"] != model.target_:
        raise ConfigError(
            f"{source}: tuned for {best['estimator']} but model._target_ is {model.target_}; "
            "re-run the tune stage (dvc repro)"
        )
    return {**model.spec(), **best["params"]}


def estimator(spec: dict[str, Any], task: str, allowed: list[str]) -> Any:
    """The estimator a spec names, checked to suit the task before any fitting."""
    built = targets.instantiate(spec, "model", allowed)
    problem = task_problem(built, spec, task)
    if problem:
        raise ConfigError(problem)
    return built


def task_problem(built: Any, spec: dict[str, Any], task: str) -> str | None:
    """The one line saying a built estimator does not suit `task`, or None when it does."""
    from sklearn.base import is_classifier, is_regressor

    if (is_classifier if task == "classification" else is_regressor)(built):
        return None
    what = f"builds a {type(built).__name__} (model.task is {spec['task']})" if "task" in spec else (
        f"is not a {task} estimator")
    return f"model._target_: {spec['_target_']!r} {what} (data.task is {task})"


def suits(cls: type, task: str) -> bool:
    """Whether a `_target_` class builds an estimator for `task` (a task-neutral family builds both)."""
    from sklearn.base import is_classifier, is_regressor

    if issubclass(cls, estimators.Family):
        return task in cls.classes
    try:
        instance = cls()
    except TypeError:  # required constructor arguments: judge by the class's declared type
        return getattr(cls, "_estimator_type", None) == ("classifier" if task == "classification" else "regressor")
    return is_classifier(instance) if task == "classification" else is_regressor(instance)


def build(params: Params, spec: dict[str, Any]) -> Pipeline:
    """Preprocessing and the estimator `spec` names, as one unfitted Pipeline."""
    from sklearn.pipeline import Pipeline

    allowed = params.project.allowed_targets
    contract = sources.contract(params.data)
    columns = feature_spec.input_columns(contract, params.data.target, params.features)
    pre = feature_spec.preprocessor(columns, params.features, allowed, contract)
    return Pipeline([("features", pre), (STEP, estimator(spec, params.data.task, allowed))])


def class_path(obj: Any) -> str:
    """An object's class as a `_target_` would name it: the shortest public module path that exports it.

    scikit-learn defines its classes in private modules (`sklearn.ensemble._forest`) and
    exports them from public ones (`sklearn.ensemble`); the name logged and written into
    signature.json must import, so the first public prefix that holds the very class wins.
    """
    import importlib

    cls = type(obj)
    parts = cls.__module__.split(".")
    for end in range(1, len(parts) + 1):
        if any(part.startswith("_") for part in parts[:end]):
            break
        module = ".".join(parts[:end])
        try:
            if getattr(importlib.import_module(module), cls.__qualname__, None) is cls:
                return f"{module}.{cls.__qualname__}"
        except ImportError:
            break
    return f"{cls.__module__}.{cls.__qualname__}"
