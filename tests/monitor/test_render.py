"""The HTML drift report: self-contained, size independent of rows, escaped, and clean in Chromium."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from gitml.config import Params
from gitml.monitor import drift, render, sources

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
    assert "<h1>Drift report" in dom and dom.count("<svg") == 25
    assert "num_2" in dom and "new-level" in dom


def test_report_is_self_contained_and_its_size_does_not_grow_with_rows(tmp_path: Path, report_for: Callable) -> None:
    small, large = render.html(report_for(tmp_path, 1000)), render.html(report_for(tmp_path, 50_000))
    assert len(large) < 1.1 * len(small) and len(large) < 150_000
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
