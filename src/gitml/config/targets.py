"""Safe Hydra `_target_` instantiation.

Any scikit-learn compatible class can be named in config without code, but only from
allowed module prefixes, so a config cannot import arbitrary code by accident; and a
bad target is one line naming its key path, not a Hydra traceback.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator
from typing import Any

from gitml.core.errors import ConfigError


def find(spec: Any, key: str) -> Iterator[tuple[str, str]]:
    """Every (key path, target) in a spec, nested ones included."""
    if isinstance(spec, dict):
        if "_target_" in spec:
            yield key, spec["_target_"]
        for name, value in spec.items():
            yield from find(value, f"{key}.{name}")
    elif isinstance(spec, list):
        for index, value in enumerate(spec):
            yield from find(value, f"{key}[{index}]")


def resolve(target: str, key: str, allowed: Iterable[str]) -> type:
    """Import the class a `_target_` names, refusing modules outside `allowed`."""
    allowed = list(allowed)
    if not any(target.startswith(prefix) for prefix in allowed):
        raise ConfigError(
            f"{key}._target_: {target!r} is outside the allowed prefixes {allowed} (project.allowed_targets)"
        )
    module_name, _, name = target.rpartition(".")
    try:
        obj = getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ConfigError(f"{key}._target_: cannot import {target!r} ({exc})") from exc
    if not isinstance(obj, type):
        raise ConfigError(f"{key}._target_: {target!r} is not a class")
    return obj


def instantiate(spec: dict[str, Any], key: str, allowed: Iterable[str]) -> Any:
    """Build the object a `_target_` spec describes, after checking every target in it."""
    from hydra.errors import InstantiationException
    from hydra.utils import instantiate as hydra_instantiate

    allowed = list(allowed)
    for path, target in find(spec, key):
        resolve(target, path, allowed)
    try:
        return hydra_instantiate(spec, _convert_="all")
    except InstantiationException as exc:
        reason = str(exc).strip().splitlines()[-1]
        raise ConfigError(f"{key}: cannot build {spec['_target_']!r}: {reason}") from exc


def raw_problems(raw: Any, default_allowed: Iterable[str]) -> list[str]:
    """Target problems of a params mapping that failed the schema, so both are reported at once."""
    if not isinstance(raw, dict):
        return []
    project = raw.get("project") if isinstance(raw.get("project"), dict) else {}
    allowed = project.get("allowed_targets") or list(default_allowed)
    feature_steps = raw.get("features") if isinstance(raw.get("features"), dict) else {}
    problems = []
    roles = ("numeric", "categorical")
    specs = [("model", raw.get("model")), *((f"features.{role}", feature_steps.get(role)) for role in roles)]
    for key, spec in specs:
        for path, target in find(spec, key):
            try:
                resolve(str(target), path, allowed)
            except ConfigError as exc:
                problems.append(str(exc))
    return problems
