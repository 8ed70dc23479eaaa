"""Benchmark: the gate's paired bootstrap against a straightforward per-resample loop.

Run with `python bench/gate.py [--rows 1000000] [--resamples 1000]`. Two seeded binary
classifiers' predictions on the same test rows (continuous probabilities, as a gradient-boosted
model gives), then, in the same run:

- `gitml.gate.bootstrap.paired` with the configured default (`auto`: the fast method beyond 20,000 rows):
  1,000 resamples of every metric (accuracy, f1, precision, recall, roc_auc, log_loss) of both
  models, target under 5 s at 1M rows;
- the straightforward loop it replaces: per resample, draw row indices and call
  `gitml.model.metrics.compute` on both resampled frames (scikit-learn), timed over a few resamples and
  scaled to the same count (ratio);
- the exact method (textbook resampling, exact ROC AUC) over a few blocks, scaled likewise;
- at a size where both methods are cheap, the interval widths of fast vs exact (they should agree).
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

from gitml.config import Bootstrap
from gitml.gate import bootstrap
from gitml.model import metrics


def predictions(n_rows: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    truth = rng.random(n_rows) < 0.4
    frames = []
    for noise in (1.0, 0.97):
        logit = np.where(truth, 1.5, -1.5) + rng.normal(scale=noise, size=n_rows)
        p = 1 / (1 + np.exp(-logit))
        frames.append(pd.DataFrame({"y_true": np.where(truth, "pos", "neg"), "y_pred": np.where(p > 0.5, "pos", "neg"),
                                    "proba_neg": 1 - p, "proba_pos": p}))
    return frames[0], frames[1]


def loop(base: pd.DataFrame, cand: pd.DataFrame, resamples: int, seed: int = 0) -> dict[str, list[float]]:
    """The straightforward paired bootstrap: one index draw and two `metrics.compute` calls per resample."""
    rng = np.random.default_rng(seed)
    deltas: dict[str, list[float]] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(resamples):
            rows = rng.integers(0, len(base), size=len(base))
            a = metrics.compute(base.iloc[rows].reset_index(drop=True), "classification")
            b = metrics.compute(cand.iloc[rows].reset_index(drop=True), "classification")
            for name in a:
                deltas.setdefault(name, []).append(b[name] - a[name])
    return deltas


def timed(function, *args):
    started = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--loop-resamples", type=int, default=3, help="resamples the slow loop is timed over")
    parser.add_argument("--exact-resamples", type=int, default=16, help="resamples the exact method is timed over")
    args = parser.parse_args()
    base, cand = predictions(args.rows)
    cfg = Bootstrap(resamples=args.resamples)
    fast_s, result = timed(bootstrap.paired, base, cand, "classification", cfg)
    loop_s, _ = timed(loop, base, cand, args.loop_resamples)
    loop_total = loop_s / args.loop_resamples * args.resamples
    exact_cfg = Bootstrap(resamples=args.exact_resamples, method="exact")
    exact_s, _ = timed(bootstrap.paired, base, cand, "classification", exact_cfg)
    exact_total = exact_s / args.exact_resamples * args.resamples
    print(f"{args.rows:,} rows, {args.resamples:,} resamples, 6 metrics x 2 models:")
    print(f"  bootstrap.paired ({result.method} method, whole call): {fast_s:.2f} s (target < 5 s)")
    print(f"  per-resample loop of metrics.compute: {loop_s / args.loop_resamples:.2f} s per resample "
          f"-> {loop_total:.0f} s for {args.resamples:,} (timed over {args.loop_resamples}); "
          f"ratio {loop_total / fast_s:.0f}x")
    print(f"  exact method (textbook resampling, exact ROC AUC): {exact_total:.1f} s for {args.resamples:,} "
          f"(timed over {args.exact_resamples}); ratio to fast {exact_total / fast_s:.1f}x")
    for name, interval in result.intervals.items():
        delta = result.recomputed[name][1] - result.recomputed[name][0]
        print(f"    {name:<9} delta {delta:+.5f}  95% interval [{interval.low:+.5f}, {interval.high:+.5f}]")
    small = 20_000
    b, c = predictions(small, seed=1)
    widths = {m: bootstrap.paired(b, c, "classification", Bootstrap(resamples=1000, method=m)).intervals
              for m in ("exact", "fast")}
    ratios = {n: (widths["fast"][n].high - widths["fast"][n].low) / (i.high - i.low)
              for n, i in widths["exact"].items()}
    print(f"  at {small:,} rows, interval width fast/exact: "
          + ", ".join(f"{n} {r:.2f}" for n, r in ratios.items()) + " (1.00 = same noise estimate)")


if __name__ == "__main__":
    main()
