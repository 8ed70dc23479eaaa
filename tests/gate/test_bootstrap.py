"""The vectorised paired bootstrap: its metrics equal metrics.compute on the same resampled rows."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from gitml.config import Bootstrap
from gitml.gate import _weighted as weighted
from gitml.gate import bootstrap
from gitml.model import metrics


def _classifier(rng: np.random.Generator, y: np.ndarray, labels: list[str], skill: float,
                proba: bool = True, decimals: int | None = 1) -> pd.DataFrame:
    """Predictions whose probabilities lean towards the truth by `skill`; rounding makes ties."""
    codes = np.searchsorted(labels, y)
    logits = rng.normal(size=(len(y), len(labels)))
    logits[np.arange(len(y)), codes] += skill
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    if decimals is not None:
        p = np.round(p, decimals) + 1e-3
        p /= p.sum(axis=1, keepdims=True)
    frame = pd.DataFrame({"y_true": y, "y_pred": np.asarray(labels)[p.argmax(axis=1)]})
    if proba:
        for j, label in enumerate(labels):
            frame[f"proba_{label}"] = p[:, j]
    return frame


def _pair(kind: str, n: int, seed: int = 0, skills: tuple[float, float] = (1.5, 1.6)) -> tuple[pd.DataFrame, ...]:
    rng = np.random.default_rng(seed)
    if kind == "regression":
        y = rng.normal(size=n)
        return tuple(pd.DataFrame({"y_true": y, "y_pred": y + rng.normal(scale=1 / s, size=n)}) for s in skills)
    labels = ["a", "b", "c"] if kind == "multiclass" else ["benign", "malignant"]
    y = rng.choice(labels, size=n, p=[0.5, 0.3, 0.2] if kind == "multiclass" else [0.6, 0.4])
    return tuple(_classifier(rng, y, labels, s, proba=kind != "no-proba") for s in skills)


@pytest.mark.parametrize("kind", ["binary", "multiclass", "no-proba", "regression"])
def test_metrics_on_resampled_rows_equal_metrics_compute(kind: str) -> None:
    base, cand = _pair(kind, 300)
    task = "regression" if kind == "regression" else "classification"
    d = weighted.design(base, cand, task)
    rows = np.random.default_rng(1).integers(0, len(base), size=(4, len(base)))
    weights = np.stack([np.bincount(r, minlength=len(base)) for r in rows]).astype(float)
    got = weighted.weighted_metrics(d, weights)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-learn's own deprecation notes
        for r, index in enumerate(rows):
            for side, frame in (("base", base), ("cand", cand)):
                expected = metrics.compute(frame.iloc[index].reset_index(drop=True), task)
                assert set(expected) == set(d.metric_names())
                for name, value in expected.items():
                    assert got[side][name][r] == pytest.approx(value, abs=1e-12), (side, name)


def test_linear_roc_auc_is_close_to_the_exact_one_on_large_sets() -> None:
    base, cand = _pair("binary", 20_000)
    d = weighted.design(base, cand, "classification")
    weights = np.random.default_rng(2).integers(0, 2, size=(20, len(base))) * 2.0
    exact = weighted.weighted_metrics(d, weights, exact=True)
    linear = weighted.weighted_metrics(d, weights, exact=False)
    error = np.abs(linear["cand"]["roc_auc"] - exact["cand"]["roc_auc"])
    assert error.max() < 0.1 * exact["cand"]["roc_auc"].std()  # small against the resampling noise itself
    for name in ("accuracy", "f1", "log_loss"):
        np.testing.assert_allclose(linear["cand"][name], exact["cand"][name], rtol=1e-12)


def test_identical_models_have_zero_width_intervals() -> None:
    base, _ = _pair("binary", 200)
    result = bootstrap.paired(base, base.copy(), "classification", Bootstrap(resamples=200))
    assert result.method == "exact"
    assert {name: (i.low, i.high) for name, i in result.intervals.items()} == {
        name: (0.0, 0.0) for name in metrics.reported("classification", 2)}


@pytest.mark.parametrize("method", ["exact", "fast"])
def test_a_much_better_model_has_an_interval_above_zero(method: str) -> None:
    base, cand = _pair("binary", 3000, skills=(0.5, 2.0))
    result = bootstrap.paired(base, cand, "classification", Bootstrap(resamples=300, method=method))
    assert result.method == method
    for name in ("accuracy", "roc_auc"):
        assert result.intervals[name].low > 0
        low, high = result.intervals[name].low, result.intervals[name].high
        assert low < result.recomputed[name][1] - result.recomputed[name][0] < high
    assert result.intervals["log_loss"].high < 0


def test_fast_and_exact_methods_agree_on_interval_width() -> None:
    base, cand = _pair("binary", 5000, seed=3, skills=(1.5, 1.55))
    widths = {}
    for method in ("exact", "fast"):
        result = bootstrap.paired(base, cand, "classification", Bootstrap(resamples=400, method=method))
        widths[method] = {n: i.high - i.low for n, i in result.intervals.items()}
    for name, width in widths["exact"].items():
        assert widths["fast"][name] == pytest.approx(width, rel=0.25), name


def test_the_bootstrap_is_seeded() -> None:
    base, cand = _pair("regression", 500)
    first = bootstrap.paired(base, cand, "regression", Bootstrap(resamples=100, seed=5))
    assert bootstrap.paired(base, cand, "regression", Bootstrap(resamples=100, seed=5)).intervals == first.intervals
    assert bootstrap.paired(base, cand, "regression", Bootstrap(resamples=100, seed=6)).intervals != first.intervals


def test_auto_takes_the_fast_method_beyond_exact_max_rows() -> None:
    assert bootstrap.method_for(Bootstrap(exact_max_rows=100), 100) == "exact"
    assert bootstrap.method_for(Bootstrap(exact_max_rows=100), 101) == "fast"
    assert bootstrap.method_for(Bootstrap(method="exact", exact_max_rows=100), 10**6) == "exact"


def test_undefined_resamples_are_left_out() -> None:
    base, cand = _pair("binary", 6, seed=4)  # tiny: some resamples draw a single class
    result = bootstrap.paired(base, cand, "classification", Bootstrap(resamples=200))
    assert 0 < result.intervals["roc_auc"].valid < 200
    assert result.intervals["accuracy"].valid == 200


def test_progress_is_reported() -> None:
    base, cand = _pair("regression", 50_000)
    seen: list[tuple[int, int]] = []
    bootstrap.paired(base, cand, "regression", Bootstrap(resamples=300), progress=lambda d, t: seen.append((d, t)))
    assert seen[-1] == (300, 300) and len(seen) > 1
