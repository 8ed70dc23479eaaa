"""Where a registered version came from: commit, params, data and model hashes, metrics, people.

Everything is read at the version's commit (git objects, and DVC for tracked files),
so the answer is the same whatever is checked out. The feature catalog written by the
featurize stage (`paths.catalog`, default data/features/catalog.json) adds each feature's
definition hash when it exists at that commit; older commits simply have none.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from gitml.core.errors import RegistryError, SnapshotError
from gitml.core.text import quoted
from gitml.registry import tags
from gitml.registry.tags import Version
from gitml.vcs import git, snapshot

log = logging.getLogger(__name__)

DEFAULT_CATALOG = "data/features/catalog.json"
DEFAULT_METRICS = "reports/metrics.json"


def parse_ref(ref: str) -> tuple[str, str | None, str | None]:
    """`NAME`, `NAME@vX.Y.Z` or `NAME#STAGE` → (artifact, version, stage)."""
    if "@" in ref:
        artifact, version = ref.split("@", 1)
        if not tags.VERSION_RE.match(version) and version != "latest":
            raise RegistryError(f"{quoted(ref)}: expected NAME@vX.Y.Z")
        return artifact, version, None
    if "#" in ref:
        artifact, stage = ref.split("#", 1)
        return artifact, None, stage
    return ref, None, None


def feature_hashes(catalog: Any) -> dict[str, str]:
    """{feature: definition_hash} from a catalog that is a list or a mapping of features."""
    if isinstance(catalog, dict) and isinstance(catalog.get("features"), list | dict):
        catalog = catalog["features"]
    items: list[tuple[Any, Any]]
    if isinstance(catalog, list):
        items = [(f.get("name", f.get("feature")), f) for f in catalog if isinstance(f, dict)]
    elif isinstance(catalog, dict):
        items = list(catalog.items())
    else:
        return {}
    found = {}
    for name, entry in items:
        value = entry.get("definition_hash") if isinstance(entry, dict) else entry
        if name is not None and isinstance(value, str):
            found[str(name)] = value
    return found


def _json_at(repo: Path, commit: str, path: str, lock: Any) -> Any:
    try:
        raw = snapshot.read_any(repo, commit, path, lock)
    except SnapshotError as exc:
        log.warning("%s", exc)
        return None
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        log.warning("%s at %s is not valid JSON; left out", path, commit[:12])
        return None


def _commit_info(repo: Path, commit: str) -> dict[str, str]:
    fields = git.run(repo, "show", "--no-patch", "--format=%an <%ae>%x1f%aI%x1f%cn <%ce>%x1f%s", commit)
    author, date, committer, subject = fields.rstrip("\n").split("\x1f")
    return {"author": author, "date": date, "committer": committer, "subject": subject}


def lineage(ref: str, repo: str | Path = ".") -> dict[str, Any]:
    """The lineage of `NAME[@VERSION|#STAGE]` (the latest version when neither is given)."""
    repo = Path(repo)
    artifact, version, stage = parse_ref(ref)
    found: Version = tags.find(artifact, repo, version=version, stage=stage)
    commit = found.commit
    files = snapshot.read_git(repo, commit, ["params.yaml", "dvc.lock", "dvc.yaml"])
    params, lock, dvc_yaml = (snapshot.parse_yaml(raw, name, commit) for name, raw in files.items())
    paths = (params or {}).get("paths") or {}
    model_path = ((dvc_yaml or {}).get("artifacts") or {}).get(artifact, {}).get("path") or paths.get("model")
    hashes = snapshot.lock_hashes(lock)
    catalog = _json_at(repo, commit, paths.get("catalog", DEFAULT_CATALOG), lock)
    return {
        "artifact": artifact,
        "version": found.version,
        "tag": found.tag,
        "stages": found.stages,
        "commit": commit,
        "commit_info": _commit_info(repo, commit),
        "registered": {"at": found.date, "by": found.tagger, "gate": found.gate, "forced": found.forced},
        "model": {"path": model_path, "md5": (hashes.get(model_path) or {}).get("md5")},
        "outputs": {path: entry["md5"] for path, entry in sorted(hashes.items()) if entry["kind"] == "out"},
        "params": params,
        "metrics": _json_at(repo, commit, paths.get("metrics", DEFAULT_METRICS), lock),
        "features": feature_hashes(catalog) if catalog is not None else None,
    }
