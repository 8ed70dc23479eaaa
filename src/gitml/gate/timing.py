"""Paired timing: both models loaded and timed in one process, interleaved, on the same test rows.

A latency measured in the baseline's CI run cannot be compared with one measured in the
candidate's: runners differ from run to run, and a busy one is slower at everything. So the
gate times both models itself, in one process, in rounds that alternate between them (A B,
then B A, row by row) on the same rows, and reports each figure as a candidate/baseline
ratio with an interval. The clock is the process's CPU time (`time.process_time`): what a
call costs, which another process on a shared runner cannot inflate by taking the CPU away
(bench/gate.py: a model against itself, under a CPU hog). For a model that predicts on one
thread, as gitml's defaults do, it is the latency an idle server shows.

- `latency_p50_ms`, `latency_p99_ms`: one row per call (A B B A, each model's faster call),
  the percentile over the rows;
- `throughput_rps`: rows per second predicting `batch_rows` rows in one call (A B B A);
- `load_s`: reading and checking the model file (once each, in the first round: the slowest
  measurement, so it has a ratio but no interval);
- `memory_mb`: peak of Python and numpy allocations (tracemalloc) while loading the model and
  predicting one batch, after a warm-up (imports are not the model's);
- `size_mb`: the file's size (exact).

Each round gives one paired ratio per figure, both calls made close together, so a round the
machine was slow in is slow for both models. The ratio is the geometric mean over the rounds,
its interval Student's t on the logs: honest with few rounds (wide), narrowing as they add up.
Rounds repeat, three at least, until each ratio's interval is at most `precision` of the ratio
wide or `budget_s` is spent (warm-up and memory come before, outside the budget). A model
that cannot be loaded or cannot predict the rows is a GateError.
"""

from __future__ import annotations

import gc
import logging
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gitml.config import Timing
from gitml.core.errors import GateError, GitmlError
from gitml.core.text import reason
from gitml.model import modelio

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

_MB = 1024 * 1024
#: Rounds before the timing may stop (two degrees of freedom for the intervals).
_MIN_ROUNDS = 3
#: Loading is the slowest measurement: it is timed in the first round only (one load each, no interval).
_LOAD_ROUNDS = 1
#: The clock of the timed calls: CPU time of this process (see the module docstring).
_CLOCK = time.process_time
#: Figures whose intervals decide when the timing may stop.
_STOPPING = ("latency_p50_ms", "latency_p99_ms", "throughput_rps")


@dataclass
class Figure:
    """One production figure of both models (`baseline` None when there is no baseline)."""

    name: str
    unit: str
    #: Whether less is better (latency, size, memory) or more (throughput).
    lower_is_better: bool
    candidate: float
    baseline: float | None = None
    #: candidate / baseline, and its interval.
    ratio: float | None = None
    interval: tuple[float, float] | None = None
    #: The interval of the candidate's own value (for absolute ceilings).
    candidate_interval: tuple[float, float] | None = None


@dataclass
class Timed:
    """What the timing measured, and how long it took."""

    figures: dict[str, Figure]
    rounds: int
    seconds: float
    rows: int
    batch_rows: int
    #: Why it stopped: "precision" (every interval narrow enough) or "budget".
    stopped: str
    notes: list[str] = field(default_factory=list)


@dataclass
class _Side:
    """One model under measurement: how it predicts, its rows, and every sample so far."""

    path: Path
    model: Any
    single: list[Any]
    batch: Any
    latency: list[np.ndarray] = field(default_factory=list)
    throughput: list[float] = field(default_factory=list)
    load: list[float] = field(default_factory=list)


def _load(path: Path, label: str) -> Any:
    try:
        return modelio.load_model(path)
    except GitmlError as exc:
        raise GateError(f"gate.timing: the {label} model cannot be loaded for timing: {exc}") from exc


def _predictor(model: Any) -> Callable[[Any], Any]:
    """What serving calls: class probabilities for a classifier, else `predict`."""
    return model.predict_proba if hasattr(model, "predict_proba") else model.predict


def _rows(frame: pd.DataFrame, cfg: Timing) -> tuple[list[Any], Any]:
    """The single-row frames (sliced once, outside the timed calls) and one batch of `batch_rows` rows."""
    import pandas as pd

    single = [frame.iloc[[i]] for i in range(min(cfg.rows, len(frame)))]
    repeats = -(-cfg.batch_rows // len(frame))
    batch = pd.concat([frame] * repeats, ignore_index=True).iloc[: cfg.batch_rows]
    return single, batch


def _round(sides: list[_Side], number: int, time_loads: bool) -> None:
    """One round: every row, then a batch, then (the first round) a load, alternating which model goes first.

    Each row is predicted A B B A and each side keeps its faster call, so a call that a
    hiccup slowed down is not taken for the model's cost. The garbage collector waits outside
    the timed calls, as in `timeit`.
    """
    order = list(range(len(sides)))
    if number % 2:
        order.reverse()
    clock = _CLOCK
    times = [np.full(len(side.single), np.inf) for side in sides]
    predictors = [_predictor(side.model) for side in sides]
    gc.collect()
    gc.disable()
    try:
        for i in range(len(sides[0].single)):
            for k in [*order, *order[::-1]]:
                start = clock()
                predictors[k](sides[k].single[i])
                times[k][i] = min(times[k][i], clock() - start)
            order.reverse()
        batch = [0.0] * len(sides)
        for k in [*order, *order[::-1]]:  # a drift within the round weighs on both alike
            start = clock()
            predictors[k](sides[k].batch)
            batch[k] += clock() - start
    finally:
        gc.enable()
    for side, measured, seconds in zip(sides, times, batch, strict=True):
        side.latency.append(measured)
        side.throughput.append(2 * len(side.batch) / seconds)
    if time_loads:
        for k in order:
            start = clock()
            modelio.load_model(sides[k].path)
            sides[k].load.append(clock() - start)


def _warm(path: Path, label: str, single: list[Any], batch: Any) -> Any:
    """The model, loaded, having predicted a row and a batch once (lazy imports, caches: none of it timed)."""
    model = _load(path, label)
    try:
        _predictor(model)(single[0])
        _predictor(model)(batch)
    except Exception as exc:  # a model raises whatever its estimator raises
        raise GateError(f"gate.timing: the {label} model cannot predict the test rows: {reason(exc)}") from exc
    return model


#: Memory measured per model file (path, size, mtime) and batch size: tracing a load costs several loads,
#: and the figure depends on nothing else, so a second timing in one process (a bench) does not repeat it.
_MEMORY: dict[tuple[str, int, int, int], float] = {}


def _memory_mb(path: Path, batch: Any) -> float:
    """Peak of Python and numpy allocations (MB) while loading the model and predicting a batch (after a warm-up)."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns, len(batch))
    if key not in _MEMORY:
        gc.collect()
        tracemalloc.start()
        try:
            _predictor(modelio.load_model(path))(batch)
            _MEMORY[key] = tracemalloc.get_traced_memory()[1] / _MB
        finally:
            tracemalloc.stop()
    return _MEMORY[key]


_UNITS = {"latency_p50_ms": ("ms", True), "latency_p99_ms": ("ms", True), "throughput_rps": ("rows/s", False),
          "load_s": ("s", True), "memory_mb": ("MB", True), "size_mb": ("MB", True)}


def _per_round(name: str, side: _Side) -> np.ndarray:
    """One value of the figure per round (load: per round it was timed)."""
    if name == "latency_p50_ms":
        return np.array([np.percentile(times, 50) * 1000.0 for times in side.latency])
    if name == "latency_p99_ms":
        return np.array([np.percentile(times, 99) * 1000.0 for times in side.latency])
    return np.asarray(side.throughput if name == "throughput_rps" else side.load)


def _geometric(values: np.ndarray, confidence: float) -> tuple[float, tuple[float, float] | None]:
    """The geometric mean of positive values and its Student-t interval (on the logs; None for one value)."""
    from scipy.special import stdtrit

    logs = np.log(values)
    mean = float(logs.mean())
    if len(logs) < 2:
        return float(np.exp(mean)), None
    half = float(stdtrit(len(logs) - 1, 0.5 + confidence / 2) * logs.std(ddof=1) / np.sqrt(len(logs)))
    return float(np.exp(mean)), (float(np.exp(mean - half)), float(np.exp(mean + half)))


def _figures(sides: list[_Side], confidence: float) -> dict[str, Figure]:
    """Each timed figure of both sides, its paired ratio and interval."""
    figures = {}
    for name in ("latency_p50_ms", "latency_p99_ms", "throughput_rps", "load_s"):
        unit, lower = _UNITS[name]
        values = [_per_round(name, side) for side in sides]
        candidate, own = _geometric(values[0], confidence)
        figure = figures[name] = Figure(name, unit, lower, candidate, candidate_interval=own)
        if len(sides) == 2:
            figure.baseline = _geometric(values[1], confidence)[0]
            figure.ratio, figure.interval = _geometric(values[0] / values[1], confidence)
    return figures


def _narrow(figures: dict[str, Figure], precision: float) -> bool:
    """Whether each figure that decides the stop has an interval at most `precision` of its value wide."""
    for name in _STOPPING:
        figure = figures[name]
        low, high = figure.interval or figure.candidate_interval
        if high - low > precision * (figure.ratio or figure.candidate):
            return False
    return True


def measure(candidate: Path, baseline: Path | None, rows: pd.DataFrame, cfg: Timing,
            baseline_rows: pd.DataFrame | None = None) -> Timed:
    """Time the candidate (and the baseline) model on `rows` (the baseline on `baseline_rows` if given)."""
    started = time.perf_counter()
    if rows.empty:
        raise GateError("gate.timing: the test set has no rows to time the models on")
    sides, notes = [], []
    for path, label, frame in ((candidate, "candidate", rows), (baseline, "baseline", baseline_rows)):
        if path is not None:
            single, batch = _rows(rows if frame is None else frame, cfg)
            sides.append(_Side(path, _warm(path, label, single, batch), single, batch))
    memory = [_memory_mb(side.path, side.batch) for side in sides]
    if baseline_rows is not None:
        notes.append("the test sets differ: each model is timed on its own test rows")
    began, number, stopped = time.perf_counter(), 0, "budget"
    while True:
        start = time.perf_counter()
        _round(sides, number, time_loads=number < _LOAD_ROUNDS)
        number += 1
        last = time.perf_counter() - start
        log.info("timing: round %d took %.2f s", number, last)
        if number < _MIN_ROUNDS:
            continue
        if _narrow(_figures(sides, cfg.confidence), cfg.precision):
            stopped = "precision"
            break
        if time.perf_counter() - began + last > cfg.budget_s:
            break
    figures = _figures(sides, cfg.confidence)
    for name, values in (("memory_mb", memory), ("size_mb", [side.path.stat().st_size / _MB for side in sides])):
        unit, lower = _UNITS[name]
        figure = figures[name] = Figure(name, unit, lower, values[0], candidate_interval=(values[0], values[0]))
        if len(values) == 2:
            figure.baseline, figure.ratio = values[1], values[0] / values[1]
            figure.interval = (figure.ratio, figure.ratio)
    seconds = time.perf_counter() - started
    log.info("timing: %d rounds in %.1f s (%s)", number, seconds, stopped)
    return Timed(figures, number, seconds, len(sides[0].single), len(sides[0].batch), stopped, notes)
