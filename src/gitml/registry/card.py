"""The model card: what a reviewer needs to judge a model, in Markdown and self-contained HTML.

The card gathers what the pipeline already wrote (signature, metrics, curve data,
importance, validation report) and what only people know (owner, intended use,
limitations: the `card` section of params), and renders both through jinja2 templates
shipped in gitml/registry/templates. Plots are SVG embedded as data URIs, so the HTML opens in
a browser with no network. Nothing here reads the clock or git: equal inputs give an
equal card, so `dvc repro` does not see a change that is not there.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from gitml.config import Params
from gitml.core import charts, io
from gitml.core.text import md_cell, number
from gitml.features.spec import step_spec
from gitml.model import metrics as registry
from gitml.model import outputs, pipeline

_TITLES = {"roc": "ROC curve (test set)", "precision_recall": "Precision-recall curve (test set)"}


def _rows(path: str | Path) -> int | None:
    import pyarrow.parquet as pq

    return pq.read_metadata(path).num_rows if Path(path).is_file() else None


def _file(path: str) -> dict[str, Any]:
    """A lineage entry: the file's DVC-compatible md5 and size."""
    target = Path(path)
    if not target.is_file():
        return {"path": path, "md5": None, "size": None}
    return {"path": path, "md5": io.md5_file(target), "size": target.stat().st_size}


def _contract_rows(params: Params) -> list[dict[str, Any]]:
    rows = []
    for name, spec in params.data.contract.columns.items():
        if spec.categories is not None:
            allowed = ", ".join(str(c) for c in spec.categories)
        elif spec.min is not None or spec.max is not None:
            allowed = f"{'' if spec.min is None else spec.min} … {'' if spec.max is None else spec.max}"
        else:
            allowed = "any"
        nulls = params.data.contract.max_null_fraction if spec.max_null_fraction is None else spec.max_null_fraction
        rows.append({"name": name, "dtype": spec.dtype, "role": spec.role, "allowed": allowed,
                     "max_null_fraction": nulls, "target": name == params.data.target})
    return rows


def _steps(steps: list[dict[str, Any]]) -> list[str]:
    steps = [step_spec(step) for step in steps]  # `kind:` shorthands as the `_target_` they compile to
    return [step["_target_"] + (f"({', '.join(f'{k}={v!r}' for k, v in step.items() if k != '_target_')})"
                                if len(step) > 1 else "") for step in steps]


def _plots(params: Params) -> list[dict[str, str]]:
    """Every plot the evaluate stage left data for, rendered to an embeddable SVG."""
    plots_dir = Path(params.paths.plots)

    def read(name: str) -> str | None:
        path = plots_dir / name
        return path.read_text(encoding="utf-8") if path.is_file() else None

    specs = []
    for name, (x, y) in outputs.CURVES.items():
        points = outputs.parse_curve(read(outputs.curve_file(name)), name)
        if points is not None:
            specs.append(charts.curve(points, x, y, _TITLES[name]))
    pairs = outputs.parse_pairs(read(outputs.PAIRS_FILE))
    if pairs is not None:
        if params.data.task == "classification":
            specs.append(charts.confusion(pairs))
        else:
            specs.append(charts.scatter([(float(a), float(p)) for a, p in pairs]))
    return [{"title": spec["title"], "src": charts.svg_data_uri(spec)} for spec in specs]


def context(params: Params) -> dict[str, Any]:
    """Everything the card templates show, from params and the pipeline's outputs."""
    paths, card = params.paths, params.card
    signature = io.read_json(paths.signature)
    metrics = io.read_json(paths.metrics)
    importance = io.read_json(paths.importance)[: card.top_features]
    validation = io.read_json(paths.validation) if Path(paths.validation).is_file() else {}
    rows = {"raw": _rows(paths.raw), "train": _rows(paths.train), "test": _rows(paths.test)}
    # What was trained: the model config with the tune stage's parameters on top.
    spec = pipeline.with_best(params.model, pipeline.read_best(paths.best_params), paths.best_params)
    hyper = {k: v for k, v in spec.items() if k != "_target_"}
    limitations = [*card.limitations,
                   f"Measured on a held-out test split of {rows['test']} rows "
                   f"({params.features.split.test_size:.0%} of {rows['raw']}); other data may differ.",
                   "Permutation importance shows what this model uses, not what causes the target."]
    if importance:
        imp_chart = charts.bars(importance, "feature", "importance_mean",
                                f"Permutation importance (top {len(importance)})", error="importance_std")
        importance_plot = {"title": imp_chart["title"], "src": charts.svg_data_uri(imp_chart)}
    else:
        importance_plot = None
    params_digest = hashlib.sha256(json.dumps(
        params.model_dump(mode="json", include={"seed", "data", "features", "model"}), sort_keys=True
    ).encode()).hexdigest()
    return {
        "title": f"{params.project.name}: {params.registry.artifact}",
        "artifact": params.registry.artifact,
        "card": card.model_dump(),
        "limitations": limitations,
        "task": params.data.task,
        "target": params.data.target,
        "classes": signature.get("classes"),
        "source": params.data.source.model_dump(),
        "rows": rows,
        "validation": {"ok": validation.get("ok"), "warnings": validation.get("warnings", [])},
        "contract": _contract_rows(params),
        "inputs": [{"name": c["name"], "role": c["role"], "dtype": c["dtype"]} for c in signature["inputs"]],
        "preprocessing": {"numeric": _steps(params.features.numeric),
                          "categorical": _steps(params.features.categorical)},
        "dropped": params.features.drop,
        "identifiers": [name for name, spec in params.data.contract.columns.items() if spec.role == "id"],
        "estimator": signature.get("estimator") or spec["_target_"],  # a task-neutral family: the class it built
        "hyperparameters": hyper,
        "seed": params.seed,
        "metrics": [{"name": name, "value": value, "averaging": registry.averaging(name)}
                    for name, value in metrics.items()],
        "plots": _plots(params),
        "importance": importance,
        "importance_plot": importance_plot,
        "lineage": [_file(p) for p in (paths.raw, paths.train, paths.test, paths.model)],
        "params_digest": params_digest,
        # Timings vary from run to run, so the card (a reproducible output) shows only what does not;
        # latency, throughput, load time and memory are measured against the baseline by the gate.
        "model_mb": Path(paths.model).stat().st_size / (1024 * 1024),
    }


def render(ctx: dict[str, Any]) -> tuple[str, str]:
    """The card as (Markdown, HTML)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("gitml.registry", "templates"),
        autoescape=jinja2.select_autoescape(["html.j2"]),
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True,
    )
    env.filters["md"] = md_cell
    env.filters["num"] = number
    return env.get_template("card.md.j2").render(ctx), env.get_template("card.html.j2").render(ctx)


def run(params: Params) -> None:
    """The card stage: build and write both cards (paths.card, paths.card_html), each atomically."""
    markdown, html = render(context(params))
    io.write_text(params.paths.card, markdown)
    io.write_text(params.paths.card_html, html)
