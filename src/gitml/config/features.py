"""The `features` section: the split, preprocessing steps, derived columns, dedup, docs and views."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from gitml.config.base import Role, Section, duration_seconds


class Split(Section):
    test_size: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.2
    stratify: bool = True


#: Shorthand step kinds (`kind: log`), each compiled to a `_target_` spec by gitml.features.
StepKind = Literal["impute", "scale", "onehot", "ordinal", "log", "clip", "bucketize"]
STEP_KINDS: tuple[str, ...] = StepKind.__args__


def _check_targets(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for step in steps:
        kind = step.get("kind")
        if "_target_" in step and "kind" in step:
            raise ValueError("a step has either a `_target_` or a `kind`, not both")
        if kind is not None and kind not in STEP_KINDS:
            raise ValueError(f"unknown step kind {kind!r} (one of {', '.join(STEP_KINDS)})")
        if kind is None and not isinstance(step.get("_target_"), str):
            raise ValueError("each step needs a `_target_` naming a transformer class (or a `kind`)")
    return steps


Steps = Annotated[list[dict[str, Any]], Field(default_factory=list)]

class DerivedFeature(Section):
    """A column computed from an expression over other columns, inside the model."""

    name: Annotated[str, Field(min_length=1)]
    #: Arithmetic, comparisons, numeric literals and a few numpy functions over column
    #: names; quote a name that is not an identifier with backticks: `mean radius`.
    expr: Annotated[str, Field(min_length=1)]
    role: Role = "numeric"
    description: str = ""
    owner: str | None = None


class FeatureGroup(Section):
    """Steps for a group of columns, applied instead of their role's default steps."""

    columns: Annotated[list[str], Field(min_length=1)]
    steps: Steps
    name: str | None = None

    _steps = field_validator("steps")(_check_targets)


class Dedup(Section):
    """Duplicate rows before the split: keep all, keep the first or last copy, or drop every copy."""

    policy: Literal["none", "first", "last", "all"] = "none"
    #: Columns that define a duplicate; empty means every input column and the target.
    subset: list[str] = []


class FeatureDoc(Section):
    description: str = ""
    owner: str | None = None


class FeatureView(Section):
    """Entity features with event times, joined to labels as of each label's time."""

    name: Annotated[str, Field(min_length=1)]
    path: str
    entity: str
    timestamp: str
    #: Values older than this at the label's time count as missing (`7d`, `12h`); None: no limit.
    ttl: str | None = None
    #: Columns to take; empty means every column but the entity and the timestamp.
    features: list[str] = []
    description: str = ""
    owner: str | None = None

    @field_validator("ttl")
    @classmethod
    def _ttl_parses(cls, value: str | None) -> str | None:
        if value is not None:
            duration_seconds(value)
        return value


class LabelTable(Section):
    """The table of labelled events that feature views are joined to."""

    path: str
    entity: str
    timestamp: str


class Features(Section):
    split: Split = Split()
    #: Transformer steps (Hydra `_target_` specs or `kind` shorthands) applied, in order, per column role.
    numeric: Steps
    categorical: Steps
    drop: list[str] = []
    #: Columns computed from expressions, transformed by their role's steps (or a group's).
    derived: list[DerivedFeature] = []
    #: Per column or group of columns: steps that replace the role's default steps.
    transforms: list[FeatureGroup] = []
    dedup: Dedup = Dedup()
    #: The feature catalog's default owner, and per-feature descriptions and owners.
    owner: str = "unassigned"
    docs: dict[str, FeatureDoc] = {}
    #: Point-in-time feature views and the label table they join to (`gitml features build`).
    views: list[FeatureView] = []
    labels: LabelTable | None = None

    _steps = field_validator("numeric", "categorical")(_check_targets)


