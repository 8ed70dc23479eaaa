"""The four words every check of a drift report ends in, and how people read them.

Each check (a column's distribution, its missing share, the column as a whole, the dataset,
the predictions, the metrics on labelled rows) is `drift`, `no_drift`, `insufficient_data`
(it ran out of values: fewer than `monitor.min_rows`) or `not_evaluated` (it could not run:
no such column, wrong type, nothing to compare with), always with a reason. The JSON report
stores the word, and the terminal summary, the HTML page and the alert issue all print
`label(word)`, so no view can say more than was done.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

DRIFT = "drift"
NO_DRIFT = "no_drift"
INSUFFICIENT_DATA = "insufficient_data"
NOT_EVALUATED = "not_evaluated"
#: Most telling first: what `worst` keeps of several statuses.
STATUSES = (DRIFT, NOT_EVALUATED, INSUFFICIENT_DATA, NO_DRIFT)
#: Statuses of checks that ran to a verdict.
DECIDED = (DRIFT, NO_DRIFT)

#: The report-level checks, in the order every view shows them, with their titles.
CHECKS = {
    "dataset": "dataset drift",
    "prediction": "prediction drift",
    "performance": "metrics on labelled current data",
}


def label(status: str) -> str:
    """How a status reads in the summary, the HTML page and the alert: `no_drift` -> `no drift`."""
    if status not in STATUSES:
        raise ValueError(f"unknown drift status {status!r}")
    return status.replace("_", " ")


def check(status: str, reason: str, **details: Any) -> dict[str, Any]:
    """One check's outcome: its status, why, and what it measured."""
    label(status)
    return {"status": status, "reason": reason, **details}


def worst(statuses: Iterable[str]) -> str:
    """The most telling of several statuses: drift, else not evaluated, else insufficient data, else no drift."""
    present = set(statuses)
    return next((status for status in STATUSES if status in present), NOT_EVALUATED)
