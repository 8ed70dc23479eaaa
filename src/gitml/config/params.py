"""params.yaml as one typed object: `Params` assembles one model per section, `load` reads it.

Every behaviour a user may change is a key in a section model (one module per conf/
group), with a default that works, so a typo or a wrong type is caught at the door with
its key path instead of deep inside a stage. Validation collects every failing key and
raises once. What is validated is the resolved config (`gitml.config.interpolation`), and
every `_target_` in it, wherever it is, must name a class under `project.allowed_targets`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from gitml.config import allowlist, interpolation
from gitml.config.base import Section
from gitml.config.card import Card
from gitml.config.compute import Compute
from gitml.config.data import Data
from gitml.config.eda import Eda
from gitml.config.evaluate import Evaluate
from gitml.config.features import Features
from gitml.config.gate import Gate
from gitml.config.model import Model
from gitml.config.monitor import Monitor
from gitml.config.project import Paths, Project
from gitml.config.registry import Registry
from gitml.config.serve import Serve
from gitml.config.site import Site
from gitml.config.tune import Tune
from gitml.core.errors import ConfigError
from gitml.core.text import quoted


class Params(Section):
    seed: int = 42
    project: Project = Project()
    paths: Paths = Paths()
    data: Data
    features: Features = Features()
    model: Model
    evaluate: Evaluate = Evaluate()
    tune: Tune = Tune()
    compute: Compute = Compute()
    registry: Registry = Registry()
    card: Card = Card()
    eda: Eda = Eda()
    serve: Serve = Serve()
    monitor: Monitor = Monitor()
    gate: Gate = Gate()
    site: Site = Site()


def _key_path(raw: Any, loc: tuple[Any, ...]) -> str:
    """The error's location as keys a user can find in the file.

    pydantic puts union tags (e.g. `sklearn`) and validator names into `loc`; they are
    not keys of params.yaml, so walk the input and keep only what is there (plus the
    last part, which names a missing or unknown key).
    """
    parts: list[str] = []
    node = raw
    for index, part in enumerate(loc):
        if isinstance(node, dict) and part in node:
            parts.append(str(part))
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            parts.append(f"[{part}]")
            node = node[part]
        elif index == len(loc) - 1:
            parts.append(str(part))
    return ".".join(parts).replace(".[", "[")


def _format_error(source: str, error: dict[str, Any], raw: Any) -> str:
    loc = _key_path(raw, error["loc"])
    message = error["msg"]
    if error["type"] == "extra_forbidden":
        message = "unknown key (check its spelling)"
    elif error["type"] not in {"missing", "union_tag_invalid"} and "input" in error:
        message = f"{message} (got {quoted(error['input'])})"
    return f"{source}: {loc or '<root>'}: {message}"


def _allowed(raw: dict[str, Any]) -> list[str]:
    """The allow-list a params mapping declares, or the default when it declares none that is valid."""
    project = raw.get("project")
    declared = project.get("allowed_targets") if isinstance(project, dict) else None
    if isinstance(declared, list) and declared and all(isinstance(p, str) and p for p in declared):
        return declared
    return list(Project().allowed_targets)


def validate(raw: Any, source: str = "params.yaml") -> Params:
    """Validate a params mapping; every problem is one line of the raised ConfigError."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected a mapping of sections, got {type(raw).__name__}")
    raw = interpolation.resolve(raw, source)
    lines = [f"{source}: {line}" for line in allowlist.problems(raw, _allowed(raw))]
    try:
        params = Params.model_validate(raw)
    except ValidationError as exc:
        lines = [_format_error(source, error, raw) for error in exc.errors()] + lines
        raise ConfigError("\n".join(lines)) from exc
    if lines:
        raise ConfigError("\n".join(lines))
    return params


def _read(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text())
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: not found (run `gitml compose` to create it)") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {str(exc).splitlines()[0]}") from exc


def load(path: str | Path = "params.yaml") -> Params:
    """Read and validate params.yaml."""
    path = Path(path)
    return validate(_read(path), str(path))


def load_lenient(path: str | Path, optional: tuple[str, ...]) -> tuple[Params, ConfigError | None]:
    """Read params.yaml where errors only inside the `optional` sections (dotted) are returned, not raised.

    Those sections then take their defaults, and the caller reports the error instead of using
    them: the gate still judges quality when only its timing settings are wrong.
    """
    path = Path(path)
    raw = _read(path)
    try:
        return validate(raw, str(path)), None
    except ConfigError as exc:
        errors = exc.__cause__.errors() if isinstance(exc.__cause__, ValidationError) else None
        located = [_key_path(raw, error["loc"]) for error in errors or []]
        if not located or not all(loc.startswith(tuple(f"{o}." for o in optional)) or loc in optional
                                  for loc in located):
            raise
        trimmed = dict(raw)
        for dotted in optional:
            *parents, leaf = dotted.split(".")
            node = trimmed
            for part in parents:
                node[part] = dict(node.get(part) or {})
                node = node[part]
            node.pop(leaf, None)
        return validate(trimmed, str(path)), exc
