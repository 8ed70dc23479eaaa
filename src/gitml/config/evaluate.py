"""The `evaluate` section: permutation importance and curve sizes of the evaluate stage."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from gitml.config.base import Section


class Importance(Section):
    n_repeats: Annotated[int, Field(gt=0)] = 5
    #: Permutation importance on at most this many test rows: its cost grows with rows.
    max_rows: Annotated[int, Field(gt=0)] = 5000


class Evaluate(Section):
    importance: Importance = Importance()
    #: Curves (ROC, precision-recall) are thinned to at most this many points.
    curve_points: Annotated[int, Field(ge=10)] = 200


