"""Benchmark: `dvc repro` of the whole pipeline against one hand-written scikit-learn script.

Run with `make bench` or `python bench/pipeline.py [--rows 100000 1000000]`. Each size
builds a fresh project with `gitml init` (synthetic data, 20 numeric + 5 categorical
columns, histogram gradient boosting), then measures in the same run:

- wall time of `dvc repro evaluate` (check, ingest, validate, featurize, tune (off),
  train, evaluate) against `baseline_script()`, the same work in one process (ratio;
  target <= 1.25 at 1M rows); EDA, catalog and card have their own benchmarks;
- peak RSS of each stage process against the raw data's in-memory size (target <= 4x);
- median of a no-op `dvc repro` (target <= 1.5 s);
and, once, the reference pipeline on the embedded data and each stage's fixed start-up
cost (`python -m stages.X --help`) against a bare interpreter.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STAGES = ("ingest", "validate", "eda", "featurize", "catalog", "tune", "train", "evaluate", "card")
#: The stages whose work `baseline_script` does too; the ratio compares only these.
COMPARED = "evaluate"


def _env() -> dict[str, str]:
    env = dict(os.environ, DO_NOT_TRACK="1")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    for key, value in (("NAME", "bench"), ("EMAIL", "bench@gitml.local")):
        env.setdefault(f"GIT_AUTHOR_{key}", value)
        env.setdefault(f"GIT_COMMITTER_{key}", value)
    return env


def timed(command: list[str], cwd: Path) -> tuple[float, int]:
    """Wall seconds and peak RSS (bytes) of one command, failing loudly."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"{command} failed:\n{process.stderr.read().decode()}")
    return elapsed, usage.ru_maxrss * 1024


def project(root: Path, overrides: list[str]) -> Path:
    path = root / "project"
    subprocess.run(["gitml", "init", str(path)], check=True, env=_env(), capture_output=True)
    subprocess.run(["gitml", "compose", *overrides], cwd=path, check=True, env=_env(), capture_output=True)
    return path


def baseline_script(n_rows: int, workdir: Path) -> None:
    """The pipeline's work written directly in pandas/scikit-learn, in one process."""
    import json

    import numpy as np
    import skops.io as sio
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.inspection import permutation_importance
    from sklearn.metrics import accuracy_score, f1_score, log_loss, roc_auc_score
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from gitml.config import SyntheticSource
    from gitml.data.sources import synthetic

    source = SyntheticSource(kind="synthetic", n_rows=n_rows, noise=0.5)
    frame = synthetic(source, "classification", "target", 42)
    frame.to_parquet(workdir / "raw.parquet")
    checks = (frame.isna().mean(), frame.duplicated().sum())  # what validation computes
    train, test = train_test_split(frame, test_size=0.2, random_state=42, stratify=frame["target"])
    train.to_parquet(workdir / "train.parquet")
    test.to_parquet(workdir / "test.parquet")
    numeric = [c for c in frame.columns if c.startswith("num_")]
    categorical = [c for c in frame.columns if c.startswith("cat_")]
    model = make_pipeline(
        ColumnTransformer([
            ("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
            ("categorical", make_pipeline(SimpleImputer(strategy="most_frequent"),
                                          OneHotEncoder(handle_unknown="ignore", sparse_output=False)), categorical),
        ]),
        HistGradientBoostingClassifier(early_stopping=False, random_state=42),
    )
    model.fit(train.drop(columns=["target"]), train["target"])
    sio.dump(model, workdir / "model.skops")
    inputs, truth = test.drop(columns=["target"]), test["target"]
    predicted, proba = model.predict(inputs), model.predict_proba(inputs)
    metrics = {
        "accuracy": accuracy_score(truth, predicted),
        "f1": f1_score(truth, predicted, pos_label="class_1"),
        "roc_auc": roc_auc_score(truth, proba[:, 1]),
        "log_loss": log_loss(truth, proba),
    }
    sample = test.sample(n=min(len(test), 5000), random_state=42)
    permutation_importance(model, sample.drop(columns=["target"]), sample["target"], n_repeats=5, random_state=42)
    (workdir / "metrics.json").write_text(json.dumps({**metrics, "duplicates": int(checks[1])}))
    np.save(workdir / "proba.npy", proba)


def measure_size(n_rows: int, root: Path) -> dict[str, float]:
    path = project(root, ["data=synthetic", f"data.source.n_rows={n_rows}", "model=hist_gradient_boosting"])
    repro, _ = timed(["dvc", "repro", COMPARED], path)  # check → … → train → evaluate
    timed(["dvc", "repro"], path)  # the rest (eda, catalog, card), so the no-op below is a no-op
    noop = statistics.median(timed(["dvc", "repro"], path)[0] for _ in range(5))
    script, _ = timed([sys.executable, __file__, "--baseline", str(n_rows), "--workdir", str(root)], root)
    peaks = {stage: timed([sys.executable, "-m", f"stages.{stage}"], path)[1] for stage in STAGES}
    import pandas as pd

    data_bytes = pd.read_parquet(path / "data" / "raw" / "dataset.parquet").memory_usage(deep=True).sum()
    # What any stage pays before touching data: the interpreter and its libraries.
    floor = timed([sys.executable, "-c", "import pandas, pyarrow.parquet, sklearn.ensemble, skops.io"], path)[1]
    worst = max(peaks, key=peaks.get)
    return {
        "rows": n_rows,
        "dvc_repro_s": repro,
        "script_s": script,
        "ratio": repro / script,
        "noop_repro_median_s": noop,
        "data_mb": data_bytes / 2**20,
        "peak_stage": worst,
        "peak_mb": peaks[worst] / 2**20,
        "peak_ratio": peaks[worst] / data_bytes,
        "floor_mb": floor / 2**20,
        "above_floor_ratio": (peaks[worst] - floor) / data_bytes,
    }


def measure_fixed(root: Path) -> None:
    path = project(root / "embedded", [])
    reference, _ = timed(["dvc", "repro"], path)
    print(f"reference pipeline on embedded data (breast_cancer, random forest): dvc repro {reference:.1f} s")
    bare = statistics.median(timed([sys.executable, "-c", "pass"], path)[0] for _ in range(5))
    for stage in STAGES:
        start = statistics.median(timed([sys.executable, "-m", f"stages.{stage}", "--help"], path)[0] for _ in range(5))
        print(f"start-up of stages.{stage}: {start:.2f} s (bare interpreter {bare:.2f} s, ratio {start / bare:.1f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="*", default=[100_000, 1_000_000])
    parser.add_argument("--baseline", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline:
        baseline_script(args.baseline, args.workdir)
        return
    with tempfile.TemporaryDirectory(prefix="gitml-bench-") as tmp:
        measure_fixed(Path(tmp))
        for n_rows in args.rows:
            r = measure_size(n_rows, Path(tmp) / f"rows{n_rows}")
            print(
                f"{r['rows']:>9,} rows: dvc repro {r['dvc_repro_s']:.1f} s vs one script {r['script_s']:.1f} s "
                f"-> ratio {r['ratio']:.2f} (target <= 1.25); no-op repro median {r['noop_repro_median_s']:.2f} s "
                f"(target <= 1.5); peak stage {r['peak_stage']} {r['peak_mb']:.0f} MB = "
                f"{r['peak_ratio']:.1f}x data {r['data_mb']:.0f} MB (target <= 4x); above the "
                f"{r['floor_mb']:.0f} MB import floor: {r['above_floor_ratio']:.1f}x data"
            )


if __name__ == "__main__":
    main()
