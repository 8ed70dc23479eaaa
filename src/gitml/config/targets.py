"""Safe Hydra `_target_` instantiation.

Any scikit-learn compatible class can be named in config without code, but only from
allowed module prefixes (`project.allowed_targets`), so a config cannot import arbitrary
code by mistake; a bad target, or an argument scikit-learn's own parameter constraints
refuse, is one line naming its key path, not a Hydra traceback in the middle of a stage.

What gets built is what was judged: every `_target_` is judged by `gitml.config.allowlist`
when params.yaml is read (after its interpolations are resolved) and again here, by the
module that defines the class (not one that re-exports it); a spec with `${` left in it is
never handed to Hydra, which would resolve it again.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import Any

from gitml.config import allowlist, interpolation
from gitml.core.errors import ConfigError
from gitml.core.text import cut, quoted


def resolve(target: str, key: str, allowed: Iterable[str]) -> type:
    """Import the class a `_target_` names, refusing modules outside `allowed`."""
    allowed = list(allowed)
    line = allowlist.judge(target, key, allowed)
    if line:
        raise ConfigError(line)
    module_name, _, name = target.rpartition(".")
    try:
        obj = getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ConfigError(f"{key}._target_: cannot import {quoted(target)} ({exc})") from exc
    if not isinstance(obj, type):
        raise ConfigError(f"{key}._target_: {quoted(target)} is not a class")
    if not allowlist.allowed_module(obj.__module__, allowed):
        raise ConfigError(f"{key}._target_: {quoted(target)} is {obj.__module__}.{obj.__qualname__}, "
                          f"outside the allowed prefixes {allowed} (project.allowed_targets)")
    return obj


def instantiate(spec: dict[str, Any], key: str, allowed: Iterable[str]) -> Any:
    """Build the object a `_target_` spec describes, after checking every target in it and, once
    built, every argument against scikit-learn's parameter constraints."""
    from hydra.errors import InstantiationException
    from hydra.utils import instantiate as hydra_instantiate

    allowed = list(allowed)
    unresolved = [path for path, text in interpolation.strings(spec, key) if "${" in text]
    if unresolved:
        raise ConfigError(f"{unresolved[0]}: holds `${{`, which building would resolve as an interpolation "
                          "(params are resolved once, when params.yaml is read)")
    for path, target in allowlist.find(spec, key):
        resolve(target, path, allowed)
    try:
        built = hydra_instantiate(spec, _convert_="all")
    except InstantiationException as exc:
        reason = str(exc).strip().splitlines()[-1]
        raise ConfigError(f"{key}: cannot build {quoted(spec['_target_'])}: {reason}") from exc
    lines = argument_problems(built, key)
    if lines:
        raise ConfigError("\n".join(lines))
    return built


def argument_problems(obj: Any, key: str, values: dict[str, Any] | None = None) -> list[str]:
    """Arguments of a scikit-learn estimator that its `_parameter_constraints` refuse, one line each.

    `values` checks other values than the object's own (a search space's bounds); nested
    estimators are checked too, under their key path.
    """
    from sklearn.base import BaseEstimator
    from sklearn.utils._param_validation import InvalidParameterError, validate_parameter_constraints

    if not isinstance(obj, BaseEstimator):
        return []
    constraints = getattr(obj, "_parameter_constraints", {})
    found = []
    for name, value in (obj.get_params(deep=False) if values is None else values).items():
        if name in constraints:
            try:
                validate_parameter_constraints({name: constraints[name]}, {name: value},
                                               caller_name=type(obj).__name__)
            except InvalidParameterError as exc:
                found.append(f"{key}.{name}: {cut(' '.join(str(exc).split()), 300)}")
        if values is None:
            found.extend(argument_problems(value, f"{key}.{name}"))
    return found
