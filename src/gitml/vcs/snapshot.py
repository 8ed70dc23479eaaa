"""Files as they were at a commit, whether git or DVC tracks them, without a checkout.

The registry, the gate and monitoring look at another commit's outputs while the
workspace holds a different one: git-tracked files are read in one `git cat-file
--batch` call; DVC-tracked files are found by the hash their commit's `dvc.lock` (or
`.dvc` file) records, in the local DVC cache or, failing that, fetched from the DVC
remote, and always checked against that hash.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from gitml.core.errors import DvcError, GitError, SnapshotError
from gitml.core.io import md5_file
from gitml.vcs import dvc, git


def read_git(repo: str | Path, commit: str, paths: Iterable[str]) -> dict[str, bytes | None]:
    """The bytes of each path at `commit` (None where git does not track it), in one git call."""
    try:
        return git.read_files(repo, commit, paths)
    except GitError as exc:
        raise SnapshotError(str(exc)) from exc


def read_yaml(repo: str | Path, commit: str, path: str) -> Any:
    """A YAML file at `commit`, or None when git does not track it there."""
    return parse_yaml(read_git(repo, commit, [path])[path], path, commit)


def parse_yaml(raw: bytes | None, path: str, commit: str) -> Any:
    """Parsed YAML bytes read from `path` at `commit` (None stays None)."""
    if raw is None:
        return None
    try:
        return yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise SnapshotError(f"{path} at {commit[:12]}: not valid YAML: {str(exc).splitlines()[0]}") from exc


def lock_hashes(lock: Any) -> dict[str, dict[str, Any]]:
    """Every path `dvc.lock` records, with its md5 and size, per stage output or dependency."""
    found: dict[str, dict[str, Any]] = {}
    for stage_name, stage in ((lock or {}).get("stages") or {}).items():
        for kind in ("deps", "outs"):
            for entry in stage.get(kind) or []:
                usable = isinstance(entry, dict) and "path" in entry and "md5" in entry
                if usable and (kind == "outs" or entry["path"] not in found):
                    found[entry["path"]] = {"md5": entry["md5"], "size": entry.get("size"),
                                            "stage": stage_name, "kind": kind[:-1]}
    return found


def dvc_hash(repo: str | Path, commit: str, path: str, lock: Any = None) -> str | None:
    """The md5 DVC records for the output `path` at `commit`: from dvc.lock or `path.dvc`."""
    if lock is None:
        lock = read_yaml(repo, commit, "dvc.lock")
    entry = lock_hashes(lock).get(path)
    if entry and entry["kind"] == "out":
        return entry["md5"]
    tracked = read_yaml(repo, commit, f"{path}.dvc")
    for out in (tracked or {}).get("outs") or []:
        if out.get("path") == Path(path).name and "md5" in out:
            return out["md5"]
    return None


def dvc_cached(repo: str | Path, commit: str, path: str, md5: str) -> Path:
    """The local DVC cache file holding `md5`, fetched from the DVC remote if it is missing."""
    what = f"{path} at {commit[:12]}"
    try:
        cached = dvc.cached_file(repo, md5, what)
    except DvcError as exc:
        raise SnapshotError(str(exc)) from exc
    if not cached.is_file():
        raise SnapshotError(
            f"{what} (md5 {md5}) is neither in the DVC cache nor on the DVC remote "
            "(run `dvc push` where it was trained)"
        )
    if md5_file(cached) != md5:
        raise SnapshotError(f"{what}: the DVC cache file {cached} does not match md5 {md5}")
    return cached


def read_any(repo: str | Path, commit: str, path: str, lock: Any = None) -> bytes | None:
    """A file at `commit` from git, else from DVC (cache or remote); None if neither tracks it."""
    raw = read_git(repo, commit, [path])[path]
    if raw is not None:
        return raw
    md5 = dvc_hash(repo, commit, path, lock)
    return dvc_cached(repo, commit, path, md5).read_bytes() if md5 else None
