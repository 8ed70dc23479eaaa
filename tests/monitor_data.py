"""Shared test data for the monitoring tests: seeded synthetic tables and a params object."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gitml import config
from gitml.config import SyntheticSource
from gitml.data import synthetic


def params(n_numeric: int = 20, n_categorical: int = 5, **monitor: Any) -> config.Params:
    """Params for the synthetic source's schema (its contract names the columns and roles)."""
    return config.validate({
        "data": {
            "source": {"kind": "synthetic", "n_rows": 100, "n_numeric": n_numeric, "n_categorical": n_categorical},
            "task": "classification",
            "target": "target",
        },
        "model": {"_target_": "sklearn.linear_model.LogisticRegression"},
        "monitor": monitor,
    })


def table(n_rows: int, seed: int, n_numeric: int = 20, n_categorical: int = 5) -> pd.DataFrame:
    source = SyntheticSource(kind="synthetic", n_rows=n_rows, n_numeric=n_numeric, n_categorical=n_categorical)
    return synthetic(source, "classification", "target", seed)


def shift(frame: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Inject drift into exactly num_2 (mean), num_7 (spread) and cat_1 (mix)."""
    rng = np.random.default_rng(seed)
    out = frame.copy()
    out["num_2"] = out["num_2"] + 0.5 * out["num_2"].std()
    out["num_7"] = out["num_7"].mean() + 2.0 * (out["num_7"] - out["num_7"].mean())
    rows = rng.random(len(out)) < 0.5
    out.loc[rows, "cat_1"] = "a"
    return out


SHIFTED = ["num_2", "num_7", "cat_1"]


def write(frame: pd.DataFrame, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    return path
