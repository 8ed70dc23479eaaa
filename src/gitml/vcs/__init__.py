"""Version control: the only modules that start git, dvc or gh processes, and files read at a commit."""

from __future__ import annotations

__all__ = ["dvc", "git", "github", "snapshot"]
