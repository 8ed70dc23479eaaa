"""What every section of params.yaml shares: strict models, common value types, durations.

A section is a frozen pydantic model with `extra="forbid"`, so a typo in a key is an
error naming the key rather than a setting silently ignored.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Task = Literal["classification", "regression"]
#: What a model feature is: its preprocessing steps are the role's.
Role = Literal["numeric", "categorical"]
Dtype = Literal["float", "int", "bool", "str", "datetime"]
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
NonNegative = Annotated[float, Field(ge=0.0)]
Probability = Annotated[float, Field(gt=0.0, lt=1.0)]
Positive = Annotated[float, Field(gt=0.0)]


class Section(BaseModel):
    """Base of every section: unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|min|h|d|w)\s*$")
_SECONDS = {"s": 1, "min": 60, "h": 3600, "d": 86400, "w": 604800}


def duration_seconds(text: str) -> float:
    """Seconds in a duration such as `30min`, `12h`, `7d` or `2w` (ValueError otherwise)."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"not a duration: {text!r} (a number and one of s, min, h, d, w, e.g. 7d)")
    return float(match.group(1)) * _SECONDS[match.group(2)]


