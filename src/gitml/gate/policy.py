"""The promotion policy applied to one comparison: per metric, what changed and whether it may pass.

A metric's change is classified against noise when a paired bootstrap interval of the
difference exists (improved / unchanged within noise / regressed), else by its point
estimate; each judgement says which method judged it. The policy then checks, for each
metric it names: floor and ceiling on the candidate's value, the tolerated regression, and
any required improvement, each optionally requiring significance. With no baseline (the
first version) only floors and ceilings apply. Pure functions: `gitml.gate` gathers the numbers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from gitml.config import GatePolicies, MetricPolicy, Production
from gitml.core.errors import GateError
from gitml.core.text import number
from gitml.model import metrics

#: Differences this small are rounding, not change.
_EPS = 1e-12


#: How a metric was judged: its change against a paired interval, a point estimate, or no baseline at all.
BOOTSTRAP, POINT, ALONE = "paired bootstrap", "point estimate", "no baseline"


@dataclass
class Judgement:
    name: str
    direction: str
    gated: bool
    baseline: float | None
    candidate: float
    delta: float | None
    #: Paired bootstrap interval of candidate - baseline, or None (point estimates only).
    interval: tuple[float, float] | None
    change: str  # improved | unchanged | regressed | new (no baseline)
    status: str  # pass | fail | info (not gated)
    reasons: list[str] = field(default_factory=list)
    policy: dict[str, Any] | None = None
    #: What the metric averages, from the registry (None outside it).
    averaging: str | None = None
    method: str = POINT
    #: Why there is no interval (method is not the paired bootstrap).
    why: str | None = None

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["interval"] = list(self.interval) if self.interval else None
        return data


def for_task(policies: GatePolicies, task: str) -> dict[str, MetricPolicy]:
    return getattr(policies, task)


def resolve(policies: dict[str, MetricPolicy], measured: dict[str, float]) -> dict[str, MetricPolicy]:
    """The policy by the names measured: a binary metric's rule judges its multiclass counterpart (f1: f1_macro)."""
    resolved = {}
    for name, rule in policies.items():
        other = metrics.counterpart(name)
        resolved[other if name not in measured and other in measured else name] = rule
    return resolved


def check_names(
    policies: dict[str, MetricPolicy], task: str, candidate: dict[str, float], candidate_source: str,
    baseline: dict[str, float] | None = None, baseline_source: str = "",
) -> None:
    """Every metric the policy names must exist on both sides (or the candidate); else one line per missing name."""
    problems = []
    sides = [(candidate, candidate_source)] + ([(baseline, baseline_source)] if baseline is not None else [])
    for name in policies:
        for measured, source in sides:
            if name not in measured:
                problems.append(f"gate.metrics.{task}.{name}: no such metric in {source} "
                                f"(it has: {', '.join(sorted(measured)) or 'nothing'})")
    if problems:
        raise GateError("\n".join(dict.fromkeys(problems)))


def classify(direction: str, delta: float, interval: tuple[float, float] | None) -> str:
    """improved / unchanged / regressed: by the interval when there is one, else by the point estimate."""
    sign = 1.0 if direction == "higher" else -1.0
    if interval is not None:
        low, high = sorted((sign * interval[0], sign * interval[1]))
        return "improved" if low > _EPS else "regressed" if high < -_EPS else "unchanged"
    gain = sign * delta
    return "improved" if gain > _EPS else "regressed" if gain < -_EPS else "unchanged"


def _bounds(policy: MetricPolicy, candidate: float) -> list[str]:
    reasons = []
    if policy.floor is not None and candidate < policy.floor - _EPS:
        reasons.append(f"{number(candidate)} is below the floor {number(policy.floor)}")
    if policy.ceiling is not None and candidate > policy.ceiling + _EPS:
        reasons.append(f"{number(candidate)} is above the ceiling {number(policy.ceiling)}")
    return reasons


def judge(
    name: str, policy: MetricPolicy | None, baseline: float, candidate: float,
    interval: tuple[float, float] | None,
) -> Judgement:
    """One metric's change and, when the policy names it, whether it passes and why not."""
    direction = policy.direction if policy else metrics.direction(name)
    delta = candidate - baseline
    result = Judgement(name, direction, policy is not None, baseline, candidate, delta, interval,
                       classify(direction, delta, interval), "info" if policy is None else "pass",
                       policy=policy.model_dump() if policy else None, averaging=metrics.averaging(name),
                       method=BOOTSTRAP if interval is not None else POINT)
    if policy is None:
        return result
    sign = 1.0 if direction == "higher" else -1.0
    gain = sign * delta
    gain_low, gain_high = sorted((sign * interval[0], sign * interval[1])) if interval else (gain, gain)
    shown = f" (interval {number(interval[0])} to {number(interval[1])})" if interval else ""
    reasons = result.reasons
    reasons += _bounds(policy, candidate)
    tolerance = max(policy.max_regression, policy.max_regression_rel * abs(baseline))
    significant = policy.significant_regression and interval is not None
    if (gain_high if significant else gain) < -tolerance - _EPS:
        what = "significantly " if significant else ""
        reasons.append(f"regressed {what}by {number(abs(delta))}{shown}, beyond the tolerated {number(tolerance)}")
    if policy.min_improvement is not None or policy.significant_improvement:
        required = policy.min_improvement or 0.0
        bar = required - _EPS if required else _EPS  # a required 0 means "strictly better"
        if policy.significant_improvement and interval is None:
            reasons.append("an improvement must be significant, but there is no paired interval to show it")
        elif policy.significant_improvement and gain_low <= bar:
            reasons.append(f"improvement {number(gain)}{shown} is not significantly above {number(required)}")
        elif not policy.significant_improvement and gain < required - _EPS:
            reasons.append(f"improved by {number(gain)}, less than the required {number(required)}")
    result.status = "fail" if reasons else "pass"
    return result


def judge_alone(policies: dict[str, MetricPolicy], candidate: dict[str, float]) -> list[Judgement]:
    """No baseline (the first version): floors and ceilings only, as every other rule compares with one."""
    judgements = []
    for name in [*policies, *sorted(candidate.keys() - policies.keys())]:
        policy = policies.get(name)
        reasons = _bounds(policy, candidate[name]) if policy else []
        status = "info" if policy is None else "fail" if reasons else "pass"
        judgements.append(Judgement(
            name, policy.direction if policy else metrics.direction(name), policy is not None, None,
            candidate[name], None, None, "new", status, reasons, policy.model_dump() if policy else None,
            method=ALONE, why="there is no baseline: only floors and ceilings apply"))
    return judgements


def judge_all(
    policies: dict[str, MetricPolicy], baseline: dict[str, float], candidate: dict[str, float],
    intervals: dict[str, tuple[float, float]],
) -> list[Judgement]:
    """Policy metrics first (in policy order), then every other metric both sides report."""
    names = [*policies, *sorted((baseline.keys() & candidate.keys()) - policies.keys())]
    return [judge(n, policies.get(n), baseline[n], candidate[n], intervals.get(n)) for n in names]


def verdict(judgements: list[Judgement]) -> str:
    return "fail" if any(j.status == "fail" for j in judgements) else "pass"


#: The production limits by figure: (relative limit key, absolute ceiling key) in `gate.production`.
PRODUCTION_LIMITS = {
    "latency_p99_ms": ("latency_p99_max_ratio", "latency_p99_ms_max"),
    "size_mb": ("size_max_ratio", "size_mb_max"),
    "memory_mb": ("memory_max_ratio", None),
}
#: A ratio this close to 1 is no change, even for an exact figure (the file size).
_SAME = 0.01


@dataclass
class FigureJudgement:
    """One production figure of both models, judged by the limits in `gate.production`."""

    name: str
    unit: str
    gated: bool
    baseline: float | None
    candidate: float
    #: candidate / baseline and its interval (None without a baseline).
    ratio: float | None
    interval: tuple[float, float] | None
    change: str  # improved | unchanged | regressed | new
    status: str  # pass | fail | info
    reasons: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["interval"] = list(self.interval) if self.interval else None
        return data


def _figure_change(lower_is_better: bool, ratio: float | None, interval: tuple[float, float] | None) -> str:
    """By the ratio's interval (or the ratio itself, measured once): beyond a 1% dead band either way."""
    if ratio is None:
        return "new"
    low, high = interval or (ratio, ratio)
    if low > 1.0 + _SAME:
        return "regressed" if lower_is_better else "improved"
    if high < 1.0 - _SAME:
        return "improved" if lower_is_better else "regressed"
    return "unchanged"


def judge_production(figures: dict[str, Any], limits: Production) -> list[FigureJudgement]:
    """Each production figure (a `gitml.gate.timing.Figure`) against its limits.

    A relative limit fails only when the whole interval of the ratio lies above it; a breach
    within the interval's noise passes with a note, as a quality metric's change within
    noise is "unchanged". An absolute ceiling compares the candidate's own interval.
    """
    judged = []
    for name, figure in figures.items():
        relative, absolute = PRODUCTION_LIMITS.get(name, (None, None))
        max_ratio = getattr(limits, relative) if relative else None
        ceiling = getattr(limits, absolute) if absolute else None
        result = FigureJudgement(name, figure.unit, max_ratio is not None or ceiling is not None, figure.baseline,
                                 figure.candidate, figure.ratio, figure.interval,
                                 _figure_change(figure.lower_is_better, figure.ratio, figure.interval), "info")
        if not result.gated:
            judged.append(result)
            continue
        if max_ratio is not None and figure.interval is not None:
            low, high = figure.interval
            shown = f"ratio {number(figure.ratio)} (interval {number(low)} to {number(high)})"
            if low > max_ratio:
                result.reasons.append(f"{shown} is above the limit {number(max_ratio)} (gate.production.{relative})")
            elif figure.ratio > max_ratio:
                result.notes.append(f"{shown} is above {number(max_ratio)} only within the noise")
        if ceiling is not None:
            low = figure.candidate_interval[0] if figure.candidate_interval else figure.candidate
            if low > ceiling:
                result.reasons.append(f"{number(figure.candidate)} {figure.unit} is above the ceiling "
                                      f"{number(ceiling)} (gate.production.{absolute})")
        result.status = "fail" if result.reasons else "pass"
        judged.append(result)
    return judged
