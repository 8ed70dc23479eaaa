"""Paired bootstrap of metric differences between two prediction files, vectorised.

Baseline and candidate predicted the same test rows. A resample re-weights the rows, with the
same weights for both models (that is what makes it paired); each metric is recomputed for
both and the percentile interval of candidate - baseline says whether a change is larger than
the noise of a test set this size.

`gitml.gate._weighted` turns row weights into every metric of both models (one matrix product
W @ F, plus ROC AUC); this module draws the weights, block by block. Two methods:

- exact: W counts how often each row is drawn when n rows are drawn with replacement (the
  textbook bootstrap); ROC AUC is recomputed exactly from the weights in score order.
- fast: W doubles or drops each row with probability 1/2 ("double-or-nothing", Owen and
  Eckles 2012), the same mean and variance per row as the textbook bootstrap, drawn as random
  bits and consumed in cache-sized blocks; ROC AUC uses its linear (DeLong placement)
  expansion, exact up to a term of relative order 1/n.

`auto` takes exact up to `exact_max_rows` test rows. Both are seeded, so a report is reproducible.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from gitml.config import Bootstrap
from gitml.gate._weighted import Design, Metrics, design, linear_aucs, metrics_from_sums, weighted_metrics

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

#: Elements of a weight block (resamples x rows) held at once: about 32 MB of float64.
_BLOCK = 1 << 22
#: The fast method's block: resamples x rows, sized to stay in cache.
_FAST_RESAMPLES, _FAST_ROWS = 128, 16384


@dataclass(frozen=True)
class Interval:
    """The percentile interval of candidate - baseline, and how many resamples defined it."""

    low: float
    high: float
    valid: int


@dataclass
class Paired:
    """The outcome of one paired bootstrap."""

    method: str
    resamples: int
    confidence: float
    seed: int
    intervals: dict[str, Interval]
    #: Each metric recomputed on the full test set: (baseline, candidate).
    recomputed: dict[str, tuple[float, float]]


def _exact_block(d: Design, size: int, rng: np.random.Generator) -> Metrics:
    """`size` textbook resamples: each row's weight is how often it is drawn among n draws."""
    drawn = rng.integers(0, d.n, size=(size, d.n)) + (np.arange(size) * d.n)[:, None]
    weights = np.bincount(drawn.ravel(), minlength=size * d.n).reshape(size, d.n).astype(np.float64)
    return weighted_metrics(d, weights, exact=True)


def _fast_block(d: Design, size: int, rng: np.random.Generator, *, features: np.ndarray) -> Metrics:
    """`size` double-or-nothing resamples, one random bit per row, summed in cache-sized row blocks.

    Single precision halves the memory traffic; each block's partial sums are added in double.
    Counts stay exact (integers below 2**24) and the continuous columns lose about 1e-7 relative.
    """
    sums = np.zeros((size, features.shape[1]))
    for start in range(0, d.n, _FAST_ROWS):
        rows = min(_FAST_ROWS, d.n - start)
        bits = np.frombuffer(rng.bytes((size * rows + 7) // 8), dtype=np.uint8)
        weights = np.unpackbits(bits, count=size * rows).reshape(size, rows).astype(np.float32)
        sums += weights @ features[start:start + rows]
    sums *= 2.0
    return metrics_from_sums(d, sums, linear_aucs(d, sums))


def method_for(cfg: Bootstrap, n: int) -> str:
    if cfg.method != "auto":
        return cfg.method
    return "exact" if n <= cfg.exact_max_rows else "fast"


def _blocks(method: str, n: int, resamples: int) -> list[int]:
    step = max(1, min(resamples, _BLOCK // max(n, 1))) if method == "exact" else _FAST_RESAMPLES
    return [min(step, resamples - start) for start in range(0, resamples, step)]


def paired(
    base: pd.DataFrame, cand: pd.DataFrame, task: str, cfg: Bootstrap,
    progress: Callable[[int, int], None] | None = None,
) -> Paired:
    """Percentile intervals of candidate - baseline for every metric, from one seeded paired bootstrap.

    Blocks of resamples run on a few threads (numpy releases the GIL) with BLAS itself kept to
    one thread: its own threading only adds synchronisation to these thin products. Block b
    draws from a generator seeded with (seed, b), so the result does not depend on the threads.
    """
    from concurrent.futures import ThreadPoolExecutor

    from threadpoolctl import threadpool_limits

    d = design(base, cand, task)
    method = method_for(cfg, d.n)
    names = d.metric_names()
    full = weighted_metrics(d, np.ones((1, d.n)), exact=False)  # at unit weights the linear AUC is exact
    recomputed = {name: (float(full["base"][name][0]), float(full["cand"][name][0])) for name in names}
    if method == "exact":
        one: Callable[..., Metrics] = _exact_block
    else:
        one = functools.partial(_fast_block, features=d.features.astype(np.float32))
    sizes = _blocks(method, d.n, cfg.resamples)
    deltas: dict[str, list[np.ndarray]] = {name: [] for name in names}
    done = 0
    with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(max_workers=_threads()) as pool:
        jobs = [pool.submit(one, d, size, np.random.default_rng([cfg.seed, b])) for b, size in enumerate(sizes)]
        for size, job in zip(sizes, jobs, strict=True):
            values = job.result()
            for name in names:
                deltas[name].append(values["cand"][name] - values["base"][name])
            done += size
            if progress:
                progress(done, cfg.resamples)
    alpha = (1 - cfg.confidence) / 2
    intervals = {}
    for name, parts in deltas.items():
        delta = np.concatenate(parts) if parts else np.empty(0)
        valid = int(np.isfinite(delta).sum())
        if valid:
            low, high = np.nanquantile(delta, [alpha, 1 - alpha])
            intervals[name] = Interval(float(low), float(high), valid)
    log.info("paired bootstrap (%s): %d resamples of %d rows", method, cfg.resamples, d.n)
    return Paired(method, cfg.resamples, cfg.confidence, cfg.seed, intervals, recomputed)


def _threads() -> int:
    import os

    return max(1, min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1))
