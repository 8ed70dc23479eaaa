"""gitml.eda.profile: profile figures equal pandas' own, warnings, and a self-contained page that renders."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import yaml

from gitml.config import Contract, Eda
from gitml.core import svg, text
from gitml.data import contract
from gitml.eda import profile
from stages import eda as stage

CFG = Eda()


def _frame(task: str, n: int = 500) -> pd.DataFrame:
    rng = np.random.default_rng(11)
    frame = pd.DataFrame({
        "x": rng.normal(3.0, 2.0, n),
        "skewed": rng.exponential(size=n),
        "colour": rng.choice(["red", "green", "blue", "grey"], n, p=[0.4, 0.3, 0.2, 0.1]),
        "constant": np.ones(n),
        "ident": [f"id{i}" for i in range(n)],
        "sparse": rng.normal(size=n),
    })
    frame.loc[frame.index % 9 == 0, "x"] = np.nan
    frame.loc[frame.index % 13 == 0, "colour"] = None
    frame.loc[frame.index % 3 != 0, "sparse"] = np.nan  # two thirds missing
    if task == "classification":
        frame["label"] = np.where(frame["skewed"] + rng.normal(0, 0.3, n) > 1.0, "yes", "no")
        frame["leak"] = (frame["label"] == "yes") * 10.0 + rng.normal(0, 0.01, n)
    else:
        frame["label"] = 2.0 * frame["skewed"] + rng.normal(0, 1.0, n)
        frame["leak"] = frame["label"] * 3.0 + rng.normal(0, 0.001, n)
    frame = pd.concat([frame, frame.iloc[:7]], ignore_index=True)  # 7 duplicate rows
    frame["colour"] = frame["colour"].astype("str")
    return frame


def _profile(frame: pd.DataFrame, task: str) -> dict:
    spec = Contract.model_validate(contract.infer(frame, "label", task, max_categories=1000))
    return profile.profile(pa.Table.from_pandas(frame, preserve_index=False), spec, "label", task, CFG)


def _eta(groups: pd.Series, values: pd.Series) -> float:
    ok = groups.notna() & values.notna()
    groups, values = groups[ok], values[ok]
    stats = values.groupby(groups).agg(["count", "mean"])
    between = (stats["count"] * (stats["mean"] - values.mean()) ** 2).sum()
    return float(np.sqrt(between / ((values - values.mean()) ** 2).sum()))


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_figures_match_pandas(task: str) -> None:
    frame = _frame(task)
    result = _profile(frame, task)
    assert result["dataset"]["rows"] == len(frame)
    assert result["dataset"]["duplicate_rows"] == int(frame.duplicated().sum()) == 7
    for name in ("x", "skewed", "sparse", "leak"):
        s, col = frame[name], result["columns"][name]
        assert (col["count"], col["missing"], col["distinct"]) == (s.count(), s.isna().sum(), s.nunique())
        assert col["mean"] == pytest.approx(s.mean(), rel=1e-12)
        assert col["std"] == pytest.approx(s.std(), rel=1e-12)
        assert (col["min"], col["max"]) == (s.min(), s.max())
        for q in CFG.quantiles:
            assert col["quantiles"][f"{q:g}"] == pytest.approx(s.quantile(q), rel=1e-12)
        counts, edges = np.histogram(s.dropna(), bins=CFG.bins)
        assert col["histogram"]["counts"] == counts.tolist()
        np.testing.assert_allclose(col["histogram"]["edges"], edges)
    colour = result["columns"]["colour"]
    counts = frame["colour"].value_counts()
    assert [(t["value"], t["count"]) for t in colour["top"]] == list(counts.items())
    assert (colour["count"], colour["missing"], colour["distinct"]) == (
        frame["colour"].count(), frame["colour"].isna().sum(), frame["colour"].nunique())
    x = result["columns"]["x"]["target_association"]
    if task == "regression":
        assert x == {"measure": "pearson", "value": pytest.approx(frame["x"].corr(frame["label"]), rel=1e-9)}
        assert result["columns"]["colour"]["target_association"]["value"] == pytest.approx(
            _eta(frame["colour"], frame["label"]), rel=1e-9)
    else:
        assert x["measure"] == "correlation_ratio"
        assert x["value"] == pytest.approx(_eta(frame["label"], frame["x"]), rel=1e-9)
        yes = (frame["label"] == "yes").astype(float)  # two classes: |point-biserial r|
        assert x["value"] == pytest.approx(abs(frame["x"].corr(yes)), rel=1e-9)
        table = pd.crosstab(frame["colour"], frame["label"]).to_numpy(dtype=float)
        expected = np.outer(table.sum(1), table.sum(0)) / table.sum()
        v = np.sqrt(((table - expected) ** 2 / expected).sum() / (table.sum() * (min(table.shape) - 1)))
        assert result["columns"]["colour"]["target_association"] == {"measure": "cramers_v",
                                                                      "value": pytest.approx(v, rel=1e-9)}


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_warnings_name_each_problem_column(task: str) -> None:
    result = _profile(_frame(task), task)
    kinds = {(w["kind"], w["column"]) for w in result["warnings"]}
    assert kinds == {
        ("constant", "constant"), ("high_cardinality", "ident"), ("missing", "sparse"),
        ("leakage", "leak"), ("duplicates", ""),
    }
    assert "identifier" in next(w["message"] for w in result["warnings"] if w["column"] == "ident")


def _stage(tmp_path: Path, raw: dict, frame: pd.DataFrame) -> dict:
    raw["data"] = {"source": {"kind": "file", "path": str(tmp_path / "in.csv")}, "task": "classification",
                   "target": "label", "contract": contract.infer(frame, "label", "classification")}
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw))
    Path(raw["paths"]["raw"]).parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(raw["paths"]["raw"], index=False)
    assert stage.main(["--params", str(path)]) == 0
    return raw["paths"]


def test_stage_writes_json_and_a_self_contained_page(tmp_path: Path, compose_raw) -> None:
    frame = _frame("classification")
    frame.loc[0, "colour"] = "<script>alert(1)</script>"
    paths = _stage(tmp_path, compose_raw(tmp_path), frame)
    result = json.loads(Path(paths["eda_json"]).read_text())  # strict JSON: no NaN
    assert result["columns"]["x"]["count"] == frame["x"].count()
    page = Path(paths["eda_html"]).read_text()
    assert "<script>" not in page and "&lt;script&gt;" in page
    links = re.findall(r"""(?:src|href)\s*=\s*["']?([^"' >]*)""", page)
    assert links and all(link.startswith("#") for link in links), "the page must load nothing"
    assert "default-src 'none'" in page
    # one chart per column, one for the target, the correlations, missing shares and where they are missing
    assert page.count("<svg") == len(frame.columns) + 4
    assert not list(Path(paths["eda_html"]).parent.glob(".*.tmp"))


def _chromium() -> str | None:
    return next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)


def render(page: Path, tmp_path: Path) -> tuple[str, list[str]]:
    """The DOM headless Chromium builds from `page`, and every console message it logged."""
    command = [
        _chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
        "--enable-logging=stderr", "--v=0", "--dump-dom", page.as_uri(),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout, [line for line in result.stderr.splitlines() if ":CONSOLE" in line]


@pytest.mark.skipif(_chromium() is None, reason="needs chromium (`apt-get install -y chromium`; .ci/run installs it)")
def test_page_renders_in_headless_chromium_without_console_errors(tmp_path: Path, compose_raw) -> None:
    broken = tmp_path / "broken.html"
    broken.write_text('<!doctype html><title>t</title><script>console.error("x"); nope();</script>')
    assert render(broken, tmp_path)[1], "the console check must see errors when there are some"
    paths = _stage(tmp_path, compose_raw(tmp_path), _frame("classification"))
    dom, console = render(Path(paths["eda_html"]), tmp_path)
    assert console == []
    assert dom.count("<svg") == 12 and "Warnings (5)" in dom


def test_numbers_and_charts_escape_and_format() -> None:
    # the page's `num` filter is core.text.number, which writes flags as yes/no everywhere
    assert [text.number(v) for v in (None, 1234567, 0.000123456, True, "a")] == [
        "–", "1,234,567", "0.0001235", "yes", "a"]
    chart = str(svg.bars([("<b>", 1.0)], "t<"))
    assert "<b>" not in chart and "&lt;b&gt;" in chart and "t&lt;" in chart
    assert str(svg.histogram(None, "t")) == ""


def test_correlations_use_the_measure_of_each_pair_and_equal_pandas() -> None:
    frame = _frame("regression")
    corr = _profile(frame, "regression")["correlations"]
    assert "ident" not in corr["columns"] and "constant" not in corr["columns"]  # identifier-like, constant
    at = {name: i for i, name in enumerate(corr["columns"])}
    value = lambda a, b: corr["matrix"][at[a]][at[b]]  # noqa: E731
    assert value("x", "skewed") == pytest.approx(frame["x"].corr(frame["skewed"]), rel=1e-9)
    assert value("skewed", "x") == value("x", "skewed") and value("x", "x") == 1.0
    assert value("colour", "skewed") == pytest.approx(_eta(frame["colour"], frame["skewed"]), rel=1e-9)


def test_correlations_are_bounded_in_columns_and_rows() -> None:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({f"c{i}": rng.normal(size=3000) for i in range(40)})
    frame["label"] = frame["c39"] * 2 + rng.normal(size=3000)
    spec = Contract.model_validate(contract.infer(frame, "label", "regression"))
    cfg = Eda(correlation_columns=10, correlation_rows=500)
    corr = profile.profile(pa.Table.from_pandas(frame), spec, "label", "regression", cfg)["correlations"]
    assert len(corr["columns"]) == 10 and "c39" in corr["columns"] and corr["rows"] == 500


def test_missing_view_shares_per_band_and_duplicate_rows_with_their_counts() -> None:
    frame = pd.DataFrame({"a": [1.0, None, 3.0, None] * 25, "b": ["x"] * 100, "label": ["p", "q"] * 50})
    frame.loc[50:, "a"] = 7.0  # no gaps in the second half
    spec = Contract.model_validate(contract.infer(frame, "label", "classification"))
    result = profile.profile(pa.Table.from_pandas(frame), spec, "label", "classification", Eda(missing_bands=4))
    assert result["missing"]["shares"] == {"a": [0.48, 0.52, 0.0, 0.0]} and result["missing"]["bands"] == 4
    assert result["dataset"]["duplicate_rows"] == int(frame.duplicated().sum())
    top = result["duplicates"][0]
    assert top["count"] == 25 and set(top["values"]) == {"a", "b", "label"}
    assert sum(row["count"] - 1 for row in profile.duplicate_examples(pa.Table.from_pandas(frame), 100)) == \
        result["dataset"]["duplicate_rows"]


def test_every_histogram_has_axes_with_tick_labels() -> None:
    chart = str(svg.histogram({"edges": [0.0, 2.5, 5.0, 7.5, 10.0], "counts": [3, 10, 4, 1]}, "h", "width"))
    labels = re.findall(r'font-size="9" text-anchor="(?:middle|end)">([^<]+)<', chart)
    assert {"0", "5", "10"} <= set(labels)  # value ticks (and count ticks)
    assert "rows" in chart and ">width<" in chart and chart.count("<line") >= 8
