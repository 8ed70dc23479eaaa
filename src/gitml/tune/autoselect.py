"""Automatic model selection (`model=auto`): tune several families, keep the best by CV.

conf/model/auto.yaml names the candidate families (their model configs composed in from
conf/model/) and each one's trial budget. The winner is written as a normal model config
(conf/model/selected.yaml) and compared with the others in reports/model_selection.md,
so the choice is reviewed in a pull request like any other config change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gitml.config import Candidate, Params, targets
from gitml.core.errors import ConfigError
from gitml.core.text import md_cell, number
from gitml.model import pipeline

if TYPE_CHECKING:
    from gitml.tune.study import StudyResult

class AutoSelect:
    """The `_target_` of model=auto (`gitml.config.model.AUTO_TARGET`): a placeholder, not an estimator.

    The tune stage replaces it with the selected family; the train stage builds the winner
    recorded in best_params.yaml, never this class.
    """


def candidates(params: Params) -> dict[str, Candidate]:
    """model=auto's candidate families that suit data.task, in config order (validated when params were read)."""
    allowed = params.project.allowed_targets
    suited: dict[str, Candidate] = {}
    for name, candidate in (params.model.candidates or {}).items():
        cls = targets.resolve(candidate.model.target_, f"model.candidates.{name}.model", allowed)
        if pipeline.suits(cls, params.data.task):
            suited[name] = candidate
    if not suited:
        raise ConfigError(f"model.candidates: no candidate is a {params.data.task} estimator (data.task)")
    return suited


def winner(results: list[StudyResult]) -> StudyResult:
    """The best family by cross-validated metric; ties go to the earlier candidate."""
    sign = 1.0 if results[0].direction == "higher" else -1.0
    return max(results, key=lambda result: (sign * result.best_value, -results.index(result)))


def selected_spec(result: StudyResult, spec: dict[str, Any]) -> dict[str, Any]:
    """The winner as a model config: its family's config with the tuned parameters on top."""
    return {**spec, **result.best_params}


def comparison(results: list[StudyResult], chosen: StudyResult, cv_folds: int) -> dict[str, Any]:
    """The machine-readable comparison (reports/model_selection.json)."""
    ranked = sorted(results, key=lambda r: r.best_value, reverse=chosen.direction == "higher")
    return {
        "metric": chosen.metric,
        "direction": chosen.direction,
        "cv_folds": cv_folds,
        "winner": chosen.family,
        "candidates": [
            {
                "family": r.family,
                "estimator": r.estimator,
                "best_value": r.best_value,
                "best_params": r.best_params,
                "trials": len(r.trials),
                "pruned": sum(t["state"] == "pruned" for t in r.trials),
                "failed": sum(t["state"] == "fail" for t in r.trials),
            }
            for r in ranked
        ],
    }


def markdown(report: dict[str, Any], selected_path: str | None) -> str:
    """The human-readable comparison (reports/model_selection.md), for the pull request.

    Timings stay out of it (they are logged), so the same search gives the same file.
    """
    adopt = (
        f"Its config is `{selected_path}`; adopt it with `model: selected` in conf/config.yaml."
        if selected_path
        else "Tuning searched the configured model only (model=auto compares families)."
    )
    lines = [
        "# Model selection",
        "",
        f"Winner: **{report['winner']}**, by mean {report['cv_folds']}-fold cross-validated "
        f"`{report['metric']}` ({report['direction']} is better). {adopt}",
        "",
        f"| rank | family | estimator | {report['metric']} | trials (pruned, failed) | best parameters |",
        "|---:|---|---|---:|---|---|",
    ]
    for rank, c in enumerate(report["candidates"], start=1):
        best = md_cell(", ".join(f"{k}={number(v) if isinstance(v, float) else v}"
                                 for k, v in c["best_params"].items()))
        lines.append(
            f"| {rank} | {c['family']} | `{c['estimator'].rpartition('.')[2]}` | {c['best_value']:.4f} | "
            f"{c['trials']} ({c['pruned']}, {c['failed']}) | {best} |"
        )
    return "\n".join(lines) + "\n"

