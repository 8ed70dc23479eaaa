"""The `data` section: where the data comes from, the task, the target and the data contract."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

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


#: A column's role: a feature (numeric, categorical, or a date the model reads through its calendar
#: parts), or an identifier, which is checked and passed through batch prediction but never a feature.
ColumnRole = Role | Literal["datetime", "id"]
#: What a date or time becomes for the model (`gitml.features.transforms.Calendar`), each a number.
CalendarPart = Literal["year", "month", "day", "day_of_week", "day_of_year", "hour", "minute"]
CALENDAR_PARTS: tuple[str, ...] = CalendarPart.__args__


class ColumnSpec(Section):
    dtype: Dtype
    role: ColumnRole
    min: float | None = None
    max: float | None = None
    categories: list[str | int | bool] | None = None
    #: None means the contract-wide `max_null_fraction`.
    max_null_fraction: Fraction | None = None
    #: Role datetime: the calendar features the model reads; [] leaves the column out of the model.
    calendar: list[CalendarPart] | None = None

    @model_validator(mode="after")
    def _roles_fit_dtypes(self) -> ColumnSpec:
        if (self.dtype == "datetime") != (self.role == "datetime") and self.role != "id":
            raise ValueError(f"dtype {self.dtype} and role {self.role} do not fit: a datetime column has "
                             "role datetime (or id), and role datetime needs dtype datetime")
        if self.calendar is not None and self.role != "datetime":
            raise ValueError("`calendar` is for columns of role datetime")
        return self

    @property
    def feature(self) -> bool:
        """Whether the model reads this column: not an identifier, not a date left out of the model."""
        return self.role != "id" and not (self.role == "datetime" and self.calendar == [])

    @property
    def parts(self) -> list[str]:
        """A datetime column's calendar parts (year, month and day of week unless declared)."""
        return list(self.calendar) if self.calendar is not None else ["year", "month", "day_of_week"]


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


