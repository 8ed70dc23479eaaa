"""Tuning and model=auto: reproducible, effective, validated before the first trial."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from gitml import config
from gitml.cli import check
from gitml.config import targets
from gitml.core.errors import ConfigError, TuneError
from gitml.model import metrics, pipeline
from gitml.train import fit
from gitml.tune import autoselect, search, space, study


def _study(params: config.Params, family: str, frame: pd.DataFrame, n_trials: int, n_jobs: int,
           show_progress: bool | None = None) -> study.StudyResult:
    """One search of the configured model, as the tune stage runs it: its space, its metric, its pipeline."""
    spec = params.model.spec()
    searched = space.space_of(params, spec)
    return study.run_study(params, family, spec, searched, space.metric(params),
                           lambda chosen: pipeline.build(params, chosen), frame, n_trials, n_jobs, show_progress)


def _pipeline(params: config.Params, best: dict[str, Any]) -> Any:
    """What train builds: the model config with the tuned parameters on top."""
    return pipeline.build(params, pipeline.with_best(params.model, best))


def test_seeded_tuning_is_reproducible_and_prunes_hopeless_trials(tune_params, linear_data, fast_tune) -> None:
    frame = linear_data()
    params = tune_params(frame, "classification", ["model=logistic_regression"],
                         tune={**fast_tune, "n_trials": 12, "pruning": True, "batch_size": 2, "metric": "accuracy",
                               "spaces": {"LogisticRegression": {"C": {"type": "float", "low": 1e-6, "high": 10.0,
                                                                        "log": True}}}})
    first = _study(params, "lr", frame, 12, n_jobs=1)
    second = _study(params, "lr", frame, 12, n_jobs=2)
    assert first.best_params == second.best_params
    assert first.trials == second.trials
    assert first.direction == "higher"
    states = [row["state"] for row in first.trials]
    assert "pruned" in states, states  # tiny C predicts one class: stopped after its first fold
    assert all(row["folds"] < 3 for row in first.trials if row["state"] == "pruned")
    assert first.best_value > 0.85 and first.best_params["C"] > 1e-3


def test_tuned_model_beats_the_default_where_regularisation_is_known_to_matter(tune_params, fast_tune) -> None:
    """Ridge on few rows and many mostly useless features: the default alpha=1 overfits."""
    rng = np.random.default_rng(1)

    def sample(n: int) -> pd.DataFrame:
        x = rng.normal(size=(n, 60))
        frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(60)])
        frame["y"] = x[:, :5].sum(axis=1) + 2.0 * rng.normal(size=n)
        return frame

    fit_rows, test_rows = sample(80), sample(2000)
    params = tune_params(fit_rows, "regression", ["model=ridge", "data=diabetes"], tune={**fast_tune, "n_trials": 12})
    outcome = search.search(params, fit_rows, show_progress=False)
    assert outcome is not None and outcome.chosen.metric == "rmse" and outcome.chosen.direction == "lower"
    best = pipeline.parse_best(search.best_params_text(params, outcome))
    inputs, truth = test_rows.drop(columns=["y"]), test_rows["y"].to_numpy()
    default_rmse = metrics.score("rmse", fit.fit(params, fit_rows, params.model.spec()), inputs, truth)
    tuned = fit.fit(params, fit_rows, pipeline.with_best(params.model, best))
    assert tuned[-1].alpha == best["params"]["alpha"] > 1.0
    assert metrics.score("rmse", tuned, inputs, truth) < 0.9 * default_rmse


@pytest.mark.parametrize(("data", "expected"), [
    ("linear", {"linear"}),
    ("interactions", {"random_forest", "hist_gradient_boosting"}),
])
def test_auto_selection_picks_the_family_the_data_favours(
    data: str, expected: set[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    tune_params: Callable[..., config.Params], linear_data, interaction_data, fast_tune,
) -> None:
    frame = {"linear": linear_data, "interactions": interaction_data}[data]()
    params = tune_params(
        frame, "classification",
        ["model=auto", "model.candidates.random_forest.model.n_estimators=30",
         "model.candidates.hist_gradient_boosting.model.max_iter=30",
         *(f"model.candidates.{name}.n_trials=3" for name in ("linear", "random_forest", "hist_gradient_boosting"))],
        tune={**fast_tune, "spaces": {
            "LogisticRegression": {"C": {"type": "float", "low": 0.01, "high": 10.0, "log": True}},
            "RandomForestClassifier": {"min_samples_leaf": {"type": "int", "low": 1, "high": 5}},
            "HistGradientBoostingClassifier": {"learning_rate": {"type": "float", "low": 0.05, "high": 0.3}},
        }},
    )
    assert params.model.auto and params.model.target_ == "gitml.tune.autoselect.AutoSelect"
    assert list(autoselect.candidates(params)) == ["linear", "random_forest", "hist_gradient_boosting"]
    monkeypatch.chdir(tmp_path)
    outcome = search.search(params, frame, show_progress=False)
    search.write_outputs(params, outcome)
    assert outcome is not None and outcome.chosen.family in expected
    report = yaml.safe_load(Path(params.paths.selection).read_text())
    assert report["winner"] == outcome.chosen.family and len(report["candidates"]) == 3
    assert outcome.chosen.family in Path(params.paths.selection_report).read_text()
    # The winner is a normal model config, and train fits exactly it.
    selected = yaml.safe_load(Path(params.paths.selected_model).read_text())
    assert selected["_target_"] == outcome.chosen.estimator
    assert {**selected, **outcome.chosen.best_params} == selected
    model = _pipeline(params, pipeline.read_best(params.paths.best_params))[-1]
    family = targets.resolve(selected["_target_"], "model", params.project.allowed_targets)
    assert type(model) is family.estimator_class(selected["task"])  # a task-neutral family: the class it builds
    assert model.get_params().items() >= {k: v for k, v in selected.items() if k in model.get_params()}.items()
    trials = pd.read_csv(params.paths.tuning)
    assert set(trials["family"]) == {"linear", "random_forest", "hist_gradient_boosting"}


def test_disabled_tuning_writes_empty_outputs_and_train_uses_the_model_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tune_params, linear_data
) -> None:
    params = tune_params(linear_data(), "classification", [])
    monkeypatch.chdir(tmp_path)
    assert search.search(params, linear_data()) is None
    search.write_outputs(params, None)
    assert pipeline.read_best(params.paths.best_params) == {}
    assert _pipeline(params, {})[-1].get_params()["n_estimators"] == params.model.arguments["n_estimators"]
    assert pd.read_csv(params.paths.tuning).empty
    assert sorted(p.name for p in Path(params.paths.tuning_plots).iterdir()) == ["history.json", "importance.json"]


def test_progress_bar_shows_trials_best_and_time_left(
    capfd: pytest.CaptureFixture[str], tune_params, linear_data, fast_tune
) -> None:
    frame = linear_data(120)
    params = tune_params(frame, "classification", ["model=logistic_regression"], tune=fast_tune)
    _study(params, "lr", frame, 4, n_jobs=1, show_progress=True)
    err = capfd.readouterr().err
    assert "4/4 trials" in err and "best roc_auc=" in err and " left" in err


def test_best_params_for_another_estimator_are_refused(tune_params, linear_data) -> None:
    params = tune_params(linear_data(), "classification", [])
    best = {"estimator": "sklearn.linear_model.LogisticRegression", "params": {"C": 0.5}}
    with pytest.raises(ConfigError, match="tuned for sklearn.linear_model.LogisticRegression"):
        _pipeline(params, best)
    auto = tune_params(linear_data(), "classification", ["model=auto"])
    with pytest.raises(ConfigError, match="model=auto has no selected family yet"):
        _pipeline(auto, {})
    assert type(_pipeline(auto, best)[-1]).__name__ == "LogisticRegression"


def test_every_failing_trial_is_one_error_naming_the_family(tune_params, linear_data, fast_tune) -> None:
    frame = linear_data(120)
    params = tune_params(frame, "classification", ["model=logistic_regression"],
                         tune={**fast_tune, "spaces": {"LogisticRegression": {
                             "solver": {"type": "categorical", "choices": ["no-such-solver"]}}}})
    with pytest.raises(TuneError, match=r"no trial of lr .*LogisticRegression.* first error: .*solver"):
        _study(params, "lr", frame, 2, n_jobs=1)


BAD_SPACES = [
    ({"n_estimatorz": {"type": "int", "low": 1, "high": 5}},
     "tune.spaces.RandomForestClassifier.n_estimatorz: RandomForestClassifier does not accept a parameter"),
    ({"n_estimators": {"type": "int", "low": 50, "high": 10}}, "empty or inverted range: low 50 is not below high 10"),
    ({"n_estimators": {"type": "int", "low": 5, "high": 5}}, "empty or inverted range"),
    ({"n_estimators": {"type": "uniform", "low": 1, "high": 5}}, "Input tag 'uniform'"),
    ({"max_features": {"type": "float", "low": 0.0, "high": 1.0, "log": True}}, "log-scale range needs low > 0"),
]


@pytest.mark.parametrize(("space", "message"), BAD_SPACES, ids=["unknown-param", "inverted", "empty", "type", "log"])
def test_bad_search_spaces_are_caught_by_gitml_check(
    space: dict[str, Any], message: str, tune_params, linear_data
) -> None:
    raw = tune_params(linear_data(), "classification", []).model_dump()
    raw["tune"].update(enabled=True, spaces={"RandomForestClassifier": space})
    with pytest.raises(ConfigError, match=message):
        found = check.semantic_problems(config.validate(raw))
        raise ConfigError("\n".join(found))


def test_metric_of_the_other_task_and_a_missing_space_are_caught_before_any_trial(tune_params, linear_data) -> None:
    frame = linear_data(60)
    params = tune_params(frame, "classification", ["model=logistic_regression"],
                         tune={"enabled": True, "metric": "rmse", "spaces": {}})
    problems = check.semantic_problems(params)
    assert any(p.startswith("tune.metric: 'rmse' is a regression metric but data.task is classification")
               for p in problems), problems
    assert any(p.startswith("tune.spaces: no search space for sklearn.linear_model.LogisticRegression")
               for p in problems), problems
    with pytest.raises(ConfigError, match="tune.metric"):
        search.search(params, frame)


def test_auto_candidates_are_validated(tune_params, linear_data) -> None:
    # An invalid candidate is found when params are read, naming its key path.
    with pytest.raises(ConfigError, match=r"model\.candidates\.linear\.n_trials"):
        tune_params(linear_data(60), "classification", ["model=auto", "model.candidates.linear.n_trials=0"])
    regression_only = tune_params(linear_data(60), "classification", [
        "model=auto", "~model.candidates.random_forest", "~model.candidates.linear",
        "~model.candidates.hist_gradient_boosting",
        "+model.candidates.ridge.model._target_=sklearn.linear_model.Ridge"])
    assert check.semantic_problems(regression_only) == [
        "model.candidates: no candidate is a classification estimator (data.task)"]


@pytest.mark.parametrize(("metric", "n_classes", "expected"), [
    ("auto", 2, "roc_auc"), ("auto", 4, "roc_auc_ovr"), ("auto", None, "roc_auc"),
    ("f1", 3, "f1_macro"), ("f1", 2, "f1"), ("f1_macro", 2, "f1_macro"), ("log_loss", 5, "log_loss"),
])
def test_tuning_metric_suits_the_number_of_classes(metric: str, n_classes: int | None, expected: str,
                                                    tune_params, linear_data) -> None:
    params = tune_params(linear_data(60), "classification", [], tune={"metric": metric})

    assert space.metric(params, n_classes) == expected
