"""Configuration: conf/ (a Hydra tree) composed into params.yaml, read as one typed `Params`.

One module per conf/ group holds that section's schema (`data`, `features`, `model`, ...);
`params` assembles them and reads the file; the package re-exports every section's
model. Three modules are public as modules: `compose` writes params.yaml exactly as
`dvc exp run` would; `overrides` writes overrides into conf/ so they stick; `targets` builds
`_target_` specs from allowed modules only. Inside, `interpolation` resolves params.yaml once
and `allowlist` judges every `_target_` in it.
"""

from __future__ import annotations

from gitml.config.base import Section, duration_seconds
from gitml.config.card import Card
from gitml.config.compute import Compute
from gitml.config.data import CALENDAR_PARTS, ColumnSpec, Contract, Data, FileSource, SklearnSource, SyntheticSource
from gitml.config.eda import Eda
from gitml.config.evaluate import Evaluate
from gitml.config.features import Features, FeatureView, LabelTable, Split
from gitml.config.gate import Bootstrap, Gate, GatePolicies, GateReport, MetricPolicy, Production, Timing
from gitml.config.model import AUTO_TARGET, Candidate, Model
from gitml.config.monitor import Alert, DatasetDrift, Monitor
from gitml.config.params import Params, load, load_lenient, validate
from gitml.config.project import Paths, Project
from gitml.config.registry import Registry
from gitml.config.serve import PredictionLog, Serve
from gitml.config.site import Site
from gitml.config.tune import Categorical, Distribution, IntRange, Tune

__all__ = [
    "AUTO_TARGET", "Alert", "Bootstrap", "CALENDAR_PARTS", "Candidate", "Card", "Categorical", "ColumnSpec", "Compute",
    "Contract", "Data", "DatasetDrift", "Distribution", "Eda", "Evaluate", "FeatureView", "Features", "FileSource",
    "Gate", "GatePolicies", "GateReport", "IntRange", "LabelTable", "MetricPolicy", "Model", "Monitor", "Params",
    "Paths", "PredictionLog", "Production", "Project", "Registry", "Section", "Serve", "Site", "SklearnSource",
    "Split", "SyntheticSource", "Timing", "Tune", "compose", "duration_seconds", "load", "load_lenient", "overrides",
    "targets", "validate",
]
