"""The model's signature (models/signature.json): what a caller sends and gets back.

The train stage writes it from the data contract and the fitted model; serving and
monitoring read it here and never import training code. Everything the request
validator needs per column (allowed categories as a set, nullability, range) is
computed once, not per request.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from gitml.config import ColumnSpec
from gitml.core import io
from gitml.core.errors import DataError, ModelFileError
from gitml.model.outputs import LOG_COLUMNS, PROBA


class InputSpec(ColumnSpec):
    """One input column: the contract's column spec plus its name."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    name: str

    @property
    def nullable(self) -> bool:
        """Training saw (and the contract allowed) missing values in this column."""
        return bool(self.max_null_fraction)

    @property
    def allowed(self) -> frozenset[Any] | None:
        return None if self.categories is None else frozenset(self.categories)


class Signature(BaseModel):
    """What a caller sends and gets back; extra keys written by newer versions are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    name: str
    task: Literal["classification", "regression"]
    target: str
    estimator: str = ""
    inputs: list[InputSpec] = Field(min_length=1)
    classes: list[str | int | bool] | None = None

    @model_validator(mode="after")
    def _check(self) -> Signature:
        names = [spec.name for spec in self.inputs]
        if len(set(names)) != len(names):
            raise ValueError("input names are not unique")
        clash = sorted(set(LOG_COLUMNS).intersection(names) | {n for n in names if n.startswith(PROBA)})
        if clash:
            raise ValueError(f"input column names reserved by the prediction log: {clash}")
        if self.task == "classification" and not self.classes:
            raise ValueError("a classification signature needs `classes`")
        return self

    @property
    def names(self) -> list[str]:
        return [spec.name for spec in self.inputs]

    @property
    def by_name(self) -> dict[str, InputSpec]:
        return {spec.name: spec for spec in self.inputs}


def load(path: str | Path) -> Signature:
    """Read and check a signature.json; a problem names the file and the key."""
    path = Path(path)
    try:
        raw = io.read_json(path)
    except DataError as exc:
        raise ModelFileError(f"signature {exc}") from exc
    try:
        return Signature.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "<root>"
        raise ModelFileError(f"{path}: {where}: {first['msg']}") from exc

