"""The drift rules: the rule table, its overrides, and one decision per column.

A column's rule is the table's rule for its role, overridden field by field by
`overrides.all`, then `overrides.<role>`, then `overrides.columns.<name>`; a test that
does not fit the role is a config error naming the key that set it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from gitml.config import Monitor
from gitml.core.errors import ConfigError

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


def decide(rule: Rule, stats: dict[str, Any], reference_rows: int, small_reference: int) -> dict[str, Any]:
    """Apply `rule` to a column's statistics: whether it drifted, and by which test."""
    mode = rule.decide
    if mode == "table":
        mode = "significance" if reference_rows <= small_reference else "effect"
    pvalue = stats[f"{rule.significance}_pvalue"]
    value = stats[rule.effect]
    significant = pvalue < rule.alpha
    large = value >= rule.threshold
    drifted = {"significance": significant, "effect": large, "both": significant and large}[mode]
    return {
        "decide": mode,
        "drifted": bool(drifted),
        "significance": rule.significance,
        "alpha": rule.alpha,
        "pvalue": pvalue,
        "effect": rule.effect,
        "threshold": rule.threshold,
        "value": value if math.isfinite(value) else None,
    }


def describe(decision: dict[str, Any]) -> str:
    """One line, e.g. `wasserstein 0.42 >= 0.1` or `ks p=0.001 < 0.05`."""
    below = decision["pvalue"] < decision["alpha"]
    sig = f"{decision['significance']} p={decision['pvalue']:.3g} {'<' if below else '>='} {decision['alpha']:g}"
    value = decision["value"]
    shown = "inf" if value is None else f"{value:.3g}"
    big = value is None or value >= decision["threshold"]
    eff = f"{decision['effect']} {shown} {'>=' if big else '<'} {decision['threshold']:g}"
    return {"significance": sig, "effect": eff, "both": f"{sig} and {eff}"}[decision["decide"]]
