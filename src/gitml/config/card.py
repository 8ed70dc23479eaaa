"""The `card` section: what the model card says that the pipeline cannot know."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from gitml.config.base import Section


class Card(Section):
    """What the model card says that the pipeline cannot know: who owns the model and what it is for."""

    owner: str = "unassigned"
    contact: str | None = None
    intended_use: str = "Not declared: set card.intended_use in conf/card/."
    out_of_scope: list[str] = []
    limitations: list[str] = []
    #: Features listed with their importance in the card (the most important first).
    top_features: Annotated[int, Field(gt=0)] = 15


