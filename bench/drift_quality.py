"""Benchmark: how well drift monitoring detects, gitml's default policy against the plain rule, same data, same run.

Run with `python bench/drift_quality.py [--quick]` (the full run takes tens of minutes on 2
cores; `--quick` is a smoke run of a few splits). The two policies judge the same statistics:

- **plain**: Evidently's default rule, which is gitml's rule table uncorrected: each column is
  flagged when p < 0.05 (a reference of at most 1,000 rows: KS / chi-square) or its effect size
  is >= 0.1 (larger: Wasserstein / std, Jensen-Shannon); dataset drift when half the columns
  are flagged (`correction: none`, `dataset_drift.rule: share`);
- **gitml**: the defaults of conf/monitor: the same tests, significance corrected across the
  columns (Benjamini-Hochberg at `fdr` 0.05), dataset drift when the drifted columns carry 10%
  of the model's permutation importance.

Settings: seeded synthetic tables of 25 columns (20 numeric, 5 categorical) at 1k, 10k and
100k rows, and the embedded breast_cancer (569 x 30) and diabetes (442 x 10) tables. In each,
a model (the conf/ default for the task) is fitted on one half of a first split and its
permutation importance computed on the other half, as the evaluate stage does. Then:

- same-distribution runs: `--splits` random halves (reference, current); reported: the share
  of runs with any column flagged, the share with a dataset-level alarm, and the column-level
  false discovery rate (false flags / flags; with no shift at all, every flag is false);
- injected shifts, in the current half of each of `--shift-runs` splits: mean shifts of 0.1,
  0.25, 0.5 and 1 standard deviation, scale changes x1.1 to x2, and category mix changes
  (5% to 50% of rows set to one level), in 1, 3 and 10 random columns and in the
  top-importance column alone; reported: column power (share of the shifted columns flagged),
  the share of runs with a dataset-level alarm, and the false discovery rate.

Statistics are measured once per split with gitml's own functions (`columns.measure` on
in-memory tables); a shifted run re-measures only the shifted columns; both policies decide
with `columns.decide` and `drift.dataset_check`. Targets: dataset-level false alarms in <= 5%
of same-distribution runs; column FDR <= 5%; column power at a 0.5-sd mean shift with n >=
1,000 no lower than the plain rule's; a mean shift of the top-importance column (>= 0.5 sd,
n >= 1,000) alerts in >= 95% of runs.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MEAN_SHIFTS = (0.1, 0.25, 0.5, 1.0)
SCALES = (1.1, 1.25, 1.5, 2.0)
MIXES = (0.05, 0.1, 0.25, 0.5)
PLACEMENTS = ("1", "3", "10", "top")


@dataclass
class Setting:
    name: str
    overrides: list[str]
    rows: int | None = None  # synthetic rows; None: the embedded table as it is


@dataclass
class Tally:
    """Counts over the runs of one cell, per policy."""

    runs: int = 0
    alarms: int = 0
    any_flag: int = 0
    shifted: int = 0
    caught: int = 0
    fdp: float = 0.0  # summed per-run false discovery proportions

    def add(self, flagged: set[str], shifted: set[str], alarm: bool) -> None:
        self.runs += 1
        self.alarms += alarm
        self.any_flag += bool(flagged)
        self.shifted += len(shifted)
        self.caught += len(flagged & shifted)
        self.fdp += len(flagged - shifted) / len(flagged) if flagged else 0.0

    def power(self) -> float:
        return self.caught / self.shifted if self.shifted else float("nan")


@dataclass
class Result:
    setting: str
    n: int
    columns: int
    top: str
    top_share: float
    cells: dict[tuple[str, float, str], dict[str, Tally]] = field(default_factory=dict)


def _params(setting: Setting) -> Any:
    import yaml

    from gitml import config
    from gitml.config import compose

    overrides = [*setting.overrides] + ([f"data.source.n_rows={setting.rows}"] if setting.rows else [])
    return config.validate(yaml.safe_load(compose.compose(ROOT / "conf", overrides)))


def _importance(params: Any, frame: Any, order: np.ndarray) -> dict[str, float]:
    """Permutation importance of the conf/ default model, fitted on (at most 20,000 rows of) one half."""
    from gitml.model import outputs
    from gitml.train import evaluate, fit

    half = len(frame) // 2
    train, test = frame.iloc[order[: min(half, 20_000)]], frame.iloc[order[half:]]
    model = fit.fit(params, train, params.model.spec())
    rows = evaluate.importance(model, test, params.data.target, params.evaluate, params.seed)
    return outputs.parse_importance(rows, "importance")


def _shifted(values: Any, kind: str, size: float, spread: float, centre: float, rng: np.random.Generator) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    if kind == "mean":
        return pc.add(values, size * spread)
    if kind == "scale":
        return pc.add(pc.multiply(pc.subtract(values, centre), size), centre)
    chosen = rng.random(len(values)) < size
    return pc.if_else(pa.array(chosen), pa.scalar("a"), values)


def run_setting(setting: Setting, splits: int, shift_runs: int, log: Any) -> Result:
    import pyarrow as pa

    from gitml.config import DatasetDrift
    from gitml.data import sources as data_sources
    from gitml.monitor import columns, drift, sources

    started = time.perf_counter()
    params = _params(setting)
    frame = data_sources.load(params.data, params.seed)
    signature = sources.signature_from_contract(params)
    roles = {item["name"]: item["role"] for item in signature["inputs"]}
    specs = [columns.Spec(name, role, name, name) for name, role in roles.items()]
    policies = {
        "plain": params.monitor.model_copy(update={"correction": "none",
                                                   "dataset_drift": DatasetDrift(rule="share")}),
        "gitml": params.monitor,
    }
    importance = _importance(params, frame, np.random.default_rng(10_000).permutation(len(frame)))
    top = max(roles, key=lambda name: importance.get(name, 0.0))
    positive = {name: max(importance.get(name, 0.0), 0.0) for name in roles}
    table = pa.Table.from_pandas(frame[list(roles)], preserve_index=False)
    spread = {n: float(np.nanstd(frame[n])) for n, r in roles.items() if r == "numeric"}
    centre = {n: float(np.nanmean(frame[n])) for n, r in roles.items() if r == "numeric"}
    result = Result(setting.name, len(frame), len(roles), top, positive[top] / sum(positive.values()))
    half = len(frame) // 2
    cells = [("none", 0.0, "-")]
    for kind, sizes in (("mean", MEAN_SHIFTS), ("scale", SCALES), ("mix", MIXES)):
        role = "categorical" if kind == "mix" else "numeric"
        fitting = [n for n, r in roles.items() if r == role]
        for placement in PLACEMENTS:
            if (placement == "top" and roles[top] != role) or (placement != "top" and int(placement) > len(fitting)):
                continue
            cells += [(kind, size, placement) for size in sizes]
    for split in range(splits):
        rng = np.random.default_rng(split)
        order = rng.permutation(len(frame))
        ref_rows, cur_rows = table.take(order[:half]), table.take(order[half:])
        ref, cur = sources.Table.from_arrow(ref_rows, "reference"), sources.Table.from_arrow(cur_rows, "current")
        base = columns.measure(specs, ref, cur, policies["gitml"])
        for cell in cells:
            kind, size, placement = cell
            if kind == "none":
                entries, moved = base, set()
            elif split >= shift_runs:
                continue
            else:
                role = "categorical" if kind == "mix" else "numeric"
                fitting = [n for n, r in roles.items() if r == role]
                moved = {top} if placement == "top" else set(rng.choice(fitting, int(placement), replace=False))
                names = [s.name for s in specs if s.name in moved]
                new = pa.table({n: _shifted(cur_rows[n], kind, size, spread.get(n, 0.0), centre.get(n, 0.0), rng)
                                for n in names})
                subset = [s for s in specs if s.name in moved]
                entries = {**base, **columns.measure(subset, sources.Table.from_arrow(ref_rows.select(names)),
                                                     sources.Table.from_arrow(new), policies["gitml"])}
            tallies = result.cells.setdefault(cell, {name: Tally() for name in policies})
            for name, monitor in policies.items():
                decided = columns.decide(entries, monitor, ref.rows, cur.rows)
                dataset = drift.dataset_check(decided, monitor.dataset_drift, importance)
                flagged = {n for n, e in decided.items() if e["status"] == "drift"}
                tallies[name].add(flagged, moved, dataset["status"] == "drift")
        if (split + 1) % max(1, splits // 10) == 0:
            print(f"  {setting.name}: {split + 1}/{splits} splits, {time.perf_counter() - started:.0f} s",
                  file=log, flush=True)
    return result


def _pct(value: float) -> str:
    return "–" if value != value else f"{value:.1%}"


def report(result: Result) -> list[str]:
    """Markdown lines: the same-distribution figures, then power per shift."""
    null = result.cells[("none", 0.0, "-")]
    lines = [f"### {result.setting}: {result.n:,} rows, {result.columns} columns "
             f"(halves of {result.n // 2:,}; top-importance column `{result.top}`, "
             f"{result.top_share:.0%} of the importance)", "",
             "| same distribution | runs | any column flagged | dataset alarm | column FDR |", "|---|---|---|---|---|"]
    for name, tally in null.items():
        lines.append(f"| {name} | {tally.runs} | {_pct(tally.any_flag / tally.runs)} | "
                     f"{_pct(tally.alarms / tally.runs)} | {_pct(tally.fdp / tally.runs)} |")
    shifted = [t for cell, t in result.cells.items() if cell[0] != "none"]
    if shifted:
        fdr = {name: sum(t[name].fdp for t in shifted) / sum(t[name].runs for t in shifted) for name in null}
        lines += ["", f"Column FDR over all shifted runs: plain {_pct(fdr['plain'])}, gitml {_pct(fdr['gitml'])}."]
    lines += ["", "| shift | size | columns | runs | column power plain / gitml | dataset alarm plain / gitml "
              "| FDR plain / gitml |", "|---|---|---|---|---|---|---|"]
    for (kind, size, placement), tallies in result.cells.items():
        if kind == "none":
            continue
        plain, ours = tallies["plain"], tallies["gitml"]
        shown = {"mean": f"{size:g} sd", "scale": f"x{size:g}", "mix": f"{size:.0%} of rows"}[kind]
        lines.append(f"| {kind} | {shown} | {placement} | {ours.runs} | {_pct(plain.power())} / {_pct(ours.power())} "
                     f"| {_pct(plain.alarms / plain.runs)} / {_pct(ours.alarms / ours.runs)} "
                     f"| {_pct(plain.fdp / plain.runs)} / {_pct(ours.fdp / ours.runs)} |")
    return lines


def targets(results: list[Result]) -> list[str]:
    """One line per target: met or not, with the figures."""
    lines = []
    worst_alarm = max(r.cells[("none", 0.0, "-")]["gitml"].alarms / r.cells[("none", 0.0, "-")]["gitml"].runs
                      for r in results)
    plain_alarm = max(r.cells[("none", 0.0, "-")]["plain"].alarms / r.cells[("none", 0.0, "-")]["plain"].runs
                      for r in results)
    lines.append(f"- dataset-level false alarms, worst setting: gitml {_pct(worst_alarm)} (target <= 5%), "
                 f"plain {_pct(plain_alarm)}: {'met' if worst_alarm <= 0.05 else 'NOT MET'}")
    def pooled(result: Result, policy: str) -> float:
        shifted = [t[policy] for cell, t in result.cells.items() if cell[0] != "none"]
        return sum(t.fdp for t in shifted) / max(sum(t.runs for t in shifted), 1)

    null_fdr = max(r.cells[("none", 0.0, "-")]["gitml"].fdp / r.cells[("none", 0.0, "-")]["gitml"].runs
                   for r in results)
    shift_fdr = max(pooled(r, "gitml") for r in results)
    plain_fdr = max(pooled(r, "plain") for r in results)
    met = null_fdr <= 0.05 and shift_fdr <= 0.05
    lines.append(f"- column FDR, worst setting: gitml {_pct(null_fdr)} with no shift, {_pct(shift_fdr)} over all "
                 f"shifted runs (target <= 5%), plain {_pct(plain_fdr)} over shifted runs: "
                 f"{'met' if met else 'NOT MET'}")
    gaps = [(r.setting, p, t["plain"].power(), t["gitml"].power()) for r in results if r.n >= 1000
            for (kind, size, p), t in r.cells.items() if kind == "mean" and size == 0.5]
    lower = [g for g in gaps if g[3] < g[2]]
    lines.append(f"- column power at a 0.5-sd mean shift, n >= 1,000: gitml "
                 f"{_pct(min((g[3] for g in gaps), default=float('nan')))} at worst, plain "
                 f"{_pct(min((g[2] for g in gaps), default=float('nan')))}: "
                 f"{'met' if not lower else 'NOT MET: ' + ', '.join(f'{s} ({p} columns)' for s, p, _, _ in lower)}")
    tops = [t["gitml"].alarms / t["gitml"].runs for r in results if r.n >= 1000
            for (kind, size, p), t in r.cells.items()
            if p == "top" and kind == "mean" and size >= 0.5]
    worst_top = min(tops, default=float("nan"))
    lines.append(f"- top-importance mean shift (>= 0.5 sd, n >= 1,000) alerts: gitml in {_pct(worst_top)} of runs "
                 f"at worst (target >= 95%): {'met' if worst_top >= 0.95 else 'NOT MET'}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: 10 splits, 5 shifted, small tables only")
    parser.add_argument("--splits", type=int, default=200, help="same-distribution splits per setting")
    parser.add_argument("--shift-runs", type=int, default=100, help="splits that also get every injected shift")
    parser.add_argument("--rows", type=int, nargs="*", default=[1_000, 10_000, 100_000], help="synthetic sizes")
    args = parser.parse_args()
    splits, shift_runs, sizes = args.splits, args.shift_runs, args.rows
    if args.quick:
        splits, shift_runs, sizes = 10, 5, [1_000, 10_000]
    settings = [Setting(f"synthetic {n:,}", ["data=synthetic"], n) for n in sizes]
    settings += [Setting("breast_cancer", ["data=breast_cancer"]),
                 Setting("diabetes", ["data=diabetes", "model=random_forest_regressor"])]
    started = time.perf_counter()
    results = []
    for setting in settings:
        print(f"{setting.name}: {splits} splits, {min(shift_runs, splits)} with shifts", file=sys.stderr, flush=True)
        results.append(run_setting(setting, splits, min(shift_runs, splits), sys.stderr))
    for result in results:
        print("\n".join(report(result)) + "\n")
    print("Targets:")
    print("\n".join(targets(results)))
    print(f"\n({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
