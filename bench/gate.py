"""Benchmark: the gate's paired bootstrap, its paired timing of two models, and its reproduction of a baseline.

Run with `python bench/gate.py [--rows 1000000] [--resamples 1000] [--only bootstrap|timing|reproduction]`.

**bootstrap.** Two seeded binary classifiers' predictions on the same test rows (continuous
probabilities, as a gradient-boosted model gives), then, in the same run:

- `gitml.gate.bootstrap.paired` with the configured default (`auto`: the fast method beyond 20,000 rows):
  1,000 resamples of every metric (accuracy, f1, precision, recall, roc_auc, log_loss) of both
  models, target under 5 s at 1M rows;
- the straightforward loop it replaces: per resample, draw row indices and call
  `gitml.model.metrics.compute` on both resampled frames (scikit-learn), timed over a few resamples and
  scaled to the same count (ratio);
- the exact method (textbook resampling, exact ROC AUC) over a few blocks, scaled likewise;
- at a size where both methods are cheap, the interval widths of fast vs exact (they should agree).

The other two cases run on a project made by `gitml init` (the embedded data set and the
default pipeline), reproduced once:

**timing.** `gitml.gate.timing.measure` of the project's model against a byte-identical copy at
the default settings (`gate.timing`), 20 times quietly and 20 times beside one CPU-hogging
process per core: seconds per measurement (target under 10 s) and the spread of the
latency_p99 ratio (target within ±10% of 1).

**reproduction.** Two new clones of a pull-request branch (a params change), each with an
empty DVC cache and the branch's own pipeline reproduced: in one, `gitml gate` reproduces the
baseline commit in a temporary worktree; in the other, a plain `git checkout` of the baseline
and `dvc repro` (ratio, target at most 1.15). Then the gate again in the first clone (warm
cache) against the gate in a third clone whose cache was copied from it, as actions/cache
restores it (target within 0.5 s).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from gitml import config
from gitml.config import Bootstrap, Timing
from gitml.gate import bootstrap, timing
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


def bootstrap_case(args: argparse.Namespace) -> None:
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


def sh(cwd: Path, *command: str) -> float:
    """Run a command (this venv first on PATH), failing loudly; its wall-clock seconds."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", "DO_NOT_TRACK": "1",
           "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@gitml.local", "GIT_COMMITTER_NAME": "bench",
           "GIT_COMMITTER_EMAIL": "bench@gitml.local"}
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode not in (0, 1) or (done.returncode == 1 and command[:2] != ("gitml", "gate")):
        raise SystemExit(f"{' '.join(command)} exited {done.returncode} in {cwd}:\n{done.stderr[-3000:]}")
    return time.perf_counter() - started


def project(root: Path) -> Path:
    """A project made by `gitml init`, its pipeline reproduced and committed on main."""
    path = root / "project"
    sh(root, "gitml", "init", str(path), "--name", "bench")
    sh(path, "dvc", "remote", "modify", "--local", "storage", "url", str(root / "unused-remote"))
    sh(path, "dvc", "repro")
    sh(path, "git", "add", "--all")
    sh(path, "git", "commit", "-qm", "baseline")
    return path


def _hogs() -> list[subprocess.Popen]:
    code = "import time\nend = time.monotonic() + 600\nwhile time.monotonic() < end:\n    pass\n"
    return [subprocess.Popen([sys.executable, "-c", code]) for _ in range(os.cpu_count() or 2)]


def timing_case(path: Path, runs: int) -> None:
    import pandas as pd

    model = path / "models" / "model.skops"
    same = path.parent / "same.skops"
    shutil.copyfile(model, same)
    params = config.load(path / "params.yaml")
    rows = pd.read_parquet(path / params.paths.test).drop(columns=[params.data.target])  # what the gate times on
    cfg = Timing()
    print(f"timing: {model.stat().st_size / 2**20:.1f} MB model against a copy of itself, default settings "
          f"(budget {cfg.budget_s} s, {cfg.rows} rows, batches of {cfg.batch_rows}), {runs} runs each:")
    for label in ("quiet", "beside a CPU hog per core"):
        hogs = _hogs() if label != "quiet" else []
        try:
            results = [timing.measure(model, same, rows, cfg) for _ in range(runs)]
        finally:
            for hog in hogs:
                hog.kill()
                hog.wait()
        seconds = np.array([r.seconds for r in results])
        for name in ("latency_p99_ms", "latency_p50_ms", "throughput_rps"):
            ratios = np.array([r.figures[name].ratio for r in results])
            inside = sum(r.figures[name].interval[0] <= 1 <= r.figures[name].interval[1] for r in results)
            print(f"  {label:<26} {name:<15} ratio min {ratios.min():.3f} max {ratios.max():.3f} "
                  f"(spread {(ratios.max() - 1) * 100:+.1f}% / {(ratios.min() - 1) * 100:+.1f}%), "
                  f"interval holds 1 in {inside}/{runs}")
        print(f"  {label:<26} seconds per measurement: mean {seconds.mean():.2f}, max {seconds.max():.2f} "
              f"(target < 10 s); rounds {min(r.rounds for r in results)}-{max(r.rounds for r in results)}")


def reproduction_case(path: Path) -> None:
    root = path.parent
    sh(path, "git", "checkout", "-qb", "candidate")
    model = path / "conf" / "model" / "random_forest.yaml"
    model.write_text(model.read_text().replace("n_estimators: 100", "n_estimators: 110"))
    sh(path, "gitml", "repro")
    sh(path, "git", "add", "--all")
    sh(path, "git", "commit", "-qm", "candidate: 110 trees")
    baseline = subprocess.run(["git", "rev-parse", "main"], cwd=path, capture_output=True, text=True).stdout.strip()
    clones = {}
    for name in ("gate", "plain", "restored"):
        clone = clones[name] = root / name
        sh(root, "git", "clone", "--quiet", "--branch", "candidate", str(path), str(clone))
        sh(clone, "dvc", "remote", "modify", "--local", "storage", "url", str(root / f"{name}-empty-remote"))
    for name in ("gate", "plain"):
        sh(clones[name], "dvc", "repro")  # the pull request's own outputs, as CI's "Reproduce" step makes them
    gate_s = sh(clones["gate"], "gitml", "gate")
    plain_s = sh(clones["plain"], "git", "checkout", "-q", baseline) + sh(clones["plain"], "dvc", "repro")
    print(f"reproduction: the embedded pipeline, baseline {baseline[:12]} missing from an empty cache:")
    print(f"  gitml gate (reproduces the baseline in a worktree, then judges): {gate_s:.1f} s")
    print(f"  plain git checkout + dvc repro of the baseline:                  {plain_s:.1f} s")
    print(f"  ratio {gate_s / plain_s:.2f} (target <= 1.15)")
    warm_s = sh(clones["gate"], "gitml", "gate")
    shutil.copytree(clones["gate"] / ".dvc" / "cache", clones["restored"] / ".dvc" / "cache")
    sh(clones["restored"], "dvc", "repro")  # checks the outputs out of the restored cache, runs nothing
    restored_s = sh(clones["restored"], "gitml", "gate")
    print(f"  gate with a warm cache {warm_s:.1f} s; with the cache restored into a new clone {restored_s:.1f} s "
          f"(difference {restored_s - warm_s:+.2f} s, target within 0.5 s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--loop-resamples", type=int, default=3, help="resamples the slow loop is timed over")
    parser.add_argument("--exact-resamples", type=int, default=16, help="resamples the exact method is timed over")
    parser.add_argument("--timing-runs", type=int, default=20, help="measurements of a model against itself")
    parser.add_argument("--only", choices=["bootstrap", "timing", "reproduction"], help="run one case")
    args = parser.parse_args()
    if args.only in (None, "bootstrap"):
        bootstrap_case(args)
    if args.only == "bootstrap":
        return
    with tempfile.TemporaryDirectory(prefix="gitml-bench-gate-") as tmp:
        path = project(Path(tmp))
        if args.only in (None, "timing"):
            timing_case(path, args.timing_runs)
        if args.only in (None, "reproduction"):
            reproduction_case(path)


if __name__ == "__main__":
    main()
