"""Tuning and model=auto: reproducible, effective, validated before the first trial."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from gitml import checks, compose, config, contract, search, selection, train, tune, tuning
from gitml.errors import ConfigError, TuneError

CONF = Path(__file__).resolve().parents[1] / "conf"


def make_params(frame: pd.DataFrame, task: str, overrides: list[str], **sections: Any) -> config.Params:
    """Params composed from the repository's conf/ with `overrides`, on `frame` (target column `y`)."""
    raw = yaml.safe_load(compose.compose(CONF, overrides))
    raw["data"] = {"source": {"kind": "file", "path": "unused.parquet"}, "task": task, "target": "y",
                   "contract": contract.infer(frame, "y", task)}
    raw["compute"]["n_jobs"] = 2
    for key, value in sections.items():
        raw[key].update(value)
    return config.validate(raw)


def linear_data(n: int = 300, seed: int = 0) -> pd.DataFrame:
    """A class boundary linear in ten features: a linear model's home ground."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 10))
    logit = x @ rng.normal(size=10) + 0.5 * rng.normal(size=n)
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(10)])
    frame["y"] = np.where(logit > 0, "pos", "neg")
    return frame


def interaction_data(n: int = 300, seed: int = 0) -> pd.DataFrame:
    """XOR of two features' signs (plus noise columns): invisible to a linear model, easy for trees."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, size=(n, 4))
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(4)])
    frame["y"] = np.where(x[:, 0] * x[:, 1] > 0, "pos", "neg")
    return frame


FAST_TUNE = {"enabled": True, "n_trials": 6, "cv_folds": 3, "batch_size": 3, "pruning": False}


def test_seeded_tuning_is_reproducible_and_prunes_hopeless_trials() -> None:
    frame = linear_data()
    params = make_params(frame, "classification", ["model=logistic_regression"],
                         tune={**FAST_TUNE, "n_trials": 12, "pruning": True, "batch_size": 2, "metric": "accuracy",
                               "spaces": {"LogisticRegression": {"C": {"type": "float", "low": 1e-6, "high": 10.0,
                                                                        "log": True}}}})
    first = tune.run_study(params, "lr", params.model, frame, 12, n_jobs=1)
    second = tune.run_study(params, "lr", params.model, frame, 12, n_jobs=2)
    assert first.best_params == second.best_params
    assert first.trials == second.trials
    states = [row["state"] for row in first.trials]
    assert "pruned" in states, states  # tiny C predicts one class: stopped after its first fold
    assert all(row["folds"] < 3 for row in first.trials if row["state"] == "pruned")
    assert first.best_value > 0.85 and first.best_params["C"] > 1e-3


def test_tuned_model_beats_the_default_where_regularisation_is_known_to_matter() -> None:
    """Ridge on few rows and many mostly useless features: the default alpha=1 overfits."""
    rng = np.random.default_rng(1)

    def sample(n: int) -> pd.DataFrame:
        x = rng.normal(size=(n, 60))
        frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(60)])
        frame["y"] = x[:, :5].sum(axis=1) + 2.0 * rng.normal(size=n)
        return frame

    fit_rows, test_rows = sample(80), sample(2000)
    params = make_params(fit_rows, "regression", ["model=ridge", "data=diabetes"], tune={**FAST_TUNE, "n_trials": 12})
    outcome = tuning.run(params, fit_rows, show_progress=False)
    assert outcome is not None and outcome.chosen.metric == "rmse"
    best = tuning.parse_best(tuning.best_params_text(params, outcome))
    inputs, truth = test_rows.drop(columns=["y"]), test_rows["y"].to_numpy()
    default_rmse = search.score("rmse", train.fit(params, fit_rows), inputs, truth)
    tuned = train.fit(params, fit_rows, best)
    assert tuned[-1].alpha == best["params"]["alpha"] > 1.0
    assert search.score("rmse", tuned, inputs, truth) < 0.9 * default_rmse


@pytest.mark.parametrize(("frame", "expected"), [
    (linear_data(), {"logistic_regression"}),
    (interaction_data(), {"random_forest", "hist_gradient_boosting"}),
], ids=["linear", "interactions"])
def test_auto_selection_picks_the_family_the_data_favours(
    frame: pd.DataFrame, expected: set[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    params = make_params(
        frame, "classification",
        ["model=auto", "model.candidates.random_forest.model.n_estimators=30",
         "model.candidates.hist_gradient_boosting.model.max_iter=30",
         *(f"model.candidates.{name}.n_trials=3" for name in ("logistic_regression", "random_forest",
                                                              "hist_gradient_boosting"))],
        tune={**FAST_TUNE, "spaces": {
            "LogisticRegression": {"C": {"type": "float", "low": 0.01, "high": 10.0, "log": True}},
            "RandomForestClassifier": {"min_samples_leaf": {"type": "int", "low": 1, "high": 5}},
            "HistGradientBoostingClassifier": {"learning_rate": {"type": "float", "low": 0.05, "high": 0.3}},
        }},
    )
    assert list(selection.candidates(params)) == ["logistic_regression", "random_forest", "hist_gradient_boosting"]
    monkeypatch.chdir(tmp_path)
    outcome = tuning.run(params, frame, show_progress=False)
    tuning.write_outputs(params, outcome)
    assert outcome is not None and outcome.chosen.family in expected
    report = yaml.safe_load(Path(params.paths.selection).read_text())
    assert report["winner"] == outcome.chosen.family and len(report["candidates"]) == 3
    assert outcome.chosen.family in Path(params.paths.selection_report).read_text()
    # The winner is a normal model config, and train fits exactly it.
    selected = yaml.safe_load(Path(params.paths.selected_model).read_text())
    assert selected["_target_"] == outcome.chosen.estimator
    assert {**selected, **outcome.chosen.best_params} == selected
    model = train.pipeline(params, tuning.read_best(params.paths.best_params))[-1]
    assert f"{type(model).__module__}.{type(model).__name__}".endswith(selected["_target_"].rpartition(".")[2])
    assert model.get_params().items() >= {k: v for k, v in selected.items() if k != "_target_"}.items()
    trials = pd.read_csv(params.paths.tuning)
    assert set(trials["family"]) == {"logistic_regression", "random_forest", "hist_gradient_boosting"}


def test_disabled_tuning_writes_empty_outputs_and_train_uses_the_model_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    params = make_params(linear_data(), "classification", [])
    monkeypatch.chdir(tmp_path)
    assert tuning.run(params, linear_data()) is None
    tuning.write_outputs(params, None)
    assert tuning.read_best(params.paths.best_params) == {}
    assert train.pipeline(params, {})[-1].get_params()["n_estimators"] == params.model["n_estimators"]
    assert pd.read_csv(params.paths.tuning).empty
    assert sorted(p.name for p in Path(params.paths.tuning_plots).iterdir()) == ["history.json", "importance.json"]


def test_progress_bar_shows_trials_best_and_time_left(capfd: pytest.CaptureFixture[str]) -> None:
    frame = linear_data(120)
    params = make_params(frame, "classification", ["model=logistic_regression"], tune=FAST_TUNE)
    tune.run_study(params, "lr", params.model, frame, 4, n_jobs=1, show_progress=True)
    err = capfd.readouterr().err
    assert "4/4 trials" in err and "best roc_auc=" in err and " left" in err


def test_best_params_for_another_estimator_are_refused() -> None:
    params = make_params(linear_data(), "classification", [])
    best = {"estimator": "sklearn.linear_model.LogisticRegression", "params": {"C": 0.5}}
    with pytest.raises(ConfigError, match="tuned for sklearn.linear_model.LogisticRegression"):
        train.pipeline(params, best)
    auto = make_params(linear_data(), "classification", ["model=auto"])
    with pytest.raises(ConfigError, match="model=auto has no selected family yet"):
        train.pipeline(auto, {})
    assert type(train.pipeline(auto, best)[-1]).__name__ == "LogisticRegression"


def test_every_failing_trial_is_one_error_naming_the_family() -> None:
    frame = linear_data(120)
    params = make_params(frame, "classification", ["model=logistic_regression"],
                         tune={**FAST_TUNE, "spaces": {"LogisticRegression": {
                             "solver": {"type": "categorical", "choices": ["no-such-solver"]}}}})
    with pytest.raises(TuneError, match=r"no trial of lr .*LogisticRegression.* first error: .*solver"):
        tune.run_study(params, "lr", params.model, frame, 2, n_jobs=1)


BAD_SPACES = [
    ({"n_estimatorz": {"type": "int", "low": 1, "high": 5}},
     "tune.spaces.RandomForestClassifier.n_estimatorz: RandomForestClassifier does not accept a parameter"),
    ({"n_estimators": {"type": "int", "low": 50, "high": 10}}, "empty or inverted range: low 50 is not below high 10"),
    ({"n_estimators": {"type": "int", "low": 5, "high": 5}}, "empty or inverted range"),
    ({"n_estimators": {"type": "uniform", "low": 1, "high": 5}}, "Input tag 'uniform'"),
    ({"max_features": {"type": "float", "low": 0.0, "high": 1.0, "log": True}}, "log-scale range needs low > 0"),
]


@pytest.mark.parametrize(("space", "message"), BAD_SPACES, ids=["unknown-param", "inverted", "empty", "type", "log"])
def test_bad_search_spaces_are_caught_by_gitml_check(space: dict[str, Any], message: str) -> None:
    raw = make_params(linear_data(), "classification", []).model_dump()
    raw["tune"].update(enabled=True, spaces={"RandomForestClassifier": space})
    with pytest.raises(ConfigError, match=message):
        found = checks.semantic_problems(config.validate(raw))
        raise ConfigError("\n".join(found))


def test_metric_of_the_other_task_and_a_missing_space_are_caught_before_any_trial() -> None:
    frame = linear_data(60)
    params = make_params(frame, "classification", ["model=logistic_regression"],
                         tune={"enabled": True, "metric": "rmse", "spaces": {}})
    problems = checks.semantic_problems(params)
    assert any(p.startswith("tune.metric: 'rmse' is a regression metric but data.task is classification")
               for p in problems), problems
    assert any(p.startswith("tune.spaces: no search space for sklearn.linear_model.LogisticRegression")
               for p in problems), problems
    with pytest.raises(ConfigError, match="tune.metric"):
        tuning.run(params, frame)


def test_auto_candidates_are_validated() -> None:
    params = make_params(linear_data(60), "classification", ["model=auto", "model.candidates.ridge.n_trials=0"])
    assert any("model.candidates.ridge.n_trials" in p for p in checks.semantic_problems(params))
    regression_only = make_params(linear_data(60), "classification", ["model=auto", "~model.candidates.random_forest",
                                  "~model.candidates.logistic_regression", "~model.candidates.hist_gradient_boosting"])
    assert checks.semantic_problems(regression_only) == [
        "model.candidates: no candidate is a classification estimator (data.task)"]
