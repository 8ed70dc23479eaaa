"""The model artifact: how it is built (`pipeline`, from the task-neutral families of `estimators`),
saved and loaded (`modelio`), what it expects (`signature`), how it is scored (`metrics`, the one
metric registry) and what its evaluation writes (`outputs`). Serving and monitoring read models
through this package alone.
"""

from __future__ import annotations

__all__ = ["estimators", "metrics", "modelio", "outputs", "pipeline", "signature"]
