"""gitml.features.expressions: the whitelisted expression language of derived features."""

from __future__ import annotations

import numpy as np
import pytest

from gitml.features.expressions import ExpressionError, parse

COLUMNS = {
    "a": np.array([1.0, 4.0, np.nan, -2.0]),
    "b": np.array([2.0, 0.0, 1.0, 4.0]),
    "mean radius": np.array([10.0, 20.0, 30.0, 40.0]),
}


def evaluate(text: str) -> np.ndarray:
    return parse(text).evaluate(COLUMNS.__getitem__, 4)


def test_arithmetic_functions_and_backticked_names() -> None:
    result = evaluate("log1p(`mean radius`) * 2 - a / b")
    with np.errstate(divide="ignore"):
        expected = np.log1p(COLUMNS["mean radius"]) * 2 - COLUMNS["a"] / COLUMNS["b"]
    expected[~np.isfinite(expected)] = np.nan
    np.testing.assert_allclose(result, expected)
    assert parse("log1p(`mean radius`) * 2 - a / b").columns == ("mean radius", "a", "b")


def test_comparisons_booleans_where_and_clip() -> None:
    np.testing.assert_array_equal(evaluate("0 < b <= 2"), [1.0, 0.0, 1.0, 0.0])
    np.testing.assert_array_equal(evaluate("(b > 1) and not (a > 3)"), [1.0, 0.0, 0.0, 1.0])
    np.testing.assert_array_equal(evaluate("where(b > 1, a, -1)"), [1.0, -1.0, -1.0, -2.0])
    np.testing.assert_array_equal(evaluate("clip(b, 1, 3)"), [2.0, 1.0, 1.0, 3.0])
    np.testing.assert_array_equal(evaluate("maximum(a, b) ** 2 % 5"), [4.0, 1.0, np.nan, 1.0])


def test_non_finite_results_become_missing_and_constants_broadcast() -> None:
    result = evaluate("a / b + log(b)")
    assert np.isnan(result[1]) and np.isnan(result[2])  # division by zero, missing input
    np.testing.assert_array_equal(evaluate("2.5"), [2.5] * 4)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a +* b", "invalid syntax"),
        ("a.__class__", "Attribute is not allowed"),
        ("__import__('os').system('true')", "unknown function"),
        ("__import__('os')", "unknown function '__import__'"),
        ("exec('1')", "unknown function 'exec'"),
        ("np.log(a)", "unknown function 'np.log'"),
        ("(lambda: 1)()", "unknown function"),
        ("a[0]", "Subscript is not allowed"),
        ("'text'", "only numeric literals"),
        ("True", "only numeric literals"),
        ("log(a, b)", "takes 1 positional"),
        ("clip(a, lo=1, hi=2)", "takes 3 positional"),
        ("[a for a in b]", "ListComp is not allowed"),
        ("a if b else 1", "IfExp is not allowed"),
        ("a := 1", "invalid syntax"),
        ("log", "is a function"),
        ("`a", "unbalanced backtick"),
        ("``", "empty backtick"),
        ("", "empty expression"),
        ("a + " * 600 + "a", "longer than"),
    ],
)
def test_everything_outside_the_whitelist_is_refused(text: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=message):
        parse(text)
