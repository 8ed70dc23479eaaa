"""Paired timing: both models loaded and timed in one process, interleaved, on the same test rows.

A latency measured in the baseline's CI run cannot be compared with one measured in the
candidate's: runners differ from run to run, and a busy one is slower at everything. So the
gate times both models itself, in one process, alternating between them (A B, then B A, row
by row) on the same rows, and reports each figure as a candidate/baseline ratio with an
interval. The clock is the process's CPU time (`time.process_time`): what a call costs, which
another process on a shared runner cannot inflate by taking the CPU away (measured: under a
CPU hog, wall-clock ratios of a model against itself spread by tens of percent, CPU-time
ratios by a few). For a model that predicts on one thread, as gitml's defaults do, it is the
latency an idle server shows.

- `latency_p50_ms`, `latency_p99_ms`: one row per call; per row the best of the rounds (the
  model's own cost, as `timeit` has it), then the percentile over the rows;
- `throughput_rps`: rows per second predicting `batch_rows` rows in one call (best round);
- `load_s`: reading and checking the model file (best round);
- `memory_mb`: peak of Python and numpy allocations (tracemalloc) while loading the model and
  predicting one batch, after a warm-up (imports are not the model's);
- `size_mb`: the file's size (exact).

Intervals come from a percentile bootstrap over rounds and rows with the same picks for both
models (paired), so they narrow as rounds add up; rounds repeat until each timed ratio's
interval is at most `precision` of the ratio wide, or `budget_s` is spent (two rounds at
least). A model that cannot be loaded or cannot predict the rows is a GateError.
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
#: Rounds before any interval is trusted, and bootstrap resamples of the rounds.
_MIN_ROUNDS, _RESAMPLES = 3, 400
#: Loading is the slowest measurement: it is timed in the first few rounds only.
_LOAD_ROUNDS = 2
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
    """One round: every row, then a batch, then (early on) a load, alternating which model goes first.

    The garbage collector waits outside the timed calls, as in `timeit`.
    """
    order = list(range(len(sides)))
    if number % 2:
        order.reverse()
    clock = _CLOCK
    times = [np.empty(len(side.single)) for side in sides]
    predictors = [_predictor(side.model) for side in sides]
    gc.collect()
    gc.disable()
    try:
        for i in range(len(sides[0].single)):
            for k in order if i % 2 == 0 else order[::-1]:
                row = sides[k].single[i]
                start = clock()
                predictors[k](row)
                times[k][i] = clock() - start
        for k in order:
            start = clock()
            predictors[k](sides[k].batch)
            sides[k].throughput.append(len(sides[k].batch) / (clock() - start))
    finally:
        gc.enable()
    for side, measured in zip(sides, times, strict=True):
        side.latency.append(measured)
    if time_loads:
        for k in order[::-1]:
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


def _memory_mb(path: Path, batch: Any) -> float:
    """Peak of Python and numpy allocations (MB) while loading the model and predicting a batch (after a warm-up)."""
    gc.collect()
    tracemalloc.start()
    try:
        _predictor(modelio.load_model(path))(batch)
        return tracemalloc.get_traced_memory()[1] / _MB
    finally:
        tracemalloc.stop()


def _round(sides: list[_Side], number: int, time_loads: bool) -> None:
    """One round: every row, then a batch, then (early on) a load, alternating which model goes first.

    The garbage collector waits outside the timed calls, as in `timeit`.
    """
    order = list(range(len(sides)))
    if number % 2:
        order.reverse()
    clock = _CLOCK
    times = [np.empty(len(side.single)) for side in sides]
    predictors = [_predictor(side.model) for side in sides]
    gc.collect()
    gc.disable()
    try:
        for i in range(len(sides[0].single)):
            for k in order if i % 2 == 0 else order[::-1]:
                row = sides[k].single[i]
                start = clock()
                predictors[k](row)
                times[k][i] = clock() - start
        for k in order:
            start = clock()
            predictors[k](sides[k].batch)
            sides[k].throughput.append(len(sides[k].batch) / (clock() - start))
    finally:
        gc.enable()
    for side, measured in zip(sides, times, strict=True):
        side.latency.append(measured)
    if time_loads:
        for k in order[::-1]:
            start = clock()
            modelio.load_model(sides[k].path)
            sides[k].load.append(clock() - start)


def _traced_load(path: Path, label: str, batch: Any) -> tuple[Any, float]:
    """The model, loaded, and the peak of Python and numpy allocations (MB) while loading it and predicting a batch.

    This first load is also the warm-up (lazy imports, file cache); the timed loads come later.
    """
    gc.collect()
    tracemalloc.start()
    try:
        model = _load(path, label)
        try:
            _predictor(model)(batch)
        except Exception as exc:  # a model raises whatever its estimator raises
            raise GateError(f"gate.timing: the {label} model cannot predict the test rows: {reason(exc)}") from exc
        return model, tracemalloc.get_traced_memory()[1] / _MB
    finally:
        tracemalloc.stop()


_UNITS = {"latency_p50_ms": ("ms", True), "latency_p99_ms": ("ms", True), "throughput_rps": ("rows/s", False),
          "load_s": ("s", True), "memory_mb": ("MB", True), "size_mb": ("MB", True)}


def _statistic(name: str, side: _Side, rounds: np.ndarray, rows: np.ndarray, loads: np.ndarray) -> np.ndarray:
    """The figure `name` of one side, for each resample (a row of picks of rounds, rows and load rounds)."""
    if name.startswith("latency"):
        samples = np.stack(side.latency) * 1000.0  # rounds x rows, in ms
        best = samples[rounds[:, :, None], rows[:, None, :]].min(axis=1)  # per resample and row: the best round
        return np.percentile(best, 50 if name == "latency_p50_ms" else 99, axis=1)
    if name == "throughput_rps":
        return np.asarray(side.throughput)[rounds].max(axis=1)
    return np.asarray(side.load)[loads].min(axis=1)


def _figures(sides: list[_Side], cfg: Timing, rng: np.random.Generator) -> dict[str, Figure]:
    """Each timed figure with its bootstrap interval; the same picks for both sides (a paired bootstrap)."""
    n_rounds, n_rows, n_loads = len(sides[0].latency), len(sides[0].single), len(sides[0].load)
    drawn = (rng.integers(0, n_rounds, (_RESAMPLES, n_rounds)), rng.integers(0, n_rows, (_RESAMPLES, n_rows)),
             rng.integers(0, n_loads, (_RESAMPLES, n_loads)))
    whole = (np.arange(n_rounds)[None, :], np.arange(n_rows)[None, :], np.arange(n_loads)[None, :])
    tail = (1.0 - cfg.confidence) / 2 * 100
    figures = {}
    for name in ("latency_p50_ms", "latency_p99_ms", "throughput_rps", "load_s"):
        unit, lower = _UNITS[name]
        values = [float(_statistic(name, side, *whole)[0]) for side in sides]
        draws = [_statistic(name, side, *drawn) for side in sides]
        figure = Figure(name, unit, lower, values[0], candidate_interval=_percentiles(draws[0], tail))
        if len(sides) == 2:
            figure.baseline, figure.ratio = values[1], values[0] / values[1]
            figure.interval = _percentiles(draws[0] / draws[1], tail)
        figures[name] = figure
    return figures


def _percentiles(draws: np.ndarray, tail: float) -> tuple[float, float]:
    low, high = np.percentile(draws, [tail, 100.0 - tail])
    return float(low), float(high)


def _narrow(figures: dict[str, Figure], precision: float) -> bool:
    """Whether each figure that decides the stop has an interval at most `precision` of its value wide."""
    for name in _STOPPING:
        figure = figures[name]
        low, high = figure.interval or figure.candidate_interval
        middle = figure.ratio if figure.ratio is not None else figure.candidate
        if high - low > precision * middle:
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
        notes.append("each model is timed on its own test rows (the baseline cannot take the candidate's)")
    rng = np.random.default_rng(cfg.seed)
    number, stopped = 0, "budget"
    while True:
        began = time.perf_counter()
        _round(sides, number, time_loads=number < _LOAD_ROUNDS)
        number += 1
        last = time.perf_counter() - began
        log.info("timing: round %d took %.2f s", number, last)
        if number >= _MIN_ROUNDS and _narrow(_figures(sides, cfg, rng), cfg.precision):
            stopped = "precision"
            break
        if number >= 2 and time.perf_counter() - started + last > cfg.budget_s:
            break
    figures = _figures(sides, cfg, rng)
    for name, values in (("memory_mb", memory), ("size_mb", [side.path.stat().st_size / _MB for side in sides])):
        unit, lower = _UNITS[name]
        figure = figures[name] = Figure(name, unit, lower, values[0], candidate_interval=(values[0], values[0]))
        if len(values) == 2:
            figure.baseline, figure.ratio = values[1], values[0] / values[1]
            figure.interval = (figure.ratio, figure.ratio)
    seconds = time.perf_counter() - started
    log.info("timing: %d rounds in %.1f s (%s)", number, seconds, stopped)
    return Timed(figures, number, seconds, len(sides[0].single), len(sides[0].batch), stopped, notes)
