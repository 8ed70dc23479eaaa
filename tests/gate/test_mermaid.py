"""The Mermaid charts in the pull-request comment parse and render with Mermaid itself, within the size limit.

Mermaid comes from the npm registry (`npm install mermaid` in a session folder) and runs in
headless Chromium, as GitHub runs it in a browser: `mermaid.parse` must accept each chart and
`mermaid.render` must draw it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gitml import config
from gitml.gate import plots, report

_BLOCK = re.compile(r"```mermaid\n(.*?)\n```", re.S)


@pytest.fixture(scope="session")
def mermaid_js(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """mermaid.min.js from the npm registry (skips, saying why, when npm or the registry is not there)."""
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed: Mermaid's own parser cannot be fetched")
    folder = tmp_path_factory.mktemp("mermaid")
    result = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--ignore-scripts", "--silent", "mermaid@11"],
                            cwd=folder, capture_output=True, text=True, timeout=600)
    script = folder / "node_modules" / "mermaid" / "dist" / "mermaid.min.js"
    if result.returncode or not script.is_file():
        pytest.skip(f"`npm install mermaid` failed: {(result.stderr or result.stdout).strip()[-300:]}")
    return script


@pytest.fixture(scope="module")
def mermaid_check(browser: Any, mermaid_js: Path) -> Callable[[str], dict[str, Any]]:
    """`check(text)`: Mermaid's verdict on a chart in Chromium: {"ok": True, "svg": ...} or {"error": ...}."""
    page = browser.new_page()
    page.set_content("<!DOCTYPE html><html><body><div id='out'></div></body></html>")
    page.add_script_tag(path=str(mermaid_js))
    page.evaluate("mermaid.initialize({startOnLoad: false})")
    counter = iter(range(10**6))

    def check(text: str) -> dict[str, Any]:
        return page.evaluate("""async ([text, id]) => {
            try {
                await mermaid.parse(text);
                const {svg} = await mermaid.render(id, text);
                return {ok: true, svg};
            } catch (error) { return {error: String(error.message || error)}; }
        }""", [text, f"chart{next(counter)}"])

    return check


def test_the_check_sees_a_broken_chart(mermaid_check: Callable[[str], dict[str, Any]]) -> None:
    assert "error" in mermaid_check("xychart-beta\n    x-axis [a, b\n    line [1, 2]")


@pytest.mark.e2e
@pytest.mark.parametrize("branch", ["worse", "better"])
def test_the_comment_charts_parse_and_render_with_mermaid(gate_project: Any, branch: str,
                                                          mermaid_check: Callable[[str], dict[str, Any]]) -> None:
    body = gate_project.markdown[branch]
    blocks = _BLOCK.findall(body)
    titles = [block.split("title ", 1)[1].splitlines()[0] for block in blocks]
    assert titles == ['"Candidate relative to baseline (baseline = 100, up is better)"', '"ROC (test set)"',
                      '"Precision-recall (test set)"']
    for block in blocks:
        result = mermaid_check(block)
        assert result.get("ok"), (result, block)
        assert result["svg"].count("<path") + result["svg"].count("<rect") > 2
    assert len(body) <= 65536


def _judged(n: int) -> list[dict[str, Any]]:
    return [{"name": f"metric \"{i}\" | odd", "direction": "lower" if i % 2 else "higher", "baseline": 0.5 + i / 100,
             "candidate": 0.52 + i / 90, "delta": 0.02, "interval": None, "change": "improved", "status": "info",
             "gated": False, "reasons": []} for i in range(n)]


def test_regression_residuals_and_odd_metric_names_parse(mermaid_check: Callable[[str], dict[str, Any]]) -> None:
    pairs = {"baseline": [(str(a), str(a + (a % 7) - 3)) for a in range(200)],
             "candidate": [(str(a), str(a + (a % 5) - 2)) for a in range(200)]}
    found = plots.mermaid({}, pairs, "regression", _judged(4))
    assert [chart["title"] for chart in found] == ["Metrics, candidate relative to baseline", "Residuals"]
    for chart in found:
        assert mermaid_check(chart["text"]).get("ok"), chart["text"]


def test_a_huge_report_keeps_the_comment_under_the_limit_and_drops_charts_before_cutting_tables(
        mermaid_check: Callable[[str], dict[str, Any]]) -> None:
    curve = [{"fpr": i / 50, "tpr": min(1.0, i / 25), "recall": 1 - i / 50, "precision": 0.5 + i / 100}
             for i in range(51)]
    curves = {side: {"roc": curve, "precision_recall": curve} for side in ("baseline", "candidate")}
    out = {"verdict": "pass", "summary": "ok", "error": None, "task": "classification",
           "candidate": {"ref": "HEAD", "commit": "c" * 40, "dirty": []},
           "baseline": {"ref": "main", "source": "merge-base", "commit": "b" * 40},
           "comparison": None, "metrics": _judged(40), "failures": [], "pipeline": None, "plots": [],
           "run_url": None, "site_url": "https://acme.github.io/demo/",
           "params": [{"key": f"model.k{i}", "baseline": "x" * 100, "candidate": "y" * 100} for i in range(2000)]}
    out["mermaid"] = plots.mermaid(curves, {}, "classification", out["metrics"])
    env = report.environment()
    full = report.render_markdown(out, env, 65536)
    assert len(full) <= 65536 and "more params not shown" in full
    blocks = _BLOCK.findall(full)
    assert len(blocks) == 3 and all(mermaid_check(block).get("ok") for block in blocks)
    assert "[the project site](https://acme.github.io/demo/)" in full
    small = report.render_markdown(out, env, config.GateReport(max_chars=4000).max_chars)
    assert len(small) <= 4000 and "```mermaid" not in small and "Plots left out" in small
