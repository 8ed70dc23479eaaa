"""The typed schema of params.yaml: one pydantic model per section.

Every behaviour a user may change is a key here, with a default that works, so a
typo or a wrong type is caught at the door with its key path instead of deep inside
a stage. Validation collects every failing key and raises once.
"""

from __future__ import annotations

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


def _check_targets(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for step in steps:
        if not isinstance(step.get("_target_"), str):
            raise ValueError("each step needs a `_target_` naming a transformer class")
    return steps


Steps = Annotated[list[dict[str, Any]], Field(default_factory=list)]


class Features(Section):
    split: Split = Split()
    #: Transformer steps (Hydra `_target_` specs) applied, in order, per column role.
    numeric: Steps
    categorical: Steps
    drop: list[str] = []

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
