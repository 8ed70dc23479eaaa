"""Every dvc process gitml starts, and the few uses of DVC's library: cache files by hash, config.

DVC runs as `python -m dvc` of this interpreter, so the dvc gitml was installed with is
the one that runs (whatever `dvc` is first on PATH), with this interpreter's folder first
on its PATH, so the `python` of each stage's command is this one too: `gitml repro` works
from outside the virtualenv, called by its path. A failure is a DvcError naming the
command and DVC's last line of output; a remote that cannot be read is a DvcError
naming the remote and its URL.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from gitml.core.errors import DvcError
from gitml.core.text import cut, reason

log = logging.getLogger(__name__)


def _command(args: tuple[str, ...]) -> list[str]:
    return [sys.executable, "-m", "dvc", *args]


def _env() -> dict[str, str]:
    """This process's environment with the interpreter's own folder (a virtualenv's bin/) first on PATH."""
    folder = os.path.dirname(sys.executable)  # not resolved: a venv's python is a link out of bin/
    return {**os.environ, "PATH": os.pathsep.join([folder, os.environ.get("PATH", os.defpath)])}


def run(repo: str | Path, *args: str, stream: bool = False) -> str:
    """stdout of `dvc ARGS` in `repo`; with `stream`, DVC's output goes to stderr as it runs (progress)."""
    if stream:
        result = subprocess.run(_command(args), cwd=repo, env=_env(), text=True, stdout=sys.stderr)
    else:
        result = subprocess.run(_command(args), cwd=repo, env=_env(), text=True, capture_output=True)
    if result.returncode:
        output = ((result.stderr or "") + (result.stdout or "")).strip().splitlines()
        detail = output[-1] if output else f"exit {result.returncode}, see its output above"
        raise DvcError(f"`dvc {' '.join(args)}` failed: {detail}")
    return result.stdout or ""


def call(repo: str | Path, *args: str) -> int:
    """Run `dvc ARGS` with its output on the terminal; its exit code (for commands that wrap dvc)."""
    return subprocess.call(_command(args), cwd=repo, env=_env())


def run_json(repo: str | Path, *args: str) -> Any:
    """`dvc ARGS --json`, parsed."""
    out = run(repo, *args, "--json")
    try:
        return json.loads(out or "null")
    except json.JSONDecodeError as exc:
        raise DvcError(f"`dvc {' '.join(args)} --json` printed no JSON: {cut(out, 200)!r}") from exc


def fetch(repo: str | Path, md5s: Iterable[str], what: str) -> dict[str, tuple[Path, Literal["cache", "remote"]]]:
    """Where each md5 is in the local DVC cache, pulling the missing ones from the default remote first.

    By hash, from the workspace's remote config: the commit that recorded the hash may name a
    relative or credential-less remote. An md5 neither here nor on the remote is left out; a
    remote that cannot be read (unreachable, no credentials) is a DvcError naming it.
    """
    from dvc.exceptions import DvcException
    from dvc.repo import Repo
    from dvc_data.hashfile.hash_info import HashInfo

    found: dict[str, tuple[Path, Literal["cache", "remote"]]] = {}
    try:
        with Repo(str(repo)) as dvc_repo:
            paths = {md5: Path(dvc_repo.cache.local.oid_to_path(md5)) for md5 in md5s}
            found = {md5: (path, "cache") for md5, path in paths.items() if path.is_file()}
            missing = [md5 for md5 in paths if md5 not in found]
            name = dvc_repo.config["core"].get("remote")
            if missing and name:
                url = (dvc_repo.config["remote"].get(name) or {}).get("url")
                log.info("%s: not in the local DVC cache; fetching from the DVC remote %r (%s)", what, name, url)
                try:
                    dvc_repo.cloud.pull([HashInfo("md5", md5) for md5 in missing])
                except Exception as exc:  # the remote's client raises its own types (botocore, OSError, ...)
                    raise DvcError(f"{what}: cannot read the DVC remote {name!r} ({url}): {reason(exc)}") from exc
                found.update({md5: (paths[md5], "remote") for md5 in missing if paths[md5].is_file()})
    except DvcException as exc:
        raise DvcError(f"{what}: {exc}") from exc
    return found


def share_cache(worktree: Path, repo: str | Path) -> bool:
    """Point `worktree`'s DVC at `repo`'s cache (and local config, e.g. remote credentials).

    Its own per-repository state goes inside the worktree, so removing the worktree removes
    everything DVC kept about it. Whether the worktree has a default remote to pull from.
    """
    from dvc.config import Config
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    try:
        with Repo(str(repo)) as dvc_repo:
            cache_dir = dvc_repo.cache.local_cache_dir
        local = Config(dvc_dir=str(Path(repo, ".dvc")), validate=False).load_one("local")
        target = Config(dvc_dir=str(worktree / ".dvc"), validate=False)
        with target.edit("local") as conf:
            for section, values in local.items():
                conf.setdefault(section, {}).update(values)
            conf.setdefault("cache", {})["dir"] = cache_dir
            conf.setdefault("core", {})["site_cache_dir"] = str(worktree / ".dvc" / "tmp" / "site")
        return bool(Config(dvc_dir=str(worktree / ".dvc"))["core"].get("remote"))
    except DvcException as exc:
        raise DvcError(f"{worktree}: cannot share the DVC cache of {repo}: {exc}") from exc


def where(repo: str | Path, hashes: list[str]) -> dict[str, str]:
    """Where each DVC md5 can be had: "cache", "remote" or "missing", with one query of the remote.

    Nothing is downloaded: the site says whether a version's outputs could be fetched
    (`gitml get`, `dvc pull`) without fetching them.
    """
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    found: dict[str, str] = {}
    try:
        with Repo(str(repo)) as dvc_repo:
            for md5 in hashes:
                found[md5] = "cache" if Path(dvc_repo.cache.local.oid_to_path(md5)).is_file() else "missing"
            absent = [md5 for md5, place in found.items() if place == "missing"]
            if absent:
                try:
                    odb = dvc_repo.cloud.get_remote_odb()
                except DvcException as exc:
                    log.info("no DVC remote to look in: %s", exc)
                    return found
                for md5 in odb.oids_exist(absent):
                    found[md5] = "remote"
    except DvcException as exc:
        raise DvcError(f"cannot read the DVC cache or remote: {exc}") from exc
    return found
