"""The `_target_` allow-list: which classes a config may name, judged without importing anything.

`project.allowed_targets` lists module prefixes (a team adds its own). It is a guard
against mistakes, not a sandbox: whoever can edit params.yaml can edit the code the
pipeline runs. params.yaml is judged here as a whole, after its interpolations are
resolved, when it is read (`gitml.config.params`); `gitml.config.targets` judges again,
by the module that defines the class, when it builds one.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from gitml.core.text import quoted


def find(spec: Any, key: str) -> Iterator[tuple[str, Any]]:
    """Every (key path of a spec, its target) in a tree, nested specs included."""
    if isinstance(spec, dict):
        if "_target_" in spec:
            yield key, spec["_target_"]
        for name, value in spec.items():
            yield from find(value, f"{key}.{name}" if key else str(name))
    elif isinstance(spec, list):
        for index, value in enumerate(spec):
            yield from find(value, f"{key}[{index}]")


def allowed_module(module: str, allowed: Iterable[str]) -> bool:
    """Whether `module` (or a dotted path) is one of the allowed prefixes or inside one, by whole names."""
    return any(module == prefix.rstrip(".") or module.startswith(prefix.rstrip(".") + ".") for prefix in allowed)


def judge(target: Any, key: str, allowed: list[str]) -> str | None:
    """The problem of one spec's target (at `key`), or None when it may be imported."""
    where = f"{key}._target_" if key else "_target_"
    if not isinstance(target, str) or not target:
        return f"{where}: expected a class path such as sklearn.linear_model.Ridge, got {quoted(target)}"
    if not allowed_module(target, allowed):
        return f"{where}: {quoted(target)} is outside the allowed prefixes {allowed} (project.allowed_targets)"
    return None


def problems(tree: Any, allowed: Iterable[str]) -> list[str]:
    """One line per `_target_` anywhere in `tree` that is not a class path under an allowed prefix."""
    allowed = list(allowed)
    return [line for key, target in find(tree, "") if (line := judge(target, key, allowed))]
