"""Paired timing of two models in one process, and the production policy that judges the figures.

Real models (random forests fitted with the train stage's library, saved with skops), timed
for real: a forest of many trees against one of two, a model against itself, ten times in a
row, and beside CPU-hogging processes (bounded in time, stopped by their pid).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gitml.config import Production, Timing
from gitml.core.errors import GateError
from gitml.core.text import number
from gitml.gate import policy, timing

#: Small enough to run often; the budget is the default's business (bench/gate.py measures it).
QUICK = Timing(budget_s=0.3, rows=8, batch_rows=32)


@pytest.fixture(scope="module")
def rows(serve_kit: Any) -> Any:
    """Numeric rows: the forests below predict them with no preprocessing, so the trees are the cost."""
    frame = serve_kit.frame(160, seed=3)
    return frame[["x", "k"]].astype("float64").fillna(0.0)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory, serve_kit: Any, rows: Any) -> dict[str, Path]:
    """Two forests fitted on the same rows: 80 trees and 2 trees; and a byte-identical copy of the small one."""
    from sklearn.ensemble import RandomForestClassifier

    from gitml.model import modelio

    root = tmp_path_factory.mktemp("timing")
    labels = serve_kit.frame(160, seed=3)["label"]
    found = {}
    for name, n in (("many", 80), ("few", 2)):
        forest = RandomForestClassifier(n_estimators=n, max_depth=2, random_state=0, n_jobs=1).fit(rows, labels)
        modelio.save_model(forest, found.setdefault(name, root / f"{name}.skops"))
    found["same"] = root / "same.skops"
    shutil.copyfile(found["few"], found["same"])
    return found


def _verdict(candidate: Path, baseline: Path, rows: Any, cfg: Timing = QUICK) -> tuple[str, timing.Timed]:
    timed = timing.measure(candidate, baseline, rows, cfg)
    judged = policy.judge_production(timed.figures, Production())
    return ("fail" if any(j.status == "fail" for j in judged) else "pass"), timed


def test_many_more_trees_fail_the_latency_rule_with_the_ratio_shown(models: dict[str, Path], rows: Any) -> None:
    timed = timing.measure(models["many"], models["few"], rows, QUICK)
    judged = {j.name: j for j in policy.judge_production(timed.figures, Production())}
    latency = judged["latency_p99_ms"]
    assert latency.status == "fail" and latency.change == "regressed"
    assert latency.ratio > 1.5 and latency.interval[0] > 1.5
    assert latency.reasons == [f"ratio {number(latency.ratio)} (interval {number(latency.interval[0])} "
                               f"to {number(latency.interval[1])}) is above the limit 1.5 "
                               "(gate.production.latency_p99_max_ratio)"]
    # Every figure is there, with both sides, and only the latency is gated by default.
    assert set(judged) == {"latency_p50_ms", "latency_p99_ms", "throughput_rps", "load_s", "memory_mb", "size_mb"}
    assert {name for name, j in judged.items() if j.gated} == {"latency_p99_ms"}
    assert judged["throughput_rps"].change == "regressed" and judged["throughput_rps"].ratio < 1
    assert judged["size_mb"].ratio == pytest.approx(models["many"].stat().st_size / models["few"].stat().st_size)
    assert judged["memory_mb"].ratio > 1 and timed.rounds >= 2 and timed.rows == 8 and timed.batch_rows == 32


def test_a_model_against_itself_passes_with_an_interval_that_contains_one(models: dict[str, Path],
                                                                          rows: Any) -> None:
    assert _verdict(models["same"], models["few"], rows)[0] == "pass"
    # A 95% interval misses one time in twenty by design: 99.9% ones show there is no bias.
    timed = timing.measure(models["same"], models["few"], rows, QUICK.model_copy(update={"confidence": 0.999}))
    for name in ("latency_p50_ms", "latency_p99_ms", "throughput_rps"):
        low, high = timed.figures[name].interval
        assert low <= 1.0 <= high, (name, timed.figures[name])
    assert timed.figures["size_mb"].ratio == 1.0
    assert timed.figures["memory_mb"].ratio == pytest.approx(1.0, abs=0.05)


def test_ten_repeated_runs_on_one_pair_give_the_same_verdict(models: dict[str, Path], rows: Any) -> None:
    verdicts = [_verdict(models["many"], models["few"], rows)[0] for _ in range(10)]
    assert verdicts == ["fail"] * 10


@pytest.fixture
def cpu_hog() -> Iterator[list[subprocess.Popen]]:
    """One busy process per core beside the test, each ending by itself within a minute; stopped after."""
    import os

    code = "import time\nend = time.monotonic() + 60\nwhile time.monotonic() < end:\n    pass\n"
    hogs = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(os.cpu_count() or 2)]
    try:
        yield hogs
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()


def test_a_cpu_hog_beside_the_gate_does_not_change_the_verdict(models: dict[str, Path], rows: Any,
                                                               cpu_hog: list[subprocess.Popen]) -> None:
    assert all(hog.poll() is None for hog in cpu_hog), "the hogs run while the models are timed"
    assert _verdict(models["many"], models["few"], rows)[0] == "fail"
    assert _verdict(models["same"], models["few"], rows)[0] == "pass"
    assert all(hog.poll() is None for hog in cpu_hog), "the hogs ran throughout"


def test_without_a_baseline_only_the_ceilings_judge(models: dict[str, Path], rows: Any) -> None:
    timed = timing.measure(models["few"], None, rows, QUICK)
    figure = timed.figures["latency_p99_ms"]
    assert figure.baseline is None and figure.ratio is None and figure.interval is None
    low, high = figure.candidate_interval
    assert 0 < low <= figure.candidate <= high
    limits = Production(latency_p99_ms_max=low / 2, size_mb_max=1000.0)
    judged = {j.name: j for j in policy.judge_production(timed.figures, limits)}
    assert judged["latency_p99_ms"].status == "fail" and judged["latency_p99_ms"].change == "new"
    assert "is above the ceiling" in judged["latency_p99_ms"].reasons[0]
    assert "gate.production.latency_p99_ms_max" in judged["latency_p99_ms"].reasons[0]
    assert judged["size_mb"].status == "pass"


def test_a_breach_within_the_noise_passes_with_a_note() -> None:
    figure = timing.Figure("latency_p99_ms", "ms", True, 16.0, 10.0, 1.6, (1.4, 1.9), (11.0, 13.0))
    (judged,) = policy.judge_production({"latency_p99_ms": figure}, Production())
    assert judged.status == "pass" and judged.change == "regressed" and judged.reasons == []
    assert judged.notes == ["ratio 1.6 (interval 1.4 to 1.9) is above 1.5 only within the noise"]


def test_a_model_that_cannot_be_loaded_or_predict_is_one_line(models: dict[str, Path], rows: Any,
                                                              tmp_path: Path) -> None:
    broken = tmp_path / "broken.skops"
    broken.write_bytes(b"not a zip archive")
    with pytest.raises(GateError, match=r"^gate\.timing: the baseline model cannot be loaded for timing: ") as err:
        timing.measure(models["few"], broken, rows, QUICK)
    assert "\n" not in str(err.value) and str(broken) in str(err.value)
    with pytest.raises(GateError, match=r"^gate\.timing: the candidate model cannot predict the test rows: "):
        timing.measure(models["few"], None, rows.drop(columns=["k"]), QUICK)
    with pytest.raises(GateError, match="the test set has no rows"):
        timing.measure(models["few"], None, rows.iloc[:0], QUICK)


@pytest.mark.parametrize(("key", "value", "message"), [
    ("timing.budget_s", 0, "gate.timing.budget_s: Input should be greater than 0"),
    ("production.latency_p99_max_ratio", "fast", "gate.production.latency_p99_max_ratio: Input should be a valid "
                                                 "number"),
])
def test_bad_timing_settings_name_their_key(key: str, value: Any, message: str, make_params: Any) -> None:
    from gitml.core.errors import ConfigError

    with pytest.raises(ConfigError, match=message):
        make_params({f"gate.{key}": value})
