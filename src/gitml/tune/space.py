"""Search spaces and tuning metrics, checked against the task and the estimator before any trial.

The schema (gitml.config) catches empty or inverted ranges and unknown distribution
types; what it cannot see needs the task and the built estimator: a metric that does not
fit the task, a model with no search space, and a parameter the estimator does not
accept. `problems` finds them all at once, for `gitml check` and for the tune stage
before its first trial. Nothing here imports Optuna.
"""

from __future__ import annotations

from typing import Any

from gitml.config import Categorical, Distribution, Params, targets
from gitml.core.errors import ConfigError
from gitml.model import metrics, pipeline
from gitml.tune import autoselect


def metric(params: Params) -> str:
    """The metric tuning optimises, `auto` resolved; a metric of the other task is an error."""
    name = params.tune.metric
    task = params.data.task
    if name == "auto":
        return metrics.DEFAULT[task]
    if metrics.METRICS[name].task != task:
        fitting = sorted(metrics.for_task(task))
        raise ConfigError(
            f"tune.metric: {name!r} is a {metrics.METRICS[name].task} metric but data.task is {task} "
            f"(use one of {fitting})"
        )
    return name


def space_for(target: str, spaces: dict[str, dict[str, Distribution]]) -> tuple[str, dict[str, Distribution]]:
    """The search space of an estimator class: keyed by its full path or its class name."""
    for key in (target, target.rpartition(".")[2]):
        if key in spaces:
            return key, spaces[key]
    raise ConfigError(
        f"tune.spaces: no search space for {target} (add tune.spaces.{target.rpartition('.')[2]} in conf/tune/)"
    )


def check_space(params: Params, spec: dict[str, Any]) -> list[str]:
    """Problems of one model spec's space: missing, naming parameters the estimator lacks, or
    reaching values its parameter constraints refuse (each bound, each choice)."""
    try:
        key, space = space_for(spec["_target_"], params.tune.spaces)
        built = pipeline.build(params, spec)
    except ConfigError as exc:
        return [str(exc)]
    accepted = built.get_params(deep=True)
    estimator = built.named_steps[pipeline.STEP]
    name = spec["_target_"].rpartition(".")[2]
    found = []
    for param, distribution in space.items():
        if f"{pipeline.STEP}__{param}" not in accepted:
            found.append(f"tune.spaces.{key}.{param}: {name} does not accept a parameter {param!r}")
            continue
        reached = distribution.choices if isinstance(distribution, Categorical) else [distribution.low,
                                                                                     distribution.high]
        found.extend(dict.fromkeys(problem for value in reached for problem in
                                   targets.argument_problems(estimator, f"tune.spaces.{key}", {param: value})))
    return found


def tuned_specs(params: Params) -> dict[str, dict[str, Any]]:
    """The model specs the tune stage will search, by family: the model, or model=auto's candidates."""
    if params.model.auto:
        return {name: candidate.model.spec() for name, candidate in autoselect.candidates(params).items()}
    if params.tune.enabled:
        return {params.model.target_.rpartition(".")[2]: params.model.spec()}
    return {}


def problems(params: Params) -> list[str]:
    """Every tuning problem, one line each, naming its key path; empty when tuning is off."""
    try:
        specs = tuned_specs(params)
    except ConfigError as exc:
        return [str(exc)]
    if not specs:
        return []
    found: list[str] = []
    try:
        metric(params)
    except ConfigError as exc:
        found.append(str(exc))
    for spec in specs.values():
        found.extend(check_space(params, spec))
    return found


def validate(params: Params) -> None:
    """Raise one ConfigError listing every tuning problem (called before the first trial)."""
    found = problems(params)
    if found:
        raise ConfigError("\n".join(found))
