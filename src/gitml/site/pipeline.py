"""The stage graph of dvc.yaml, as DVC links it: stage B follows stage A when B depends on a path A writes.

dvc.yaml's `${...}` references are resolved from the same commit's params.yaml (as DVC's
templating does for plain keys). A path matches when it is the output itself, inside an
output folder, or a folder holding the output, which is how DVC connects `reports/plots`
to the files in it. Layers are the longest path from a stage with no upstream stage, so
every edge points down; `gitml.core.svg.dag` draws it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gitml.site.history import resolve


@dataclass
class Stage:
    name: str
    cmd: str
    deps: list[str]
    outs: list[str]
    params: list[str]
    metrics: list[str] = field(default_factory=list)
    upstream: list[str] = field(default_factory=list)
    layer: int = 0


def _paths(items: Any) -> list[str]:
    found = []
    for item in items or []:
        if isinstance(item, dict):
            found += [str(key) for key in item]
        else:
            found.append(str(item))
    return found


def _under(path: str, folder: str) -> bool:
    path, folder = path.rstrip("/"), folder.rstrip("/")
    return path == folder or path.startswith(folder + "/")


def stages(dvc_yaml: dict[str, Any] | None, params: dict[str, Any] | None) -> list[Stage]:
    """The stages of dvc.yaml in file order, each with its upstream stages and its layer."""
    found = []
    for name, spec in ((dvc_yaml or {}).get("stages") or {}).items():
        if not isinstance(spec, dict):
            continue
        spec = resolve(spec, params or {})
        cmd = spec.get("cmd")
        found.append(Stage(str(name), " && ".join(map(str, cmd)) if isinstance(cmd, list) else str(cmd or ""),
                           _paths(spec.get("deps")), _paths(spec.get("outs")) + _paths(spec.get("metrics"))
                           + _paths(spec.get("plots")), _paths(spec.get("params")), _paths(spec.get("metrics"))))
    for stage in found:
        stage.upstream = [other.name for other in found if other is not stage and any(
            _under(dep, out) or _under(out, dep) for dep in stage.deps for out in other.outs)]
    by_name = {s.name: s for s in found}
    for stage in found:  # longest path; dvc.yaml cannot hold a cycle, a guard still stops one
        stage.layer = _depth(stage.name, by_name, set())
    return found


def _depth(name: str, by_name: dict[str, Stage], seen: set[str]) -> int:
    if name in seen:
        return 0
    upstream = by_name[name].upstream
    return 1 + max((_depth(up, by_name, seen | {name}) for up in upstream), default=-1)
