"""Every dvc process gitml starts, and the one use of DVC's library: a cache file by its hash.

DVC runs as `python -m dvc` of this interpreter, so the dvc gitml was installed with is
the one that runs (whatever `dvc` is first on PATH). A failure is a DvcError naming the
command and DVC's last line of output.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

from gitml.core.errors import DvcError
from gitml.core.text import cut

log = logging.getLogger(__name__)


def _command(args: tuple[str, ...]) -> list[str]:
    return [sys.executable, "-m", "dvc", *args]


def run(repo: str | Path, *args: str, stream: bool = False) -> str:
    """stdout of `dvc ARGS` in `repo`; with `stream`, DVC's output goes to stderr as it runs (progress)."""
    if stream:
        result = subprocess.run(_command(args), cwd=repo, text=True, stdout=sys.stderr)
    else:
        result = subprocess.run(_command(args), cwd=repo, text=True, capture_output=True)
    if result.returncode:
        output = ((result.stderr or "") + (result.stdout or "")).strip().splitlines()
        detail = output[-1] if output else f"exit {result.returncode}, see its output above"
        raise DvcError(f"`dvc {' '.join(args)}` failed: {detail}")
    return result.stdout or ""


def call(repo: str | Path, *args: str) -> int:
    """Run `dvc ARGS` with its output on the terminal; its exit code (for commands that wrap dvc)."""
    return subprocess.call(_command(args), cwd=repo)


def run_json(repo: str | Path, *args: str) -> Any:
    """`dvc ARGS --json`, parsed."""
    out = run(repo, *args, "--json")
    try:
        return json.loads(out or "null")
    except json.JSONDecodeError as exc:
        raise DvcError(f"`dvc {' '.join(args)} --json` printed no JSON: {cut(out, 200)!r}") from exc


def cached_file(repo: str | Path, md5: str, what: str) -> Path:
    """The local DVC cache file holding `md5`, fetched from the DVC remote first if it is missing.

    By hash, from the workspace's remote config: the commit that recorded the hash may name a
    relative or credential-less remote. `what` names the file in messages.
    """
    from dvc.exceptions import DvcException
    from dvc.repo import Repo
    from dvc_data.hashfile.hash_info import HashInfo

    try:
        with Repo(str(repo)) as dvc_repo:
            cached = Path(dvc_repo.cache.local.oid_to_path(md5))
            if not cached.is_file():
                log.info("%s: not in the local DVC cache; fetching it from the remote", what)
                dvc_repo.cloud.pull([HashInfo("md5", md5)])
    except DvcException as exc:
        raise DvcError(f"{what}: cannot fetch from the DVC remote: {exc}") from exc
    return cached


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
