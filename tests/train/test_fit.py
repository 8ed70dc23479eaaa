"""gitml.train.fit: any configured estimator behind the preprocessing, checked against the task; its signature."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from sklearn.base import is_regressor

from gitml import config
from gitml.config import compose, targets
from gitml.core.errors import ConfigError, DataError
from gitml.data import sources
from gitml.model import pipeline
from gitml.train import fit

ROOT = Path(__file__).resolve().parents[2]
#: Every estimator config; `auto` is no estimator but model selection (tests/tune/test_search.py).
MODEL_OPTIONS = sorted(path.stem for path in (ROOT / "conf" / "model").glob("*.yaml") if path.stem != "auto")


def _estimator(params: config.Params) -> Any:
    return pipeline.estimator(params.model.spec(), params.data.task, params.project.allowed_targets)


def _fit(params: config.Params, frame):
    return fit.fit(params, frame, params.model.spec())


def test_estimator_suits_classification(small_params):
    assert type(_estimator(small_params)).__name__ == "RandomForestClassifier"


def test_classifier_for_regression_task(make_params):
    params = make_params({"data.task": "regression"})

    with pytest.raises(
        ConfigError,
        match=r"^model\._target_: 'sklearn\.ensemble\.RandomForestClassifier' is not a regression estimator",
    ):
        _estimator(params)


def test_regressor_for_classification_task(make_params):
    params = make_params({"model": {"_target_": "sklearn.linear_model.Ridge"}})

    with pytest.raises(ConfigError, match=r"'sklearn\.linear_model\.Ridge' is not a classification estimator"):
        _estimator(params)


def test_unimportable_model_target(make_params):
    params = make_params({"model": {"_target_": "sklearn.ensemble.NoSuchForest"}})

    with pytest.raises(ConfigError, match=r"^model\._target_: cannot import 'sklearn\.ensemble\.NoSuchForest'"):
        _estimator(params)


def test_model_target_outside_allowed_prefixes(make_params):
    with pytest.raises(ConfigError, match=r"^params\.yaml: model\._target_: 'xgboost\.XGBClassifier' is outside the "
                                          r"allowed prefixes"):
        make_params({"model": {"_target_": "xgboost.XGBClassifier"}})


def test_model_argument_refused_by_sklearn_constraints(make_params):
    params = make_params({"model.n_estimators": -5})

    with pytest.raises(ConfigError, match=r"^model\.n_estimators: The 'n_estimators' parameter of "
                                          r"RandomForestClassifier must be an int in the range \[1, inf\)\. "
                                          r"Got -5 instead\.$"):
        _estimator(params)


def test_pipeline_has_features_then_model(small_params):
    assert [name for name, _ in pipeline.build(small_params, small_params.model.spec()).steps] == ["features", "model"]


def _option_params(option: str, small_source: dict[str, Any]) -> config.Params:
    raw = yaml.safe_load(compose.compose(ROOT / "conf", [f"model={option}"]))
    model_class = targets.resolve(raw["model"]["_target_"], "model", raw["project"]["allowed_targets"])
    task = "regression" if is_regressor(model_class()) else "classification"
    raw["data"] = {"source": dict(small_source), "task": task, "target": "target"}
    for key, small in (("n_estimators", 10), ("max_iter", 20)):
        if key in raw["model"] and "LogisticRegression" not in raw["model"]["_target_"]:
            raw["model"][key] = small
    return config.validate(raw)


@pytest.mark.parametrize("option", MODEL_OPTIONS)
def test_every_model_option_fits_its_task(option, small_source):
    params = _option_params(option, small_source)
    frame = sources.load(params.data, params.seed)

    model = _fit(params, frame)

    predicted = model.predict(frame.drop(columns=["target"]))
    assert len(predicted) == len(frame)
    if params.data.task == "classification":
        assert set(predicted) <= {"class_0", "class_1"}
        assert model.score(frame.drop(columns=["target"]), frame["target"]) > 0.6
    else:
        assert model.score(frame.drop(columns=["target"]), frame["target"]) > 0.0


def test_model_options_cover_both_tasks(small_source):
    tasks = {_option_params(option, small_source).data.task for option in MODEL_OPTIONS}

    assert tasks == {"classification", "regression"}


def test_fit_is_deterministic(small_params, small_frame):
    first = _fit(small_params, small_frame).predict_proba(small_frame)
    again = _fit(small_params, small_frame).predict_proba(small_frame)

    assert (first == again).all()


def test_fit_without_target_column(small_params, small_frame):
    with pytest.raises(DataError, match=r"^data/features/train\.parquet: target column 'target' is missing$"):
        _fit(small_params, small_frame.drop(columns=["target"]))


def test_fit_uses_only_input_columns(make_params, small_frame):
    params = make_params({"features.drop": ["num_0"]})

    model = _fit(params, small_frame)

    assert "num_0" not in model.named_steps["features"].get_feature_names_out()
    assert model.predict(small_frame.drop(columns=["num_0", "target"])).shape == (len(small_frame),)


def test_signature_lists_inputs_with_dtype_and_role(small_params, small_frame):
    signature = fit.signature(small_params, _fit(small_params, small_frame))

    assert [(i["name"], i["dtype"], i["role"]) for i in signature["inputs"]] == [
        ("num_0", "float", "numeric"),
        ("num_1", "float", "numeric"),
        ("num_2", "float", "numeric"),
        ("cat_0", "str", "categorical"),
        ("cat_1", "str", "categorical"),
    ]
    assert signature["inputs"][3]["categories"] == list(sources.SYNTHETIC_LEVELS)


def test_signature_records_task_target_estimator_and_classes(small_params, small_frame):
    signature = fit.signature(small_params, _fit(small_params, small_frame))

    assert signature["task"] == "classification"
    assert signature["target"] == "target"
    assert signature["estimator"] == "sklearn.ensemble.RandomForestClassifier"
    assert signature["name"] == "model"
    assert signature["classes"] == ["class_0", "class_1"]


def test_signature_excludes_dropped_columns(make_params, small_frame):
    params = make_params({"features.drop": ["cat_1"]})

    signature = fit.signature(params, _fit(params, small_frame))

    assert "cat_1" not in [i["name"] for i in signature["inputs"]]


def test_regression_signature_has_no_classes(make_params):
    params = make_params({"data.task": "regression", "model": {"_target_": "sklearn.linear_model.Ridge"}})
    frame = sources.load(params.data, params.seed)

    signature = fit.signature(params, _fit(params, frame))

    assert "classes" not in signature
    assert signature["task"] == "regression"
