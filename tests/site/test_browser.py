"""The site in a real browser: headless Chromium from file://, clicked as a reviewer would.

Every request the pages make is recorded: all of them must be file:// URLs of the site itself.
Screenshots are kept in build/test-artifacts/site.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gitml.tune import experiments

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def page(browser: Any, site_project: Any) -> Iterator[Any]:
    """A browser page that records every request and every console message or page error."""
    assert site_project.built.returncode == 0, site_project.built.stderr
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    tab.requests, tab.messages = [], []
    tab.on("request", lambda request: tab.requests.append(request.url))
    tab.on("console", lambda message: tab.messages.append(f"{message.type}: {message.text}"))
    tab.on("pageerror", lambda error: tab.messages.append(f"error: {error}"))
    yield tab
    context.close()


@pytest.fixture(scope="module")
def shots(artifacts: Path) -> Callable[[Any, str], None]:
    folder = artifacts / "site"
    folder.mkdir(parents=True, exist_ok=True)
    return lambda tab, name: tab.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def _open(page: Any, site: Path, name: str) -> None:
    page.goto((site / f"{name}.html").as_uri())


def test_every_commit_of_every_branch_and_experiment_is_listed(page: Any, site_project: Any, shots: Callable) -> None:
    _open(page, site_project.site, "experiments")
    listed = page.eval_on_selector_all("#experiments tbody tr", "rows => rows.map(r => r.dataset.sha)")
    assert sorted(listed) == sorted(set(site_project.commits))
    groups = page.eval_on_selector_all("#experiments tbody tr", "rows => rows.map(r => r.dataset.group)")
    assert groups.count("experiment") == 2 and "branch" in groups
    broken = page.locator(f'tr[data-sha="{site_project.malformed}"] .missing-note').inner_text()
    assert "reports/metrics.json: not a readable metrics file" in broken
    shots(page, "experiments")


def test_sorting_by_clicking_a_metric_puts_the_best_first_then_reverses(page: Any, site_project: Any) -> None:
    _open(page, site_project.site, "experiments")
    header = page.locator("#experiments th", has_text="roc_auc").first
    column = "rows => rows.map(r => r.querySelector(`td:nth-child(${%d})`).dataset.v)"
    index = page.eval_on_selector_all("#experiments thead th", "ths => ths.findIndex(t => t.textContent === 'roc_auc')")
    header.click()
    values = [float(v) for v in page.eval_on_selector_all("#experiments tbody tr", column % (index + 1)) if v]
    assert values == sorted(values, reverse=True) and values[0] == 0.9991  # exp-alpha
    header.click()
    values = [float(v) for v in page.eval_on_selector_all("#experiments tbody tr", column % (index + 1)) if v]
    assert values == sorted(values) and values[0] == 0.42  # exp-beta
    assert header.get_attribute("aria-sort") == "ascending"


def test_filtering_by_typing_and_by_group(page: Any, site_project: Any, shots: Callable) -> None:
    _open(page, site_project.site, "experiments")
    page.fill("#filter", "wider forest")
    visible = page.eval_on_selector_all("#experiments tbody tr:not([hidden])", "rows => rows.length")
    assert visible == 3 and page.inner_text("#count") == f"3 of {len(set(site_project.commits))} commits"
    page.fill("#filter", "")
    page.select_option("#group", "experiment")
    names = page.eval_on_selector_all("#experiments tbody tr:not([hidden]) td:nth-child(3)",
                                      "cells => cells.map(c => c.textContent.split(' ')[0])")
    assert sorted(names) == ["exp-alpha", "exp-beta"]
    shots(page, "experiments-filtered")


def test_comparing_two_commits_shows_their_params_diff_metric_deltas_and_overlaid_curves(
        page: Any, site_project: Any, run: Callable, shots: Callable) -> None:
    _open(page, site_project.site, "experiments")
    path = site_project.path
    first, second = run(path, "git", "rev-parse", "main~3", "main~2").stdout.split()
    page.check(f'tr[data-sha="{first}"] input.pick')
    page.check(f'tr[data-sha="{second}"] input.pick')
    diff = page.eval_on_selector_all("#params-diff tbody tr", "rows => rows.map(r => r.innerText.split('\\t'))")
    assert ["seed", "122", "123"] in diff  # main~1 is the broken metrics commit, main~2 the last tuned seed
    deltas = {row[0]: row for row in page.eval_on_selector_all(
        "#metric-deltas tbody tr", "rows => rows.map(r => Array.from(r.cells).map(c => c.textContent))")}
    assert deltas["roc_auc"][3].startswith("+0.0025") and deltas["roc_auc"][4] == "better"
    assert page.locator("#compare svg polyline.series").count() >= 4  # ROC and precision-recall, A and B
    shots(page, "compare")
    # The page opened with #compare=A,B ticks them itself (links from a comment or another page).
    page.goto((site_project.site / "experiments.html").as_uri() + f"#compare={first[:7]},{second[:7]}")
    page.reload()
    assert page.locator("#params-diff").count() == 1


def test_no_request_leaves_file_urls_and_no_page_logs_anything(page: Any, site_project: Any, shots: Callable) -> None:
    page.requests.clear()
    page.messages.clear()
    pages = ["index", "experiments", "metrics", "registry", "reports", "pipeline"]
    for name in pages:
        _open(page, site_project.site, name)
        shots(page, name)
    versions = sorted((site_project.site / "versions").glob("*.html"))
    for version in versions:
        page.goto(version.as_uri())
        shots(page, f"version-{version.stem}")
    for report in ("reports/eda.html", "reports/card.html"):
        page.goto((site_project.site / report).as_uri())
    outside = [url for url in page.requests if not url.startswith(site_project.site.as_uri())]
    assert outside == [], outside
    assert len(page.requests) == len(pages) + len(versions) + 2  # the documents themselves, nothing else
    assert page.messages == []


def test_overview_and_registry_say_who_holds_each_stage_and_what_moved(page: Any, site_project: Any) -> None:
    _open(page, site_project.site, "index")
    holders = page.eval_on_selector_all("main table tbody tr", "rows => rows.map(r => r.cells[0].innerText + ' ' "
                                        "+ r.cells[1].innerText)")
    assert sorted(holders) == ["prod model v0.0.1", "staging model v0.0.2"]
    _open(page, site_project.site, "registry")
    events = page.eval_on_selector_all("main table:nth-of-type(2) tbody tr",
                                       "rows => rows.map(r => r.cells[1].innerText + ' ' + r.cells[2].innerText)")
    assert events == ["staging v0.0.1", "prod v0.0.1", "staging v0.0.2", "prod v0.0.2", "prod v0.0.1"]
    _open(page, site_project.site, "metrics")
    assert page.locator("svg[aria-label='roc_auc over time'] text", has_text="v0.0.2").count() == 1


def test_the_experiment_listing_equals_dvc_exp_show(site_project: Any, run: Callable) -> None:
    shown = json.loads(run(site_project.path, "dvc", "exp", "show", "--json", "--all-commits").stdout)
    theirs = {}
    for row in experiments.rows(shown):
        if row.state != "workspace":
            theirs[row.name if row.name.startswith("exp-") else row.rev] = row.metrics.get("roc_auc")
    data = json.loads((site_project.site / "experiments.html").read_text().split(
        '<script type="application/json" id="site-data">', 1)[1].split("</script>", 1)[0])
    auc = data["metrics"].index("roc_auc")
    ours = {}
    for commit in data["commits"]:
        name = next((n for n, sha in site_project.experiments.items() if sha == commit["s"]), commit["s"][:7])
        ours[name] = commit["m"][auc]
    assert ours == theirs
