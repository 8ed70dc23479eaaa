"""The `project` and `paths` sections: what the project is called and every file a stage reads or writes."""

from __future__ import annotations

from gitml.config.base import Section


class Project(Section):
    name: str = "gitml-project"
    model_name: str = "model"
    #: `_target_` classes may only come from these module prefixes, so a config
    #: cannot import arbitrary code by accident.
    allowed_targets: list[str] = ["sklearn.", "gitml."]


class Paths(Section):
    """Every file a stage reads or writes; dvc.yaml references these with ${paths.x}."""

    raw: str = "data/raw/dataset.parquet"
    validation: str = "reports/validation.json"
    train: str = "data/features/train.parquet"
    test: str = "data/features/test.parquet"
    model: str = "models/model.skops"
    signature: str = "models/signature.json"
    metrics: str = "reports/metrics.json"
    predictions: str = "reports/predictions.parquet"
    plots: str = "reports/plots"
    importance: str = "reports/importance.json"
    #: Written by the tune stage; train applies them on top of `model` ({} when tuning is off).
    best_params: str = "models/best_params.yaml"
    tuning: str = "reports/tuning.csv"
    tuning_plots: str = "reports/tuning"
    selection: str = "reports/model_selection.json"
    selection_report: str = "reports/model_selection.md"
    #: model=auto writes its winner here as a normal model config, to be reviewed in a PR.
    selected_model: str = "conf/model/selected.yaml"
    card: str = "models/card.md"
    card_html: str = "models/card.html"
    eda_html: str = "reports/eda.html"
    eda_json: str = "reports/eda.json"
    catalog: str = "data/features/catalog.json"
    features_report: str = "reports/features.md"
    training_set: str = "data/features/training_set.parquet"
    drift: str = "reports/drift.json"
    drift_html: str = "reports/drift.html"
    #: The promotion gate's outputs (not DVC outputs: they compare two commits).
    gate_report: str = "reports/gate.json"
    gate_markdown: str = "reports/gate/report.md"
    gate_plots: str = "reports/gate"


