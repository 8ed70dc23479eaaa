"""conf/ → params.yaml, with the same algorithm as DVC's own Hydra composition.

`dvc exp run` composes conf/ into params.yaml with hydra.compose, OmegaConf.resolve and
OmegaConf.to_yaml; `gitml compose` does exactly that, so both give the same bytes, and
`dvc repro` (which never composes) is guarded by a freshness check that compares the
composition with params.yaml. Before it resolves, it refuses resolvers that build objects or
read the environment in the sections that name classes (`gitml.config.interpolation`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from gitml.config import interpolation
from gitml.core import io
from gitml.core.errors import ConfigError
from gitml.core.text import cut, flatten


def compose(conf_dir: str | Path = "conf", overrides: Sequence[str] = (), config_name: str = "config") -> str:
    """The YAML text DVC would write for these overrides."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    conf_dir = Path(conf_dir).resolve()
    if not (conf_dir / f"{config_name}.yaml").is_file():
        raise ConfigError(f"{conf_dir / config_name}.yaml: not found (is this a gitml project?)")
    try:
        with initialize_config_dir(str(conf_dir), version_base=None):
            cfg = hydra_compose(config_name=config_name, overrides=list(overrides))
        interpolation.check_conf(cfg, f"{conf_dir.name}/")
        OmegaConf.resolve(cfg)
    except (HydraException, OmegaConfBaseException) as exc:
        reason = " ".join(str(exc).split())
        raise ConfigError(f"{conf_dir.name}/: cannot compose: {reason}") from exc
    return OmegaConf.to_yaml(cfg)


def write(output: str | Path = "params.yaml", conf_dir: str | Path = "conf", overrides: Sequence[str] = ()) -> bool:
    """Compose into `output` atomically; True when the file changed."""
    text = compose(conf_dir, overrides)
    output = Path(output)
    if output.is_file() and output.read_text(encoding="utf-8") == text:
        return False
    io.write_text(output, text)
    return True


def stale_keys(params_text: str, composed_text: str) -> list[str]:
    """Key paths whose values differ between two params documents."""
    return [key for key, _, _ in differences(params_text, composed_text)]


def differences(old_text: str, new_text: str) -> list[tuple[str, Any, Any]]:
    """(key path, old value, new value) of every key whose value differs; a missing side is `...`."""
    old = flatten(yaml.safe_load(old_text) or {})
    new = flatten(yaml.safe_load(new_text) or {})
    return [(key, old.get(key, ...), new.get(key, ...))
            for key in sorted(old.keys() | new.keys()) if old.get(key, ...) != new.get(key, ...)]


def inside_experiment() -> bool:
    """`dvc exp run` composes params.yaml itself, with -S overrides a plain composition lacks."""
    return bool(os.environ.get("DVC_EXP_NAME"))


def flow(value: Any) -> str:
    """A value as one line of YAML (as an override's value, or a line of conf/)."""
    return yaml.safe_dump(value, default_flow_style=True, width=1 << 20).removesuffix("\n...\n").strip()


def check_fresh(params: str | Path = "params.yaml", conf_dir: str | Path = "conf") -> None:
    """Raise when params.yaml is not the composition of conf/, naming the keys that differ and their values.

    By content, not modification times: a hand edit of params.yaml is caught as surely as an
    edit of conf/ that was never composed.
    """
    params = Path(params)
    composed = compose(conf_dir)
    current = params.read_text(encoding="utf-8") if params.is_file() else ""
    if current == composed:
        return
    found = differences(current, composed)
    shown = "; ".join(f"{key} ({params.name} {_shown(old)}, {Path(conf_dir).name}/ {_shown(new)})"
                      for key, old, new in found[:3])
    shown = (shown or "<formatting>") + (f"; and {len(found) - 3} more" if len(found) > 3 else "")
    keep = [f"{key}={flow(old)}" for key, old, new in found[:3] if old is not ... and new is not ...]
    advice = f", or `gitml compose {' '.join(keep)}` to write {params.name}'s values into it" if keep else ""
    raise ConfigError(
        f"{params}: differs from the composition of {conf_dir}/ at {shown}; "
        f"run `gitml compose` to take {Path(conf_dir).name}/'s values{advice}"
    )


def _shown(value: Any) -> str:
    return "absent" if value is ... else cut(flow(value), 40)
