"""Dates and times, parsed one way everywhere: validation, inference, the model's calendar features, serving.

A date arrives as a Parquet timestamp, a CSV cell or a JSON string; `parse` turns any of
them into the same naive-UTC timestamps, so training and serving derive the same calendar
numbers, and validation refuses exactly the values the model could not read.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd


def parse(values: Any) -> pd.Series:
    """Values as a pandas datetime Series (naive UTC); what is not a date becomes NaT.

    Numbers count as nanoseconds since 1970, as pandas reads them; text is tried as ISO 8601
    first and in the format pandas infers second, whichever reads more values.
    """
    import pandas as pd
    from pandas.api import types

    series = pd.Series(values).reset_index(drop=True)
    if types.is_datetime64_any_dtype(series):
        parsed = pd.to_datetime(series, utc=True)
    elif types.is_numeric_dtype(series) and not types.is_bool_dtype(series):
        parsed = pd.to_datetime(series.astype(np.float64), unit="ns", utc=True, errors="coerce")
    else:
        text = series.where(series.notna(), None).astype(object)
        text = text.map(lambda v: v if v is None or isinstance(v, str) else str(v))
        parsed = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
        if parsed.notna().sum() < text.notna().sum():
            try:  # pandas infers one format from the first value; values in another raise
                with warnings.catch_warnings():  # "Parsing dates in %d/%m/%Y format": the inference at work
                    warnings.simplefilter("ignore", UserWarning)
                    inferred = pd.to_datetime(text, utc=True, errors="coerce")
            except ValueError:
                inferred = parsed
            parsed = inferred if inferred.notna().sum() > parsed.notna().sum() else parsed
    return parsed.dt.tz_convert(None)


def unparsed(values: Any) -> Any:
    """The values present but not read as dates (to name them in a report)."""
    import pandas as pd

    series = pd.Series(values).reset_index(drop=True)
    return series[series.notna() & parse(series).isna()]


def looks_like_dates(series: pd.Series) -> bool:
    """Text whose every value reads as a date and that holds digits and a separator (not plain numbers)."""
    import pandas as pd
    from pandas.api import types

    if types.is_datetime64_any_dtype(series):
        return True
    present = series.dropna()
    if not len(present) or not (types.is_string_dtype(series) or isinstance(series.dtype, pd.CategoricalDtype)
                                or series.dtype == object):
        return False
    sample = present.astype(str).head(1000)
    if not sample.str.fullmatch(r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}([ T].*)?").all():
        return False
    return not len(unparsed(present))
