"""The HTML drift report: self-contained, size independent of rows, escaped, and clean in Chromium."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gitml.config import Params
from gitml.monitor import drift, render, sources, status

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def report_for(monitor_params: Callable[..., Params], monitor_table: Callable[..., pd.DataFrame],
               shift: Callable[..., pd.DataFrame], write_table: Callable[..., Path]) -> Callable[[Path, int], dict]:
    """`report_for(tmp, rows)`: the drift report of a shifted table with one new category."""

    def report(tmp: Path, rows: int) -> dict:
        ref, cur = monitor_table(rows, 1), shift(monitor_table(rows, 2))
        cur.loc[:9, "cat_0"] = "new-level"
        return drift.run(monitor_params(), current=str(write_table(cur, tmp / f"cur{rows}.parquet")),
                         reference=str(write_table(ref, tmp / f"ref{rows}.parquet")))

    return report


def console_messages(page: Path, tmp: Path) -> tuple[str, list[str]]:
    """Render `page` in headless Chromium: the DOM it built and every console message it logged."""
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (.ci/run installs it)")
        pytest.skip("chromium is not installed")
    result = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp / 'profile'}",
         "--enable-logging=stderr", "--v=0", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout, [line for line in result.stderr.splitlines() if ":CONSOLE" in line]


def test_console_check_sees_script_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.html"
    bad.write_text("<!DOCTYPE html><html><body><script>throw new Error('boom')</script></body></html>")
    _, messages = console_messages(bad, tmp_path)
    assert any("boom" in line for line in messages)


def test_report_renders_in_chromium_without_console_messages(tmp_path: Path, report_for: Callable) -> None:
    page = tmp_path / "drift.html"
    page.write_text(render.html(report_for(tmp_path, 2000)), encoding="utf-8")
    dom, messages = console_messages(page, tmp_path)
    assert messages == []
    drills = dom.count('<details class="drill"')
    assert "<h1>Drift report" in dom and drills == 25 and dom.count("<svg") == 25 + drills
    assert "num_2" in dom and "new-level" in dom


def test_report_is_self_contained_and_its_size_does_not_grow_with_rows(tmp_path: Path, report_for: Callable) -> None:
    small, large = render.html(report_for(tmp_path, 1000)), render.html(report_for(tmp_path, 50_000))
    # The per-column drill-down adds about 3 KB a column: the size follows the columns, never the rows.
    assert len(large) < 1.1 * len(small) and len(large) < 250_000
    external = re.findall(r'(?:src|href)="(?!data:|#)[^"]*"', large)
    assert external == [] and "<script" not in large


def test_column_names_and_categories_are_escaped(tmp_path: Path, monitor_params: Callable[..., Params],
                                                write_table: Callable[..., Path]) -> None:
    name = "<script>alert(1)</script>"
    ref = pd.DataFrame({name: ["<b>x</b>", "y"] * 100})
    cur = pd.DataFrame({name: ["<b>x</b>", "<img src=q>"] * 100})
    reference = sources.Reference(
        table=sources.Table(write_table(ref, tmp_path / "r.parquet")),
        signature={"task": "classification", "target": "t", "inputs": [{"name": name, "role": "categorical"}]},
        origin={"source": "file", "path": "r.parquet"},
    )
    current = sources.Table(write_table(cur, tmp_path / "c.parquet"))
    report = drift.compare(reference, current, monitor_params().monitor)
    page = render.html(report)
    assert "<script>" not in page and "<img src=q>" not in page and "&lt;script&gt;" in page


def test_markdown_summary_names_the_drifted_columns(tmp_path: Path, report_for: Callable) -> None:
    text = render.markdown(report_for(tmp_path, 2000))
    assert "- columns: 3 drift, 22 no drift (of 25)" in text
    assert "column 'num_2': drift: wasserstein" in text


def test_each_column_drills_down_to_a_chart_with_axes_and_every_statistic(tmp_path: Path, report_for: Callable) -> None:
    page = render.html(report_for(tmp_path, 2000))
    drills = re.findall(r'<details class="drill" id="column-(\d+)">(.*?)</details>', page, re.S)
    assert drills and all(f'href="#column-{n}"' in page for n, _ in drills)
    numeric = next(body for _, body in drills if "<b>num_2</b>" in body)
    assert "share of rows" in numeric and "value (1st to 99th percentile" in numeric and "ks pvalue" in numeric
    ticks = re.findall(r'text-anchor="(?:middle|end)">([^<]+)</text>', numeric)
    assert any(t.endswith("%") for t in ticks) and len(ticks) >= 6
    categorical = next(body for _, body in drills if "<b>cat_0</b>" in body)
    assert "new-level" in categorical and "category" in categorical and "chi2 pvalue" in categorical


@pytest.fixture
def scenario(monitor_params: Callable[..., Params], monitor_table: Callable[..., pd.DataFrame],
             write_table: Callable[..., Path]) -> Callable[[Path, str], dict]:
    """`scenario(tmp, name)`: a report whose every check ends in one status (`drift`, `no_drift`,
    `insufficient_data`, `not_evaluated`), its columns in every status (`drift`)."""

    def build(tmp: Path, name: str) -> dict:
        ref = monitor_table(1200, 1, 6, 2)
        ref.loc[ref.index[60:], "num_5"] = np.nan  # too sparse to test, on both sides
        test = pd.DataFrame({"y_true": ref["target"], "y_pred": ref["target"]})
        write_table(test, tmp / "reports" / "predictions.parquet")
        (tmp / "reports" / "metrics.json").write_text(json.dumps({"accuracy": 0.98}))
        cur = monitor_table(1200, 2, 6, 2)
        cur.loc[cur.index[60:], "num_5"] = np.nan
        cur["prediction"] = cur["target"]  # a perfect model: as the test split said
        if name == "drift":
            cur["num_2"] += cur["num_2"].std()
            cur.loc[cur.index[::2], "cat_1"] = "a"
            cur = cur.drop(columns=["num_1"])  # no longer arrives
            cur["num_3"] = np.nan  # the feature stopped arriving
            cur["prediction"] = "class_1"  # the model now predicts one class only
        elif name == "insufficient_data":
            cur = cur.iloc[:40]
        elif name == "not_evaluated":
            cur = pd.DataFrame({"other": np.arange(300)})
        reference = sources.Reference(table=sources.Table(write_table(ref, tmp / "ref.parquet")),
                                      signature=sources.signature_from_contract(monitor_params(6, 2)),
                                      origin={"source": "file", "path": "ref.parquet"},
                                      predictions=sources.Table(tmp / "reports" / "predictions.parquet"),
                                      metrics={"accuracy": 0.98})
        monitor = monitor_params(6, 2, dataset_drift={"rule": "share", "share": 0.2}).monitor
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a library warning reaching the caller fails the test
            return drift.compare(reference, sources.Table(write_table(cur, tmp / f"{name}.parquet")), monitor)

    return build


def _html_card(page: str, name: str) -> str:
    return page.split(f'id="check-{name}"', 1)[1].split("</div>", 1)[0]


def _html_row(page: str, name: str) -> str:
    return page.split(f'data-column="{name}"', 1)[1].split("</tr>", 1)[0]


@pytest.mark.parametrize("name", ["drift", "no_drift", "insufficient_data", "not_evaluated"])
def test_every_check_says_the_same_status_in_the_json_the_summary_and_the_html(
    tmp_path: Path, scenario: Callable[[Path, str], dict], name: str
) -> None:
    report = json.loads(json.dumps(drift._plain(scenario(tmp_path, name))))  # as written to drift.json
    text, page = render.markdown(report).replace("**", ""), render.html(report)
    word = status.label(name)
    for check, title in status.CHECKS.items():
        assert report["checks"][check]["status"] == name, (check, report["checks"][check]["reason"])
        assert f"\n- {title}: {word}: {report['checks'][check]['reason']}\n" in text
        assert f"<b>{word}</b>" in _html_card(page, check)
    columns = report["columns"]
    assert report["status"] == name
    assert f"Drift report: {word}" in text and f"<title>Drift report: {word}</title>" in page
    for column, entry in columns.items():
        shown = status.label(entry["status"])
        assert f'<span class="badge {entry["status"]}">{shown}</span>' in _html_row(page, column)
        if entry["status"] != status.NO_DRIFT:
            assert f"column {column!r}: {shown}: " in text
        if "problem" not in entry:
            assert f'<div class="note missing">{status.label(entry["missing"]["status"])}</div>' in _html_row(
                page, column)
    if name == "drift":
        assert {c: e["status"] for c, e in columns.items() if c in ("num_2", "num_0", "num_5", "num_1", "num_3")} == {
            "num_2": "drift", "num_0": "no_drift", "num_5": "insufficient_data", "num_1": "not_evaluated",
            "num_3": "drift"}
        assert columns["num_3"]["missing"]["status"] == "drift" and columns["num_0"]["missing"]["status"] == "no_drift"
        assert "- columns: 3 drift, 1 not evaluated, 1 insufficient data, 3 no drift (of 8)" in text
    if name == "insufficient_data":
        assert {entry["missing"]["status"] for entry in columns.values()} == {"insufficient_data"}
