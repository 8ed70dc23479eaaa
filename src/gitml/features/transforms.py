"""gitml's own scikit-learn transformers, which ship inside the model pipeline.

They follow scikit-learn's estimator conventions (`__init__` stores arguments, `fit`
learns attributes ending in `_`, `get_feature_names_out`, NaN passes through), so they
compose in Pipelines and pass `parametrize_with_checks`. Their state is plain numbers,
strings and arrays, so skops can save and load them; each class is on the trusted list
in `gitml.model.modelio.DEFAULT_TRUSTED`. `DerivedColumns` stores expression text only, which
`gitml.features.expressions` parses into a whitelisted tree and evaluates with numpy — loading a
model never runs code from the file.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from gitml.config import CALENDAR_PARTS
from gitml.data import dates
from gitml.features import expressions


def _tags(tags: Any) -> Any:
    tags.input_tags.allow_nan = True
    return tags


class DerivedColumns(TransformerMixin, BaseEstimator):
    """Append columns computed from expressions over the input columns.

    `expressions` maps each new column's name to an expression (see gitml.features.expressions);
    an expression may read input columns and columns derived before it. A DataFrame in
    gives a DataFrame out (the inputs plus the new columns, nothing copied); an array in
    names its columns x0, x1, ... and gives an array out.
    """

    def __init__(self, expressions: dict[str, str] | None = None) -> None:
        self.expressions = expressions

    def fit(self, X: Any, y: Any = None) -> DerivedColumns:
        if hasattr(X, "columns"):
            validate_data(self, X, reset=True, skip_check_array=True)
        else:
            validate_data(self, X, reset=True, ensure_all_finite="allow-nan", dtype=np.float64)
        names = list(self._names())
        known = set(names)
        for name, text in (self.expressions or {}).items():
            if name in known:
                raise ValueError(f"derived column {name!r}: a column of that name already exists")
            missing = [c for c in expressions.parse(text).columns if c not in known]
            if missing:
                raise ValueError(f"derived column {name!r}: expression reads unknown columns {missing}")
            known.add(name)
        self.derived_names_ = list(self.expressions or {})
        return self

    def _names(self) -> list[str]:
        if hasattr(self, "feature_names_in_"):
            return [str(name) for name in self.feature_names_in_]
        return [f"x{i}" for i in range(self.n_features_in_)]

    def transform(self, X: Any) -> Any:
        check_is_fitted(self, "derived_names_")
        frame = hasattr(X, "columns")
        if frame:
            validate_data(self, X, reset=False, skip_check_array=True)
            out = X.copy(deep=False)
            columns: dict[str, Any] = {}

            def column(name: str) -> np.ndarray:
                if name in columns:
                    return columns[name]
                return np.asarray(X[name].to_numpy(dtype=np.float64, na_value=np.nan))
        else:
            X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype=np.float64)
            columns = dict(zip(self._names(), X.T, strict=True))

            def column(name: str) -> np.ndarray:
                return columns[name]

        n_rows = X.shape[0]
        new = {}
        for name, text in (self.expressions or {}).items():
            new[name] = columns[name] = expressions.parse(text).evaluate(column, n_rows)
        if frame:
            for name, values in new.items():
                out[name] = values
            return out
        return np.column_stack([X, *new.values()]) if new else X

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "derived_names_")
        names = self._names() if input_features is None else [str(name) for name in input_features]
        return np.asarray([*names, *self.derived_names_], dtype=object)

    def __sklearn_tags__(self) -> Any:
        return _tags(super().__sklearn_tags__())


class Log(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """log(x + offset); values at or below -offset become NaN. The default offset 1 is log1p."""

    def __init__(self, offset: float = 1.0) -> None:
        self.offset = offset

    def fit(self, X: Any, y: Any = None) -> Log:
        validate_data(self, X, reset=True, ensure_all_finite="allow-nan", dtype=np.float64)
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "n_features_in_")
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype=np.float64)
        shifted = X + self.offset
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(shifted > 0, np.log(np.where(shifted > 0, shifted, 1.0)), np.nan)

    def __sklearn_tags__(self) -> Any:
        return _tags(super().__sklearn_tags__())


class Clip(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Clip each column to fixed bounds, or to quantiles learned from the training data."""

    def __init__(
        self,
        lower: float | None = None,
        upper: float | None = None,
        lower_quantile: float | None = None,
        upper_quantile: float | None = None,
    ) -> None:
        self.lower = lower
        self.upper = upper
        self.lower_quantile = lower_quantile
        self.upper_quantile = upper_quantile

    def fit(self, X: Any, y: Any = None) -> Clip:
        X = validate_data(self, X, reset=True, ensure_all_finite="allow-nan", dtype=np.float64)
        self.lower_ = self._bound(X, self.lower, self.lower_quantile, -np.inf, "lower")
        self.upper_ = self._bound(X, self.upper, self.upper_quantile, np.inf, "upper")
        if np.any(self.lower_ > self.upper_):
            raise ValueError(f"Clip: lower bound above upper bound ({self.lower_} > {self.upper_})")
        return self

    @staticmethod
    def _bound(X: np.ndarray, fixed: float | None, quantile: float | None, default: float, which: str) -> np.ndarray:
        if fixed is not None and quantile is not None:
            raise ValueError(f"Clip: give {which} or {which}_quantile, not both")
        if quantile is not None:
            if not 0.0 <= quantile <= 1.0:
                raise ValueError(f"Clip: {which}_quantile must be within [0, 1], got {quantile}")
            with np.errstate(all="ignore"):
                bounds = np.nanquantile(X, quantile, axis=0) if X.size else np.full(X.shape[1], default)
            return np.where(np.isnan(bounds), default, bounds)
        return np.full(X.shape[1], default if fixed is None else float(fixed))

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self, ["lower_", "upper_"])
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype=np.float64)
        return np.clip(X, self.lower_, self.upper_)

    def __sklearn_tags__(self) -> Any:
        return _tags(super().__sklearn_tags__())


class Bucketize(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Replace each value by the index of its bucket: `edges` given, or `n_bins` quantile bins learned in fit.

    A value equal to an edge goes to the bucket above it; NaN stays NaN.
    """

    def __init__(self, edges: list[float] | None = None, n_bins: int = 5) -> None:
        self.edges = edges
        self.n_bins = n_bins

    def fit(self, X: Any, y: Any = None) -> Bucketize:
        X = validate_data(self, X, reset=True, ensure_all_finite="allow-nan", dtype=np.float64)
        if self.edges is not None:
            edges = np.unique(np.asarray(self.edges, dtype=np.float64))
            if not np.all(np.isfinite(edges)):
                raise ValueError("Bucketize: edges must be finite numbers")
            self.edges_ = [edges.copy() for _ in range(X.shape[1])]
            return self
        if not isinstance(self.n_bins, (int, np.integer)) or self.n_bins < 2:
            raise ValueError(f"Bucketize: n_bins must be an integer >= 2, got {self.n_bins!r}")
        inner = np.linspace(0.0, 1.0, int(self.n_bins) + 1)[1:-1]
        self.edges_ = []
        for column in X.T:
            values = column[~np.isnan(column)]
            self.edges_.append(np.unique(np.quantile(values, inner)) if values.size else np.empty(0))
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "edges_")
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype=np.float64)
        out = np.empty_like(X)
        for j, edges in enumerate(self.edges_):
            out[:, j] = np.searchsorted(edges, X[:, j], side="right")
        out[np.isnan(X)] = np.nan
        return out

    def __sklearn_tags__(self) -> Any:
        return _tags(super().__sklearn_tags__())


def _any_values(step: BaseEstimator, X: Any, reset: bool) -> Any:
    """Check X's shape and names, keeping its values as they are (text, dates, objects): a frame stays a frame."""
    if hasattr(X, "columns"):
        validate_data(step, X, reset=reset, skip_check_array=True)
        return X
    return validate_data(step, X, reset=reset, dtype=None, ensure_all_finite="allow-nan")


class Calendar(TransformerMixin, BaseEstimator):
    """Numeric calendar features of date and datetime columns: one output column per column and part.

    Values may be datetime64 (a Parquet timestamp) or text (a CSV cell, a JSON request):
    text is parsed as ISO 8601, else in the format pandas infers from it, so training and
    serving get the same numbers from the same dates. Time zones become UTC; a missing or
    unparseable value gives NaN, which the numeric steps after it impute.
    """

    def __init__(self, parts: tuple[str, ...] | list[str] = ("year", "month", "day_of_week")) -> None:
        self.parts = parts

    def fit(self, X: Any, y: Any = None) -> Calendar:
        unknown = [part for part in self.parts if part not in CALENDAR_PARTS]
        if unknown or not self.parts:
            raise ValueError(f"Calendar: parts must be some of {', '.join(CALENDAR_PARTS)}, got {list(self.parts)}")
        _any_values(self, X, reset=True)
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "n_features_in_")
        X = _any_values(self, X, reset=False)
        columns = [X.iloc[:, j] for j in range(X.shape[1])] if hasattr(X, "columns") else list(np.asarray(X).T)
        out = [getattr(dates.dt, part).to_numpy(dtype=np.float64, na_value=np.nan)
               for dates in map(dates.parse, columns) for part in self.parts]
        return np.column_stack(out) if out else np.empty((X.shape[0], 0))

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "n_features_in_")
        if input_features is None:
            input_features = getattr(self, "feature_names_in_", [f"x{i}" for i in range(self.n_features_in_)])
        return np.asarray([f"{name}_{part}" for name in input_features for part in self.parts], dtype=object)

    def __sklearn_tags__(self) -> Any:
        tags = _tags(super().__sklearn_tags__())
        tags.input_tags.string = True
        return tags


class Categories(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Category columns as objects, missing values as NaN: what the categorical steps after it expect.

    Training reads a Parquet text column with its missing cells as None, while serving sends
    NaN; scikit-learn's imputers see only NaN as missing, so without this step a None became a
    category of its own in training and was imputed in serving. Columns of true/false values
    alone would reach the imputer as a bool array, which it refuses.
    """

    def fit(self, X: Any, y: Any = None) -> Categories:
        _any_values(self, X, reset=True)
        return self

    def transform(self, X: Any) -> Any:
        import pandas as pd

        check_is_fitted(self, "n_features_in_")
        X = _any_values(self, X, reset=False)
        values = X.to_numpy(dtype=object, copy=True) if hasattr(X, "columns") else np.array(X, dtype=object)
        values[pd.isna(values)] = np.nan
        return pd.DataFrame(values, columns=X.columns, index=X.index) if hasattr(X, "columns") else values

    def __sklearn_tags__(self) -> Any:
        tags = _tags(super().__sklearn_tags__())
        tags.input_tags.string = True
        return tags
