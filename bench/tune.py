"""Benchmark: a tuning search sequentially on one core, on all local cores, and on a Dask LocalCluster.

Run with `python bench/tune.py` (defaults: 50 trials of 5-fold CV of histogram gradient
boosting on 100k synthetic rows, pruning off so every run does the same 250 fits).
Baseline: `compute.n_jobs: 1` with every native thread pool limited to one thread (one
core). Compared in the same run: `n_jobs: -1` (all cores, joblib/loky) and
`compute.backend: dask` on a `distributed.LocalCluster` of 2 single-threaded worker
processes on 127.0.0.1. Prints wall times, speedups against the baseline (target >= 1.7x
on 2 cores), the machine's load average (the box may be shared) and checks that all three
found the same best parameters.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import yaml

from gitml import config
from gitml.config import SyntheticSource, compose
from gitml.data.sources import synthetic
from gitml.tune import search

CONF = Path(__file__).resolve().parents[1] / "conf"
SPACE = {
    "learning_rate": {"type": "float", "low": 0.03, "high": 0.3, "log": True},
    "max_iter": {"type": "int", "low": 20, "high": 100, "log": True},
    "max_leaf_nodes": {"type": "int", "low": 8, "high": 48, "log": True},
    "min_samples_leaf": {"type": "int", "low": 10, "high": 100, "log": True},
}


def params(rows: int, trials: int, folds: int, compute: dict[str, object]) -> config.Params:
    raw = yaml.safe_load(compose.compose(CONF, ["data=synthetic", "model=hist_gradient_boosting"]))
    raw["data"]["source"]["n_rows"] = rows
    raw["tune"].update(enabled=True, n_trials=trials, cv_folds=folds, pruning=False, batch_size=4,
                       spaces={"HistGradientBoostingClassifier": SPACE})
    raw["compute"].update(compute)
    return config.validate(raw)


def timed(label: str, p: config.Params, frame: object) -> tuple[float, dict]:
    load = os.getloadavg()[0]
    started = time.perf_counter()
    outcome = search.search(p, frame)
    elapsed = time.perf_counter() - started
    assert outcome is not None
    print(f"{label}: {elapsed:.1f} s (load average before {load:.1f}, after {os.getloadavg()[0]:.1f}); "
          f"best {outcome.chosen.metric} {outcome.chosen.best_value:.5f}", flush=True)
    return elapsed, outcome.spec


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    from distributed import LocalCluster
    from threadpoolctl import threadpool_limits

    base = params(args.rows, args.trials, args.folds, {})
    source = SyntheticSource.model_validate(base.data.source.model_dump())
    full = synthetic(source, base.data.task, base.data.target, base.seed)
    frame = full.sample(frac=0.8, random_state=base.seed).reset_index(drop=True)  # the training split's size
    print(f"{args.trials} trials x {args.folds}-fold CV of HistGradientBoostingClassifier on {len(frame):,} rows; "
          f"{os.cpu_count()} cores", flush=True)
    search.search(params(args.rows, 1, 2, {"n_jobs": 1}), frame.head(2000))  # warm-up: imports are not timed
    with threadpool_limits(1):
        one, spec_one = timed("n_jobs=1, one thread (baseline)", params(args.rows, args.trials, args.folds,
                                                                        {"n_jobs": 1}), frame)
    all_cores = params(args.rows, args.trials, args.folds, {"n_jobs": -1})
    local, spec_local = timed("n_jobs=-1 (all cores)", all_cores, frame)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        dask, spec_dask = timed("dask LocalCluster, 2 workers", params(
            args.rows, args.trials, args.folds, {"backend": "dask", "scheduler": cluster.scheduler_address}), frame)
    same = spec_one == spec_local == spec_dask
    print(f"speedup all cores {one / local:.2f}x, dask {one / dask:.2f}x against the one-core baseline "
          f"(target >= 1.7x on 2 cores); same best parameters in all three: {same}")


if __name__ == "__main__":
    main()
