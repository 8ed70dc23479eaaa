"""The model registry's read side: GTO-convention git tags, read in one git call.

Versions are annotated tags `NAME@vX.Y.Z`; stage assignments are `NAME#STAGE#N`
pointing at the version's commit (the highest N of a stage is the current one);
`NAME@vX.Y.Z!#N` deregisters a version and `NAME#STAGE!#N` unassigns a stage.
This is the convention of GTO, so DVC-ecosystem tools read the same registry. GTO
itself reads every tag object one by one and slows down with many tags; here a single
`git for-each-ref` over the managed patterns reads them all.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from gitml.errors import GitmlError

_NAME = r"[a-z0-9]([a-z0-9-/]*[a-z0-9])?"
_TAG = re.compile(
    rf"^(?P<artifact>{_NAME})(?:"
    r"@(?P<version>v\d+\.\d+\.\d+)(?P<dereg>!#(?P<dnum>\d+))?"
    r"|#(?P<stage>[a-z][a-z0-9-]*)(?P<unassign>!)?#(?P<number>\d+)"
    r")$"
)
_FIELDS = ("%(refname:strip=2)", "%(*objectname)", "%(objectname)", "%(creatordate:iso-strict)",
           "%(taggername) %(taggeremail)", "%(contents:subject)")
_SEP = "\x1f"


class RegistryError(GitmlError):
    """A registry read or write failed: names the artifact, version or stage."""


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


@dataclass
class Version:
    """A registered version and the stages currently assigned to it."""

    artifact: str
    version: str
    commit: str
    date: str
    tagger: str
    message: str
    stages: list[str] = field(default_factory=list)


def parse(name: str) -> dict[str, str | None] | None:
    """The parts of a registry tag name, or None when the tag is not a registry tag."""
    match = _TAG.match(name)
    return match.groupdict() if match else None


def git(repo: str | Path, *args: str) -> str:
    result = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True)
    if result.returncode:
        raise RegistryError(f"git {' '.join(args)}: {result.stderr.strip() or result.returncode}")
    return result.stdout


def read_tags(repo: str | Path = ".", artifact: str | None = None) -> list[Tag]:
    """Every registry tag (of one artifact, if given), in one `git for-each-ref` call."""
    prefix = artifact or "*"
    patterns = [f"refs/tags/{prefix}@v*", f"refs/tags/{prefix}#*"]
    out = git(repo, "for-each-ref", f"--format={_SEP.join(_FIELDS)}", *patterns)
    tags = []
    for line in out.splitlines():
        name, peeled, obj, date, tagger, subject = line.split(_SEP)
        parts = parse(name)
        if parts is None or (artifact and parts["artifact"] != artifact):
            continue
        tags.append(Tag(
            name=name, artifact=parts["artifact"], commit=peeled or obj, date=date, tagger=tagger.strip(),
            message=subject, version=parts["version"], stage=parts["stage"],
            number=int(parts["number"] or parts["dnum"] or 0),
            removal=bool(parts["dereg"] or parts["unassign"]),
        ))
    return tags


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version[1:].split("."))


def versions(tags: list[Tag]) -> dict[str, list[Version]]:
    """Registered versions per artifact, newest first, each with its current stages."""
    removed = {(t.artifact, t.version) for t in tags if t.version and t.removal}
    found: dict[str, dict[str, Version]] = {}
    for tag in tags:
        if tag.version and not tag.removal and (tag.artifact, tag.version) not in removed:
            found.setdefault(tag.artifact, {})[tag.version] = Version(
                tag.artifact, tag.version, tag.commit, tag.date, tag.tagger, tag.message
            )
    for (artifact, stage), latest in _current_assignments(tags).items():
        for version in found.get(artifact, {}).values():
            if version.commit == latest.commit and not latest.removal:
                version.stages.append(stage)
                break
    return {
        artifact: sorted(by_version.values(), key=lambda v: _version_key(v.version), reverse=True)
        for artifact, by_version in sorted(found.items())
    }


def _current_assignments(tags: list[Tag]) -> dict[tuple[str, str], Tag]:
    """The latest assignment (or unassignment) tag per (artifact, stage)."""
    latest: dict[tuple[str, str], Tag] = {}
    for tag in tags:
        if tag.stage:
            key = (tag.artifact, tag.stage)
            if key not in latest or tag.number > latest[key].number:
                latest[key] = tag
    return latest


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
