"""The few git questions the gate asks: commits, files at a commit, merge bases, shallow fetches.

Each is one `git` call; a failure becomes a GateError naming the command and git's own reason,
so `gitml gate` exits 2 with one line instead of a traceback. A shallow CI clone lacks most
history: `ensure_commit` fetches a single missing commit from the remote, and `merge_base`
deepens the clone until the merge base appears.
"""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

from gitml.errors import GateError

log = logging.getLogger(__name__)


def _git(repo: str | Path, *args: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True)
    except FileNotFoundError as exc:
        raise GateError("git: not found on PATH") from exc


def git(repo: str | Path, *args: str) -> str:
    """stdout of `git ARGS`, or a GateError with git's last line of stderr."""
    result = _git(repo, *args)
    if result.returncode:
        reason = (result.stderr.strip().splitlines() or [f"exit {result.returncode}"])[-1]
        raise GateError(f"`git {' '.join(args)}` failed: {reason}")
    return result.stdout


def commit_of(repo: str | Path, ref: str) -> str | None:
    """The commit `ref` names, or None when it names nothing (here)."""
    result = _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    return (result.stdout.strip() or None) if result.returncode == 0 else None


def head(repo: str | Path) -> str:
    found = commit_of(repo, "HEAD")
    if found is None:
        raise GateError(f"{Path(repo).resolve()}: not a git repository with a commit (HEAD)")
    return found


def is_shallow(repo: str | Path) -> bool:
    return git(repo, "rev-parse", "--is-shallow-repository").strip() == "true"


def has_remote(repo: str | Path, remote: str) -> bool:
    return remote in git(repo, "remote").split()


def ensure_commit(repo: str | Path, ref: str, remote: str) -> str:
    """The commit of `ref`, fetching just that commit (depth 1) from `remote` when it is not here."""
    found = commit_of(repo, ref)
    if found:
        return found
    if not has_remote(repo, remote):
        raise GateError(f"baseline {ref!r}: no such commit or ref here, and no remote {remote!r} to fetch it from")
    log.info("fetching %s from %s", ref, remote)
    result = _git(repo, "fetch", "--quiet", "--no-tags", "--depth=1", remote, ref)
    if result.returncode:
        reason = (result.stderr.strip().splitlines() or ["unknown reason"])[-1]
        raise GateError(f"baseline {ref!r}: not found here, and `git fetch --depth=1 {remote} {ref}` failed: {reason}")
    return head_of_fetch(repo)


def fetch_branch(repo: str | Path, remote: str, branch: str) -> bool:
    """Fetch `branch` into `remote/branch` (a CI checkout may have only the pull request's ref)."""
    if not has_remote(repo, remote):
        return False
    _git(repo, "fetch", "--quiet", "--no-tags", remote, f"+refs/heads/{branch}:refs/remotes/{remote}/{branch}")
    return commit_of(repo, f"{remote}/{branch}") is not None


def fetch_tags(repo: str | Path, remote: str, patterns: list[str]) -> None:
    """In a shallow clone, fetch the tags matching `patterns` (a registry's), each with its commit only."""
    if is_shallow(repo) and has_remote(repo, remote):
        refspecs = [f"+refs/tags/{pattern}:refs/tags/{pattern}" for pattern in patterns]
        result = _git(repo, "fetch", "--quiet", "--depth=1", remote, *refspecs)
        if result.returncode:
            log.warning("could not fetch registry tags from %s: %s", remote, result.stderr.strip())


def head_of_fetch(repo: str | Path) -> str:
    found = commit_of(repo, "FETCH_HEAD")
    if found is None:
        raise GateError("git fetch returned no commit")
    return found


def merge_base(repo: str | Path, ref: str, remote: str) -> str:
    """The merge base of HEAD and `ref`; in a shallow clone, deepen until it appears (then unshallow)."""
    for deepen in (None, "--deepen=64", "--deepen=1024", "--unshallow"):
        if deepen:
            if not (is_shallow(repo) and has_remote(repo, remote)):
                break
            log.info("shallow clone: git fetch %s %s", deepen, remote)
            _git(repo, "fetch", "--quiet", "--no-tags", deepen, remote)
        result = _git(repo, "merge-base", "HEAD", ref)
        if result.returncode == 0:
            return result.stdout.strip()
    hint = " (a shallow clone: check out with full history, fetch-depth: 0)" if is_shallow(repo) else ""
    raise GateError(f"no merge base of HEAD and {ref}{hint}; pass --baseline REF")


def dirty(repo: str | Path, ignore: list[str]) -> list[str]:
    """Tracked files that differ from HEAD (staged or not), except those under `ignore`."""
    excludes = [f":(exclude){path}" for path in ignore]
    out = git(repo, "status", "--porcelain", "--untracked-files=no", "--", ".", *excludes)
    return [line[3:].split(" -> ")[-1] for line in out.splitlines() if line.strip()]
