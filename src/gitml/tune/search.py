"""The tune stage: search the model (or model=auto's candidates), write the results.

`models/best_params.yaml` is what `train` consumes: `{}` when tuning is off, otherwise the
estimator it was tuned for and the parameters to apply on top of the `model` config
(for model=auto, the winner's whole config). The trials table, the plot data and the
comparison report are for people and `dvc plots`.
"""

from __future__ import annotations

import csv
import io as textio
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from gitml.config import Params
from gitml.core import io
from gitml.model import pipeline
from gitml.tune import autoselect, compute, space, study

if TYPE_CHECKING:
    import pandas as pd

_OFF = "# Tuning is off (tune.enabled: false): train uses the `model` config as it is.\n{}\n"


@dataclass
class Outcome:
    results: list[study.StudyResult]
    chosen: study.StudyResult
    #: The chosen family's whole model config, tuned parameters on top.
    spec: dict[str, Any]
    auto: bool


def search(params: Params, train: pd.DataFrame, show_progress: bool | None = None) -> Outcome | None:
    """Validate, then search every family to tune; None when tuning is off."""
    specs = space.tuned_specs(params)
    if not specs:
        return None
    space.validate(params)
    auto = params.model.auto
    budgets = {name: c.n_trials for name, c in autoselect.candidates(params).items()} if auto else {}

    def build(spec: dict[str, Any]) -> Any:
        return pipeline.build(params, spec)

    classes = int(train[params.data.target].nunique()) if params.data.task == "classification" else None
    metric = space.metric(params, classes)
    with compute.backend(params.compute) as n_jobs:
        results = [
            study.run_study(params, name, spec, space.space_of(params, spec), metric,
                            build, train, budgets.get(name, params.tune.n_trials), n_jobs, show_progress)
            for name, spec in specs.items()
        ]
    chosen = autoselect.winner(results)
    return Outcome(results, chosen, autoselect.selected_spec(chosen, specs[chosen.family]), auto)


def best_params_text(params: Params, outcome: Outcome | None) -> str:
    """The reviewable best-params YAML, with a header saying where it came from."""
    if outcome is None:
        return _OFF
    chosen = outcome.chosen
    tuned = {k: v for k, v in outcome.spec.items() if k != "_target_"} if outcome.auto else chosen.best_params
    document = {"estimator": chosen.estimator, "metric": chosen.metric, "cv_score": chosen.best_value, "params": tuned}
    header = (
        f"# Best of {len(chosen.trials)} trials ({chosen.family}) by mean {params.tune.cv_folds}-fold CV "
        f"{chosen.metric}; every trial is in {params.paths.tuning}.\n"
        "# train applies `params` on top of the `model` config"
        + (" (model=auto: they are the winner's whole config).\n" if outcome.auto else ".\n")
    )
    return header + yaml.safe_dump(document, sort_keys=False)


def trials_csv(results: list[study.StudyResult]) -> str:
    """Every trial of every family: state, mean CV value, folds run, sampled parameters, error."""
    names = list(dict.fromkeys(name for r in results for row in r.trials for name in row["params"]))
    out = textio.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["family", "trial", "state", "value", "folds", *(f"param_{n}" for n in names), "error"])
    for result in results:
        for row in result.trials:
            value = "" if row["value"] is None else repr(row["value"])
            writer.writerow([row["family"], row["trial"], row["state"], value, row["folds"],
                             *(row["params"].get(n, "") for n in names), row["error"]])
    return out.getvalue()


def history(results: list[study.StudyResult]) -> list[dict[str, Any]]:
    """Optimisation history for `dvc plots`: each complete trial's value and the best so far."""
    points: list[dict[str, Any]] = []
    for result in results:
        best: float | None = None
        pick = max if result.direction == "higher" else min
        for row in result.trials:
            if row["state"] == "complete":
                best = row["value"] if best is None else pick(best, row["value"])
                points.append({"family": result.family, "trial": row["trial"], "value": row["value"], "best": best})
    return points


def write_outputs(params: Params, outcome: Outcome | None) -> None:
    """Every tune-stage output, atomically; the same files (mostly empty) when tuning is off."""
    paths = params.paths
    results = outcome.results if outcome else []
    io.write_text(paths.best_params, best_params_text(params, outcome))
    io.write_text(paths.tuning, trials_csv(results))
    plots = Path(paths.tuning_plots)
    io.write_json(plots / "history.json", history(results))
    importance = outcome.chosen.importance if outcome else {}
    io.write_json(plots / "importance.json", [{"param": k, "importance": v} for k, v in importance.items()])
    if outcome is None:
        io.write_json(paths.selection, {"winner": None, "candidates": []})
        io.write_text(paths.selection_report, "# Model selection\n\nTuning is off (tune.enabled: false).\n")
        return
    report = autoselect.comparison(results, outcome.chosen, params.tune.cv_folds)
    io.write_json(paths.selection, report)
    io.write_text(paths.selection_report, autoselect.markdown(report, paths.selected_model if outcome.auto else None))
    if outcome.auto:
        text = (
            "# Selected by model=auto (the tune stage); the comparison is in "
            f"{paths.selection_report}.\n# Review it, then adopt it with `model: selected` in conf/config.yaml.\n"
            + yaml.safe_dump(outcome.spec, sort_keys=False)
        )
        target = Path(paths.selected_model)
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            io.write_text(target, text)


def run(params: Params) -> None:
    """The tune stage; with tuning off it only writes the (mostly empty) outputs, importing no search machinery."""
    outcome = search(params, io.read_table(params.paths.train)) if space.tuned_specs(params) else None
    write_outputs(params, outcome)
