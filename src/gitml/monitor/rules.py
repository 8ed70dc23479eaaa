"""The drift rules: the rule table, its overrides, the correction across columns, one decision per column.

A column's rule is the table's rule for its role, overridden field by field by
`overrides.all`, then `overrides.<role>`, then `overrides.columns.<name>`; a test that
does not fit the role is a config error naming the key that set it. The p-values of the
columns judged by significance are adjusted together (`monitor.correction`), so the
more columns a run tests, the stronger each one's evidence must be.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from gitml.config import Monitor
from gitml.core.errors import ConfigError
from gitml.monitor import status

#: Which tests apply to which column role.
APPLIES = {
    "numeric": {"ks", "wasserstein", "psi"},
    "categorical": {"chi2", "jensenshannon", "psi"},
}


@dataclass(frozen=True)
class Rule:
    decide: str
    significance: str
    alpha: float
    effect: str
    threshold: float


def resolve(monitor: Monitor, name: str, role: str) -> Rule:
    """The rule for column `name` of `role`, the most specific setting winning."""
    overrides = monitor.overrides
    layers = [
        (f"monitor.table.{role}", getattr(monitor.table, role)),
        ("monitor.overrides.all", overrides.all),
        (f"monitor.overrides.{role}", getattr(overrides, role)),
        (f"monitor.overrides.columns.{name}", overrides.columns.get(name)),
    ]
    merged: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for key, layer in layers:
        if layer is None:
            continue
        for field, value in layer.model_dump(exclude_none=True).items():
            merged[field], origin[field] = value, key
    for field in ("significance", "effect"):
        if merged[field] not in APPLIES[role]:
            raise ConfigError(
                f"{origin[field]}.{field}: {merged[field]!r} does not apply to {role} column {name!r} "
                f"(use one of {sorted(APPLIES[role])})"
            )
    return Rule(**merged)


def mode(rule: Rule, reference_rows: int, small_reference: int) -> str:
    """How the column is judged: `table` picks significance for a small reference, effect size for a large one."""
    if rule.decide == "table":
        return "significance" if reference_rows <= small_reference else "effect"
    return rule.decide


def adjusted(pvalues: list[float], correction: str) -> list[float]:
    """The p-values of one run's significance tests, adjusted for their number.

    `bh` is scipy's Benjamini-Hochberg; `holm` is Holm's step-down (the i-th smallest of m
    p-values times m - i + 1, kept non-decreasing), which scipy does not offer.
    """
    if correction == "none" or not pvalues:
        return list(pvalues)
    import numpy as np

    values = np.asarray(pvalues, dtype=float)
    if correction == "bh":
        from scipy import stats

        return [float(v) for v in stats.false_discovery_control(values, method="bh")]
    order = np.argsort(values, kind="stable")
    steps = np.maximum.accumulate(np.minimum(1.0, values[order] * (len(values) - np.arange(len(values)))))
    out = np.empty(len(values))
    out[order] = steps
    return [float(v) for v in out]


def decide(rule: Rule, stats: dict[str, Any], how: str, correction: str, fdr: float,
           pvalue_adjusted: float | None) -> dict[str, Any]:
    """Apply `rule` to a column's statistics: the distribution check, with the figures it used.

    `pvalue_adjusted` is the column's p-value adjusted across the run's significance tests
    (None when it was judged by effect size, or nothing is corrected).
    """
    pvalue = stats[f"{rule.significance}_pvalue"]
    value = stats[rule.effect]
    significant = pvalue < rule.alpha and (pvalue_adjusted is None or pvalue_adjusted < fdr)
    large = value >= rule.threshold
    drifted = {"significance": significant, "effect": large, "both": significant and large}[how]
    decision = {
        "decide": how,
        "significance": rule.significance,
        "alpha": rule.alpha,
        "pvalue": pvalue,
        "correction": correction if pvalue_adjusted is not None else "none",
        "pvalue_adjusted": pvalue_adjusted,
        "fdr": fdr,
        "effect": rule.effect,
        "threshold": rule.threshold,
        "value": value if math.isfinite(value) else None,
    }
    return status.check(status.DRIFT if drifted else status.NO_DRIFT, describe(decision), **decision)


_CORRECTIONS = {"bh": "BH", "holm": "Holm"}


def describe(decision: dict[str, Any]) -> str:
    """One line, e.g. `wasserstein 0.42 >= 0.1` or `ks p=0.012 < 0.05 but BH-adjusted 0.31 >= 0.05`."""
    below = decision["pvalue"] < decision["alpha"]
    sig = f"{decision['significance']} p={decision['pvalue']:.3g} {'<' if below else '>='} {decision['alpha']:g}"
    adjusted_p = decision["pvalue_adjusted"]
    if adjusted_p is not None:
        kept = adjusted_p < decision["fdr"]
        joint = ", " if kept or not below else " but "
        sig += f"{joint}{_CORRECTIONS[decision['correction']]}-adjusted {adjusted_p:.3g} " \
               f"{'<' if kept else '>='} {decision['fdr']:g}"
    value = decision["value"]
    shown = "inf" if value is None else f"{value:.3g}"
    big = value is None or value >= decision["threshold"]
    eff = f"{decision['effect']} {shown} {'>=' if big else '<'} {decision['threshold']:g}"
    return {"significance": sig, "effect": eff, "both": f"{sig} and {eff}"}[decision["decide"]]
