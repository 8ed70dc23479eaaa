"""Shared helpers of the feature tests: params built from the repository's own params.yaml."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from gitml import compose, config

ROOT = Path(__file__).resolve().parents[1]


def raw_params(tmp_path: Path, *overrides: str) -> dict[str, Any]:
    """The composition of conf/ with Hydra overrides, every output path moved under tmp_path."""
    raw = yaml.safe_load(compose.compose(ROOT / "conf", overrides))
    raw["paths"] = {key: str(tmp_path / value) for key, value in raw["paths"].items()}
    return raw


def params(tmp_path: Path, *overrides: str, features: dict[str, Any] | None = None, **sections: Any) -> config.Params:
    """Validated params: composed, paths in tmp_path, `features` keys and whole sections replaced."""
    raw = raw_params(tmp_path, *overrides)
    raw["features"].update(copy.deepcopy(features or {}))
    raw.update(copy.deepcopy(sections))
    return config.validate(raw)


def synthetic(n_rows: int = 600, task: str = "classification", **source: Any) -> dict[str, Any]:
    """A `data` section for the seeded synthetic source."""
    return {"source": {"kind": "synthetic", "n_rows": n_rows, **source}, "task": task, "target": "target"}
