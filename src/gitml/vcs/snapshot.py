"""Files as they were at a commit, whether git or DVC tracks them, without a checkout.

The registry, the gate and monitoring look at another commit's outputs while the
workspace holds a different one: git-tracked files are read in one `git cat-file
--batch` call; DVC-tracked files are found by the hash their commit's `dvc.lock` (or
`.dvc` file) records, in the local DVC cache or, failing that, fetched from the DVC
remote, and always checked against that hash. `dvc_outputs` goes one step further when
asked: what neither has, the commit reproduces (`gitml.vcs.worktree`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from gitml.core.errors import GitError, SnapshotError
from gitml.core.io import md5_file
from gitml.vcs import dvc, git, worktree

#: Where DVC 3 keeps a file of md5 HASH in a project's default cache (looked at before importing DVC).
_CACHE = (".dvc", "cache", "files", "md5")


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


@dataclass(frozen=True)
class Output:
    """A DVC output of a commit, as a file in the local cache, and where it came from."""

    file: Path
    source: Literal["cache", "remote", "reproduced"]
    #: Set when a reproduction gave other bytes than the commit recorded (a non-deterministic stage).
    note: str | None = None


def _checked(path: Path, md5: str, what: str) -> Path:
    if md5_file(path) != md5:
        raise SnapshotError(f"{what}: the DVC cache file {path} does not match md5 {md5}")
    return path


def _fetched(repo: str | Path, md5s: dict[str, str], commit: str) -> dict[str, tuple[Path, str]]:
    """{path: (cache file, source)} for the outputs in the local cache or on the remote."""
    default = Path(repo, *_CACHE)
    local = {path: default / md5[:2] / md5[2:] for path, md5 in md5s.items()}
    if all(file.is_file() for file in local.values()):  # the common case needs no DVC import
        return {path: (file, "cache") for path, file in local.items()}
    # A remote that cannot be read stays a DvcError: it names the remote, and nothing is "missing" yet.
    found = dvc.fetch(repo, md5s.values(), ", ".join(md5s) + f" at {commit[:12]}")
    return {path: found[md5] for path, md5 in md5s.items() if md5 in found}


def dvc_outputs(repo: str | Path, commit: str, paths: Iterable[str], lock: Any = None, *,
                reproduce: bool = False) -> dict[str, Output | None]:
    """Each DVC output `path` of `commit` as a local cache file: cache, else remote, else reproduced.

    None for a path DVC does not track at that commit. Without `reproduce`, an output that is
    neither in the cache nor on the remote is a SnapshotError saying so; with it, the stages
    producing the missing outputs run at that commit (`gitml.vcs.worktree.reproduce`).
    """
    if lock is None:
        lock = read_yaml(repo, commit, "dvc.lock")
    md5s = {path: dvc_hash(repo, commit, path, lock) for path in dict.fromkeys(paths)}
    tracked = {path: md5 for path, md5 in md5s.items() if md5}
    found = _fetched(repo, tracked, commit) if tracked else {}
    result: dict[str, Output | None] = {path: None for path in md5s}
    for path, (file, source) in found.items():
        result[path] = Output(_checked(file, tracked[path], f"{path} at {commit[:12]}"), source)
    missing = [path for path in tracked if path not in found]
    if not missing:
        return result
    short = commit[:12]
    if not reproduce:
        raise SnapshotError(f"{', '.join(missing)} at {short}: neither in the DVC cache nor on the DVC remote")
    produced_by = lock_hashes(lock)
    stages = [produced_by[path]["stage"] for path in missing
              if path in produced_by and produced_by[path]["kind"] == "out"]
    if len(stages) < len(missing):
        added = [path for path in missing if path not in produced_by or produced_by[path]["kind"] != "out"]
        raise SnapshotError(f"{', '.join(added)} at {short}: neither in the DVC cache nor on the DVC remote, and "
                            "no stage produces it (it was `dvc add`-ed): `dvc push` it where it was added")
    after = lock_hashes(worktree.reproduce(repo, commit, list(dict.fromkeys(stages))))
    made = _fetched(repo, {path: after[path]["md5"] for path in missing if path in after}, commit)
    for path in missing:
        if path not in made:
            raise SnapshotError(f"{path} at {short}: reproducing its stage did not leave it in the DVC cache")
        new = after[path]["md5"]
        note = None if new == tracked[path] else (
            f"reproducing {path} at {short} gave md5 {new}, not the recorded {tracked[path]} "
            "(a stage that is not deterministic)")
        result[path] = Output(_checked(made[path][0], new, f"{path} at {short}"), "reproduced", note)
    return result


def dvc_cached(repo: str | Path, commit: str, path: str, md5: str) -> Path:
    """The local DVC cache file holding `md5`, fetched from the DVC remote if it is missing."""
    found = _fetched(repo, {path: md5}, commit)
    if path not in found:
        raise SnapshotError(
            f"{path} at {commit[:12]} (md5 {md5}) is neither in the DVC cache nor on the DVC remote "
            "(run `dvc push` where it was trained)"
        )
    return _checked(found[path][0], md5, f"{path} at {commit[:12]}")


def read_any(repo: str | Path, commit: str, path: str, lock: Any = None) -> bytes | None:
    """A file at `commit` from git, else from DVC (cache or remote); None if neither tracks it."""
    raw = read_git(repo, commit, [path])[path]
    if raw is not None:
        return raw
    md5 = dvc_hash(repo, commit, path, lock)
    return dvc_cached(repo, commit, path, md5).read_bytes() if md5 else None
