"""gitml.model.pipeline: the class path a log line or signature.json names imports back to the class."""

from __future__ import annotations

import importlib

import pytest
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression

from gitml.features.transforms import Log
from gitml.model import pipeline


@pytest.mark.parametrize("obj, expected", [
    (HistGradientBoostingClassifier(), "sklearn.ensemble.HistGradientBoostingClassifier"),
    (HistGradientBoostingRegressor(), "sklearn.ensemble.HistGradientBoostingRegressor"),
    (RandomForestClassifier(), "sklearn.ensemble.RandomForestClassifier"),
    (LogisticRegression(), "sklearn.linear_model.LogisticRegression"),
    (SimpleImputer(), "sklearn.impute.SimpleImputer"),
    (Log(), "gitml.features.transforms.Log"),
])
def test_class_path_is_the_public_importable_name(obj, expected):
    path = pipeline.class_path(obj)

    assert path == expected
    module, _, name = path.rpartition(".")
    assert getattr(importlib.import_module(module), name) is type(obj)


def test_class_path_of_a_class_no_public_module_exports():
    class Local:
        pass

    assert pipeline.class_path(Local()) == f"{__name__}.{Local.__qualname__}"
