"""The `monitor` section: what drift monitoring compares, the rule table, retraining and alerts."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from gitml.config.base import Fraction, Positive, Probability, Section, duration_seconds

Significance = Literal["ks", "chi2"]
Effect = Literal["wasserstein", "jensenshannon", "psi"]
Decide = Literal["table", "significance", "effect", "both"]


class DriftRule(Section):
    """How a column's drift is decided. A field left out inherits from the wider level.

    `decide`: `table` (significance test for a small reference, effect size for a large
    one), `significance` (p < alpha), `effect` (value >= threshold) or `both` (significant
    AND large enough, so large samples do not flag trivial shifts).
    """

    decide: Decide | None = None
    significance: Significance | None = None
    alpha: Probability | None = None
    effect: Effect | None = None
    threshold: Positive | None = None


class RoleRule(DriftRule):
    decide: Decide = "table"
    alpha: Probability = 0.05
    threshold: Positive = 0.1


class NumericRule(RoleRule):
    significance: Literal["ks"] = "ks"
    effect: Literal["wasserstein", "psi"] = "wasserstein"


class CategoricalRule(RoleRule):
    significance: Literal["chi2"] = "chi2"
    effect: Literal["jensenshannon", "psi"] = "jensenshannon"


class DriftTable(Section):
    """The default rule per column role; a reference of at most `small_reference` rows
    is judged by significance, a larger one by effect size."""

    small_reference: Annotated[int, Field(ge=0)] = 1000
    numeric: NumericRule = NumericRule()
    categorical: CategoricalRule = CategoricalRule()


class DriftOverrides(Section):
    """Overrides of the table, applied in order: every column, per role, per column name."""

    all: DriftRule = DriftRule()
    numeric: DriftRule = DriftRule()
    categorical: DriftRule = DriftRule()
    columns: dict[str, DriftRule] = {}


class DatasetDrift(Section):
    """When the input columns together count as drifted (the dataset-level alarm).

    `importance`: the drifted columns carry at least `importance` of the model's permutation
    importance (the evaluate stage's `paths.importance`, read with the reference), so one
    shifted column the model leans on alarms while many it ignores do not; `share`: at least
    `share` of the evaluated columns drifted (Evidently's rule); `any_top`: any of the `top`
    most important columns drifted. Without importance figures, `share` decides, and the
    report says so.
    """

    rule: Literal["importance", "share", "any_top"] = "importance"
    importance: Annotated[float, Field(gt=0.0, le=1.0)] = 0.1
    share: Annotated[float, Field(gt=0.0, le=1.0)] = 0.5
    top: Annotated[int, Field(ge=1)] = 3


class MonitorRead(Section):
    #: Rows per record batch read from the current data (bounds memory per read).
    batch_rows: Annotated[int, Field(gt=0)] = 65536
    #: Numeric columns are read in blocks of about this many megabytes per dataset.
    block_mb: Annotated[int, Field(gt=0)] = 64


class Performance(Section):
    #: A metric that worsens by more than this (absolute) on labelled current data is an alert.
    max_drop: Annotated[float, Field(ge=0.0)] = 0.05


class Retrain(Section):
    """`gitml retrain`: where labelled current data comes from and how it joins the training data."""

    #: File or folder (CSV/Parquet) of labelled current rows: the inputs and the target column.
    labels: str = "data/labelled"
    #: The refreshed training data is written here, one DVC-tracked file per retrain.
    folder: str = "data/retrain"
    #: `append`: the current raw data plus the new rows; `replace`: only the new rows.
    mode: Literal["append", "replace"] = "append"
    #: The data config group option written (conf/data/<name>.yaml) and selected.
    config_name: str = "retrain"
    branch_prefix: str = "retrain/"
    pr_labels: list[str] = ["retrain"]


class Alert(Section):
    """The one GitHub issue that `gitml alert` opens, then updates, while drift persists."""

    label: str = "drift"
    title: str = "Data drift detected"


class Monitor(Section):
    """`gitml monitor`: what is compared with what, and the policy that calls it drift."""

    #: `auto`: the training features of the model in `prod`, else `paths.train`; or a file/folder.
    reference: str = "auto"
    #: File or folder (CSV/Parquet) of current data; conf/ sets it to the prediction log, `serve.log.dir`.
    current: str = "data/inference"
    #: Fewer values than this on either side make a test "insufficient data", never "drift": non-null
    #: values for a column's distribution, rows for its missing share, labelled rows for metrics.
    min_rows: Annotated[int, Field(ge=1)] = 100
    #: Significance decisions are corrected across the columns of a run: `bh` (Benjamini-Hochberg:
    #: false alarms stay under `fdr` of the flagged columns), `holm` (the chance of any false alarm
    #: stays under `fdr`) or `none` (each column at its own `alpha`).
    correction: Literal["bh", "holm", "none"] = "bh"
    #: The level of the correction; a column is significant when p < its alpha and adjusted p < fdr.
    fdr: Probability = 0.05
    dataset_drift: DatasetDrift = DatasetDrift()
    #: A change of the missing-value share larger than this (absolute) is drift of the column.
    missing_change: Fraction = 0.1
    #: Bins of the population stability index (reference quantiles for numeric columns).
    psi_bins: Annotated[int, Field(ge=2)] = 10
    #: Bins of the small histograms in the HTML report.
    chart_bins: Annotated[int, Field(ge=2, le=200)] = 24
    #: The prediction column of the current data (the serving log's `prediction`).
    prediction: str = "prediction"
    #: A prod model trained longer ago than this (e.g. `30d`) raises the drift alert; null: no limit.
    max_model_age: str | None = None
    table: DriftTable = DriftTable()
    overrides: DriftOverrides = DriftOverrides()
    read: MonitorRead = MonitorRead()
    performance: Performance = Performance()
    retrain: Retrain = Retrain()
    alert: Alert = Alert()

    @field_validator("max_model_age")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None:
            duration_seconds(value)
        return value
