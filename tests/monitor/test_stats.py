"""The vectorised statistics against scipy's reference implementations, and the drift rules and correction."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
from scipy import stats as scipy_stats
from scipy.spatial.distance import jensenshannon

from gitml.config import Params
from gitml.core.errors import ConfigError
from gitml.monitor import rules, stats


@pytest.mark.parametrize(
    ("n", "m", "digits"),
    [(7, 5, None), (300, 200, 1), (2_000, 3_000, 2), (12_000, 30_000, None), (60_000, 80_000, 3), (40, 40, 0)],
)
def test_numeric_statistics_equal_scipy(n: int, m: int, digits: int | None) -> None:
    rng = np.random.default_rng(n)
    ref, cur = rng.normal(size=n), rng.normal(0.1, 1.2, size=m)
    if digits is not None:  # rounding makes ties within and across the samples
        ref, cur = ref.round(digits), cur.round(digits)
    values, _ = stats.numeric(ref, cur, psi_bins=10, chart_bins=20)
    expected = scipy_stats.ks_2samp(ref, cur)
    assert values["ks"] == pytest.approx(expected.statistic, abs=1e-12)
    # Exact (as scipy) up to 10,000 values per sample; beyond, Stephens' formula within 0.5%
    # wherever a decision could depend on it (the far tail only needs to stay far out).
    if expected.pvalue > 1e-6:
        assert values["ks_pvalue"] == pytest.approx(expected.pvalue, rel=5e-3)
    else:
        assert values["ks_pvalue"] < 1e-6
    assert values["wasserstein"] == pytest.approx(scipy_stats.wasserstein_distance(ref, cur) / ref.std(), rel=1e-9)


@pytest.mark.parametrize(
    ("ref", "cur"),
    [
        ({"a": 500, "b": 300, "c": 200}, {"a": 400, "b": 400, "d": 50}),
        ({"yes": 30, "no": 12}, {"yes": 18, "no": 20}),  # one degree of freedom: Yates' correction
        ({"only": 10}, {"only": 7}),
    ],
)
def test_categorical_statistics_equal_scipy(ref: dict[str, int], cur: dict[str, int]) -> None:
    values, _ = stats.categorical(ref, cur, chart_bins=10)
    levels = sorted(ref.keys() | cur.keys())
    table = np.array([[ref.get(k, 0) for k in levels], [cur.get(k, 0) for k in levels]])
    chi2, pvalue = scipy_stats.chi2_contingency(table)[:2]
    assert values["chi2"] == pytest.approx(chi2, abs=1e-12)
    assert values["chi2_pvalue"] == pytest.approx(pvalue)
    assert values["jensenshannon"] == pytest.approx(jensenshannon(table[0] / table[0].sum(), table[1] / table[1].sum()))


def test_new_categories_and_their_share() -> None:
    values, chart = stats.categorical({"a": 500, "b": 300}, {"a": 400, "b": 400, "d": 50}, chart_bins=10)
    assert values["new_share"] == pytest.approx(50 / 850)
    assert chart["new"] == ["d"]


def test_psi_of_identical_bins_is_zero_and_grows_with_shift() -> None:
    counts = np.array([10, 20, 30, 40])
    assert stats.psi(counts, counts) == 0
    assert stats.psi(counts, counts[::-1]) > 0.5


def test_constant_reference_gives_infinite_normalised_wasserstein_only_when_current_moves() -> None:
    same, _ = stats.numeric(np.ones(200), np.ones(300), 10, 10)
    moved, _ = stats.numeric(np.ones(200), np.full(300, 2.0), 10, 10)
    assert same["wasserstein"] == 0 and same["ks"] == 0
    assert math.isinf(moved["wasserstein"]) and moved["ks"] == 1


def test_categorical_chart_folds_rare_categories_into_other() -> None:
    ref = {f"k{i}": 100 - i for i in range(30)}
    _, chart = stats.categorical(ref, ref, chart_bins=8)
    assert len(chart["labels"]) == 8 and chart["labels"][-1] == "(other)"
    assert sum(chart["ref"]) == pytest.approx(1.0)


def test_rule_table_and_overrides_resolve_most_specific_first(monitor_params: Callable[..., Params]) -> None:
    p = monitor_params(
        overrides={
            "all": {"decide": "both"},
            "numeric": {"effect": "psi", "threshold": 0.2},
            "columns": {"num_3": {"threshold": 0.5, "alpha": 0.01}},
        }
    )
    assert rules.resolve(p.monitor, "num_1", "numeric") == rules.Rule("both", "ks", 0.05, "psi", 0.2)
    assert rules.resolve(p.monitor, "num_3", "numeric") == rules.Rule("both", "ks", 0.01, "psi", 0.5)
    assert rules.resolve(p.monitor, "cat_0", "categorical") == rules.Rule("both", "chi2", 0.05, "jensenshannon", 0.1)


def test_a_test_that_does_not_fit_the_role_names_the_key_that_set_it(monitor_params: Callable[..., Params]) -> None:
    p = monitor_params(overrides={"all": {"effect": "wasserstein"}})
    expected = r"monitor\.overrides\.all\.effect: 'wasserstein' does not apply to categorical"
    with pytest.raises(ConfigError, match=expected):
        rules.resolve(p.monitor, "cat_0", "categorical")


@pytest.mark.parametrize(
    ("decide", "rows", "pvalue", "value", "drifted", "used"),
    [
        ("table", 1000, 0.01, 0.0, True, "significance"),
        ("table", 1001, 0.01, 0.0, False, "effect"),
        ("table", 1001, 0.9, 0.2, True, "effect"),
        ("both", 10**6, 1e-9, 0.05, False, "both"),
        ("both", 10**6, 1e-9, 0.15, True, "both"),
        ("significance", 10**6, 0.04, 0.0, True, "significance"),
    ],
)
def test_decide_follows_the_rule_table(decide: str, rows: int, pvalue: float, value: float, drifted: bool,
                                       used: str) -> None:
    rule = rules.Rule(decide, "ks", 0.05, "wasserstein", 0.1)
    how = rules.mode(rule, rows, small_reference=1000)
    decision = rules.decide(rule, {"ks_pvalue": pvalue, "wasserstein": value}, how, "none", 0.05, None)
    assert decision["status"] == ("drift" if drifted else "no_drift")
    assert decision["decide"] == used


@pytest.mark.parametrize(("pvalue", "adjusted", "drifted", "reason"), [
    (0.01, 0.03, True, "ks p=0.01 < 0.05, BH-adjusted 0.03 < 0.05"),
    (0.01, 0.3, False, "ks p=0.01 < 0.05 but BH-adjusted 0.3 >= 0.05"),
    (0.2, 0.6, False, "ks p=0.2 >= 0.05, BH-adjusted 0.6 >= 0.05"),
])
def test_a_corrected_significance_decision_needs_the_adjusted_pvalue_under_fdr_too(
    pvalue: float, adjusted: float, drifted: bool, reason: str
) -> None:
    rule = rules.Rule("significance", "ks", 0.05, "wasserstein", 0.1)
    decision = rules.decide(rule, {"ks_pvalue": pvalue, "wasserstein": 0.0}, "significance", "bh", 0.05, adjusted)
    assert decision["status"] == ("drift" if drifted else "no_drift")
    assert decision["reason"] == reason and decision["pvalue_adjusted"] == adjusted


PVALUES = [0.01, 0.04, 0.03, 0.005]


def test_benjamini_hochberg_adjusts_by_rank_and_keeps_the_order() -> None:
    # Sorted: 0.005 x 4/1, 0.01 x 4/2, 0.03 x 4/3, 0.04 x 4/4; then the running minimum from the largest.
    assert rules.adjusted(PVALUES, "bh") == pytest.approx([0.02, 0.04, 0.04, 0.02])


def test_holm_multiplies_by_the_tests_left_and_never_decreases() -> None:
    # Sorted: 0.005 x 4, 0.01 x 3, 0.03 x 2, 0.04 x 1 -> 0.02, 0.03, 0.06, max(0.04, 0.06).
    assert rules.adjusted(PVALUES, "holm") == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert rules.adjusted([0.9, 0.8], "holm") == pytest.approx([1.0, 1.0])


def test_no_correction_and_no_tests_change_nothing() -> None:
    assert rules.adjusted(PVALUES, "none") == PVALUES
    assert rules.adjusted([], "bh") == []


def test_large_sample_pvalue_uses_the_asymptotic_formula_within_half_a_percent() -> None:
    rng = np.random.default_rng(5)
    ref, cur = rng.normal(size=150_000), rng.normal(0.006, 1.0, size=150_000)
    values, _ = stats.numeric(ref, cur, psi_bins=10, chart_bins=20)
    expected = scipy_stats.ks_2samp(ref, cur)
    assert 1e-4 < expected.pvalue < 0.5
    assert values["ks_pvalue"] == pytest.approx(expected.pvalue, rel=5e-3)
