"""Tuning: search spaces (`space`), seeded studies (`study`), model=auto (`autoselect`), where the
work runs (`compute`), the tune stage (`search`) and the experiments table (`experiments`).
"""

from __future__ import annotations

__all__ = ["autoselect", "compute", "experiments", "search", "space", "study"]
