"""Files as they were at a commit, whether git or DVC tracks them, without a checkout.

Registry commands look at a version's commit while another commit is checked out:
git-tracked files are read in one `git cat-file --batch` call; DVC-tracked files are
found by the hash their commit's `dvc.lock` (or `.dvc` file) records, in the local DVC
cache or, failing that, fetched from the DVC remote, and always checked against it.
"""

from __future__ import annotations

import hashlib
import logging
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from gitml.errors import GitmlError

log = logging.getLogger(__name__)


class SnapshotError(GitmlError):
    """A file cannot be read at a commit: names the file and the commit."""


def read_git(repo: str | Path, commit: str, paths: Iterable[str]) -> dict[str, bytes | None]:
    """The bytes of each path at `commit` (None where git does not track it), in one git call."""
    paths = list(dict.fromkeys(paths))
    if not paths:
        return {}
    request = "".join(f"{commit}:{path}\n" for path in paths).encode()
    result = subprocess.run(["git", "cat-file", "--batch"], cwd=repo, input=request, capture_output=True)
    if result.returncode:
        raise SnapshotError(f"git cat-file at {commit[:12]}: {result.stderr.decode().strip()}")
    out, found, pos = result.stdout, {}, 0
    for path in paths:
        end = out.index(b"\n", pos)
        header = out[pos:end].split()
        pos = end + 1
        if len(header) == 3 and header[1] == b"blob":
            size = int(header[2])
            found[path] = out[pos:pos + size]
            pos += size + 1
        else:  # "<object> missing", or a tree/submodule: not a file git tracks
            if len(header) == 3:
                pos += int(header[2]) + 1
            found[path] = None
    return found


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


def md5_file(path: str | Path) -> str:
    """The md5 of a file's bytes: what DVC 3 records for a file output."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def dvc_cached(repo: str | Path, commit: str, path: str, md5: str) -> Path:
    """The local DVC cache file holding `md5`, fetched from the DVC remote if it is missing."""
    from dvc.exceptions import DvcException
    from dvc.repo import Repo
    from dvc_data.hashfile.hash_info import HashInfo

    try:
        with Repo(str(repo)) as dvc_repo:
            cached = Path(dvc_repo.cache.local.oid_to_path(md5))
            if not cached.is_file():
                # By hash, from the workspace's remote config: the commit's own config may
                # name a relative or credential-less remote.
                log.info("%s@%s: not in the local DVC cache; fetching it from the remote", path, commit[:12])
                dvc_repo.cloud.pull([HashInfo("md5", md5)])
    except DvcException as exc:
        raise SnapshotError(f"{path} at {commit[:12]}: cannot fetch from the DVC remote: {exc}") from exc
    if not cached.is_file():
        raise SnapshotError(
            f"{path} at {commit[:12]} (md5 {md5}) is neither in the DVC cache nor on the DVC remote "
            "(run `dvc push` where it was trained)"
        )
    if md5_file(cached) != md5:
        raise SnapshotError(f"{path} at {commit[:12]}: the DVC cache file {cached} does not match md5 {md5}")
    return cached


def read_any(repo: str | Path, commit: str, path: str, lock: Any = None) -> bytes | None:
    """A file at `commit` from git, else from DVC (cache or remote); None if neither tracks it."""
    raw = read_git(repo, commit, [path])[path]
    if raw is not None:
        return raw
    md5 = dvc_hash(repo, commit, path, lock)
    return dvc_cached(repo, commit, path, md5).read_bytes() if md5 else None
