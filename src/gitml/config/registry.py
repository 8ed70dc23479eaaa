"""The `registry` section: the git-tag model registry (artifact name, stages, what a version records)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator, model_validator

from gitml.config.base import Section
from gitml.core.names import FULLNAME_PATTERN, NAME_PATTERN

_NAME = rf"^{NAME_PATTERN}$"


class Registry(Section):
    """The git-tag model registry: what is registered, which stages exist, what a version records."""

    #: The artifact name in tags (`NAME@vX.Y.Z`); dvc.yaml's `artifacts:` must declare it (`dir:name`:
    #: the artifact declared in dir/dvc.yaml, as GTO names monorepo artifacts).
    artifact: Annotated[str, Field(pattern=rf"^{FULLNAME_PATTERN}$")] = "model"
    #: Stages a version may be promoted to, in promotion order.
    stages: Annotated[list[Annotated[str, Field(pattern=_NAME)]], Field(min_length=1)] = ["staging", "prod"]
    #: Metrics recorded in the version tag and shown by `gitml models`; empty means every top-level number.
    headline_metrics: list[str] = []
    #: Refuse to promote a version registered without a gate verdict (to a stage that is not gated).
    require_gate: bool = False
    #: Stages whose promotion recomputes the gate's comparison with the stage's current holder from
    #: both commits' own outputs, and refuses a failing one; no tag message is trusted.
    gated_stages: list[str] = ["prod"]

    @field_validator("stages")
    @classmethod
    def _distinct_stages(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("stage names must be distinct")
        if "latest" in value:
            raise ValueError("'latest' names the newest version, so it cannot be a stage")
        return value

    @model_validator(mode="after")
    def _gated_are_stages(self) -> Registry:
        unknown = [stage for stage in self.gated_stages if stage not in self.stages]
        if unknown:
            raise ValueError(f"gated_stages {', '.join(unknown)} not in stages ({', '.join(self.stages)})")
        return self
