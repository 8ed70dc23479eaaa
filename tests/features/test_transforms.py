"""gitml.features.transforms: scikit-learn conformance, values, and safe skops round trips."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from gitml.features.transforms import Bucketize, Calendar, Categories, Clip, DerivedColumns, Log


@parametrize_with_checks(
    [
        DerivedColumns(),
        DerivedColumns(expressions={"d": "log1p(abs(x0)) * 2 - x0 / 3"}),
        Log(),
        Clip(lower=-1.0, upper=1.0),
        Clip(lower_quantile=0.05, upper_quantile=0.95),
        Bucketize(),
        Bucketize(edges=[-1.0, 0.0, 1.0]),
    ]
)
def test_sklearn_conventions(estimator, check) -> None:
    check(estimator)


def test_derived_columns_on_a_frame_keep_inputs_and_append_in_order() -> None:
    frame = pd.DataFrame({"a b": [1.0, 2.0, np.nan], "c": [4.0, 0.0, 1.0], "s": ["x", "y", "z"]})
    step = DerivedColumns({"ratio": "`a b` / c", "twice": "ratio * 2"}).fit(frame)
    out = step.transform(frame)
    assert list(out.columns) == ["a b", "c", "s", "ratio", "twice"]
    np.testing.assert_array_equal(out["ratio"], [0.25, np.nan, np.nan])  # x/0 is inf: missing
    np.testing.assert_array_equal(out["twice"], [0.5, np.nan, np.nan])
    assert list(frame.columns) == ["a b", "c", "s"]  # the input is not modified
    assert list(step.get_feature_names_out()) == ["a b", "c", "s", "ratio", "twice"]


def test_derived_columns_refuse_unknown_columns_and_clashes() -> None:
    frame = pd.DataFrame({"a": [1.0], "b": [2.0]})
    with pytest.raises(ValueError, match="unknown columns \\['nope'\\]"):
        DerivedColumns({"d": "a + nope"}).fit(frame)
    with pytest.raises(ValueError, match="already exists"):
        DerivedColumns({"a": "b * 2"}).fit(frame)


def test_log_clip_bucketize_values() -> None:
    X = np.array([[0.0, 1.0], [np.e - 1, -5.0], [np.nan, 100.0], [-2.0, 3.0]])
    np.testing.assert_allclose(Log().fit_transform(X)[:, 0], [0.0, 1.0, np.nan, np.nan])
    clipped = Clip(lower=0.0, upper=10.0).fit_transform(X)
    np.testing.assert_array_equal(clipped[:, 1], [1.0, 0.0, 10.0, 3.0])
    learned = Clip(upper_quantile=0.5).fit(X)
    np.testing.assert_allclose(learned.upper_, np.nanquantile(X, 0.5, axis=0))
    buckets = Bucketize(edges=[0.0, 2.0]).fit_transform(X)
    np.testing.assert_array_equal(buckets[:, 0], [1.0, 1.0, np.nan, 0.0])  # an edge value goes up
    quantile = Bucketize(n_bins=2).fit(X)
    np.testing.assert_allclose(quantile.edges_[1], [np.median(X[:, 1])])


def test_gitml_transformers_round_trip_through_skops_with_the_default_trust_list(tmp_path) -> None:
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    from gitml.model.modelio import load_model, save_model

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.exponential(size=60), "b": rng.normal(size=60), "flag": rng.random(60) < 0.5,
                          "when": pd.date_range("2024-01-01", periods=60, freq="D").strftime("%Y-%m-%d")})
    y = (frame["a"] > 1).astype(int)
    columns = ColumnTransformer([
        ("log", make_pipeline(Log(), Clip(upper_quantile=0.9)), ["a"]),
        ("bins", Bucketize(n_bins=4), ["b", "ratio"]),
        ("flag", make_pipeline(Categories(), OneHotEncoder()), ["flag"]),
        ("when", Calendar(), ["when"]),
    ])
    model = Pipeline([("derive", DerivedColumns({"ratio": "a / (abs(b) + 1)"})), ("columns", columns),
                      ("model", LogisticRegression())]).fit(frame, y)
    save_model(model, tmp_path / "model.skops")
    loaded = load_model(tmp_path / "model.skops")
    np.testing.assert_array_equal(loaded.predict_proba(frame), model.predict_proba(frame))
    np.testing.assert_array_equal(loaded[:-1].transform(frame), model[:-1].transform(frame))


@parametrize_with_checks([Calendar(), Calendar(parts=["year", "hour", "day_of_year"])])
def test_calendar_follows_sklearn_conventions(estimator, check) -> None:
    check(estimator)


def test_calendar_reads_text_and_timestamps_alike() -> None:
    text = pd.DataFrame({"d": ["2024-02-29", "2023-12-31T23:30:00", None, "not a date"]})
    stamps = pd.DataFrame({"d": pd.to_datetime(["2024-02-29", "2023-12-31 23:30:00", None, None], format="ISO8601")})
    step = Calendar(parts=["year", "month", "day", "day_of_week", "hour"])

    from_text = step.fit(text).transform(text)

    np.testing.assert_array_equal(from_text[:2], [[2024, 2, 29, 3, 0], [2023, 12, 31, 6, 23]])
    assert np.isnan(from_text[2:]).all()
    np.testing.assert_array_equal(step.fit(stamps).transform(stamps), from_text)
    assert list(step.get_feature_names_out()) == ["d_year", "d_month", "d_day", "d_day_of_week", "d_hour"]


def test_calendar_reads_the_format_pandas_infers_and_converts_time_zones() -> None:
    european = pd.DataFrame({"d": ["31/12/2023", "01/02/2024"]})
    zoned = pd.DataFrame({"d": ["2024-01-01T01:00:00+02:00", "2024-01-01T00:00:00Z"]})

    assert Calendar(parts=["month", "day"]).fit(european).transform(european).tolist() == [[12, 31], [2, 1]]
    assert Calendar(parts=["day", "hour"]).fit(zoned).transform(zoned).tolist() == [[31, 23], [1, 0]]


def test_calendar_refuses_unknown_parts() -> None:
    with pytest.raises(ValueError, match="Calendar: parts must be some of year, month"):
        Calendar(parts=["fortnight"]).fit(pd.DataFrame({"d": ["2024-01-01"]}))


def test_categories_lets_the_imputer_read_true_false() -> None:
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline

    flags = pd.DataFrame({"member": [True, False, True]})
    gappy = pd.DataFrame({"member": [True, None, True]}, dtype=object)

    steps = make_pipeline(Categories(), SimpleImputer(strategy="most_frequent")).fit(flags)

    assert steps.transform(gappy).tolist() == [[True], [True], [True]]  # None is missing, as NaN is
    assert Categories().fit(flags).transform(flags.to_numpy()).dtype == object
    assert list(Categories().fit(flags).get_feature_names_out()) == ["member"]
