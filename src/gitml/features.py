"""Feature preparation: the seeded train/test split and the preprocessing pipeline.

The preprocessing is compiled from config into one scikit-learn ColumnTransformer that
is fitted inside the model pipeline, so training and serving apply exactly the same
transforms.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gitml import targets
from gitml.config import Contract, Features
from gitml.errors import ConfigError, DataError

if TYPE_CHECKING:
    import pandas as pd
    from sklearn.compose import ColumnTransformer


def input_columns(contract: Contract, target: str, features: Features) -> dict[str, list[str]]:
    """The model's input columns by role, in contract order, without target and drops."""
    unknown = [name for name in features.drop if name not in contract.columns]
    if unknown:
        raise ConfigError(f"features.drop: columns not in the data contract: {unknown}")
    roles: dict[str, list[str]] = {"numeric": [], "categorical": []}
    for name, spec in contract.columns.items():
        if name != target and name not in features.drop:
            roles[spec.role].append(name)
    return roles


def select(frame: pd.DataFrame, columns: dict[str, list[str]], target: str, source: str) -> pd.DataFrame:
    """The input columns and the target, failing with the missing names rather than a KeyError."""
    wanted = [name for names in columns.values() for name in names] + [target]
    missing = [name for name in wanted if name not in frame.columns]
    if missing:
        raise DataError(f"{source}: columns missing: {missing} (the validate stage checks the contract)")
    return frame[wanted]


def split(
    frame: pd.DataFrame, target: str, task: str, features: Features, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Seeded train/test split, stratified on the target for classification."""
    from sklearn.model_selection import train_test_split

    stratify = frame[target] if task == "classification" and features.split.stratify else None
    try:
        train, test = train_test_split(
            frame, test_size=features.split.test_size, random_state=seed, stratify=stratify
        )
    except ValueError as exc:
        raise ConfigError(f"features.split: cannot split {len(frame)} rows: {exc}") from exc
    return train.reset_index(drop=True), test.reset_index(drop=True)


def build_steps(specs: list[dict[str, Any]], key: str, allowed: list[str]) -> Any:
    from sklearn.pipeline import make_pipeline

    if not specs:
        return "passthrough"
    steps = [targets.instantiate(spec, f"{key}[{i}]", allowed) for i, spec in enumerate(specs)]
    for i, step in enumerate(steps):
        if not hasattr(step, "fit") or not hasattr(step, "transform"):
            raise ConfigError(f"{key}[{i}]._target_: {specs[i]['_target_']!r} is not a transformer (no fit/transform)")
    return make_pipeline(*steps)


def preprocessor(columns: dict[str, list[str]], features: Features, allowed: list[str]) -> ColumnTransformer:
    """An unfitted ColumnTransformer applying each role's configured steps to its columns."""
    from sklearn.compose import ColumnTransformer

    parts = [
        (role, build_steps(getattr(features, role), f"features.{role}", allowed), names)
        for role, names in columns.items()
        if names
    ]
    return ColumnTransformer(parts, remainder="drop", verbose_feature_names_out=False)
