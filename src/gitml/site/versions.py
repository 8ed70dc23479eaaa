"""The registry as the site shows it: each version with its stages over time, lineage and model card.

Tags come from `gitml.registry.tags` (one `git for-each-ref`); every version commit's
params.yaml, dvc.lock and dvc.yaml are read in one `git cat-file --batch`, the files they
name (catalog, card, metrics) in one more. Whether each DVC-tracked output of a version
can still be had is asked of the local cache and, for what it lacks, one query of the DVC
remote, without downloading anything; a card kept by DVC rather than git is fetched.
What cannot be found is said on the version's page, never fatal.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitml.core.errors import DvcError, GitError, SnapshotError
from gitml.core.text import flatten, reason
from gitml.registry import lineage, tags
from gitml.site.history import History, Problems, load_yaml, parse_each
from gitml.vcs import dvc, git, snapshot

log = logging.getLogger(__name__)

DEFAULT_CARD = "models/card.html"


@dataclass
class Event:
    """One stage assignment or unassignment, in the artifact's event order."""

    stage: str
    version: str | None
    commit: str
    date: str
    tagger: str
    removal: bool
    tag: str
    number: int


@dataclass
class Output:
    path: str
    md5: str
    #: git, cache, remote or missing.
    where: str


@dataclass
class VersionView:
    artifact: str
    version: str
    commit: str
    date: str
    tagger: str
    gate: str
    forced: str | None
    message: str
    stages: list[str]
    metrics: dict[str, Any]
    events: list[Event] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    outputs: list[Output] = field(default_factory=list)
    features: dict[str, str] | None = None
    model: Output | None = None
    card: bytes | None = None
    #: What could not be read, one line each (shown where it would have been).
    notes: list[str] = field(default_factory=list)

    @property
    def slug(self) -> str:
        """A file name for the version's page (artifact names may hold a slash)."""
        return f"{self.artifact.replace('/', '_').replace(':', '_')}-{self.version}"


@dataclass
class Registry:
    versions: list[VersionView] = field(default_factory=list)
    #: Every stage event, oldest first.
    events: list[Event] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def read(repo: str | Path, history: History) -> Registry:
    """Every registered version (newest first per artifact) with what the site shows of it."""
    problems = Problems()
    try:
        found = tags.read_tags(repo)
    except GitError as exc:
        return Registry(warnings=[f"registry tags unreadable: {exc}"])
    by_artifact = tags.versions(found)
    views = [_view(v) for versions in by_artifact.values() for v in versions]
    at_commit = {(v.artifact, v.commit): v.version for v in views}
    # GTO's event order (time, counter, name: a simple-notation tag has no counter); a lightweight tag is no event
    events = [Event(t.stage, at_commit.get((t.artifact, t.commit)), t.commit, t.date, t.tagger,
                    t.action == "unassign", t.name, t.number)
              for t in sorted(found, key=lambda t: (t.artifact, t.order)) if t.stage and t.annotated]
    for view in views:
        view.events = [e for e in events if e.commit == view.commit]
    if views:
        _lineage(repo, views, history, problems)
    return Registry(views, events, problems.lines())


def _view(version: tags.Version) -> VersionView:
    return VersionView(version.artifact, version.version, version.commit, version.date, version.tagger, version.gate,
                       version.forced, version.message, list(version.stages), dict(version.metrics))


def _lineage(repo: str | Path, views: list[VersionView], history: History, problems: Problems) -> None:
    """Params, hashes, features, card and output availability of each version, in two git calls and one DVC look."""
    commits = list(dict.fromkeys(v.commit for v in views))
    names = ("params.yaml", "dvc.lock", "dvc.yaml")
    parsed = parse_each(git.read_objects(repo, [f"{c}:{n}" for c in commits for n in names]), load_yaml)
    second: dict[str, str] = {}
    context: dict[str, dict[str, Any]] = {}
    for commit in commits:
        params, lock, dvc_yaml = (parsed[f"{commit}:{n}"] for n in names)
        params = params if isinstance(params, dict) else {}
        paths = params.get("paths") if isinstance(params.get("paths"), dict) else {}
        context[commit] = {"params": params, "lock": lock if isinstance(lock, dict) else None,
                           "dvc_yaml": dvc_yaml if isinstance(dvc_yaml, dict) else {}, "paths": paths}
        for key, default in (("catalog", lineage.DEFAULT_CATALOG), ("card_html", DEFAULT_CARD)):
            second[f"{commit}:{paths.get(key, default)}"] = key
    files = git.read_objects(repo, second)
    for view in views:
        ctx = context[view.commit]
        view.params = flatten(ctx["params"])
        if not view.metrics and view.commit in history.by_sha:
            view.metrics = history.by_sha[view.commit].metrics
        if ctx["lock"] is None:
            view.notes.append(f"no dvc.lock at {view.commit[:7]}: no data or model hashes to show")
            problems.add("a version has no dvc.lock", view.version)
        hashes = snapshot.lock_hashes(ctx["lock"])
        declared = (ctx["dvc_yaml"].get("artifacts") or {}).get(view.artifact) or {}
        model_path = declared.get("path") or ctx["paths"].get("model")
        git_tracked = set()
        catalog_spec = f"{view.commit}:{ctx['paths'].get('catalog', lineage.DEFAULT_CATALOG)}"
        card_spec = f"{view.commit}:{ctx['paths'].get('card_html', DEFAULT_CARD)}"
        catalog = files.get(catalog_spec)
        if catalog is not None:
            git_tracked.add(catalog_spec.split(":", 1)[1])
            try:
                view.features = lineage.feature_hashes(json.loads(catalog[1]))
            except ValueError:
                view.notes.append(f"{catalog_spec.split(':', 1)[1]}: not valid JSON, no feature hashes")
        view.card = files[card_spec][1] if files.get(card_spec) else None
        if view.card is None:
            view.card = _card_from_dvc(repo, view, card_spec.split(":", 1)[1], ctx["lock"], problems)
        for path, entry in sorted(hashes.items()):
            if entry["kind"] == "out":
                output = Output(path, entry["md5"], "git" if path in git_tracked else "")
                view.outputs.append(output)
                if path == model_path:
                    view.model = output
    _where(repo, views, problems)


def _card_from_dvc(repo: str | Path, view: VersionView, path: str, lock: Any, problems: Problems) -> bytes | None:
    md5 = snapshot.dvc_hash(repo, view.commit, path, lock) if lock else None
    if md5 is None:
        view.notes.append(f"no model card: {path} is not tracked at {view.commit[:7]}")
        return None
    try:
        return snapshot.dvc_cached(repo, view.commit, path, md5).read_bytes()
    except SnapshotError as exc:
        view.notes.append(f"no model card: {exc}")
        problems.add("a version's model card is neither in the DVC cache nor on the remote", view.version)
        return None


def _where(repo: str | Path, views: list[VersionView], problems: Problems) -> None:
    """Mark each DVC output cache, remote or missing (cache: false outputs are in git: the lock lists them too)."""
    unknown = [o for v in views for o in v.outputs if not o.where]
    if not unknown:
        return
    tracked = git.object_sizes(repo, [f"{v.commit}:{o.path}" for v in views for o in v.outputs if not o.where])
    for view in views:
        for output in view.outputs:
            if not output.where and tracked.get(f"{view.commit}:{output.path}"):
                output.where = "git"
    hashes = list(dict.fromkeys(o.md5 for v in views for o in v.outputs if not o.where))
    try:
        places = dvc.where(repo, hashes) if hashes else {}
    except DvcError as exc:
        problems.add(f"the DVC cache could not be read: {reason(exc)}")
        places = {}
    for view in views:
        missing = []
        for output in view.outputs:
            if not output.where:
                output.where = places.get(output.md5, "unknown")
                if output.where == "missing":
                    missing.append(output.path)
        if missing:
            view.notes.append(f"{', '.join(missing)}: neither in the DVC cache nor on the DVC remote "
                              "(run `dvc push` where it was trained)")
            problems.add("a version's outputs are neither in the DVC cache nor on the DVC remote", view.version)
