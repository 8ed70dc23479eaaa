"""The `eda` section: the sizes of the profile's figures and its warning thresholds."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from gitml.config.base import Fraction, Section


class Eda(Section):
    """The profile of the raw data (`eda` stage): sizes of its figures and warning thresholds."""

    bins: Annotated[int, Field(ge=2, le=200)] = 20
    top_categories: Annotated[int, Field(ge=1, le=100)] = 10
    quantiles: list[Fraction] = [0.05, 0.25, 0.5, 0.75, 0.95]
    #: Warn when a categorical column has more distinct values than this.
    high_cardinality: Annotated[int, Field(ge=2)] = 50
    #: Warn when more than this fraction of a column is missing.
    missing_warn: Fraction = 0.2
    #: Warn of likely target leakage when a column's association with the target reaches this.
    leakage_warn: Fraction = 0.95
    #: The correlation view: at most this many columns (those most associated with the target first) ...
    correlation_columns: Annotated[int, Field(ge=2, le=100)] = 30
    #: ... measured on a seeded sample of at most this many rows (so the page and the time stay bounded).
    correlation_rows: Annotated[int, Field(ge=100)] = 100_000
    #: The missing-values view splits the rows, in file order, into this many bands.
    missing_bands: Annotated[int, Field(ge=2, le=200)] = 40
    #: Duplicate rows shown, the most repeated first.
    duplicate_examples: Annotated[int, Field(ge=0, le=100)] = 5
