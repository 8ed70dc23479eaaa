"""The `tune` section: hyperparameter search and its spaces."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from gitml.config.base import Section


class _Range(Section):
    def _check_range(self) -> _Range:
        if self.low >= self.high:
            raise ValueError(f"empty or inverted range: low {self.low} is not below high {self.high}")
        if self.log and self.low <= 0:
            raise ValueError(f"a log-scale range needs low > 0 (got low {self.low})")
        if self.log and getattr(self, "step", 1) != 1:
            raise ValueError("`step` and `log` cannot be combined")
        return self


class IntRange(_Range):
    """Integers in [low, high], every `step`-th, optionally sampled on a log scale."""

    type: Literal["int"]
    low: int
    high: int
    step: Annotated[int, Field(gt=0)] = 1
    log: bool = False

    _range = model_validator(mode="after")(_Range._check_range)


class FloatRange(_Range):
    """Reals in [low, high]; `log: true` samples log-uniformly (learning rates, regularisation)."""

    type: Literal["float"]
    low: float
    high: float
    log: bool = False

    _range = model_validator(mode="after")(_Range._check_range)


class Categorical(Section):
    type: Literal["categorical"]
    choices: Annotated[list[str | int | float | bool | None], Field(min_length=1)]


Distribution = Annotated[IntRange | FloatRange | Categorical, Field(discriminator="type")]

#: Metrics tuning can optimise (gitml.model.metrics); `auto` is roc_auc for two classes, roc_auc_ovr for
#: more, rmse for regression. A binary name on more classes means its macro counterpart (f1: f1_macro).
TuneMetric = Literal[
    "auto", "accuracy", "balanced_accuracy", "precision", "recall", "f1", "roc_auc", "precision_macro",
    "recall_macro", "f1_macro", "roc_auc_ovr", "log_loss", "rmse", "mae", "r2", "mape",
]


class Tune(Section):
    """Hyperparameter search (Optuna, seeded TPE) by cross-validation on the training split."""

    #: Off: the tune stage writes an empty best-params file at once. model=auto always tunes.
    enabled: bool = False
    n_trials: Annotated[int, Field(gt=0)] = 20
    #: Stop proposing trials after this many seconds (the batch in flight finishes).
    timeout: Annotated[float, Field(gt=0)] | None = None
    cv_folds: Annotated[int, Field(ge=2)] = 5
    metric: TuneMetric = "auto"
    seed: int = 42
    #: Stop a trial whose running CV score is below the median of earlier trials at that fold.
    pruning: bool = True
    #: Trials proposed together and evaluated in parallel. Results depend on it (not on the
    #: number of cores or the backend), so it is config.
    batch_size: Annotated[int, Field(gt=0)] = 4
    #: Search space per estimator class (the `_target_`'s class name or full path):
    #: parameter -> {type: int|float|categorical, ...}.
    spaces: dict[str, dict[str, Distribution]] = {}


