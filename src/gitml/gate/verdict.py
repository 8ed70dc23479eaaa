"""The gate's verdict: compare the workspace (candidate) with a baseline commit and decide promotion.

The steps: check the workspace is HEAD's and its pipeline is up to date; resolve the baseline
(`--baseline`, the registry's prod model, or the merge base with the default branch); read both
sides' metrics, params, dvc.lock and test predictions; when both predicted the same test set,
run a paired bootstrap; apply the policy in `gate.metrics`; and write the report (JSON,
Markdown, plots). Anything that stops the evaluation is a GateError (exit 2), and even then an
error report is written, so the pull request says why.
"""

from __future__ import annotations

import logging
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


def _pairing(base: sides.Side, cand: sides.Side) -> tuple[bool, str, list[str]]:
    """Whether the two prediction files can be compared row by row, the test-set verdict, and notes."""
    notes = [n for n in (f"baseline: {base.note}" if base.note else None,
                         f"candidate: {cand.note}" if cand.note else None) if n]
    if not (base.test_md5 and cand.test_md5):
        return False, "unknown", [*notes, "the test set's hash is not in both dvc.lock files"]
    if base.test_md5 != cand.test_md5:
        return False, "different", [*notes, "the test sets differ (their content hashes in dvc.lock differ): "
                                    "only point estimates compare"]
    if base.predictions is None or cand.predictions is None:
        return False, "same", notes
    a, b = base.predictions[Y_TRUE].to_numpy(), cand.predictions[Y_TRUE].to_numpy()
    if len(a) != len(b) or not np.array_equal(a.astype(str), b.astype(str)):
        return False, "same", [*notes, "the prediction files do not list the same test rows in the same order"]
    return True, "same", notes


def _intervals(params: Params, base: sides.Side, cand: sides.Side, notes: list[str],
               comparison: dict[str, Any]) -> dict[str, tuple[float, float]]:
    from gitml.gate import bootstrap

    cfg = params.gate.bootstrap
    result = bootstrap.paired(base.predictions, cand.predictions, params.data.task, cfg,
                              progress=lambda done, total: log.info("bootstrap: %d/%d resamples", done, total))
    comparison.update(method=result.method, resamples=result.resamples, confidence=result.confidence, seed=result.seed)
    intervals = {}
    for name, interval in result.intervals.items():
        again = result.recomputed[name]
        recorded = (base.metrics.get(name), cand.metrics.get(name))
        if any(r is not None and abs(r - x) > _AGREE * max(1.0, abs(r)) for r, x in zip(recorded, again, strict=True)):
            notes.append(f"{name}: the predictions do not reproduce metrics.json, so it has no interval")
            continue
        intervals[name] = (interval.low, interval.high)
    return intervals


def evaluate(repo: Path, params: Params, baseline_ref: str | None, allow_dirty: bool,
             out: dict[str, Any]) -> dict[str, Any]:
    """Fill the report `out`: everything except the rendering."""
    out["candidate"]["dirty"] = check_workspace(repo, params, allow_dirty)
    chosen = sides.resolve(repo, params, baseline_ref)
    out["baseline"] = {"ref": chosen.ref, "source": chosen.source, "commit": chosen.commit}
    cand = sides.workspace(repo, params, out["candidate"]["commit"])
    base = sides.at_commit(repo, chosen.commit, params)
    task = params.data.task
    policies = policy.resolve(policy.for_task(params.gate.metrics, task), cand.metrics)
    policy.check_names(policies, task, cand.metrics, cand.metrics_path, base.metrics,
                       f"{base.metrics_path} at {chosen.commit[:7]}")
    for side, snap in (("candidate", cand), ("baseline", base)):
        out[side].update(metrics_path=snap.metrics_path, test_md5=snap.test_md5,
                         predictions=snap.predictions is not None)
    paired, test_set, notes = _pairing(base, cand)
    comparison: dict[str, Any] = {"paired": False, "test_set": test_set, "notes": notes}
    intervals: dict[str, tuple[float, float]] = {}
    if paired and params.gate.bootstrap.resamples > 0:
        intervals = _intervals(params, base, cand, notes, comparison)
        comparison["paired"] = True
    elif paired:
        notes.append("gate.bootstrap.resamples is 0: point estimates only")
    out["comparison"] = comparison
    judgements = policy.judge_all(policies, base.metrics, cand.metrics, intervals)
    out["metrics"] = [j.as_dict() for j in judgements]
    out["failures"] = [f"{j.name}: {reason}" for j in judgements for reason in j.reasons]
    out["verdict"] = policy.verdict(judgements)
    out["summary"] = _summary(out["verdict"], judgements)
    out["params"] = diff.params_diff(base.params, cand.params)
    out["pipeline"] = diff.pipeline_diff(base.lock, cand.lock)
    out["plots"] = _plots(repo, params, base, cand, out)
    return out


def _summary(verdict: str, judgements: list[policy.Judgement]) -> str:
    gated = [j for j in judgements if j.gated]
    if verdict == "fail":
        failed = [j.name for j in gated if j.status == "fail"]
        return f"The candidate fails the promotion policy on {', '.join(failed)}."
    moved = {change: [j.name for j in gated if j.change == change] for change in ("improved", "regressed")}
    parts = [f"{change}: {', '.join(names)}" for change, names in moved.items() if names]
    return f"The candidate passes the promotion policy ({'; '.join(parts) or 'all gated metrics unchanged'})."


def _plots(repo: Path, params: Params, base: sides.Side, cand: sides.Side, out: dict[str, Any]) -> list[str]:
    """Baseline-vs-candidate plots from the plot data each side's evaluate stage kept in git: files, and
    Mermaid charts for the comment (`out["mermaid"]`)."""
    from gitml.gate import plots

    both = {"baseline": base, "candidate": cand}
    curves = {side: snap.curves for side, snap in both.items() if snap.curves}
    pairs = {side: snap.pairs for side, snap in both.items() if snap.pairs is not None}
    written = plots.render(curves, pairs, params.data.task, params.gate.report, repo / params.paths.gate_plots)
    out["mermaid"] = plots.mermaid(curves, pairs, params.data.task, out["metrics"])
    return [str(Path(path).relative_to(repo)) for path in written]


def run(repo: str | Path = ".", params_path: str = "params.yaml", baseline_ref: str | None = None,
        allow_dirty: bool = False, run_url: str | None = None, site_url: str | None = None) -> dict[str, Any]:
    """Evaluate the gate and write its reports; the report dict. Raises GateError (after writing) if it cannot."""
    repo = Path(repo)
    params: Params | None = None
    out: dict[str, Any] = {"verdict": "error", "summary": "", "error": None, "task": None,
                           "candidate": {"ref": "HEAD", "commit": None, "dirty": []}, "baseline": None,
                           "comparison": None, "metrics": [], "failures": [], "params": [], "pipeline": None,
                           "plots": [], "run_url": run_url, "mermaid": [], "site_url": site_url}
    try:
        out["candidate"]["commit"] = git.head(repo)
        loaded = config.load(repo / params_path)
        loaded.paths.require_inside("gate_report", "gate_markdown", "gate_plots")  # else: the default paths
        params = loaded
        out["task"] = params.data.task
        out["site_url"] = params.site.url or site_url
        evaluate(repo, params, baseline_ref, allow_dirty, out)
    except GitmlError as exc:
        out.update(verdict="error", error=str(exc), summary="The gate could not evaluate the candidate.")
        write(repo, params, out)
        if isinstance(exc, GateError):
            raise
        raise GateError(str(exc)) from exc
    write(repo, params, out)
    return out


def write(repo: Path, params: Params | None, out: dict[str, Any]) -> None:
    """Render and write gate.json and the Markdown report atomically."""
    paths = params.paths if params else config.Paths()
    cfg = params.gate.report if params else config.GateReport()
    env = report.environment(cfg.template_dir)
    io.write_json(repo / paths.gate_report, report.render_json(out, env))
    io.write_text(repo / paths.gate_markdown, report.render_markdown(out, env, cfg.max_chars, paths.gate_plots))
