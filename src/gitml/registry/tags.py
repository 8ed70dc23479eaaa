"""The model registry's read side: GTO-convention git tags, read in one git call.

Versions are annotated tags `NAME@vX.Y.Z`; stage assignments are `NAME#STAGE#N`
pointing at the version's commit, N counting the artifact's events; `NAME@vX.Y.Z!#N`
deregisters a version and `NAME#STAGE!#N` unassigns a stage. This is the convention of
GTO, so DVC-ecosystem tools read the same registry. GTO itself reads every tag object
one by one and slows down with many tags; here a single `git for-each-ref` over the
managed patterns reads them all, message bodies included, because gitml records what
`gitml models` shows (gate verdict, headline metrics) as trailers in the tag message.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from gitml.core.errors import RegistryError
from gitml.core.names import NAME_PATTERN
from gitml.core.text import quoted
from gitml.vcs import git

VERSION_PATTERN = r"v\d+\.\d+\.\d+"
_TAG = re.compile(
    rf"^(?P<artifact>{NAME_PATTERN})(?:"
    rf"@(?P<version>{VERSION_PATTERN})(?P<dereg>!#(?P<dnum>\d+))?"
    rf"|#(?P<stage>{NAME_PATTERN})(?P<unassign>!)?#(?P<number>\d+)"
    r")$"
)
VERSION_RE = re.compile(rf"^{VERSION_PATTERN}$")
_FIELDS = ("%(refname:strip=2)", "%(objecttype)", "%(*objectname)", "%(creatordate:iso-strict)",
           "%(taggername) %(taggeremail)", "%(contents:subject)", "%(contents:body)")
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
    commit: str
    date: str
    tagger: str
    message: str
    version: str | None = None
    stage: str | None = None
    number: int = 0
    removal: bool = False
    trailers: dict[str, str] = field(default_factory=dict)


@dataclass
class Version:
    """A registered version, the stages currently assigned to it, and what its tag records."""

    artifact: str
    version: str
    commit: str
    date: str
    tagger: str
    message: str
    tag: str = ""
    stages: list[str] = field(default_factory=list)
    trailers: dict[str, str] = field(default_factory=dict)

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

    @cached_property
    def metrics(self) -> dict[str, Any]:
        try:
            value = json.loads(self.trailers.get(METRICS, "{}"))
        except json.JSONDecodeError:
            return {}
        return value if isinstance(value, dict) else {}


def parse(name: str) -> dict[str, str | None] | None:
    """The parts of a registry tag name, or None when the tag is not a registry tag."""
    match = _TAG.match(name)
    return match.groupdict() if match else None


def trailers(body: str) -> dict[str, str]:
    """The `gitml-*: value` lines of a tag message body."""
    found = {}
    for line in body.splitlines():
        match = _TRAILER.match(line.strip())
        if match:
            found[match[1]] = match[2].strip()
    return found


def read_tags(repo: str | Path = ".", artifact: str | None = None) -> list[Tag]:
    """Every annotated registry tag (of one artifact, if given), in one `git for-each-ref` call."""
    # `**/` also reaches names with a slash (GTO allows `dir/name`).
    prefix = artifact or "**/*"
    patterns = [f"refs/tags/{prefix}@v*", f"refs/tags/{prefix}#*"]
    out = git.run(repo, "for-each-ref", f"--format={_SEP.join(_FIELDS)}{_END}", *patterns)
    tags = []
    for record in out.split(f"{_END}\n"):
        if not record:
            continue
        name, kind, peeled, date, tagger, subject, body = record.split(_SEP)
        parts = parse(name)
        # GTO ignores lightweight tags; so does gitml.
        if parts is None or kind != "tag" or (artifact and parts["artifact"] != artifact):
            continue
        tags.append(Tag(
            name=name, artifact=parts["artifact"], commit=peeled, date=date, tagger=tagger.strip(),
            message=subject, version=parts["version"], stage=parts["stage"],
            number=int(parts["number"] or parts["dnum"] or 0),
            removal=bool(parts["dereg"] or parts["unassign"]), trailers=trailers(body),
        ))
    return tags


def version_key(version: str) -> tuple[int, ...]:
    """A sort key that orders `vX.Y.Z` numerically."""
    return tuple(int(part) for part in version[1:].split("."))


def versions(tags: list[Tag]) -> dict[str, list[Version]]:
    """Registered versions per artifact, newest first, each with its current stages."""
    removed = {(t.artifact, t.version) for t in tags if t.version and t.removal}
    found: dict[str, dict[str, Version]] = {}
    for tag in tags:
        if tag.version and not tag.removal and (tag.artifact, tag.version) not in removed:
            found.setdefault(tag.artifact, {})[tag.version] = Version(
                tag.artifact, tag.version, tag.commit, tag.date, tag.tagger, tag.message, tag.name,
                trailers=tag.trailers,
            )
    for (artifact, stage), commit in current_stages(tags).items():
        for version in found.get(artifact, {}).values():
            if version.commit == commit:
                version.stages.append(stage)
                break
    return {
        artifact: sorted(by_version.values(), key=lambda v: version_key(v.version), reverse=True)
        for artifact, by_version in sorted(found.items())
    }


def current_stages(tags: list[Tag]) -> dict[tuple[str, str], str]:
    """The commit each (artifact, stage) points at now.

    As in GTO: an assignment stays active until that commit is unassigned from the
    stage, and the most recent active assignment holds the stage (event order is the
    tag's counter N, which every assignment and unassignment of an artifact increments).
    """
    last: dict[tuple[str, str, str], Tag] = {}
    for tag in tags:
        if tag.stage:
            key = (tag.artifact, tag.stage, tag.commit)
            if key not in last or tag.number > last[key].number:
                last[key] = tag
    holder: dict[tuple[str, str], Tag] = {}
    for (artifact, stage, _), tag in last.items():
        if not tag.removal and ((artifact, stage) not in holder or tag.number > holder[(artifact, stage)].number):
            holder[(artifact, stage)] = tag
    return {key: tag.commit for key, tag in holder.items()}


def next_number(tags: list[Tag], artifact: str) -> int:
    """The counter N for the artifact's next event tag (GTO: one more than any so far)."""
    return 1 + max((t.number for t in tags if t.artifact == artifact), default=0)


def find(artifact: str, repo: str | Path = ".", *, version: str | None = None,
         stage: str | None = None, tags: list[Tag] | None = None) -> Version:
    """One version of `artifact`: by `version` (vX.Y.Z or `latest`), by `stage`, or the latest."""
    found = versions(tags if tags is not None else read_tags(repo, artifact)).get(artifact)
    if not found:
        raise RegistryError(f"unknown model {quoted(artifact)}: it has no registered versions (run `gitml register`)")
    if stage is not None:
        for candidate in found:
            if stage in candidate.stages:
                return candidate
        raise RegistryError(f"{artifact}: no version is in stage {quoted(stage)}")
    if version in (None, "latest"):
        return found[0]
    for candidate in found:
        if candidate.version == version:
            return candidate
    known = ", ".join(v.version for v in found[:5]) + (", ..." if len(found) > 5 else "")
    raise RegistryError(f"{artifact}: unknown version {quoted(version)} (registered: {known})")


def in_stage(artifact: str, stage: str, repo: str | Path = ".") -> Version | None:
    """The version currently assigned to `stage`, or None."""
    for version in versions(read_tags(repo, artifact)).get(artifact, []):
        if stage in version.stages:
            return version
    return None


def stage_commit(artifact: str, stage: str, repo: str | Path = ".") -> str | None:
    """The commit of the version in `stage` (e.g. the gate's baseline: prod), or None."""
    version = in_stage(artifact, stage, repo)
    return version.commit if version else None
