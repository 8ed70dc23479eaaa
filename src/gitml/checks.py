"""`gitml check`: every config problem a stage would hit, found before any stage runs.

Schema errors come from pydantic; beyond the schema, the estimator and transformer
targets must import from allowed modules, the estimator must suit the task, and
params.yaml must be the composition of conf/. All problems are reported together.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from gitml import compose, config, data, features, targets
from gitml.errors import ConfigError

ROLES = ("numeric", "categorical")


def semantic_problems(params: config.Params) -> list[str]:
    """Problems the schema cannot see: imports, task fit, contract, column names, expressions, search spaces."""
    from gitml import search, selection

    problems: list[str] = []
    allowed = params.project.allowed_targets
    contract = None
    try:
        contract = data.contract(params.data)
    except ConfigError as exc:
        problems.append(str(exc))
    problems.extend(features.problems(contract, params.data.target, params.features, allowed))
    if not selection.is_auto(params.model):  # model=auto is checked candidate by candidate
        try:
            from gitml import train

            train.estimator(params)
        except ConfigError as exc:
            problems.append(str(exc))
    problems.extend(search.problems(params))
    return problems


def _raw_target_problems(params_path: str | Path) -> list[str]:
    """Target problems in a params file that failed the schema, so both are reported at once."""
    try:
        raw = yaml.safe_load(Path(params_path).read_text())
    except (OSError, yaml.YAMLError):
        return []
    if not isinstance(raw, dict):
        return []
    project = raw.get("project") if isinstance(raw.get("project"), dict) else {}
    allowed = project.get("allowed_targets") or config.Project().allowed_targets
    feature_steps = raw.get("features") if isinstance(raw.get("features"), dict) else {}
    problems = []
    for key, spec in [("model", raw.get("model")), *((f"features.{r}", feature_steps.get(r)) for r in ROLES)]:
        for path, target in targets.find(spec, key):
            try:
                targets.resolve(str(target), path, allowed)
            except ConfigError as exc:
                problems.append(str(exc))
    return problems


def inside_experiment() -> bool:
    """`dvc exp run` composes params.yaml itself, with -S overrides a plain composition lacks."""
    return bool(os.environ.get("DVC_EXP_NAME"))


def check_project(
    params_path: str | Path = "params.yaml", conf_dir: str | Path = "conf", fresh: bool = True
) -> config.Params:
    """Validate params.yaml fully; raise one ConfigError listing every problem."""
    problems: list[str] = []
    if fresh and Path(conf_dir).is_dir() and not inside_experiment() and compose.conf_newer(params_path, conf_dir):
        try:
            compose.check_fresh(params_path, conf_dir)
        except ConfigError as exc:
            problems.append(str(exc))
    try:
        params = config.load(params_path)
    except ConfigError as exc:
        raise ConfigError("\n".join([*problems, str(exc), *_raw_target_problems(params_path)])) from exc
    problems.extend(semantic_problems(params))
    if problems:
        raise ConfigError("\n".join(problems))
    return params
