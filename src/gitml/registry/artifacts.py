"""`gitml get`: materialise a registered version's model for serving and monitoring.

The model comes from the version's commit, not the checkout: its hash from that
commit's dvc.lock, its bytes from the local DVC cache or the DVC remote, checked
against the hash (and against the hash the version tag recorded at registration).
The output folder is built beside its destination and renamed into place, so a
reader sees the previous version or the new one, never a mix.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

from gitml.core import io
from gitml.core.errors import RegistryError
from gitml.core.io import md5_file
from gitml.core.text import quoted
from gitml.model.modelio import MODEL_FILE, SIGNATURE_FILE, VERSION_FILE
from gitml.registry import tags
from gitml.registry.tags import MODEL_HASH
from gitml.vcs import snapshot

log = logging.getLogger(__name__)

DEFAULT_SIGNATURE = "models/signature.json"


def _paths_at(repo: Path, commit: str, artifact: str) -> tuple[str, str, Any]:
    files = snapshot.read_git(repo, commit, ["params.yaml", "dvc.yaml", "dvc.lock"])
    params, dvc_yaml, lock = (snapshot.parse_yaml(raw, name, commit) for name, raw in files.items())
    paths = (params or {}).get("paths") or {}
    declared = ((dvc_yaml or {}).get("artifacts") or {}).get(artifact) or {}
    model = declared.get("path") or paths.get("model")
    if not model:
        raise RegistryError(f"{artifact} at {commit[:12]}: dvc.yaml declares no path for it under artifacts:")
    return model, paths.get("signature", DEFAULT_SIGNATURE), lock


#: Everything `gitml get` writes into its folder: the only files it will ever replace there.
WRITTEN = frozenset({MODEL_FILE, SIGNATURE_FILE, VERSION_FILE})


def _check_destination(output: Path) -> None:
    """The folder must be new, empty, or hold only what `gitml get` writes: nothing else is ever deleted."""
    if output.exists() and not output.is_dir():
        raise RegistryError(f"-o {output}: exists and is not a folder")
    if output.is_symlink():
        raise RegistryError(f"-o {output}: is a symbolic link; give the folder itself")
    if output.is_dir():
        others = sorted(entry.name for entry in output.iterdir() if entry.name not in WRITTEN or not entry.is_file())
        if others:
            shown = ", ".join(quoted(name) for name in others[:3]) + (f" and {len(others) - 3} more"
                                                                       if len(others) > 3 else "")
            raise RegistryError(f"-o {output}: holds files `gitml get` did not write ({shown}); "
                                "give a new or empty folder, or one that only `gitml get` wrote to")


def get(artifact: str, *, stage: str | None = None, version: str | None = None,
        output: str | Path, repo: str | Path = ".") -> dict[str, Any]:
    """Write DIR/model.skops, DIR/signature.json and DIR/version.json for one version; return version.json."""
    if (stage is None) == (version is None):
        raise RegistryError("give exactly one of --stage or --version")
    repo, output = Path(repo), Path(output)
    found = tags.find(artifact, repo, version=version, stage=stage)
    commit = found.commit
    model_path, signature_path, lock = _paths_at(repo, commit, artifact)
    _check_destination(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    io.sweep([output])
    built = io.temporary(output, folder=True)
    try:
        model_md5 = _write_model(repo, commit, model_path, lock, built / MODEL_FILE)
        recorded = found.trailers.get(MODEL_HASH)
        if recorded and recorded != model_md5:
            raise RegistryError(f"{found.tag}: the model at its commit has md5 {model_md5}, "
                                f"but the tag recorded {recorded} at registration")
        signature = snapshot.read_any(repo, commit, signature_path, lock)
        if signature is None:
            raise RegistryError(f"{found.tag}: {signature_path} is not tracked at commit {commit[:12]}")
        (built / SIGNATURE_FILE).write_bytes(signature)
        info = {"name": artifact, "version": found.version, "stage": stage, "commit": commit,
                "registered_at": found.date, "model_md5": model_md5}
        (built / VERSION_FILE).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
        os.chmod(built, 0o755)
        io.swap_into_place(built, output)
    finally:
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(built)
    log.info("%s %s (commit %s) → %s", artifact, found.version, commit[:12], output)
    return info


def _write_model(repo: Path, commit: str, path: str, lock: Any, target: Path) -> str:
    """Copy the model file at `commit` to `target`; return its md5."""
    raw = snapshot.read_git(repo, commit, [path])[path]
    if raw is not None:  # a model committed to git itself
        target.write_bytes(raw)
        return md5_file(target)
    md5 = snapshot.dvc_hash(repo, commit, path, lock)
    if md5 is None:
        raise RegistryError(f"{path}: neither git nor DVC (dvc.lock) tracks it at commit {commit[:12]}")
    shutil.copyfile(snapshot.dvc_cached(repo, commit, path, md5), target)
    return md5
