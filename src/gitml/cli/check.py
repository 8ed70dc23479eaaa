"""`gitml check`: every config problem a stage would hit, found before any stage runs.

Schema errors come from pydantic (`gitml.config`); what a schema cannot see belongs to
the layer that knows it, and each layer is asked here: the data contract exists, the
features config names real columns and transformers, the estimator imports from an
allowed module, suits the task and takes its arguments (scikit-learn's own parameter
constraints), tuning has a metric and a space for it, every `paths.*` stays inside the
project; and params.yaml must be the composition of conf/, by content, so a hand edit of
params.yaml is caught like an edit of conf/ that was never composed. Every problem is
reported at once.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from gitml.config import AUTO_TARGET, Params, compose, load, targets
from gitml.core.errors import ConfigError
from gitml.data import sources
from gitml.features import spec as feature_spec
from gitml.model import pipeline
from gitml.tune import space


def semantic_problems(params: Params, conf_dir: str | Path | None = None) -> list[str]:
    """Problems the schema cannot see: imports, task fit, contract, column names, expressions, search spaces.

    With `conf_dir`, a model that does not suit the task is reported with the model configs that do.
    """
    problems: list[str] = []
    allowed = params.project.allowed_targets
    contract = None
    try:
        contract = sources.contract(params.data)
    except ConfigError as exc:
        problems.append(str(exc))
    problems.extend(feature_spec.problems(contract, params.data.target, params.features, allowed))
    if not params.model.auto:  # model=auto is checked candidate by candidate
        spec = params.model.spec()
        try:
            built = targets.instantiate(spec, "model", allowed)
        except ConfigError as exc:  # a bad import or argument: its own line, scikit-learn's words kept whole
            problems.append(str(exc))
        else:
            mismatch = pipeline.task_problem(built, spec, params.data.task)
            if mismatch:  # only a model of the other task gets the list of configs that suit
                fitting = suited_configs(Path(conf_dir), params.data.task, allowed) if conf_dir else []
                hint = f"; model configs for {params.data.task}: {', '.join(fitting)}" if fitting else ""
                problems.append(f"{mismatch}{hint}")
    problems.extend(space.problems(params))
    return problems


def suited_configs(conf_dir: Path, task: str, allowed: list[str]) -> list[str]:
    """The options of conf/model/ whose estimator suits `task` (model=auto suits any), by name."""
    found = []
    for path in sorted((conf_dir / "model").glob("*.yaml")):
        try:
            target = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("_target_")
            if target == AUTO_TARGET or pipeline.suits(targets.resolve(str(target), "model", allowed), task):
                found.append(path.stem)
        except (OSError, yaml.YAMLError, AttributeError, ConfigError):
            continue  # not a model config gitml can judge; `gitml check` of that option says why
    return found


def check_project(params_path: str | Path = "params.yaml", conf_dir: str | Path = "conf", fresh: bool = True) -> Params:
    """Validate params.yaml fully; raise one ConfigError listing every problem."""
    problems: list[str] = []
    if fresh and Path(conf_dir).is_dir() and not compose.inside_experiment():
        try:
            compose.check_fresh(params_path, conf_dir)
        except ConfigError as exc:
            problems.append(str(exc))
    try:
        params = load(params_path)
    except ConfigError as exc:
        raise ConfigError("\n".join([*problems, str(exc)])) from exc
    problems.extend(params.paths.outside())
    problems.extend(semantic_problems(params, conf_dir if Path(conf_dir).is_dir() else None))
    if problems:
        raise ConfigError("\n".join(problems))
    return params
