"""Benchmark: `gitml monitor` against a straightforward per-column scipy loop, in the same run.

Run with `python bench/monitor.py [--rows 100000 1000000]`. Each size writes a seeded
reference and current table (20 numeric + 5 categorical columns, plus the target; drift
injected into num_2, num_7 and cat_1) as Parquet, then measures as separate processes:

- `gitml monitor` (default rule table, JSON + HTML report): wall time and peak RSS;
- the baseline: pandas reads both tables whole, then per column scipy's `ks_2samp`,
  `chi2_contingency` and a numpy PSI, plus `wasserstein_distance` and `jensenshannon`
  (timed apart, as the issue quotes them), deciding with the same rule table;
- Evidently's DataDriftPreset (default rules) on the same files, with `--evidently-python`
  naming the interpreter of a virtualenv where Evidently imports (it does not import with
  pandas 3: `python -m venv ev && ev/bin/pip install evidently==0.7.23 "pandas<3" pyarrow`);
  without it, the figures measured here before (1M rows: 122 s, 2.4 GB peak) stand in.

It prints the time ratio against the scipy loop and against Evidently (target: under one
tenth of Evidently's time at 1M rows), the peak memory against the in-memory size of the
two tables (target: under 1.5x), and which columns each flags.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Evidently 0.7.23 measured here before (default rules, 25 columns): rows -> (seconds, peak bytes).
EVIDENTLY_REFERENCE = {100_000: (10.4, None), 1_000_000: (122.0, 2.4e9)}
SHIFTED = ["num_2", "num_7", "cat_1"]


def _env() -> dict[str, str]:
    env = dict(os.environ, DO_NOT_TRACK="1")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    return env


def timed(command: list[str], cwd: Path) -> tuple[float, int, str]:
    """Wall seconds, peak RSS (bytes) and stdout of one command; exit codes 0 and 1 are success."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, env=_env(), stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        if os.waitstatus_to_exitcode(status) not in (0, 1):
            raise SystemExit(f"{command} failed:\n{err.read().decode()}")
        return elapsed, usage.ru_maxrss * 1024, out.read().decode()


def make_data(n_rows: int, folder: Path) -> tuple[Path, Path]:
    from gitml.config import SyntheticSource
    from gitml.data.sources import synthetic

    source = SyntheticSource(kind="synthetic", n_rows=n_rows)
    reference = synthetic(source, "classification", "target", 1)
    current = synthetic(source, "classification", "target", 2)
    current["num_2"] = current["num_2"] + 0.5 * current["num_2"].std()
    current["num_7"] = current["num_7"].mean() + 2.0 * (current["num_7"] - current["num_7"].mean())
    current.loc[current.index[::2], "cat_1"] = "a"
    ref_path, cur_path = folder / "reference.parquet", folder / "current.parquet"
    reference.to_parquet(ref_path, index=False)
    current.to_parquet(cur_path, index=False)
    return ref_path, cur_path


def baseline(ref_path: str, cur_path: str) -> dict[str, object]:
    """The straightforward way: whole tables in pandas, one scipy call per column and test."""
    import numpy as np
    import pandas as pd
    from scipy import stats
    from scipy.spatial.distance import jensenshannon

    reference, current = pd.read_parquet(ref_path), pd.read_parquet(cur_path)
    numeric = [c for c in reference.columns if c.startswith("num_")]
    categorical = [c for c in reference.columns if c.startswith("cat_")]
    large = len(reference) > 1000
    flagged, started = [], time.perf_counter()
    for name in numeric:
        a, b = reference[name].dropna().to_numpy(), current[name].dropna().to_numpy()
        pvalue = stats.ks_2samp(a, b).pvalue
        edges = np.quantile(a, np.linspace(0, 1, 11))
        edges[0], edges[-1] = -np.inf, np.inf
        p = np.maximum(np.histogram(a, edges)[0] / len(a), 1e-4)
        q = np.maximum(np.histogram(b, edges)[0] / len(b), 1e-4)
        float(np.sum((q - p) * np.log(q / p)))
        if not large and pvalue < 0.05:
            flagged.append(name)
    for name in categorical:
        counts = pd.concat([reference[name].value_counts(), current[name].value_counts()], axis=1).fillna(0)
        pvalue = stats.chi2_contingency(counts.to_numpy().T)[1]
        if not large and pvalue < 0.05:
            flagged.append(name)
    tests = time.perf_counter() - started
    started = time.perf_counter()
    for name in numeric:
        a, b = reference[name].dropna().to_numpy(), current[name].dropna().to_numpy()
        if large and stats.wasserstein_distance(a, b) / np.std(a) >= 0.1:
            flagged.append(name)
    for name in categorical:
        counts = pd.concat([reference[name].value_counts(), current[name].value_counts()], axis=1).fillna(0)
        p, q = counts.iloc[:, 0].to_numpy(), counts.iloc[:, 1].to_numpy()
        if large and jensenshannon(p / p.sum(), q / q.sum()) >= 0.1:
            flagged.append(name)
    distances = time.perf_counter() - started
    data_bytes = int(reference.memory_usage(deep=True).sum() + current.memory_usage(deep=True).sum())
    return {"flagged": sorted(flagged), "tests_s": tests, "distances_s": distances, "data_bytes": data_bytes}


def evidently(ref_path: str, cur_path: str) -> dict[str, object]:
    """Evidently's data drift report with its default rules; run in Evidently's own interpreter."""
    import pandas as pd
    from evidently import Report
    from evidently.presets import DataDriftPreset

    reference, current = pd.read_parquet(ref_path), pd.read_parquet(cur_path)
    columns = [c for c in reference.columns if c.startswith(("num_", "cat_"))]
    result = Report([DataDriftPreset(columns=columns)]).run(current[columns], reference[columns]).dict()
    flagged = []
    for metric in result["metrics"]:
        config = metric.get("config") or {}
        if config.get("type", "").endswith(":ValueDrift"):
            # A p-value method drifts below its threshold, a distance at or above it (Evidently's own rule).
            pvalue = "p_value" in config["method"]
            if metric["value"] < config["threshold"] if pvalue else metric["value"] >= config["threshold"]:
                flagged.append(config["column"])
    return {"flagged": sorted(flagged)}


def measure(n_rows: int, root: Path, evidently_python: str | None) -> None:
    folder = root / f"rows{n_rows}"
    folder.mkdir()
    # Generated in a child process: a child's peak RSS counts what its parent held when it was
    # forked, so this process stays small to measure the others fairly.
    subprocess.run([sys.executable, __file__, "--make", str(n_rows), str(folder)], env=_env(), check=True)
    ref_path, cur_path = folder / "reference.parquet", folder / "current.parquet"
    subprocess.run(["gitml", "compose", "data=synthetic", "--conf", str(ROOT / "conf"), "-o", "params.yaml"],
                   cwd=folder, env=_env(), check=True, capture_output=True)
    ours_s, ours_rss, _ = timed(["gitml", "monitor", "--reference", str(ref_path), "--current", str(cur_path),
                                 "--json", "drift.json", "--html", "drift.html"], folder)
    report = json.loads((folder / "drift.json").read_text())
    loop_s, loop_rss, out = timed([sys.executable, __file__, "--baseline", str(ref_path), str(cur_path)], folder)
    loop = json.loads(out)
    data = loop["data_bytes"]
    ours = sorted(report["checks"]["dataset"]["drifted_columns"])
    print(f"{n_rows:>9,} rows x 25 columns (two tables {data / 2**20:.0f} MB in memory as pandas):")
    print(f"  gitml monitor    {ours_s:6.1f} s  peak {ours_rss / 2**20:6.0f} MB = {ours_rss / data:.2f}x data "
          f"(target < 1.5x); HTML {(folder / 'drift.html').stat().st_size / 1024:.0f} KB")
    print(f"  scipy loop       {loop_s:6.1f} s  peak {loop_rss / 2**20:6.0f} MB = {loop_rss / data:.2f}x data "
          f"(KS + chi2 + PSI {loop['tests_s']:.1f} s, Wasserstein + JS {loop['distances_s']:.1f} s)")
    print(f"  -> gitml monitor is {loop_s / ours_s:.1f}x faster than the scipy loop, "
          f"{loop_rss / ours_rss:.1f}x less peak memory")
    print(f"  flagged: gitml {ours}, scipy loop {loop['flagged']}: "
          f"{'same columns' if ours == loop['flagged'] else 'DIFFERENT'} (injected: {SHIFTED})")
    if evidently_python:
        ev_s, ev_rss, out = timed([evidently_python, __file__, "--evidently", str(ref_path), str(cur_path)], folder)
        flagged = json.loads(out.strip().splitlines()[-1])["flagged"]
        print(f"  Evidently        {ev_s:6.1f} s  peak {ev_rss / 2**20:6.0f} MB = {ev_rss / data:.2f}x data; "
              f"flagged {flagged}")
        print(f"  -> gitml monitor takes {ours_s / ev_s:.3f} of Evidently's time (target < 0.1 at 1M rows), "
              f"{ev_rss / ours_rss:.1f}x less peak memory")
        return
    seconds, peak = EVIDENTLY_REFERENCE.get(n_rows, (None, None))
    if seconds:
        line = f"  Evidently not run (no --evidently-python); measured here before: {seconds:.1f} s"
        line += f", {peak / 1e9:.2f} GB peak" if peak else ""
        line += f" -> gitml monitor takes {ours_s / seconds:.3f} of that time"
        print(line + (" (target < 0.1 at 1M rows)" if n_rows == 1_000_000 else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="*", default=[100_000, 1_000_000])
    parser.add_argument("--baseline", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--make", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--evidently", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--evidently-python", help="the python of a virtualenv where evidently imports")
    args = parser.parse_args()
    if args.make:
        make_data(int(args.make[0]), Path(args.make[1]))
        return
    if args.baseline:
        print(json.dumps(baseline(*args.baseline)))
        return
    if args.evidently:
        print(json.dumps(evidently(*args.evidently)))
        return
    with tempfile.TemporaryDirectory(prefix="gitml-bench-monitor-") as tmp:
        for n_rows in args.rows:
            measure(n_rows, Path(tmp), args.evidently_python)


if __name__ == "__main__":
    main()
