"""The model registry's read side: GTO's whole tag grammar, read in one git call.

Every registry event is an annotated git tag, in GTO's grammar (gto 1.10):

| tag | event |
|---|---|
| `NAME@vX.Y.Z` | register a version (semver: `v1.0.0-rc.1`, `v1.0.0+build.7` too) |
| `NAME@vX.Y.Z!` | deregister it |
| `NAME@deprecated` | deprecate the artifact |
| `NAME#STAGE` | assign a stage to the version at the tag's commit |
| `NAME#STAGE!` | unassign it |

Each may end in `#N`, a counter one above any counter of the artifact so far, which keeps
names unique when an event repeats (GTO writes stage assignments with it; "simple
notation", `gto assign --simple true`, omits it). A monorepo artifact `dir:name` is written
`dir=name` in tags. The state is GTO's: events are ordered by the tag's time (the tagger
date; ties, which GTO leaves to its tag listing, by counter then name); a version is
active when its latest registration event is a registration; a stage is held by the active
version whose latest assignment to it is the most recent among those still assigned;
"latest" is the highest active version by semver precedence, pre-releases included; an
artifact is deprecated while its most recent event is a deprecation. Lightweight tags are
no events for GTO, nor here: they are returned marked so callers can name them.

GTO reads every tag object one by one and slows down with many tags; here a single
`git for-each-ref` over the registry's patterns reads them all, message bodies included.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import semver

from gitml.core.errors import RegistryError
from gitml.core.names import FULLNAME_IN_TAG_PATTERN, NAME_PATTERN, VERSION_PATTERN, from_tag, in_tag
from gitml.core.text import quoted
from gitml.vcs import git

Action = Literal["register", "deregister", "deprecate", "assign", "unassign"]
_TAG = re.compile(
    rf"^(?P<artifact>{FULLNAME_IN_TAG_PATTERN})(?:"
    rf"@(?:(?P<version>{VERSION_PATTERN})(?P<dereg>!)?|(?P<deprecated>deprecated))"
    rf"|#(?P<stage>{NAME_PATTERN})(?P<unassign>!)?"
    r")(?:#(?P<number>\d+))?$"
)
VERSION_RE = re.compile(rf"^{VERSION_PATTERN}$")
_FIELDS = ("%(refname:strip=2)", "%(objecttype)", "%(objectname)", "%(*objectname)", "%(creatordate:unix)",
           "%(creatordate:iso-strict)", "%(taggername) %(taggeremail)", "%(contents:subject)", "%(contents:body)")
_SEP, _END = "\x1f", "\x1e"
#: Trailer keys gitml writes into version and assignment tag messages.
GATE, METRICS, FORCED, MODEL_HASH = "gitml-gate", "gitml-metrics", "gitml-forced", "gitml-model-md5"
#: ... and, on an assignment to a gated stage, the version the gate compared it with.
BASELINE = "gitml-baseline"
#: When the version's model was trained: the commit that first recorded its hash in dvc.lock.
TRAINED_AT = "gitml-trained-at"
_TRAILER = re.compile(r"^(gitml-[a-z0-9-]+): ?(.*)$")


@dataclass(frozen=True)
class Tag:
    """One registry tag, parsed; `commit` is the commit it points at (peeled)."""

    name: str
    artifact: str
    action: Action
    commit: str
    time: int
    date: str
    tagger: str = ""
    message: str = ""
    version: str | None = None
    stage: str | None = None
    number: int = 0
    annotated: bool = True
    trailers: dict[str, str] = field(default_factory=dict)

    @property
    def order(self) -> tuple[int, int, str]:
        return self.time, self.number, self.name


@dataclass
class Version:
    """An active version, the stages it holds, and what its registration tag records."""

    artifact: str
    version: str
    commit: str
    date: str
    tagger: str
    message: str
    tag: str = ""
    stages: list[str] = field(default_factory=list)
    trailers: dict[str, str] = field(default_factory=dict)
    #: The commit's headline metrics (`load_metrics`); until then, those recorded in the tag.
    metrics: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.metrics:
            try:
                recorded = json.loads(self.trailers.get(METRICS, "{}"))
            except json.JSONDecodeError:
                recorded = {}
            self.metrics = recorded if isinstance(recorded, dict) else {}

    @property
    def gate(self) -> str:
        """The gate verdict recorded at registration: pass, fail, error, or none (no report)."""
        return self.trailers.get(GATE, "none")

    @property
    def forced(self) -> str | None:
        return self.trailers.get(FORCED)

    @property
    def trained_at(self) -> str:
        """When the model was trained (ISO 8601); a version registered before gitml recorded it: its tag's date."""
        return self.trailers.get(TRAINED_AT) or self.date


@dataclass
class Artifact:
    """One artifact's state: its active versions (the first is `latest`) and what numbering must avoid."""

    name: str
    versions: list[Version]
    active: bool
    #: Every version name ever registered, deregistered ones included (never registered again elsewhere).
    known: dict[str, str]
    #: (version, stage) pairs assigned and not unassigned since: the holder and the ones a stage falls back to.
    assigned: set[tuple[str, str]] = field(default_factory=set)
    #: The tag that deprecated the artifact, while it is deprecated.
    deprecated_by: str | None = None
    #: The commit of the artifact's most recent event (where GTO points a deprecation).
    last_commit: str = ""

    def at_commit(self, commit: str) -> str | None:
        """The version name registered at `commit` (active or not), if any."""
        return next((name for name, at in self.known.items() if at == commit), None)


def parse(name: str) -> dict[str, str | None] | None:
    """The parts of a registry tag name (artifact, action, version, stage, number), or None."""
    match = _TAG.match(name)
    if not match:
        return None
    parts = match.groupdict()
    if parts["version"]:
        action = "deregister" if parts["dereg"] else "register"
    elif parts["deprecated"]:
        action = "deprecate"
    else:
        action = "unassign" if parts["unassign"] else "assign"
    return {"artifact": from_tag(parts["artifact"]), "action": action, "version": parts["version"],
            "stage": parts["stage"], "number": parts["number"]}


def trailers(body: str) -> dict[str, str]:
    """The `gitml-*: value` lines of a tag message body."""
    found = {}
    for line in body.splitlines():
        match = _TRAILER.match(line.strip())
        if match:
            found[match[1]] = match[2].strip()
    return found


def read_tags(repo: str | Path = ".", artifact: str | None = None) -> list[Tag]:
    """Every registry tag (of one artifact, if given), lightweight ones marked, in one `git for-each-ref` call."""
    # `**/` also reaches names with a slash (GTO allows `dir/name`).
    prefix = in_tag(artifact) if artifact else "**/*"
    patterns = [f"refs/tags/{prefix}@*", f"refs/tags/{prefix}#*"]
    out = git.run(repo, "for-each-ref", f"--format={_SEP.join(_FIELDS)}{_END}", *patterns)
    found = []
    for record in out.split(f"{_END}\n"):
        if not record:
            continue
        name, kind, target, peeled, time, date, tagger, subject, body = record.split(_SEP)
        parts = parse(name)
        if parts is None or (artifact and parts["artifact"] != artifact):
            continue
        annotated = kind == "tag"
        found.append(Tag(
            name=name, artifact=parts["artifact"], action=parts["action"], commit=peeled if annotated else target,
            time=int(time or 0), date=date, tagger=tagger.strip(), message=subject, version=parts["version"],
            stage=parts["stage"], number=int(parts["number"] or 0), annotated=annotated,
            trailers=trailers(body) if annotated else {},
        ))
    return found


def version_key(version: str) -> semver.Version:
    """Semantic-version precedence of `vX.Y.Z[-pre][+build]` (build metadata does not count, as in GTO)."""
    return semver.Version.parse(version[1:])


def state(tags: list[Tag]) -> dict[str, Artifact]:
    """Every artifact's state as GTO computes it from these tags (lightweight ones are not events)."""
    events: dict[str, list[Tag]] = {}
    for tag in sorted(tags, key=lambda t: t.order):
        if tag.annotated:
            events.setdefault(tag.artifact, []).append(tag)
    return {name: _artifact(name, found) for name, found in sorted(events.items())}


def _artifact(name: str, events: list[Tag]) -> Artifact:
    known: dict[str, str] = {}
    first: dict[str, int] = {}
    registered: dict[str, Tag] = {}
    last_direct: dict[str, Tag] = {}
    for i, tag in enumerate(events):
        if tag.action in ("register", "deregister") and tag.version:
            known.setdefault(tag.version, tag.commit)
            first.setdefault(tag.version, i)
            last_direct[tag.version] = tag
            if tag.action == "register":
                registered[tag.version] = tag
    active = {v: registered[v] for v, tag in last_direct.items() if tag.action == "register"}
    # An assignment names a commit; it belongs to the version registered there (the active one first).
    by_commit: dict[str, str] = {}
    for version, commit in known.items():
        if version in active or commit not in by_commit:
            by_commit[commit] = version
    last_stage: dict[tuple[str, str], Tag] = {}
    for tag in events:
        if tag.stage and tag.commit in by_commit:
            last_stage[(by_commit[tag.commit], tag.stage)] = tag
    assigned = {key for key, tag in last_stage.items() if tag.action == "assign" and key[0] in active}
    holders: dict[str, tuple[tuple[int, int, str], str]] = {}
    for version, stage in assigned:
        order = last_stage[(version, stage)].order
        if stage not in holders or order > holders[stage][0]:
            holders[stage] = (order, version)
    versions = {
        v: Version(name, v, tag.commit, tag.date, tag.tagger, tag.message, tag.name, trailers=tag.trailers)
        for v, tag in active.items()
    }
    for stage, (_, version) in sorted(holders.items()):
        versions[version].stages.append(stage)
    ordered = sorted(versions.values(), key=lambda v: (version_key(v.version), first[v.version]), reverse=True)
    deprecated = events[-1] if events[-1].action == "deprecate" else None
    return Artifact(name, ordered, deprecated is None, known, assigned, deprecated.name if deprecated else None,
                    events[-1].commit)


def versions(tags: list[Tag], deprecated: bool = False) -> dict[str, list[Version]]:
    """Active versions per artifact, highest first, each with the stages it holds (deprecated artifacts left out)."""
    return {name: found.versions for name, found in state(tags).items() if found.active or deprecated}


def lightweight(tags: list[Tag]) -> list[str]:
    """Names in the registry's grammar that are lightweight tags: GTO and gitml read no event from them."""
    return sorted(tag.name for tag in tags if not tag.annotated)


def next_number(tags: list[Tag], artifact: str) -> int:
    """The counter N for the artifact's next event tag (GTO: one more than any counter so far)."""
    return 1 + max((t.number for t in tags if t.artifact == artifact), default=0)


def load_metrics(repo: str | Path, found: list[Version], path: str, wanted: list[str]) -> None:
    """Replace each version's metrics with the top-level numbers of `path` at its commit (one git call).

    A version whose commit has no such file (or not in git: a DVC-tracked metrics file) keeps
    what its tag recorded at registration, if anything.
    """
    blobs = git.read_objects(repo, [f"{v.commit}:{path}" for v in found])
    for version in found:
        blob = blobs[f"{version.commit}:{path}"]
        if blob is None:
            continue
        raw = blob[1]
        try:
            metrics = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError):
            continue
        version.metrics = headline(metrics, wanted)


def headline(metrics: Any, wanted: list[str]) -> dict[str, float]:
    """Top-level finite numbers of a metrics object (only the `wanted` ones, if any are named)."""
    if not isinstance(metrics, dict):
        return {}
    numbers = {k: v for k, v in metrics.items()
               if isinstance(v, int | float) and not isinstance(v, bool) and v == v and abs(v) != float("inf")}
    return {k: numbers[k] for k in wanted if k in numbers} if wanted else numbers


def find(artifact: str, repo: str | Path = ".", *, version: str | None = None,
         stage: str | None = None, tags: list[Tag] | None = None) -> Version:
    """One active version of `artifact`: by `version` (vX.Y.Z or `latest`), by `stage`, or the latest."""
    found = state(tags if tags is not None else read_tags(repo, artifact)).get(artifact)
    if found is None or not found.versions:
        raise RegistryError(f"unknown model {quoted(artifact)}: it has no registered versions (run `gitml register`)")
    if not found.active:
        raise RegistryError(f"{artifact} is deprecated ({found.deprecated_by}): register a version to revive it")
    if stage is not None:
        for candidate in found.versions:
            if stage in candidate.stages:
                return candidate
        raise RegistryError(f"{artifact}: no version is in stage {quoted(stage)}")
    if version in (None, "latest"):
        return found.versions[0]
    for candidate in found.versions:
        if candidate.version == version:
            return candidate
    if version in found.known:
        raise RegistryError(f"{artifact}: version {quoted(version)} was deregistered")
    known = ", ".join(v.version for v in found.versions[:5]) + (", ..." if len(found.versions) > 5 else "")
    raise RegistryError(f"{artifact}: unknown version {quoted(version)} (registered: {known})")


def in_stage(artifact: str, stage: str, repo: str | Path = ".") -> Version | None:
    """The version currently assigned to `stage`, or None (also when the artifact is deprecated)."""
    for version in versions(read_tags(repo, artifact)).get(artifact, []):
        if stage in version.stages:
            return version
    return None


def stage_commit(artifact: str, stage: str, repo: str | Path = ".") -> str | None:
    """The commit of the version in `stage` (e.g. the gate's baseline: prod), or None."""
    version = in_stage(artifact, stage, repo)
    return version.commit if version else None
