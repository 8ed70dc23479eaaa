"""The `project` and `paths` sections: what the project is called and every file a stage reads or writes."""

from __future__ import annotations

import posixpath
import re

from gitml.config.base import Section
from gitml.core.errors import ConfigError
from gitml.core.text import quoted

#: `s3://`, `gs://`, `file://`...: a location elsewhere, which no `paths.*` key takes.
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


class Project(Section):
    name: str = "gitml-project"
    model_name: str = "model"
    #: `_target_` classes may only come from these module prefixes, so a config cannot
    #: import arbitrary code by accident (a guard against mistakes, not a sandbox:
    #: whoever edits params.yaml can edit the code too; see gitml.config.allowlist).
    allowed_targets: list[str] = ["sklearn.", "gitml."]


class Paths(Section):
    """Every file a stage reads or writes; dvc.yaml references these with ${paths.x}.

    Each is relative to the project folder and stays inside it (`gitml check` refuses
    absolute paths, `..` escapes and URLs, `outside`): DVC tracks them, git commits them and
    the gate writes them, so one outside the project would be written where nothing tracks
    it. Locations elsewhere are URLs in the keys that take them (DVC remotes in
    .dvc/config, `serve.log.dir`, `monitor.current`).
    """

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

    def outside(self, *keys: str) -> list[str]:
        """One line per path (of `keys`, default all) that would leave the project folder."""
        found = []
        for key in keys or type(self).model_fields:
            value = getattr(self, key)
            normal = posixpath.normpath(value.replace("\\", "/")) if value else ""
            if _URL.match(value):
                why = "is a URL (copies elsewhere belong to a DVC remote, .dvc/config)"
            elif posixpath.isabs(normal) or re.match(r"^[A-Za-z]:", normal):
                why = "is absolute"
            elif normal == ".." or normal.startswith("../"):
                why = "leaves the project through `..`"
            elif normal in ("", "."):
                why = "names no file"
            else:
                continue
            found.append(f"paths.{key}: {quoted(value, 300)} {why}; paths.* are relative to the project folder "
                         "and stay inside it")
        return found

    def require_inside(self, *keys: str) -> None:
        """Refuse, with every line of `outside`, before a command writes to these paths."""
        found = self.outside(*keys)
        if found:
            raise ConfigError("\n".join(found))
