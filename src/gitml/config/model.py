"""The `model` section: an estimator as a Hydra `_target_` spec, or model=auto's candidate families.

Any scikit-learn compatible class can be named without code: `_target_` is its import
path and every other key a constructor argument. `model=auto` names no estimator but the
families the tune stage tries (each a model config of its own, validated here like the
`model` section itself), so a mistake in any of them is found when params.yaml is read.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_serializer, model_validator

from gitml.config.base import Section

#: The `_target_` of model=auto: not an estimator, the request that the tune stage choose one.
AUTO_TARGET = "gitml.tune.autoselect.AutoSelect"


class Model(BaseModel):
    """An estimator spec: `_target_` (the class) and its constructor arguments, or model=auto."""

    model_config = ConfigDict(extra="allow", frozen=True)

    target_: str = Field(alias="_target_")
    #: model=auto only: the families to try, by name.
    candidates: dict[str, Candidate] | None = None

    @model_validator(mode="before")
    @classmethod
    def _has_target(cls, value: Any) -> Any:
        if isinstance(value, dict) and not isinstance(value.get("_target_"), str):
            raise ValueError("needs a `_target_` naming an estimator class")
        return value

    @model_validator(mode="after")
    def _auto_takes_candidates(self) -> Model:
        if self.target_ != AUTO_TARGET:
            if self.candidates is not None:
                raise ValueError("`candidates` is only for model=auto (conf/model/auto.yaml)")
            return self
        if not self.candidates:
            raise ValueError("model=auto needs `candidates`, a mapping of families (see conf/model/auto.yaml)")
        if self.model_extra:
            raise ValueError(f"model=auto takes only `candidates`, not {sorted(self.model_extra)}")
        return self

    @property
    def auto(self) -> bool:
        return self.target_ == AUTO_TARGET

    @property
    def arguments(self) -> dict[str, Any]:
        """The constructor arguments, as written."""
        return dict(self.model_extra or {})

    def spec(self) -> dict[str, Any]:
        """The spec as Hydra instantiates it: `_target_` first, then the arguments."""
        if self.auto:
            return {"_target_": self.target_, "candidates": {k: c.model_dump() for k, c in self.candidates.items()}}
        return {"_target_": self.target_, **self.arguments}

    @model_serializer(mode="plain")
    def _dump(self) -> dict[str, Any]:
        return self.spec()

    @classmethod
    def of(cls, spec: dict[str, Any]) -> Model:
        """A validated model from a plain `_target_` spec (a candidate's, or one with tuned arguments)."""
        return cls.model_validate(spec)


class Candidate(Section):
    """One family tried by model=auto: its model config and its tuning budget."""

    model: Model
    n_trials: Annotated[int, Field(gt=0)] = 10


Model.model_rebuild()
