"""Another commit's pipeline, reproduced in a temporary git worktree that shares this repository's DVC cache.

When an output of a commit is neither in the DVC cache nor on the remote, the commit's own
code, params and data can make it again: `reproduce` checks the commit out beside the
workspace (`git worktree add --detach`), points its DVC at this repository's cache, runs
`dvc repro` of the stages that produce what is wanted (pulling what the remote has), and
removes the worktree, whatever happened. The outputs stay in the shared cache, so the next
run finds them there. DVC's own progress goes to stderr.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

import yaml

from gitml.core.errors import DvcError, GitError, SnapshotError
from gitml.vcs import dvc, git

log = logging.getLogger(__name__)


def reproduce(repo: str | Path, commit: str, stages: list[str]) -> Any:
    """Run `dvc repro STAGES` of `commit` in a temporary worktree; its dvc.lock afterwards (parsed).

    Any failure is a SnapshotError naming the commit and what stopped it; the worktree is gone
    either way, and the repository's worktree list is as it was.
    """
    short = commit[:12]
    try:
        parent = Path(tempfile.mkdtemp(prefix=f"gitml-reproduce-{commit[:7]}-"))
    except OSError as exc:
        raise SnapshotError(f"cannot create a temporary folder for reproducing {short} in "
                            f"{tempfile.gettempdir()}: {exc.strerror or exc}") from exc
    tree = parent / "worktree"
    log.warning("reproducing %s (%s) in a temporary worktree %s", short, ", ".join(stages), tree)
    try:
        try:
            git.run(repo, "worktree", "add", "--detach", "--quiet", str(tree), commit)
        except GitError as exc:
            raise SnapshotError(f"cannot create a temporary git worktree of {short} in {parent}: {exc}") from exc
        try:
            pull = dvc.share_cache(tree, repo)
            dvc.run(tree, "repro", *(["--pull"] if pull else []), *stages, stream=True)
            return yaml.safe_load((tree / "dvc.lock").read_text(encoding="utf-8"))
        except (DvcError, OSError, yaml.YAMLError) as exc:
            raise SnapshotError(f"cannot reproduce {', '.join(stages)} of {short}: {exc}") from exc
    finally:
        _remove(repo, tree)
        shutil.rmtree(parent, ignore_errors=True)


def _remove(repo: str | Path, tree: Path) -> None:
    """Remove the worktree and git's record of it (prune, if the folder is already gone)."""
    with contextlib.suppress(GitError):
        git.run(repo, "worktree", "remove", "--force", str(tree))
    shutil.rmtree(tree, ignore_errors=True)
    with contextlib.suppress(GitError):
        git.run(repo, "worktree", "prune")
