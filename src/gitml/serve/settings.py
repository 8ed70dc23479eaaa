"""Serving settings: the `serve` section of params.yaml plus the model to serve, validated at start-up.

`gitml serve` builds them from params.yaml and its flags. Worker processes (several
uvicorn workers) and containers build them from the environment instead:
`GITML_SERVE_MODEL_DIR`, `GITML_SERVE_STAGE`, `GITML_SERVE_ARTIFACT` and
`GITML_SERVE_CONFIG` (the `serve` section as JSON) or single keys such as
`GITML_SERVE_CONFIG__PORT=9000`. The bearer token is read from the variable named by
`serve.auth.token_env`, never from config.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from gitml.config import Serve
from gitml.core.errors import ConfigError
from gitml.serve.model import DirectorySource, Source, StageSource

ENV_PREFIX = "GITML_SERVE_"


class Settings(BaseSettings):
    """Everything the app needs; a wrong value stops start-up with its key named."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid", frozen=True)

    #: The model directory, when not serving a registry stage.
    model_dir: Path = Path("models")
    #: Serve the registry version assigned to this stage instead of `model_dir`.
    stage: str | None = None
    #: The registry artifact whose stage is served.
    artifact: str = "model"
    config: Serve = Serve()

    def source(self) -> Source:
        if self.stage:
            return StageSource(self.artifact, self.stage)
        return DirectorySource(self.model_dir)

    def token(self) -> str | None:
        """The bearer token from the environment; None (auth off) when unset or empty."""
        return os.environ.get(self.config.auth.token_env) or None

    def environment(self) -> dict[str, str]:
        """These settings as the variables a worker process rebuilds them from."""
        env = {
            f"{ENV_PREFIX}MODEL_DIR": str(self.model_dir),
            f"{ENV_PREFIX}ARTIFACT": self.artifact,
            f"{ENV_PREFIX}CONFIG": self.config.model_dump_json(),
        }
        if self.stage:
            env[f"{ENV_PREFIX}STAGE"] = self.stage
        return env


def load(**values: Any) -> Settings:
    """Settings from `values`, then `GITML_SERVE_*` variables; errors as one line per key."""
    try:
        return Settings(**values)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            key = ".".join(str(part) for part in error["loc"])
            got = f" (got {error['input']!r})" if error["type"] != "missing" and "input" in error else ""
            if key.split(".")[0] not in values:
                source = f"{ENV_PREFIX}{key.upper().replace('.', '__')}"
            else:  # given by gitml serve: name the params.yaml key
                source = "serve." + key.removeprefix("config.") if key.startswith("config.") else key
            lines.append(f"{source}: {error['msg']}{got}")
        raise ConfigError("\n".join(lines)) from exc
