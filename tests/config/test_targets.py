"""gitml.config.targets: `_target_` resolves only allowed classes; a bad target is one line with its key path."""

from __future__ import annotations

import pytest

from gitml.config import targets
from gitml.core.errors import ConfigError

ALLOWED = ["sklearn.", "gitml."]


def test_resolve_allowed_class():
    from sklearn.linear_model import Ridge

    assert targets.resolve("sklearn.linear_model.Ridge", "model", ALLOWED) is Ridge


def test_prefix_not_allowed():
    with pytest.raises(ConfigError, match=r"^model\._target_: 'os\.system' is outside the allowed prefixes"):
        targets.resolve("os.system", "model", ALLOWED)


def test_prefix_must_match_whole_package_name():
    with pytest.raises(ConfigError, match=r"'sklearnx\.Thing' is outside the allowed prefixes"):
        targets.resolve("sklearnx.Thing", "model", ALLOWED)


def test_allowed_prefixes_are_configurable():
    from collections import OrderedDict

    assert targets.resolve("collections.OrderedDict", "model", ["collections."]) is OrderedDict


def test_unimportable_module():
    with pytest.raises(ConfigError, match=r"^model\._target_: cannot import 'sklearn\.nope\.Thing' \(No module named"):
        targets.resolve("sklearn.nope.Thing", "model", ALLOWED)


def test_missing_class_in_module():
    with pytest.raises(ConfigError, match=r"cannot import 'sklearn\.linear_model\.Nope' \(module .* has no attribute"):
        targets.resolve("sklearn.linear_model.Nope", "model", ALLOWED)


def test_function_is_not_a_class():
    with pytest.raises(ConfigError, match=r"^model\._target_: 'sklearn\.metrics\.accuracy_score' is not a class$"):
        targets.resolve("sklearn.metrics.accuracy_score", "model", ALLOWED)


def test_instantiate_builds_with_kwargs():
    built = targets.instantiate({"_target_": "sklearn.linear_model.Ridge", "alpha": 2.5}, "model", ALLOWED)

    assert type(built).__name__ == "Ridge"
    assert built.alpha == 2.5


def test_instantiate_bad_kwarg_names_key_and_argument():
    with pytest.raises(ConfigError, match=r"^model: cannot build 'sklearn\.linear_model\.Ridge': .*'alpah'"):
        targets.instantiate({"_target_": "sklearn.linear_model.Ridge", "alpah": 1.0}, "model", ALLOWED)


def test_instantiate_refuses_disallowed_target_before_importing():
    with pytest.raises(ConfigError, match=r"features\.numeric\[0\]\._target_: 'os\.system' is outside"):
        targets.instantiate({"_target_": "os.system", "command": "true"}, "features.numeric[0]", ALLOWED)


def test_nested_target_is_built():
    spec = {
        "_target_": "sklearn.ensemble.BaggingClassifier",
        "estimator": {"_target_": "sklearn.linear_model.LogisticRegression", "C": 2.0},
        "n_estimators": 3,
    }

    built = targets.instantiate(spec, "model", ALLOWED)

    assert type(built.estimator).__name__ == "LogisticRegression"
    assert built.estimator.C == 2.0


def test_nested_disallowed_target_names_nested_key():
    spec = {"_target_": "sklearn.ensemble.BaggingClassifier", "estimator": {"_target_": "subprocess.Popen"}}

    with pytest.raises(ConfigError, match=r"^model\.estimator\._target_: 'subprocess\.Popen' is outside"):
        targets.instantiate(spec, "model", ALLOWED)


def test_nested_target_in_list_names_index():
    spec = {
        "_target_": "sklearn.pipeline.Pipeline",
        "steps": [["scale", {"_target_": "sklearn.preprocessing.StandardScaler"}], ["m", {"_target_": "os.system"}]],
    }

    with pytest.raises(ConfigError, match=r"^model\.steps\[1\]\[1\]\._target_: 'os\.system' is outside"):
        targets.instantiate(spec, "model", ALLOWED)


def test_nested_unimportable_target():
    spec = {"_target_": "sklearn.ensemble.BaggingClassifier", "estimator": {"_target_": "sklearn.nope.X"}}

    with pytest.raises(ConfigError, match=r"^model\.estimator\._target_: cannot import 'sklearn\.nope\.X'"):
        targets.instantiate(spec, "model", ALLOWED)


def test_a_class_counts_by_the_module_that_defines_it():
    with pytest.raises(ConfigError, match=r"^model\._target_: 'sklearn\.base\.defaultdict' is "
                                          r"collections\.defaultdict, outside the allowed prefixes"):
        targets.resolve("sklearn.base.defaultdict", "model", ALLOWED)


@pytest.mark.parametrize("target", [None, 3, "", ["sklearn.linear_model.Ridge"]])
def test_a_target_that_is_not_a_class_path(target):
    with pytest.raises(ConfigError, match=r"^model\._target_: expected a class path"):
        targets.resolve(target, "model", ALLOWED)


def test_instantiate_never_hands_an_interpolation_to_hydra():
    spec = {"_target_": "sklearn.linear_model.LogisticRegression", "class_weight": {"0": "${oc.env:HOME}"}}

    with pytest.raises(ConfigError, match=r"^model\.class_weight\.0: holds `\$\{`, which building would resolve"):
        targets.instantiate(spec, "model", ALLOWED)


def test_instantiate_reports_every_refused_argument_with_its_key():
    spec = {"_target_": "sklearn.ensemble.RandomForestClassifier", "n_estimators": 0, "criterion": "best"}

    with pytest.raises(ConfigError) as caught:
        targets.instantiate(spec, "model", ALLOWED)

    lines = str(caught.value).splitlines()
    assert [line.split(":")[0] for line in lines] == ["model.criterion", "model.n_estimators"]


def test_argument_problems_checks_other_values():
    from sklearn.linear_model import Ridge

    assert targets.argument_problems(Ridge(), "tune.spaces.Ridge", {"alpha": 1.0}) == []
    assert targets.argument_problems(Ridge(), "tune.spaces.Ridge", {"alpha": -1.0})[0].startswith(
        "tune.spaces.Ridge.alpha: The 'alpha' parameter of Ridge must be")


def test_argument_problems_of_something_that_is_not_an_estimator():
    assert targets.argument_problems(object(), "model") == []
