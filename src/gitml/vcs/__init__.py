"""Version control: the only modules that start git, dvc or gh processes; files at a commit, reproduced if need be."""

from __future__ import annotations

__all__ = ["dvc", "git", "github", "snapshot", "worktree"]
