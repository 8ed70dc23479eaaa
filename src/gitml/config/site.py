"""The `site` section: what `gitml site` shows and where the published site lives."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from gitml.config.base import Section


class Site(Section):
    """The static project site (`gitml site -o site/`), built from git, tags and the DVC cache."""

    #: The default branch: its commits make the history (metrics over time); others are listed beside.
    branch: str = "main"
    #: Where the published site lives (the pull-request comment links to it); None: GitHub Pages'
    #: address of $GITHUB_REPOSITORY when running in GitHub Actions, else no link.
    url: str | None = None
    #: Metrics charted over time; empty means registry.headline_metrics, else every metric (at most 12).
    metrics: list[str] = []
    #: The newest commits listed (the page weight grows with them); older ones are counted, not shown.
    max_commits: Annotated[int, Field(ge=1)] = 2000
