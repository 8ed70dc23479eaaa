"""Fixtures of the tuning tests: params composed from conf/ on a given frame, and data each family wins on."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from gitml import config
from gitml.config import compose
from gitml.data import contract

#: A small, fast search: few trials, three folds, no pruning.
_FAST_TUNE = {"enabled": True, "n_trials": 6, "cv_folds": 3, "batch_size": 3, "pruning": False}


def _linear_data(n: int = 300, seed: int = 0) -> pd.DataFrame:
    """A class boundary linear in ten features: a linear model's home ground."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 10))
    logit = x @ rng.normal(size=10) + 0.5 * rng.normal(size=n)
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(10)])
    frame["y"] = np.where(logit > 0, "pos", "neg")
    return frame


def _interaction_data(n: int = 300, seed: int = 0) -> pd.DataFrame:
    """XOR of two features' signs (plus noise columns): invisible to a linear model, easy for trees."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, size=(n, 4))
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(4)])
    frame["y"] = np.where(x[:, 0] * x[:, 1] > 0, "pos", "neg")
    return frame


@pytest.fixture
def fast_tune() -> dict[str, Any]:
    """The `tune` section of a small, fast search (a fresh copy per test)."""
    return dict(_FAST_TUNE)


@pytest.fixture(scope="session")
def linear_data() -> Callable[..., pd.DataFrame]:
    """`linear_data(n=300, seed=0)`: classes `pos`/`neg` (column `y`) split by a hyperplane in ten features."""
    return _linear_data


@pytest.fixture(scope="session")
def interaction_data() -> Callable[..., pd.DataFrame]:
    """`interaction_data(n=300, seed=0)`: classes `pos`/`neg` (column `y`) by the XOR of two features' signs."""
    return _interaction_data


@pytest.fixture(scope="session")
def tune_params() -> Callable[..., config.Params]:
    """`tune_params(frame, task, overrides, **sections)`: params composed from the repository's conf/ with
    `overrides`, on `frame` (target column `y`, its contract inferred), each section updated by `sections`."""
    conf = Path(__file__).resolve().parents[2] / "conf"

    def make(frame: pd.DataFrame, task: str, overrides: list[str], **sections: Any) -> config.Params:
        raw = yaml.safe_load(compose.compose(conf, overrides))
        raw["data"] = {"source": {"kind": "file", "path": "unused.parquet"}, "task": task, "target": "y",
                       "contract": contract.infer(frame, "y", task)}
        raw["compute"]["n_jobs"] = 2
        for key, value in sections.items():
            raw[key].update(value)
        return config.validate(raw)

    return make
