"""The typed schema of params.yaml: one pydantic model per section.

Every behaviour a user may change is a key here, with a default that works, so a
typo or a wrong type is caught at the door with its key path instead of deep inside
a stage. Validation collects every failing key and raises once.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from gitml.errors import ConfigError

Task = Literal["classification", "regression"]
Role = Literal["numeric", "categorical"]
Dtype = Literal["float", "int", "bool", "str"]
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]


class Section(BaseModel):
    """Base of every section: unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


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


class SklearnSource(Section):
    kind: Literal["sklearn"]
    name: Literal["breast_cancer", "diabetes", "iris", "wine"]


class FileSource(Section):
    kind: Literal["file"]
    path: str
    format: Literal["auto", "csv", "parquet"] = "auto"


class SyntheticSource(Section):
    """A seeded generator whose size and shape are config, for scale tests."""

    kind: Literal["synthetic"]
    n_rows: Annotated[int, Field(gt=0)] = 1000
    n_numeric: Annotated[int, Field(ge=0)] = 20
    n_categorical: Annotated[int, Field(ge=0)] = 5
    n_classes: Annotated[int, Field(ge=2)] = 2
    noise: Annotated[float, Field(ge=0.0)] = 0.1


Source = Annotated[SklearnSource | FileSource | SyntheticSource, Field(discriminator="kind")]


class ColumnSpec(Section):
    dtype: Dtype
    role: Role
    min: float | None = None
    max: float | None = None
    categories: list[str | int | bool] | None = None
    #: None means the contract-wide `max_null_fraction`.
    max_null_fraction: Fraction | None = None


class Contract(Section):
    """What the data must look like; drives validation, the signature and drift tests."""

    #: Empty means "provided by the source" (only the synthetic source can).
    columns: dict[str, ColumnSpec] = {}
    max_null_fraction: Fraction = 0.0
    duplicates: Literal["allow", "warn", "fail"] = "warn"
    extra_columns: Literal["fail", "ignore"] = "fail"


class Data(Section):
    source: Source
    task: Task
    target: str
    contract: Contract = Contract()


class Split(Section):
    test_size: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.2
    stratify: bool = True


#: Shorthand step kinds (`kind: log`), each compiled to a `_target_` spec by gitml.features.
StepKind = Literal["impute", "scale", "onehot", "ordinal", "log", "clip", "bucketize"]
STEP_KINDS: tuple[str, ...] = StepKind.__args__


def _check_targets(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for step in steps:
        kind = step.get("kind")
        if "_target_" in step and "kind" in step:
            raise ValueError("a step has either a `_target_` or a `kind`, not both")
        if kind is not None and kind not in STEP_KINDS:
            raise ValueError(f"unknown step kind {kind!r} (one of {', '.join(STEP_KINDS)})")
        if kind is None and not isinstance(step.get("_target_"), str):
            raise ValueError("each step needs a `_target_` naming a transformer class (or a `kind`)")
    return steps


Steps = Annotated[list[dict[str, Any]], Field(default_factory=list)]
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|min|h|d|w)\s*$")
_SECONDS = {"s": 1, "min": 60, "h": 3600, "d": 86400, "w": 604800}


def duration_seconds(text: str) -> float:
    """Seconds in a duration such as `30min`, `12h`, `7d` or `2w` (ValueError otherwise)."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"not a duration: {text!r} (a number and one of s, min, h, d, w, e.g. 7d)")
    return float(match.group(1)) * _SECONDS[match.group(2)]


class DerivedFeature(Section):
    """A column computed from an expression over other columns, inside the model."""

    name: Annotated[str, Field(min_length=1)]
    #: Arithmetic, comparisons, numeric literals and a few numpy functions over column
    #: names; quote a name that is not an identifier with backticks: `mean radius`.
    expr: Annotated[str, Field(min_length=1)]
    role: Role = "numeric"
    description: str = ""
    owner: str | None = None


class FeatureGroup(Section):
    """Steps for a group of columns, applied instead of their role's default steps."""

    columns: Annotated[list[str], Field(min_length=1)]
    steps: Steps
    name: str | None = None

    _steps = field_validator("steps")(_check_targets)


class Dedup(Section):
    """Duplicate rows before the split: keep all, keep the first or last copy, or drop every copy."""

    policy: Literal["none", "first", "last", "all"] = "none"
    #: Columns that define a duplicate; empty means every input column and the target.
    subset: list[str] = []


class FeatureDoc(Section):
    description: str = ""
    owner: str | None = None


class FeatureView(Section):
    """Entity features with event times, joined to labels as of each label's time."""

    name: Annotated[str, Field(min_length=1)]
    path: str
    entity: str
    timestamp: str
    #: Values older than this at the label's time count as missing (`7d`, `12h`); None: no limit.
    ttl: str | None = None
    #: Columns to take; empty means every column but the entity and the timestamp.
    features: list[str] = []
    description: str = ""
    owner: str | None = None

    @field_validator("ttl")
    @classmethod
    def _ttl_parses(cls, value: str | None) -> str | None:
        if value is not None:
            duration_seconds(value)
        return value


class LabelTable(Section):
    """The table of labelled events that feature views are joined to."""

    path: str
    entity: str
    timestamp: str


class Features(Section):
    split: Split = Split()
    #: Transformer steps (Hydra `_target_` specs or `kind` shorthands) applied, in order, per column role.
    numeric: Steps
    categorical: Steps
    drop: list[str] = []
    #: Columns computed from expressions, transformed by their role's steps (or a group's).
    derived: list[DerivedFeature] = []
    #: Per column or group of columns: steps that replace the role's default steps.
    transforms: list[FeatureGroup] = []
    dedup: Dedup = Dedup()
    #: The feature catalog's default owner, and per-feature descriptions and owners.
    owner: str = "unassigned"
    docs: dict[str, FeatureDoc] = {}
    #: Point-in-time feature views and the label table they join to (`gitml features build`).
    views: list[FeatureView] = []
    labels: LabelTable | None = None

    _steps = field_validator("numeric", "categorical")(_check_targets)


class Importance(Section):
    n_repeats: Annotated[int, Field(gt=0)] = 5
    #: Permutation importance on at most this many test rows: its cost grows with rows.
    max_rows: Annotated[int, Field(gt=0)] = 5000


class Evaluate(Section):
    importance: Importance = Importance()
    #: Curves (ROC, precision-recall) are thinned to at most this many points.
    curve_points: Annotated[int, Field(ge=10)] = 200


class _Range(Section):
    def _check_range(self) -> _Range:
        if self.low >= self.high:
            raise ValueError(f"empty or inverted range: low {self.low} is not below high {self.high}")
        if self.log and self.low <= 0:
            raise ValueError(f"a log-scale range needs low > 0 (got low {self.low})")
        if self.log and getattr(self, "step", 1) != 1:
            raise ValueError("`step` and `log` cannot be combined")
        return self


class IntRange(_Range):
    """Integers in [low, high], every `step`-th, optionally sampled on a log scale."""

    type: Literal["int"]
    low: int
    high: int
    step: Annotated[int, Field(gt=0)] = 1
    log: bool = False

    _range = model_validator(mode="after")(_Range._check_range)


class FloatRange(_Range):
    """Reals in [low, high]; `log: true` samples log-uniformly (learning rates, regularisation)."""

    type: Literal["float"]
    low: float
    high: float
    log: bool = False

    _range = model_validator(mode="after")(_Range._check_range)


class Categorical(Section):
    type: Literal["categorical"]
    choices: Annotated[list[str | int | float | bool | None], Field(min_length=1)]


Distribution = Annotated[IntRange | FloatRange | Categorical, Field(discriminator="type")]

#: Metrics tuning can optimise; `auto` is roc_auc for classification, rmse for regression.
TuneMetric = Literal[
    "auto", "accuracy", "balanced_accuracy", "f1", "precision", "recall", "roc_auc", "log_loss", "rmse", "mae", "r2"
]


class Tune(Section):
    """Hyperparameter search (Optuna, seeded TPE) by cross-validation on the training split."""

    #: Off: the tune stage writes an empty best-params file at once. model=auto always tunes.
    enabled: bool = False
    n_trials: Annotated[int, Field(gt=0)] = 20
    #: Stop proposing trials after this many seconds (the batch in flight finishes).
    timeout: Annotated[float, Field(gt=0)] | None = None
    cv_folds: Annotated[int, Field(ge=2)] = 5
    metric: TuneMetric = "auto"
    seed: int = 42
    #: Stop a trial whose running CV score is below the median of earlier trials at that fold.
    pruning: bool = True
    #: Trials proposed together and evaluated in parallel. Results depend on it (not on the
    #: number of cores or the backend), so it is config.
    batch_size: Annotated[int, Field(gt=0)] = 4
    #: Search space per estimator class (the `_target_`'s class name or full path):
    #: parameter -> {type: int|float|categorical, ...}.
    spaces: dict[str, dict[str, Distribution]] = {}


class Candidate(Section):
    """One family tried by model=auto: its model config and its tuning budget."""

    model: dict[str, Any]
    n_trials: Annotated[int, Field(gt=0)] = 10


class Compute(Section):
    """Where parallel work (cross-validation fits, trials) runs; results do not depend on it."""

    backend: Literal["local", "dask"] = "local"
    #: Local joblib workers (-1: all cores).
    n_jobs: int = -1
    #: The Dask scheduler address (e.g. tcp://10.0.0.5:8786), needed when backend is dask.
    scheduler: str | None = None
    #: Seconds to wait for the scheduler (and for its first worker) before failing.
    connect_timeout: Annotated[float, Field(gt=0)] = 5.0

    @model_validator(mode="after")
    def _dask_needs_scheduler(self) -> Compute:
        if self.backend == "dask" and not self.scheduler:
            raise ValueError("backend dask needs `scheduler` (the Dask scheduler address, e.g. tcp://127.0.0.1:8786)")
        if self.n_jobs == 0:
            raise ValueError("n_jobs must be a positive count or -1 (all cores), not 0")
        return self
_REGISTRY_NAME = r"^[a-zA-Z0-9](?:[a-zA-Z0-9_/-]*[a-zA-Z0-9])?$"


class Registry(Section):
    """The git-tag model registry: what is registered, which stages exist, what a version records."""

    #: The artifact name in tags (`NAME@vX.Y.Z`); dvc.yaml's `artifacts:` must declare it.
    artifact: Annotated[str, Field(pattern=_REGISTRY_NAME)] = "model"
    #: Stages a version may be promoted to, in promotion order.
    stages: Annotated[list[Annotated[str, Field(pattern=_REGISTRY_NAME)]], Field(min_length=1)] = ["staging", "prod"]
    #: Metrics recorded in the version tag and shown by `gitml models`; empty means every top-level number.
    headline_metrics: list[str] = []
    #: Where the gate writes its report; `register` refuses a commit whose gate verdict is not pass.
    gate_report: str = "reports/gate.json"
    #: Refuse to register or promote a commit the gate has not judged.
    require_gate: bool = False

    @field_validator("stages")
    @classmethod
    def _distinct_stages(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("stage names must be distinct")
        if "latest" in value:
            raise ValueError("'latest' names the newest version, so it cannot be a stage")
        return value


class Card(Section):
    """What the model card says that the pipeline cannot know: who owns the model and what it is for."""

    owner: str = "unassigned"
    contact: str | None = None
    intended_use: str = "Not declared: set card.intended_use in conf/card/."
    out_of_scope: list[str] = []
    limitations: list[str] = []
    #: Features listed with their importance in the card (the most important first).
    top_features: Annotated[int, Field(gt=0)] = 15


class Eda(Section):
    """The profile of the raw data (`eda` stage): sizes of its figures and warning thresholds."""

    bins: Annotated[int, Field(ge=2, le=200)] = 20
    top_categories: Annotated[int, Field(ge=1, le=100)] = 10
    quantiles: list[Fraction] = [0.05, 0.25, 0.5, 0.75, 0.95]
    #: Warn when a categorical column has more distinct values than this.
    high_cardinality: Annotated[int, Field(ge=2)] = 50
    #: Warn when more than this fraction of a column is missing.
    missing_warn: Fraction = 0.2
    #: Warn of likely target leakage when a column's association with the target reaches this.
    leakage_warn: Fraction = 0.95
NonNegative = Annotated[float, Field(ge=0.0)]


class MetricPolicy(Section):
    """How one metric gates promotion; thresholds are in the metric's own units."""

    direction: Literal["higher", "lower"]
    #: Absolute bounds on the candidate's value, e.g. roc_auc floor 0.95, log_loss ceiling 0.3.
    floor: float | None = None
    ceiling: float | None = None
    #: Tolerated regression against the baseline: the larger of this (absolute) ...
    max_regression: NonNegative = 0.0
    #: ... and this fraction of the baseline's value.
    max_regression_rel: NonNegative = 0.0
    #: Required improvement over the baseline (absolute); None requires none.
    min_improvement: NonNegative | None = None
    #: Fail on a regression only when its whole confidence interval lies beyond the tolerance
    #: (needs both prediction files on the same test set; otherwise the point estimate decides).
    significant_regression: bool = True
    #: Count an improvement only when its whole interval clears `min_improvement` (or zero).
    significant_improvement: bool = False

    @model_validator(mode="after")
    def _bounds_ordered(self) -> MetricPolicy:
        if self.floor is not None and self.ceiling is not None and self.floor > self.ceiling:
            raise ValueError(f"floor {self.floor} is above ceiling {self.ceiling}")
        return self


def _policy(**directions: str) -> dict[str, MetricPolicy]:
    return {name: MetricPolicy(direction=direction) for name, direction in directions.items()}


class GatePolicies(Section):
    """The metrics that gate promotion, per task (the project's `data.task` picks one)."""

    classification: dict[str, MetricPolicy] = Field(
        default_factory=lambda: _policy(roc_auc="higher", accuracy="higher", f1="higher", log_loss="lower")
    )
    regression: dict[str, MetricPolicy] = Field(default_factory=lambda: _policy(rmse="lower", r2="higher"))


class GateBaseline(Section):
    """Where the default baseline comes from: the registry stage, else the merge base with `branch`."""

    stage: str = "prod"
    branch: str = "main"
    remote: str = "origin"


class Bootstrap(Section):
    """Paired bootstrap of metric differences (only when both commits used the same test set)."""

    #: 0 turns the bootstrap off: point estimates only.
    resamples: Annotated[int, Field(ge=0)] = 1000
    confidence: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.95
    seed: int = 42
    #: exact: resample rows with replacement, exact ROC AUC; fast: double-or-nothing row weights and
    #: linearised ROC AUC (same variance, far less work); auto: exact up to `exact_max_rows` rows.
    method: Literal["auto", "exact", "fast"] = "auto"
    exact_max_rows: Annotated[int, Field(gt=0)] = 20000


class GateReport(Section):
    #: GitHub refuses comments longer than 65,536 characters; tables are truncated to fit.
    max_chars: Annotated[int, Field(ge=2000, le=65536)] = 65536
    plot_formats: list[Literal["svg", "png"]] = ["svg", "png"]
    #: Points drawn in a predicted-vs-actual scatter (a seeded sample beyond this).
    max_points: Annotated[int, Field(gt=0)] = 2000
    #: A folder of templates (gate.md.j2, gate.json.j2) overriding the built-in ones.
    template_dir: str | None = None


class Gate(Section):
    baseline: GateBaseline = GateBaseline()
    bootstrap: Bootstrap = Bootstrap()
    metrics: GatePolicies = GatePolicies()
    report: GateReport = GateReport()


class MicroBatch(Section):
    """Adaptive micro-batching: concurrent requests share one model call."""

    #: At most this many rows go into one model call (a larger single request runs alone).
    max_rows: Annotated[int, Field(gt=0)] = 256
    #: When the model is idle and other requests are still arriving, wait at most this
    #: long for them; an idle server with nothing else arriving never waits.
    max_wait_ms: Annotated[float, Field(ge=0.0, le=1000.0)] = 2.0


class PredictionLog(Section):
    """Every served prediction appended to Parquet files: the `current` data monitoring reads."""

    enabled: bool = True
    dir: str = "data/inference"
    #: Buffered rows are written to the open file this often, by a background thread.
    flush_interval_s: Annotated[float, Field(gt=0.0)] = 5.0
    #: A file is closed and renamed into place (made visible) at this size or age.
    rotate_mb: Annotated[float, Field(gt=0.0)] = 64.0
    rotate_s: Annotated[float, Field(gt=0.0)] = 300.0
    #: Beyond this many unwritten rows (a stalled disk), new rows are dropped and counted.
    max_buffer_rows: Annotated[int, Field(gt=0)] = 200_000


class ServeAuth(Section):
    #: The environment variable holding the bearer token; unset or empty means no auth
    #: (and /admin disabled). The token itself never goes into config.
    token_env: str = "GITML_SERVE_TOKEN"
    #: Paths answered without a token (liveness and readiness probes).
    public_paths: list[str] = ["/health", "/ready"]


class Serve(Section):
    """`gitml serve`: the REST endpoint, its limits, micro-batching and prediction log."""

    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 8080
    #: uvicorn worker processes; each loads its own copy of the model.
    workers: Annotated[int, Field(ge=1)] = 1
    #: With several workers: how long a (re)started worker may take to load its model, and
    #: to answer the supervisor's health check, before uvicorn gives up on it.
    worker_timeout_s: Annotated[int, Field(gt=0)] = 60
    #: The model directory (model.skops + signature.json); empty means the folder of paths.model.
    model_dir: str = ""
    max_body_bytes: Annotated[int, Field(gt=0)] = 8 * 1024 * 1024
    max_batch_rows: Annotated[int, Field(gt=0)] = 10_000
    #: Values outside the signature's min/max: `accept` (and log them for drift
    #: monitoring) or `reject` with a 422.
    out_of_range: Literal["accept", "reject"] = "accept"
    #: Seconds a shutdown waits for in-flight requests.
    graceful_timeout_s: Annotated[float, Field(gt=0.0)] = 30.0
    #: uvicorn's per-request access log on stdout (off: it costs throughput; /metrics counts requests).
    access_log: bool = False
    micro_batch: MicroBatch = MicroBatch()
    log: PredictionLog = PredictionLog()
    auth: ServeAuth = ServeAuth()
Significance = Literal["ks", "chi2"]
Effect = Literal["wasserstein", "jensenshannon", "psi"]
Decide = Literal["table", "significance", "effect", "both"]
Probability = Annotated[float, Field(gt=0.0, lt=1.0)]
Positive = Annotated[float, Field(gt=0.0)]


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
    #: A column with fewer non-null current (or reference) values is "insufficient data".
    min_rows: Annotated[int, Field(ge=1)] = 100
    #: Dataset drift when at least this share of the evaluated columns drifted.
    drift_share: Annotated[float, Field(gt=0.0, le=1.0)] = 0.5
    #: A change of the missing-value share larger than this (absolute) is drift of the column.
    missing_change: Fraction = 0.1
    #: Bins of the population stability index (reference quantiles for numeric columns).
    psi_bins: Annotated[int, Field(ge=2)] = 10
    #: Bins of the small histograms in the HTML report.
    chart_bins: Annotated[int, Field(ge=2, le=200)] = 24
    #: The prediction column of the current data (the serving log's `prediction`).
    prediction: str = "prediction"
    table: DriftTable = DriftTable()
    overrides: DriftOverrides = DriftOverrides()
    read: MonitorRead = MonitorRead()
    performance: Performance = Performance()
    retrain: Retrain = Retrain()
    alert: Alert = Alert()


class Params(Section):
    seed: int = 42
    project: Project = Project()
    paths: Paths = Paths()
    data: Data
    features: Features = Features()
    #: The estimator: a Hydra `_target_` spec naming any scikit-learn compatible class.
    model: dict[str, Any]
    evaluate: Evaluate = Evaluate()
    tune: Tune = Tune()
    compute: Compute = Compute()
    registry: Registry = Registry()
    card: Card = Card()
    eda: Eda = Eda()
    serve: Serve = Serve()
    monitor: Monitor = Monitor()
    gate: Gate = Gate()

    @field_validator("model")
    @classmethod
    def _model_has_target(cls, value: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(value.get("_target_"), str):
            raise ValueError("needs a `_target_` naming an estimator class")
        return value


def _key_path(raw: Any, loc: tuple[Any, ...]) -> str:
    """The error's location as keys a user can find in the file.

    pydantic puts union tags (e.g. `sklearn`) and validator names into `loc`; they are
    not keys of params.yaml, so walk the input and keep only what is there (plus the
    last part, which names a missing or unknown key).
    """
    parts: list[str] = []
    node = raw
    for index, part in enumerate(loc):
        if isinstance(node, dict) and part in node:
            parts.append(str(part))
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            parts.append(f"[{part}]")
            node = node[part]
        elif index == len(loc) - 1:
            parts.append(str(part))
    return ".".join(parts).replace(".[", "[")


def _format_error(source: str, error: dict[str, Any], raw: Any) -> str:
    loc = _key_path(raw, error["loc"])
    message = error["msg"]
    if error["type"] == "extra_forbidden":
        message = "unknown key (check its spelling)"
    elif error["type"] not in {"missing", "union_tag_invalid"} and "input" in error:
        message = f"{message} (got {error['input']!r})"
    return f"{source}: {loc or '<root>'}: {message}"


def validate(raw: Any, source: str = "params.yaml") -> Params:
    """Validate a params mapping; every problem is one line of the raised ConfigError."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected a mapping of sections, got {type(raw).__name__}")
    try:
        return Params.model_validate(raw)
    except ValidationError as exc:
        lines = [_format_error(source, error, raw) for error in exc.errors()]
        raise ConfigError("\n".join(lines)) from exc


def load(path: str | Path = "params.yaml") -> Params:
    """Read and validate params.yaml."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: not found (run `gitml compose` to create it)") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {str(exc).splitlines()[0]}") from exc
    return validate(raw, str(path))
