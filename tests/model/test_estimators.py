"""gitml.model.estimators: a task-neutral family builds the plain scikit-learn class of its task."""

from __future__ import annotations

import pytest
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LogisticRegression, Ridge

from gitml.model import estimators


@pytest.mark.parametrize(("family", "task", "expected"), [
    (estimators.RandomForest, "classification", RandomForestClassifier),
    (estimators.RandomForest, "regression", RandomForestRegressor),
    (estimators.HistGradientBoosting, "classification", HistGradientBoostingClassifier),
    (estimators.HistGradientBoosting, "regression", HistGradientBoostingRegressor),
    (estimators.Linear, "classification", LogisticRegression),
    (estimators.Linear, "regression", Ridge),
])
def test_a_family_builds_its_task_s_class(family, task, expected):
    built = family(task=task)

    assert type(built) is expected
    assert family.estimator_class(task) is expected


def test_arguments_go_to_the_class_that_takes_them():
    forest = estimators.RandomForest(task="regression", n_estimators=7, class_weight="balanced")
    assert forest.get_params()["n_estimators"] == 7  # class_weight is the classifier's alone: left out

    logistic = estimators.Linear(task="classification", C=0.5, alpha=3.0, max_iter=50)
    assert (logistic.C, logistic.max_iter) == (0.5, 50)
    ridge = estimators.Linear(task="regression", C=0.5, alpha=3.0, max_iter=50)
    assert (ridge.alpha, ridge.max_iter) == (3.0, 50)


def test_an_argument_neither_class_takes_is_an_error_naming_it():
    with pytest.raises(TypeError, match=r"^RandomForest \(RandomForestClassifier\) takes no parameter n_trees$"):
        estimators.RandomForest(task="classification", n_trees=3)


def test_an_unknown_task_is_an_error():
    with pytest.raises(TypeError, match="task must be one of classification, regression, not 'ranking'"):
        estimators.HistGradientBoosting(task="ranking")
