"""The `data` section: where the data comes from, the task, the target and the data contract."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from gitml.config.base import Dtype, Fraction, Role, Section, Task


class SklearnSource(Section):
    kind: Literal["sklearn"]
    name: Literal["breast_cancer", "diabetes", "iris", "wine"]


class FileSource(Section):
    kind: Literal["file"]
    path: str
    format: Literal["auto", "csv", "parquet"] = "auto"


class SyntheticSource(Section):
    """A seeded generator whose size and shape are config, for scale tests."""

    kind: Literal["synthetic"]
    n_rows: Annotated[int, Field(gt=0)] = 1000
    n_numeric: Annotated[int, Field(ge=0)] = 20
    n_categorical: Annotated[int, Field(ge=0)] = 5
    n_classes: Annotated[int, Field(ge=2)] = 2
    noise: Annotated[float, Field(ge=0.0)] = 0.1


Source = Annotated[SklearnSource | FileSource | SyntheticSource, Field(discriminator="kind")]


class ColumnSpec(Section):
    dtype: Dtype
    role: Role
    min: float | None = None
    max: float | None = None
    categories: list[str | int | bool] | None = None
    #: None means the contract-wide `max_null_fraction`.
    max_null_fraction: Fraction | None = None


class Contract(Section):
    """What the data must look like; drives validation, the signature and drift tests."""

    #: Empty means "provided by the source" (only the synthetic source can).
    columns: dict[str, ColumnSpec] = {}
    max_null_fraction: Fraction = 0.0
    duplicates: Literal["allow", "warn", "fail"] = "warn"
    extra_columns: Literal["fail", "ignore"] = "fail"


class Data(Section):
    source: Source
    task: Task
    target: str
    contract: Contract = Contract()


