"""Fixtures of the monitoring tests: seeded synthetic tables, injected drift and a params object."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from gitml import config
from gitml.config import SyntheticSource
from gitml.data import sources

#: The columns `shift` moves: num_2 (mean), num_7 (spread) and cat_1 (mix).
_SHIFTED = ("num_2", "num_7", "cat_1")


def _params(n_numeric: int = 20, n_categorical: int = 5, **monitor: Any) -> config.Params:
    return config.validate({
        "data": {
            "source": {"kind": "synthetic", "n_rows": 100, "n_numeric": n_numeric, "n_categorical": n_categorical},
            "task": "classification",
            "target": "target",
        },
        "model": {"_target_": "sklearn.linear_model.LogisticRegression"},
        "monitor": monitor,
    })


def _table(n_rows: int, seed: int, n_numeric: int = 20, n_categorical: int = 5) -> pd.DataFrame:
    source = SyntheticSource(kind="synthetic", n_rows=n_rows, n_numeric=n_numeric, n_categorical=n_categorical)
    return sources.synthetic(source, "classification", "target", seed)


def _shift(frame: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    out = frame.copy()
    out["num_2"] = out["num_2"] + 0.5 * out["num_2"].std()
    out["num_7"] = out["num_7"].mean() + 2.0 * (out["num_7"] - out["num_7"].mean())
    rows = rng.random(len(out)) < 0.5
    out.loc[rows, "cat_1"] = "a"
    return out


def _write(frame: pd.DataFrame, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    return path


@pytest.fixture(scope="session")
def monitor_params() -> Callable[..., config.Params]:
    """`monitor_params(n_numeric=20, n_categorical=5, **monitor)`: params for the synthetic source's schema
    (its contract names the columns and roles), with `monitor` settings."""
    return _params


@pytest.fixture(scope="session")
def monitor_table() -> Callable[..., pd.DataFrame]:
    """`monitor_table(n_rows, seed, n_numeric=20, n_categorical=5)`: a seeded synthetic classification table."""
    return _table


@pytest.fixture(scope="session")
def shift() -> Callable[..., pd.DataFrame]:
    """`shift(frame, seed=0)`: a copy with drift injected into exactly the `shifted` columns."""
    return _shift


@pytest.fixture(scope="session")
def shifted() -> list[str]:
    """The columns `shift` moves: num_2 (mean), num_7 (spread) and cat_1 (mix)."""
    return list(_SHIFTED)


@pytest.fixture(scope="session")
def write_table() -> Callable[[pd.DataFrame, Path], Path]:
    """`write_table(frame, path)`: write CSV or Parquet by the path's suffix, making folders; returns the path."""
    return _write
