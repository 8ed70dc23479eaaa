"""`gitml check`: every config problem a stage would hit, found before any stage runs.

Schema errors come from pydantic (`gitml.config`); what a schema cannot see belongs to
the layer that knows it, and each layer is asked here: the data contract exists, the
features config names real columns and transformers, the estimator imports from an
allowed module, suits the task and takes its arguments (scikit-learn's own parameter
constraints), tuning has a metric and a space for it, every `paths.*` stays inside the
project; and params.yaml must be the composition of conf/. Every problem is reported at once.
"""

from __future__ import annotations

from pathlib import Path

from gitml.config import Params, compose, load
from gitml.core.errors import ConfigError
from gitml.data import sources
from gitml.features import spec as feature_spec
from gitml.model import pipeline
from gitml.tune import space


def semantic_problems(params: Params) -> list[str]:
    """Problems the schema cannot see: imports, task fit, contract, column names, expressions, search spaces."""
    problems: list[str] = []
    allowed = params.project.allowed_targets
    contract = None
    try:
        contract = sources.contract(params.data)
    except ConfigError as exc:
        problems.append(str(exc))
    problems.extend(feature_spec.problems(contract, params.data.target, params.features, allowed))
    if not params.model.auto:  # model=auto is checked candidate by candidate
        try:
            pipeline.estimator(params.model.spec(), params.data.task, allowed)
        except ConfigError as exc:
            problems.append(str(exc))
    problems.extend(space.problems(params))
    return problems


def check_project(params_path: str | Path = "params.yaml", conf_dir: str | Path = "conf", fresh: bool = True) -> Params:
    """Validate params.yaml fully; raise one ConfigError listing every problem."""
    problems: list[str] = []
    conf_edited = Path(conf_dir).is_dir() and compose.conf_newer(params_path, conf_dir)
    if fresh and conf_edited and not compose.inside_experiment():
        try:
            compose.check_fresh(params_path, conf_dir)
        except ConfigError as exc:
            problems.append(str(exc))
    try:
        params = load(params_path)
    except ConfigError as exc:
        raise ConfigError("\n".join([*problems, str(exc)])) from exc
    problems.extend(params.paths.outside())
    problems.extend(semantic_problems(params))
    if problems:
        raise ConfigError("\n".join(problems))
    return params
