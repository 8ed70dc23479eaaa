"""Hyperparameter search: Optuna's seeded TPE sampler, scored by cross-validation.

Trials are proposed in batches of `tune.batch_size` and their cross-validation fits run
as joblib tasks, locally or on a Dask cluster (gitml.compute). The sequence of
proposals depends only on config and data, never on the number of cores or the
backend, so a seeded search finds the same best parameters anywhere. With pruning, a
batch's folds run one round at a time and a trial whose running mean falls below the
median of earlier trials at that fold stops there.
"""

from __future__ import annotations

import logging
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gitml.config import Categorical, Distribution, IntRange, Params
from gitml.core.errors import TuneError
from gitml.model import metrics
from gitml.model.pipeline import STEP

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from sklearn.pipeline import Pipeline

log = logging.getLogger(__name__)


@dataclass
class StudyResult:
    """One family's search: every trial, the best one, and parameter importances."""

    family: str
    estimator: str
    metric: str
    direction: str
    best_value: float
    best_params: dict[str, Any]
    trials: list[dict[str, Any]]
    importance: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0


def splits(params: Params, truth: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Seeded K folds of the training rows, stratified for classification."""
    import numpy as np
    from sklearn.model_selection import KFold, StratifiedKFold

    kind = StratifiedKFold if params.data.task == "classification" else KFold
    splitter = kind(n_splits=params.tune.cv_folds, shuffle=True, random_state=params.tune.seed)
    return list(splitter.split(np.zeros(len(truth)), truth))


def fit_score(
    model: Any, inputs: pd.DataFrame, truth: np.ndarray, fold: tuple[Any, Any], metric: str
) -> tuple[float, str]:
    """Fit a fresh copy of `model` on one fold's training rows and score the held-out rows.

    A joblib task (it runs in another process or on a Dask worker). An estimator that
    rejects a sampled combination fails its trial, not the search: the error comes back.
    """
    from sklearn.base import clone

    train_rows, test_rows = fold
    fitted = clone(model)
    try:
        fitted.fit(inputs.iloc[train_rows], truth[train_rows])
        return metrics.score(metric, fitted, inputs.iloc[test_rows], truth[test_rows]), ""
    except (ValueError, TypeError) as exc:
        return math.nan, f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"


class _Progress:
    """A progress bar on stderr: trials done, best value so far, time left (tqdm; off when not a terminal)."""

    def __init__(self, family: str, total: int, metric: str, deadline: float | None, show: bool | None) -> None:
        from tqdm.auto import tqdm

        self.metric, self.deadline, self.started = metric, deadline, time.monotonic()
        self.bar = tqdm(
            total=total, desc=f"tune {family}", unit="trial", file=sys.stderr,
            disable=None if show is None else not show,
            bar_format="{desc}: {n_fmt}/{total_fmt} trials |{bar:20}| {elapsed}{postfix}", dynamic_ncols=False,
        )

    def update(self, done: int, best: float | None) -> None:
        elapsed = time.monotonic() - self.started
        left = elapsed / done * (self.bar.total - done) if done else math.inf
        if self.deadline is not None:
            left = min(left, max(0.0, self.deadline - time.monotonic()))
        best_text = "-" if best is None else f"{best:.4f}"
        left_text = "?" if math.isinf(left) else f"{left:.0f} s"
        self.bar.set_postfix_str(f"best {self.metric}={best_text}, {left_text} left", refresh=False)
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        self.bar.close()


def _importance(study: Any) -> dict[str, float]:
    import optuna

    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if len(complete) < 2:
        return {}
    try:
        return {name: float(value) for name, value in optuna.importance.get_param_importances(study).items()}
    except (ValueError, RuntimeError, ZeroDivisionError) as exc:  # too few distinct values to apportion
        log.info("no parameter importance for %s: %s", study.study_name, exc)
        return {}


def run_study(
    params: Params,
    family: str,
    spec: dict[str, Any],
    space: dict[str, Distribution],
    metric: str,
    build: Callable[[dict[str, Any]], Pipeline],
    train: pd.DataFrame,
    n_trials: int,
    n_jobs: int,
    show_progress: bool | None = None,
) -> StudyResult:
    """Search `space` with `n_trials` trials of the pipeline `build(spec)` makes, scored by `metric`;
    joblib work goes to the active backend."""
    import optuna
    from joblib import Parallel, delayed
    from sklearn.base import clone

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    direction = metrics.direction(metric)
    base = build(spec)
    target = params.data.target
    inputs, truth = train.drop(columns=[target]), train[target].to_numpy()
    folds = splits(params, truth)
    tune = params.tune
    pruner = optuna.pruners.MedianPruner(n_startup_trials=5) if tune.pruning else optuna.pruners.NopPruner()
    study = optuna.create_study(
        direction="maximize" if direction == "higher" else "minimize",
        sampler=optuna.samplers.TPESampler(seed=tune.seed), pruner=pruner, study_name=family,
    )
    started = time.monotonic()
    deadline = started + tune.timeout if tune.timeout else None
    rounds = [[k] for k in range(len(folds))] if tune.pruning else [list(range(len(folds)))]
    progress = _Progress(family, n_trials, metric, deadline, show_progress)
    rows: list[dict[str, Any]] = []
    log.info("tuning %s: %d trials of %d-fold CV on %d rows (%s)", family, n_trials, len(folds), len(train), metric)
    try:
        with Parallel(n_jobs=n_jobs) as parallel:
            while len(rows) < n_trials and (deadline is None or time.monotonic() < deadline):
                batch = [study.ask() for _ in range(min(tune.batch_size, n_trials - len(rows)))]
                values = [suggest(trial, space) for trial in batch]
                models = [clone(base).set_params(**{f"{STEP}__{k}": v for k, v in sample.items()})
                          for sample in values]
                scores: list[list[float]] = [[] for _ in batch]
                errors: dict[int, str] = {}
                pruned: set[int] = set()
                active = list(range(len(batch)))
                for round_folds in rounds:
                    tasks = [(i, k) for i in active for k in round_folds]
                    results = parallel(delayed(fit_score)(models[i], inputs, truth, folds[k], metric) for i, k in tasks)
                    for (i, _), (value, error) in zip(tasks, results, strict=True):
                        scores[i].append(value)
                        if error or not math.isfinite(value):
                            errors.setdefault(i, error or f"{metric} is not finite")
                    for i in [i for i in active if i not in errors]:
                        batch[i].report(sum(scores[i]) / len(scores[i]), step=len(scores[i]) - 1)
                        if batch[i].should_prune():
                            pruned.add(i)
                    active = [i for i in active if i not in errors and i not in pruned]
                    if not active:
                        break
                for i, trial in enumerate(batch):
                    rows.append(_tell(study, trial, values[i], scores[i], errors.get(i), i in pruned, family))
                progress.update(len(rows), _best(study))
    finally:
        progress.close()
    return _result(study, params, family, spec, metric, direction, rows, time.monotonic() - started)


def _best(study: Any) -> float | None:
    try:
        return float(study.best_value)
    except ValueError:  # no complete trial yet
        return None


def _tell(
    study: Any, trial: Any, values: dict[str, Any], scores: list[float], error: str | None, pruned: bool, family: str
) -> dict[str, Any]:
    from optuna.trial import TrialState

    mean = sum(scores) / len(scores) if scores and not error else None
    if error:
        study.tell(trial, state=TrialState.FAIL)
        state = "fail"
    elif pruned:
        study.tell(trial, state=TrialState.PRUNED)
        state = "pruned"
    else:
        study.tell(trial, mean)
        state = "complete"
    return {"family": family, "trial": trial.number, "state": state, "value": mean, "folds": len(scores),
            "params": values, "error": error or ""}


def _result(
    study: Any, params: Params, family: str, spec: dict[str, Any], metric: str, direction: str,
    rows: list[dict[str, Any]], seconds: float,
) -> StudyResult:
    complete = [row for row in rows if row["state"] == "complete"]
    if not complete:
        first = next((row["error"] for row in rows if row["error"]), "every trial was pruned")
        raise TuneError(f"tune: no trial of {family} ({spec['_target_']}) completed; first error: {first}")
    best = rows[study.best_trial.number]
    log.info("%s: best %s %.5f after %d trials in %.1f s", family, metric, best["value"], len(rows), seconds)
    return StudyResult(
        family=family, estimator=spec["_target_"], metric=metric, direction=direction, best_value=best["value"],
        best_params=dict(best["params"]), trials=rows, importance=_importance(study), seconds=seconds,
    )


def suggest(trial: Any, space: dict[str, Distribution]) -> dict[str, Any]:
    """Sample one value per parameter from an Optuna trial, in the space's order."""
    values: dict[str, Any] = {}
    for name, dist in space.items():
        if isinstance(dist, Categorical):
            values[name] = trial.suggest_categorical(name, dist.choices)
        elif isinstance(dist, IntRange):
            values[name] = trial.suggest_int(name, dist.low, dist.high, step=dist.step, log=dist.log)
        else:
            values[name] = trial.suggest_float(name, dist.low, dist.high, log=dist.log)
    return values
