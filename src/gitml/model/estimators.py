"""Task-neutral model families: `model=random_forest` builds the classifier or the regressor `data.task` needs.

A family is a `_target_` (on the allow-list with the rest of `gitml.`) whose constructor
returns the scikit-learn estimator for its `task` argument, built with the other
arguments. So the model file, the signature and the card hold the plain scikit-learn
class and nothing of gitml, tuning finds its space under that class's name, and one
config serves both tasks: its `task: ${data.task}` follows the data. An argument that
only the other task's class takes (a forest classifier's `class_weight`; logistic
regression's `C` beside ridge's `alpha`) is left out; one that neither takes is an error
naming it.
"""

from __future__ import annotations

import importlib
from typing import Any, ClassVar


class Family:
    """Base of the families: a mapping from task to the scikit-learn class it builds."""

    #: The import path of the class each task builds.
    classes: ClassVar[dict[str, str]] = {}

    def __new__(cls, task: str, **params: Any) -> Any:
        """The estimator for `task`: an instance of the chosen scikit-learn class, not of the family."""
        chosen = cls.estimator_class(task)
        accepted = _parameters(chosen)
        others = {name for other in cls.classes.values() for name in _parameters(_load(other))}
        unknown = sorted(set(params) - accepted - others)
        if unknown:
            raise TypeError(f"{cls.__name__} ({chosen.__name__}) takes no parameter {', '.join(unknown)}")
        return chosen(**{name: value for name, value in params.items() if name in accepted})

    @classmethod
    def estimator_class(cls, task: str) -> type:
        """The scikit-learn class this family builds for `task`."""
        if task not in cls.classes:
            raise TypeError(f"{cls.__name__}: task must be one of {', '.join(cls.classes)}, not {task!r}")
        return _load(cls.classes[task])


class RandomForest(Family):
    classes: ClassVar[dict[str, str]] = {
        "classification": "sklearn.ensemble.RandomForestClassifier",
        "regression": "sklearn.ensemble.RandomForestRegressor",
    }


class HistGradientBoosting(Family):
    classes: ClassVar[dict[str, str]] = {
        "classification": "sklearn.ensemble.HistGradientBoostingClassifier",
        "regression": "sklearn.ensemble.HistGradientBoostingRegressor",
    }


class Linear(Family):
    classes: ClassVar[dict[str, str]] = {
        "classification": "sklearn.linear_model.LogisticRegression",
        "regression": "sklearn.linear_model.Ridge",
    }


def _load(path: str) -> type:
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def _parameters(cls: type) -> set[str]:
    """The constructor parameters of a scikit-learn estimator class."""
    return set(cls().get_params(deep=False))
