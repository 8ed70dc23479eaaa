"""Training: the train stage (fit the model pipeline) and the evaluate stage (score it on the test split)."""

from __future__ import annotations

__all__ = ["evaluate", "fit"]
