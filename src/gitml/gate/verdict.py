"""The gate's verdict: compare a candidate with a baseline commit and decide promotion.

`run` is `gitml gate`: the candidate is the workspace (HEAD, with an up-to-date pipeline);
the baseline is resolved (`--baseline`, the registry's prod model, or the merge base with
the default branch; none when HEAD is that branch's tip). `compare` is what promotion to a
gated stage runs: both sides are commits, read from their own outputs, and nothing is
written. Both then `judge`: read what each side measured (DVC outputs from the cache, the
remote, or reproduced at their commit), run a paired bootstrap when both predicted the same
test set, apply the policy in `gate.metrics`, and say, per metric, which method judged it and
why. Anything that stops the evaluation is a GateError (exit 2), and `run` still writes an
error report, so the pull request says why.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from gitml import config
from gitml.config import Params
from gitml.core import io
from gitml.core.errors import DvcError, GateError, GitmlError
from gitml.gate import diff, policy, report, sides
from gitml.model.outputs import Y_TRUE
from gitml.vcs import dvc, git

log = logging.getLogger(__name__)
#: Metrics recomputed from predictions must match metrics.json this closely to trust the pairing.
_AGREE = 1e-6
#: Settings whose errors do not stop the quality verdict.
_TIMING_SECTIONS = ("gate.timing", "gate.production")


def _stale_stages(repo: Path) -> dict[str, Any]:
    try:
        return dvc.run_json(repo, "status") or {}
    except DvcError as exc:
        raise GateError(str(exc)) from exc


def check_workspace(repo: Path, params: Params, allow_dirty: bool) -> list[str]:
    """The candidate must be HEAD (a clean tree) with an up-to-date pipeline; returns dirty files allowed."""
    outputs = [params.paths.gate_report, params.paths.gate_markdown, params.paths.gate_plots]
    dirty = git.changed_files(repo, outputs)
    if dirty and not allow_dirty:
        shown = ", ".join(dirty[:5]) + (f" and {len(dirty) - 5} more" if len(dirty) > 5 else "")
        raise GateError(f"uncommitted changes to {shown}: the gate reports on HEAD, so commit them "
                        "(after `dvc repro`, commit dvc.lock and the metrics too) or pass --allow-dirty")
    stale = _stale_stages(repo)
    if stale:
        raise GateError(f"the pipeline is not up to date (stages {', '.join(sorted(stale))} changed): "
                        "run `dvc repro`, commit the results, then gate")
    return dirty


def _pairing(base: sides.Side, cand: sides.Side) -> tuple[str, str | None, list[str]]:
    """The test-set verdict, why the predictions cannot be compared row by row (None: they can), and notes."""
    notes = [n for n in (f"baseline: {base.note}" if base.note else None,
                         f"candidate: {cand.note}" if cand.note else None) if n]
    if not (base.test_md5 and cand.test_md5):
        return "unknown", "the test set's hash is not in both dvc.lock files", notes
    if base.test_md5 != cand.test_md5:
        return "different", "the test sets differ (their content hashes in dvc.lock differ)", notes
    if base.predictions is None or cand.predictions is None:
        side = "baseline" if base.predictions is None else "candidate"
        return "same", f"the {side} has no test predictions ({(base if side == 'baseline' else cand).note})", notes
    a, b = base.predictions[Y_TRUE].to_numpy(), cand.predictions[Y_TRUE].to_numpy()
    if len(a) != len(b) or not np.array_equal(a.astype(str), b.astype(str)):
        return "same", "the prediction files do not list the same test rows in the same order", notes
    return "same", None, notes


def _intervals(params: Params, base: sides.Side, cand: sides.Side,
               comparison: dict[str, Any]) -> tuple[dict[str, tuple[float, float]], dict[str, str]]:
    """Paired bootstrap intervals by metric, and why a metric has none."""
    from gitml.gate import bootstrap

    cfg = params.gate.bootstrap
    result = bootstrap.paired(base.predictions, cand.predictions, params.data.task, cfg,
                              progress=lambda done, total: log.info("bootstrap: %d/%d resamples", done, total))
    comparison.update(method=result.method, resamples=result.resamples, confidence=result.confidence, seed=result.seed)
    intervals, why = {}, {}
    for name, interval in result.intervals.items():
        again = result.recomputed[name]
        recorded = (base.metrics.get(name), cand.metrics.get(name))
        if any(r is not None and abs(r - x) > _AGREE * max(1.0, abs(r)) for r, x in zip(recorded, again, strict=True)):
            why[name] = "the predictions do not reproduce metrics.json"
            continue
        intervals[name] = (interval.low, interval.high)
    return intervals, why


def _methods(judgements: list[policy.Judgement], why: dict[str, str], default: str | None) -> None:
    """Say, for each metric judged without an interval, why."""
    for judgement in judgements:
        if judgement.method == policy.POINT:
            judgement.why = why.get(judgement.name) or default or "the bootstrap does not recompute this metric"


def judge(params: Params, cand: sides.Side, base: sides.Side | None, out: dict[str, Any],
          plots_in: Path | None = None, timing: bool = False) -> dict[str, Any]:
    """Fill the report `out` from the two sides (`base` None: the policy's floors and ceilings alone).

    With `plots_in` (a repository), the plots are written to its `paths.gate_plots`; with
    `timing`, both models are timed side by side and `gate.production` judges the figures
    (the sides must carry their model and test files). A timing that fails is a GateError
    raised after the quality verdict is in `out`.
    """
    task = params.data.task
    policies = policy.resolve(policy.for_task(params.gate.metrics, task), cand.metrics)
    out["candidate"].update(metrics_path=cand.metrics_path, test_md5=cand.test_md5,
                            predictions=cand.predictions is not None, sources=cand.sources)
    if base is None:
        policy.check_names(policies, task, cand.metrics, cand.metrics_path)
        judgements = policy.judge_alone(policies, cand.metrics)
        out["comparison"] = {"paired": False, "test_set": None, "notes": [], "why": "there is no baseline"}
    else:
        policy.check_names(policies, task, cand.metrics, cand.metrics_path, base.metrics,
                           f"{base.metrics_path} at {base.commit[:7]}")
        out["baseline"].update(metrics_path=base.metrics_path, test_md5=base.test_md5,
                               predictions=base.predictions is not None, sources=base.sources)
        test_set, why, notes = _pairing(base, cand)
        comparison: dict[str, Any] = {"paired": False, "test_set": test_set, "notes": notes, "why": why}
        intervals: dict[str, tuple[float, float]] = {}
        per_metric: dict[str, str] = {}
        if why is None and params.gate.bootstrap.resamples > 0:
            intervals, per_metric = _intervals(params, base, cand, comparison)
            comparison["paired"] = True
        elif why is None:
            comparison["why"] = why = "gate.bootstrap.resamples is 0"
        out["comparison"] = comparison
        judgements = policy.judge_all(policies, base.metrics, cand.metrics, intervals)
        _methods(judgements, per_metric, why)
        out["params"] = diff.params_diff(base.params, cand.params)
        out["pipeline"] = diff.pipeline_diff(base.lock, cand.lock)
    out["metrics"] = [j.as_dict() for j in judgements]
    out["failures"] = [f"{j.name}: {reason}" for j in judgements for reason in j.reasons]
    out["verdict"] = out["quality"] = policy.verdict(judgements)
    out["summary"] = _summary(judgements, base is None)
    if plots_in is not None:
        out["plots"] = _plots(plots_in, params, base, cand, out)
    if timing:
        figures = _production(params, cand, base, out)
        out["failures"] += [f"{f.name}: {reason}" for f in figures for reason in f.reasons]
        if any(f.status == "fail" for f in figures):
            out["verdict"] = "fail"
            out["summary"] = _summary(judgements, base is None, figures)
    return out


def _test_rows(path: Path, target: str) -> Any:
    """A side's test split without its target: the rows both models are timed on."""
    import pandas as pd

    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several unrelated types for a bad file
        raise GateError(f"gate.timing: {path}: not a readable Parquet file: {exc}") from exc
    return frame.drop(columns=[target], errors="ignore")


def _production(params: Params, cand: sides.Side, base: sides.Side | None,
                out: dict[str, Any]) -> list[policy.FigureJudgement]:
    """Time both models side by side and judge the figures; `out["production"]` records it either way."""
    from gitml.gate import timing

    out["production"] = {"error": None}
    try:
        for side in (cand, base):
            if side is not None and side.missing:
                raise GateError(f"gate.timing: the models cannot be timed: {side.missing}")
        target = params.data.target
        rows = _test_rows(cand.test, target)
        own = base is not None and base.test_md5 != cand.test_md5
        timed = timing.measure(cand.model, base.model if base else None, rows, params.gate.timing,
                               _test_rows(base.test, target) if own else None)
    except GateError as exc:
        out["production"]["error"] = str(exc)
        raise
    figures = policy.judge_production(timed.figures, params.gate.production)
    out["production"] = {"error": None, "clock": "process CPU time", "rounds": timed.rounds,
                         "seconds": round(timed.seconds, 2), "stopped": timed.stopped, "rows": timed.rows,
                         "batch_rows": timed.batch_rows, "confidence": params.gate.timing.confidence,
                         "notes": timed.notes, "figures": [f.as_dict() for f in figures]}
    return figures


def failed(out: dict[str, Any]) -> list[str]:
    """The metrics and production figures that failed the policy."""
    figures = (out.get("production") or {}).get("figures") or []
    return [item["name"] for item in [*out["metrics"], *figures] if item["status"] == "fail"]


def _summary(judgements: list[policy.Judgement], alone: bool,
             figures: Sequence[policy.FigureJudgement] = ()) -> str:
    gated = [j for j in judgements if j.gated]
    failed = [j.name for j in [*gated, *figures] if j.status == "fail"]
    if failed:
        return f"The candidate fails the promotion policy on {', '.join(failed)}."
    if alone:
        return "The candidate passes the promotion policy's floors and ceilings (there is no baseline)."
    moved = {change: [j.name for j in gated if j.change == change] for change in ("improved", "regressed")}
    parts = [f"{change}: {', '.join(names)}" for change, names in moved.items() if names]
    return f"The candidate passes the promotion policy ({'; '.join(parts) or 'all gated metrics unchanged'})."


def _plots(repo: Path, params: Params, base: sides.Side | None, cand: sides.Side, out: dict[str, Any]) -> list[str]:
    """Baseline-vs-candidate plots from the plot data each side's evaluate stage kept in git: files, and
    Mermaid charts for the comment (`out["mermaid"]`)."""
    from gitml.gate import plots

    both = {"baseline": base, "candidate": cand}
    curves = {side: snap.curves for side, snap in both.items() if snap is not None and snap.curves}
    pairs = {side: snap.pairs for side, snap in both.items() if snap is not None and snap.pairs is not None}
    written = plots.render(curves, pairs, params.data.task, params.gate.report, repo / params.paths.gate_plots)
    out["mermaid"] = plots.mermaid(curves, pairs, params.data.task, out["metrics"])
    return [str(Path(path).relative_to(repo)) for path in written]


def _blank(candidate: dict[str, Any], run_url: str | None = None, site_url: str | None = None) -> dict[str, Any]:
    return {"verdict": "error", "quality": None, "summary": "", "error": None, "task": None, "candidate": candidate,
            "baseline": None, "comparison": None, "metrics": [], "production": None, "failures": [], "params": [],
            "pipeline": None, "plots": [], "run_url": run_url, "mermaid": [], "site_url": site_url}


def evaluate(repo: Path, params: Params, baseline_ref: str | None, allow_dirty: bool,
             out: dict[str, Any], workspace: bool = True) -> dict[str, Any]:
    """Fill the report `out` for HEAD against its baseline: everything except the rendering.

    `workspace`: the candidate is the workspace's outputs (checked to be HEAD's); else HEAD's
    own outputs, read at its commit as the baseline's are, whatever the workspace holds.
    """
    head, timing = out["candidate"]["commit"], params.gate.timing.enabled
    if workspace:
        out["candidate"]["dirty"] = check_workspace(repo, params, allow_dirty)
    chosen = sides.resolve(repo, params, baseline_ref)
    out["baseline"] = {"ref": chosen.ref, "source": chosen.source, "commit": chosen.commit}
    cand = (sides.workspace(repo, params, head, files=timing) if workspace
            else sides.at_commit(repo, head, params, label="HEAD", files=timing))
    base = sides.at_commit(repo, chosen.commit, params, files=timing) if chosen.commit else None
    return judge(params, cand, base, out, repo, timing)


def run(repo: str | Path = ".", params_path: str = "params.yaml", baseline_ref: str | None = None,
        allow_dirty: bool = False, run_url: str | None = None, workspace: bool = True,
        site_url: str | None = None) -> dict[str, Any]:
    """Evaluate the gate and write its reports; the report dict. Raises GateError (after writing) if it cannot.

    `workspace` False judges HEAD's committed outputs instead of the workspace (`gitml register`).
    """
    repo = Path(repo)
    params: Params | None = None
    out = _blank({"ref": "HEAD", "commit": None, "dirty": []}, run_url, site_url)
    try:
        out["candidate"]["commit"] = git.head(repo)
        # Wrong timing settings leave the quality verdict to be had: they are reported, then raised.
        loaded, deferred = config.load_lenient(repo / params_path, _TIMING_SECTIONS)
        loaded.paths.require_inside("gate_report", "gate_markdown", "gate_plots")  # else: the default paths
        params = loaded
        out["task"] = params.data.task
        if deferred is not None:
            params = params.model_copy(update={"gate": params.gate.model_copy(update={
                "timing": params.gate.timing.model_copy(update={"enabled": False})})})
        out["site_url"] = params.site.url or site_url
        evaluate(repo, params, baseline_ref, allow_dirty, out, workspace)
        if deferred is not None:
            out["production"] = {"error": str(deferred)}
            raise GateError(str(deferred))
    except GitmlError as exc:
        quality = f" (its quality metrics alone: {out['quality']})" if out.get("quality") else ""
        out.update(verdict="error", error=str(exc), summary=f"The gate could not evaluate the candidate{quality}.")
        write(repo, params, out)
        if isinstance(exc, GateError):
            raise
        raise GateError(str(exc)) from exc
    write(repo, params, out)
    return out


def compare(repo: str | Path, params: Params, candidate: str, baseline: str | None) -> dict[str, Any]:
    """The gate's comparison of two commits from their own outputs (`baseline` None: floors alone); nothing written.

    For promotion to a gated stage: the verdict depends on the two commits only, never on a
    tag message or a report file. A failure to evaluate is the report's `error` (verdict error).
    """
    out = _blank({"ref": candidate[:12], "commit": candidate, "dirty": []})
    out["task"], timing = params.data.task, params.gate.timing.enabled
    try:
        cand = sides.at_commit(repo, candidate, params, label="candidate", files=timing)
        base = None
        if baseline is not None:
            out["baseline"] = {"ref": baseline[:12], "source": "argument", "commit": baseline}
            base = sides.at_commit(repo, baseline, params, files=timing)
        judge(params, cand, base, out, timing=timing)
    except GitmlError as exc:
        out.update(verdict="error", error=str(exc), summary="The gate could not evaluate the candidate.")
    return out


def write(repo: Path, params: Params | None, out: dict[str, Any]) -> None:
    """Render and write gate.json and the Markdown report atomically."""
    paths = params.paths if params else config.Paths()
    cfg = params.gate.report if params else config.GateReport()
    env = report.environment(cfg.template_dir)
    io.write_json(repo / paths.gate_report, report.render_json(out, env))
    io.write_text(repo / paths.gate_markdown, report.render_markdown(out, env, cfg.max_chars, paths.gate_plots))
