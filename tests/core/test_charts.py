"""gitml.core.charts: one deterministic thinning rule, and Vega-Lite specs that vl-convert draws offline."""

from __future__ import annotations

import base64
import re

import numpy as np
import pytest

from gitml.core import charts

# --- sample -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("n", "limit"), [(10, 10), (3, 10), (0, 5), (1, 1)])
def test_sample_short_input_is_unchanged(n, limit):
    rows = list(range(n))

    assert charts.sample(rows, limit) == rows


def test_sample_returns_a_new_list_of_any_sequence():
    rows = (1, 2, 3)

    sampled = charts.sample(rows, 5)

    assert sampled == [1, 2, 3] and isinstance(sampled, list)


@pytest.mark.parametrize(("n", "limit"), [(11, 10), (100, 10), (1001, 7), (5000, 2000), (3, 2)])
def test_sample_keeps_at_most_limit_rows_first_and_last(n, limit):
    rows = list(range(n))

    sampled = charts.sample(rows, limit)

    assert len(sampled) == limit
    assert sampled[0] == 0 and sampled[-1] == n - 1
    assert sampled == sorted(set(sampled)), "rows keep their order and none repeats"


@pytest.mark.parametrize(("n", "limit"), [(11, 10), (100, 10), (1001, 7), (5000, 2000), (12345, 999)])
def test_sample_rows_are_evenly_spaced(n, limit):
    sampled = charts.sample(list(range(n)), limit)

    gaps = {b - a for a, b in zip(sampled, sampled[1:], strict=False)}
    step = (n - 1) / (limit - 1)
    assert gaps <= {int(step), int(step) + 1}
    assert all(abs(value - i * step) <= 0.5 for i, value in enumerate(sampled))


def test_sample_exact_rows():
    assert charts.sample(list(range(10)), 4) == [0, 3, 6, 9]
    assert charts.sample(list("abcdefghi"), 3) == ["a", "e", "i"]


def test_sample_limit_below_two_keeps_the_first_rows():
    assert charts.sample([1, 2, 3], 1) == [1]
    assert charts.sample([1, 2, 3], 0) == []


def test_sample_is_deterministic():
    rows = [{"x": i / 7} for i in range(9999)]

    assert charts.sample(rows, 300) == charts.sample(rows, 300)


def test_sample_default_limit_is_max_points():
    assert len(charts.sample(list(range(charts.MAX_POINTS + 50)))) == charts.MAX_POINTS


def test_scatters_thin_each_side_to_limit():
    pairs = [(float(i), float(i) + 0.5) for i in range(500)]

    spec = charts.scatters({"baseline": pairs, "candidate": pairs[:20]}, limit=50)

    rows = spec["layer"][1]["data"]["values"]
    assert [r["model"] for r in rows].count("baseline") == 50
    assert [r["model"] for r in rows].count("candidate") == 20
    assert rows[0] == {"model": "baseline", "actual": 0.0, "predicted": 0.5}
    assert rows[49] == {"model": "baseline", "actual": 499.0, "predicted": 499.5}


# --- specs render to SVG ---------------------------------------------------------------------------

def _texts(svg: str) -> list[str]:
    return re.findall(r"<text[^>]*>([^<]*)</text>", svg)


def _rendered(spec: dict) -> str:
    svg = charts.svg(spec)
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/v5")
    return svg


ROC = [{"fpr": 0.0, "tpr": 0.0}, {"fpr": 0.1, "tpr": 0.6}, {"fpr": 0.4, "tpr": 0.9}, {"fpr": 1.0, "tpr": 1.0}]
PR = [{"recall": 0.0, "precision": 1.0}, {"recall": 0.5, "precision": 0.8}, {"recall": 1.0, "precision": 0.5}]


def test_curve_renders():
    svg = _rendered(charts.curve(ROC, "fpr", "tpr", "ROC curve (test set)"))

    texts = _texts(svg)
    assert "ROC curve (test set)" in texts
    assert {"fpr", "tpr"} <= set(texts)
    assert "<path" in svg


@pytest.mark.parametrize("diagonal", [True, False])
def test_curves_render_both_sides(diagonal):
    series = {"baseline": ROC, "candidate": [{"fpr": 0.0, "tpr": 0.0}, {"fpr": 0.2, "tpr": 0.95},
                                              {"fpr": 1.0, "tpr": 1.0}]}

    spec = charts.curves(series, "fpr", "tpr", "ROC", diagonal=diagonal)
    svg = _rendered(spec)

    assert {"baseline", "candidate", "ROC"} <= set(_texts(svg))
    assert len(spec["layer"]) == (2 if diagonal else 1)
    assert [r["step"] for r in spec["data"]["values"] if r["model"] == "candidate"] == [0, 1, 2]


def test_precision_recall_curves_render():
    svg = _rendered(charts.curves({"baseline": PR, "candidate": PR}, "recall", "precision", "Precision-recall"))

    assert "Precision-recall" in _texts(svg)


def test_confusion_renders_each_count():
    pairs = [("no", "no")] * 5 + [("no", "yes")] * 2 + [("yes", "yes")] * 7 + [("yes", "no")]

    spec = charts.confusion(pairs)
    svg = _rendered(spec)

    assert sorted((v["actual"], v["predicted"], v["count"]) for v in spec["data"]["values"]) == [
        ("no", "no", 5), ("no", "yes", 2), ("yes", "no", 1), ("yes", "yes", 7)]
    assert {"5", "2", "7", "1", "Confusion matrix (test set)"} <= set(_texts(svg))


def test_confusions_render_side_by_side():
    series = {"baseline": [("a", "a"), ("a", "b"), ("b", "b")], "candidate": [("a", "a"), ("b", "b"), ("b", "b")]}

    spec = charts.confusions(series, title="Confusion")
    svg = _rendered(spec)

    texts = _texts(svg)
    assert {"baseline", "candidate", "Confusion"} <= set(texts)
    assert {(v["model"], v["actual"], v["predicted"], v["count"]) for v in spec["data"]["values"]} == {
        ("baseline", "a", "a", 1), ("baseline", "a", "b", 1), ("baseline", "b", "b", 1),
        ("candidate", "a", "a", 1), ("candidate", "b", "b", 2)}


def test_scatter_renders():
    pairs = [(float(i), float(i) * 0.9 + 1) for i in range(30)]

    svg = _rendered(charts.scatter(pairs, title="Predicted vs actual"))

    assert {"Predicted vs actual", "actual", "predicted"} <= set(_texts(svg))


def test_scatter_of_a_million_rows_is_a_small_binned_density():
    rng = np.random.default_rng(3)
    actual = rng.normal(size=1_000_000)
    pairs = list(zip(actual.tolist(), (actual + rng.normal(size=actual.size)).tolist(), strict=True))

    spec = charts.scatter(pairs)

    values = spec["data"]["values"]
    assert spec["mark"]["type"] == "rect" and len(values) <= charts.BINS**2
    assert sum(v["count"] for v in values) == len(pairs)  # every row in exactly one cell, the extremes included
    assert min(v["actual"] for v in values) == min(actual)
    assert max(v["actual_end"] for v in values) == pytest.approx(max(actual))
    assert len(charts.svg_data_uri(spec)) < 150_000


def test_scatter_draws_each_point_up_to_the_limit():
    pairs = [(float(i), float(i)) for i in range(charts.CARD_POINTS)]

    assert len(charts.scatter(pairs)["data"]["values"]) == charts.CARD_POINTS
    assert charts.scatter([*pairs, (0.0, 0.0)])["mark"]["type"] == "rect"


def test_scatters_render_with_shared_axes_and_identity_line():
    series = {"baseline": [(1.0, 2.0), (3.0, 2.5)], "candidate": [(0.5, 0.75), (4.0, 6.0)]}

    spec = charts.scatters(series, title="Regression")
    svg = _rendered(spec)

    assert {"baseline", "candidate", "Regression"} <= set(_texts(svg))
    identity = spec["layer"][0]["data"]["values"]
    assert identity == [{"actual": 0.5, "predicted": 0.5}, {"actual": 6.0, "predicted": 6.0}]


def test_bars_render_in_the_given_order_with_errors():
    rows = [{"feature": "b", "importance_mean": 0.3, "importance_std": 0.05},
            {"feature": "a", "importance_mean": 0.1, "importance_std": 0.02}]

    spec = charts.bars(rows, "feature", "importance_mean", "Permutation importance", error="importance_std")
    svg = _rendered(spec)

    assert {"a", "b", "Permutation importance", "importance mean"} <= set(_texts(svg))
    assert spec["layer"][0]["encoding"]["y"]["sort"] == ["b", "a"]
    assert spec["data"]["values"][0]["low"] == pytest.approx(0.25)


def test_the_same_spec_renders_the_same_bytes():
    spec = charts.curve(ROC, "fpr", "tpr", "ROC")

    assert charts.svg(spec) == charts.svg(spec)


def test_svg_data_uri_embeds_the_svg():
    spec = charts.curve(ROC, "fpr", "tpr", "ROC")

    uri = charts.svg_data_uri(spec)

    assert uri.startswith("data:image/svg+xml;base64,")
    assert base64.b64decode(uri.split(",", 1)[1]).decode("utf-8") == charts.svg(spec)


def test_png_is_a_png_image():
    assert charts.png(charts.curve(ROC, "fpr", "tpr", "ROC"), scale=1).startswith(b"\x89PNG\r\n\x1a\n")
