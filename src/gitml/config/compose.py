"""conf/ → params.yaml, with the same algorithm as DVC's own Hydra composition.

`dvc exp run` composes conf/ into params.yaml with hydra.compose, OmegaConf.resolve and
OmegaConf.to_yaml; `gitml compose` does exactly that, so both give the same bytes, and
`dvc repro` (which never composes) can be guarded by a cheap freshness check. Before it
resolves, it refuses resolvers that build objects or read the environment in the sections
that name classes (`gitml.config.interpolation`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import yaml

from gitml.config import interpolation
from gitml.core import io
from gitml.core.errors import ConfigError
from gitml.core.text import flatten


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
    current = flatten(yaml.safe_load(params_text) or {})
    wanted = flatten(yaml.safe_load(composed_text) or {})
    return sorted(key for key in current.keys() | wanted.keys() if current.get(key, ...) != wanted.get(key, ...))


def inside_experiment() -> bool:
    """`dvc exp run` composes params.yaml itself, with -S overrides a plain composition lacks."""
    return bool(os.environ.get("DVC_EXP_NAME"))


def conf_newer(params: str | Path = "params.yaml", conf_dir: str | Path = "conf") -> bool:
    """Whether a file in conf/ changed after params.yaml was last written.

    params.yaml written after the last edit of conf/ was composed from it, possibly with
    overrides (`gitml compose k=v`, `dvc exp run -S k=v`); only an edit of conf/ since
    then can have made it stale, and that costs a stat per file to see.
    """
    params = Path(params)
    if not params.is_file():
        return True
    written = params.stat().st_mtime
    return any(path.stat().st_mtime > written for path in Path(conf_dir).rglob("*") if path.is_file())


def check_fresh(params: str | Path = "params.yaml", conf_dir: str | Path = "conf") -> None:
    """Raise when params.yaml is not the composition of conf/, naming the keys that differ."""
    params = Path(params)
    composed = compose(conf_dir)
    current = params.read_text(encoding="utf-8") if params.is_file() else ""
    if current == composed:
        return
    keys = stale_keys(current, composed) or ["<formatting>"]
    shown = ", ".join(keys[:5]) + (f" and {len(keys) - 5} more" if len(keys) > 5 else "")
    raise ConfigError(
        f"{params}: stale, it differs from the composition of {conf_dir}/ at {shown}; "
        "run `gitml compose` (or `gitml repro`)"
    )
