"""The `gate` section: policy per task, baseline, bootstrap, timing and production limits, report."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from gitml.config.base import NonNegative, Section
from gitml.core.charts import MAX_POINTS


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
    #: A commit's outputs that are neither in the DVC cache nor on the remote are reproduced at that
    #: commit (a temporary git worktree sharing the cache); false: stop with exit 2 instead.
    reproduce: bool = True


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
    max_points: Annotated[int, Field(gt=0)] = MAX_POINTS
    #: A folder of templates (gate.md.j2, gate.json.j2) overriding the built-in ones.
    template_dir: str | None = None


class Timing(Section):
    """How the gate times both models side by side, in one process, interleaved on the same test rows."""

    enabled: bool = True
    #: Seconds the timing may take; it stops sooner once every interval is narrow enough.
    budget_s: Annotated[float, Field(gt=0.0)] = 5.0
    #: Narrow enough: each ratio's interval is at most this fraction of the ratio wide.
    precision: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.1
    #: Test rows predicted one at a time (single-row latency).
    rows: Annotated[int, Field(gt=0)] = 16
    #: Rows per call for batch throughput (the test rows, repeated to this many); serving's micro-batch size.
    batch_rows: Annotated[int, Field(gt=0)] = 256
    confidence: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.95


Ratio = Annotated[float, Field(gt=0.0)]


class Production(Section):
    """Limits on the production figures; each optional. A breach within the interval's noise passes."""

    #: Candidate/baseline ratio limits.
    latency_p99_max_ratio: Ratio | None = 1.5
    size_max_ratio: Ratio | None = None
    memory_max_ratio: Ratio | None = None
    #: Absolute ceilings on the candidate.
    latency_p99_ms_max: Ratio | None = None
    size_mb_max: Ratio | None = None


class Gate(Section):
    baseline: GateBaseline = GateBaseline()
    bootstrap: Bootstrap = Bootstrap()
    metrics: GatePolicies = GatePolicies()
    timing: Timing = Timing()
    production: Production = Production()
    report: GateReport = GateReport()


