"""The model registry's write side: register, promote, unassign, deregister, deprecate.

Each only creates one annotated git tag in GTO's grammar (see gitml.registry.tags), after
every check has passed, so a refused command leaves no tag created or moved. A write is
atomic against other writers: git creates a ref or refuses it (a counter or version taken
meanwhile is computed again), and after creating a registration the registry is read
again; when another writer registered the same commit at the same moment, the later tag
(by time, counter, name: what both writers see alike) is deleted again, so a commit has
one version. The gate verdict and headline metrics of the commit go into the version
tag's message as `gitml-*` trailers, and `promote` refuses a version whose gate failed
unless forced, with the reason on record.

The registry sits below the gate (the gate reads the registry for its baseline), so it
never imports it: the gate comes in as a function. `register` takes one that runs the
gate on HEAD, called when HEAD has no gate report, so every version records a real
verdict. `promote` to a gated stage (`registry.gated_stages`, default prod) takes one
that compares two commits from their own outputs: the version against the stage's
current holder. A tag message is a record for people, never evidence: a forged or
hand-edited `gitml-gate: pass` promotes nothing.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from gitml.config import Params
from gitml.core.errors import GitError, RegistryError
from gitml.core.names import in_tag
from gitml.core.text import quoted
from gitml.registry import tags
from gitml.registry.tags import BASELINE, FORCED, GATE, METRICS, MODEL_HASH, TRAINED_AT
from gitml.vcs import git, snapshot

log = logging.getLogger(__name__)

Bump = Literal["major", "minor", "patch"]
#: How often a write computes its tag again when another writer took the name first.
_ATTEMPTS = 5


@dataclass(frozen=True)
class Created:
    """What a write command created: the tag, and the version it names or points at."""

    tag: str
    artifact: str
    version: str
    commit: str
    pushed: str | None = None
    #: The gate's conclusion when the command ran it (register without a report, promote to a gated stage).
    judged: Judged | None = None


@dataclass(frozen=True)
class Judged:
    """What the gate concluded about a candidate commit."""

    verdict: Literal["pass", "fail", "error"]
    #: The gate's one-line summary, or why it could not evaluate.
    detail: str
    #: The metrics that failed.
    failed: list[str] = field(default_factory=list)


#: Runs the gate on HEAD (the workspace) and writes its report: `register` calls it when there is none.
RunGate = Callable[[], Judged]
#: The gate's comparison of a candidate commit with a baseline commit (None: the policy's floors alone).
Compare = Callable[[str, str | None], Judged]


def bump(latest: str | None, part: Bump) -> str:
    """The next semantic version after `latest` (v0.0.1 when there is none), as GTO bumps it."""
    if latest is None:
        return "v0.0.1"
    current = tags.version_key(latest)
    bumped = {"major": current.bump_major, "minor": current.bump_minor, "patch": current.bump_patch}[part]()
    return f"v{bumped}"


def _check_force(force: bool, reason: str | None) -> str | None:
    if force and not (reason and reason.strip()):
        raise RegistryError("--force needs --reason: the reason is recorded in the tag message")
    if reason and not force:
        raise RegistryError("--reason is only used with --force")
    return " ".join(reason.split()) if force and reason else None


def _check_push(repo: Path, push: str | None) -> None:
    """`--push` must name a remote configured here: never an option or a URL git would act on."""
    if push is not None:
        try:
            git.checked_remote(repo, push)
        except GitError as exc:
            raise RegistryError(f"--push {exc}") from exc


def _check_clean(repo: Path) -> None:
    changed = git.changed_files(repo)
    if changed:
        shown = ", ".join(changed[:3])
        raise RegistryError(
            f"the working tree has uncommitted changes ({shown}{', ...' if len(changed) > 3 else ''}): "
            "commit them first, so the version is exactly a commit"
        )


def gate_verdict(repo: Path, gate_report: str, commit: str) -> tuple[str, str | None]:
    """The gate verdict for `commit` from the gate report in the workspace, or ("none", None)."""
    path = repo / gate_report
    if not path.is_file():
        return "none", None
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
        verdict, candidate = report["verdict"], report["candidate"]["commit"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise RegistryError(f"{gate_report}: not a gate report (needs verdict and candidate.commit): {exc}") from exc
    if candidate != commit:
        log.info("%s is about commit %s, not %s: no gate verdict for this commit", gate_report, candidate, commit)
        return "none", None
    if verdict not in {"pass", "fail", "error"}:
        raise RegistryError(f"{gate_report}: verdict {quoted(verdict)} is not pass, fail or error")
    return verdict, str(path)


def declared_artifact(repo: Path, commit: str, artifact: str) -> str:
    """The artifact's path as `dvc.yaml`'s `artifacts:` section declares it at `commit`.

    A monorepo name `dir:name` (GTO's) is the artifact `name` of `dir/dvc.yaml`, its path relative to `dir`.
    """
    folder, _, name = artifact.rpartition(":")
    dvc_file = f"{folder}/dvc.yaml" if folder else "dvc.yaml"
    dvc_yaml = snapshot.read_yaml(repo, commit, dvc_file) or {}
    declared = (dvc_yaml.get("artifacts") or {}).get(name)
    if not isinstance(declared, dict) or not declared.get("path"):
        names = ", ".join(sorted(dvc_yaml.get("artifacts") or {})) or "none"
        raise RegistryError(f"unknown model {quoted(artifact)}: {dvc_file} does not declare it under artifacts: "
                            f"(declared: {names})")
    return f"{folder}/{declared['path']}" if folder else str(declared["path"])


def trained_at(repo: Path, commit: str, model_md5: str) -> str:
    """When the model of hash `model_md5` was trained: the date of the oldest commit (of `commit`'s history)
    whose dvc.lock records it, so registering a later commit with the same model keeps its age."""
    dates = git.run(repo, "log", "--reverse", "--format=%cI", f"-S{model_md5}", commit, "--", "dvc.lock").split()
    return dates[0] if dates else git.run(repo, "log", "-1", "--format=%cI", commit).strip()


def _message(subject: str, fields: dict[str, str | None]) -> str:
    lines = [f"{key}: {value}" for key, value in fields.items() if value is not None]
    return subject + ("\n\n" + "\n".join(lines) if lines else "") + "\n"


@dataclass(frozen=True)
class _Plan:
    """The one tag a write will create."""

    name: str
    artifact: str
    version: str
    commit: str
    message: str


class _Taken(Exception):
    """The tag name was created by another writer between reading the registry and writing."""


def _tag(repo: Path, name: str, commit: str, message: str) -> str:
    """Create one annotated tag; return its object id. git creates a ref atomically, or refuses."""
    try:
        git.run(repo, "tag", "--annotate", "--file=-", name, commit, stdin=message)
    except GitError as exc:
        if "already exists" in str(exc):
            raise _Taken(name) from exc
        raise
    return git.run(repo, "rev-parse", f"refs/tags/{name}").strip()


def _delete(repo: Path, name: str, oid: str) -> None:
    """Delete our own tag again (only if it is still ours)."""
    git.run(repo, "update-ref", "-d", f"refs/tags/{name}", oid)


def _write(repo: Path, plan: Callable[[list[tags.Tag]], _Plan], push: str | None,
           settle: Callable[[list[tags.Tag], str], str | None] | None = None) -> Created:
    """Read the registry, plan one tag, create it; plan again if its name was taken meanwhile.

    `settle(tags, name)` reads the registry after the tag exists and returns why it must be
    rolled back (another writer won a race), or None. The tag is pushed last, and deleted
    again when the push fails.
    """
    for _ in range(_ATTEMPTS):
        planned = plan(tags.read_tags(repo))
        try:
            oid = _tag(repo, planned.name, planned.commit, planned.message)
        except _Taken:
            log.info("%s was created by another writer meanwhile: reading the registry again", planned.name)
            continue
        break
    else:
        raise RegistryError(f"{planned.name}: other writers kept taking the tag name; try again")
    name = planned.name
    conflict = settle(tags.read_tags(repo), name) if settle else None
    if conflict:
        _delete(repo, name, oid)
        raise RegistryError(f"{conflict}; {name} rolled back")
    if push is not None:
        try:
            git.run(repo, "push", "--quiet", "--end-of-options", push, f"refs/tags/{name}")
        except GitError as exc:
            _delete(repo, name, oid)
            raise RegistryError(f"{name}: push to {quoted(push)} failed, tag not created: {exc}") from exc
    log.info("created %s (%s %s at %s)", name, planned.artifact, planned.version or "", planned.commit[:12])
    return Created(name, planned.artifact, planned.version, planned.commit, push)


def _artifact(found: list[tags.Tag], artifact: str) -> tags.Artifact | None:
    return tags.state(found).get(artifact)


def _next_version(state: tags.Artifact | None, part: Bump, taken: set[str], artifact: str) -> str:
    """A bump of the highest version ever registered, skipping names held by lightweight tags."""
    latest = max(state.known, key=tags.version_key) if state and state.known else None
    version = bump(latest, part)
    while f"{in_tag(artifact)}@{version}" in taken:
        log.warning("%s@%s is a lightweight tag (no registration for GTO or gitml): skipping that number",
                    artifact, version)
        version = bump(version, "patch")
    return version


def _check_version(version: str, state: tags.Artifact | None, artifact: str, taken: set[str],
                   forced: str | None) -> None:
    if not tags.VERSION_RE.match(version):
        raise RegistryError(f"--version {quoted(version)}: expected vMAJOR.MINOR.PATCH (semver), "
                            "e.g. v1.2.0 or v2.0.0-rc.1")
    name = f"{in_tag(artifact)}@{version}"
    if state and version in state.known:
        raise RegistryError(f"{name}: the tag exists already")
    if name in taken:
        raise RegistryError(f"{name} exists as a lightweight tag, which GTO and gitml do not read as a registration: "
                            f"delete it (git tag -d '{name}', and on the remote) or choose another --version")
    if state and state.known and not forced:
        latest = max(state.known, key=tags.version_key)
        if tags.version_key(version).major > tags.version_key(latest).major + 1:
            raise RegistryError(f"--version {version} jumps more than one major version above {latest}: "
                                "use --force --reason if that is intended")


def _head_verdict(repo: Path, params: Params, commit: str, gate: RunGate | None) -> tuple[str, str]:
    """HEAD's gate verdict and where it comes from: its report, else the gate run now (when given)."""
    verdict, report = gate_verdict(repo, params.paths.gate_report, commit)
    if verdict != "none" or gate is None:
        return verdict, str(report)
    log.warning("no gate report for HEAD in %s: running the gate", params.paths.gate_report)
    judged = gate()
    return judged.verdict, judged.detail


def register(params: Params, repo: str | Path = ".", *, artifact: str | None = None, part: Bump = "patch",
             version: str | None = None, force: bool = False, reason: str | None = None,
             push: str | None = None, allow_failed: bool = False, gate: RunGate | None = None) -> Created:
    """Register HEAD as the next version of `artifact` (default: registry.artifact).

    The version records HEAD's gate verdict: its report, else what `gate` says now. A verdict
    `error` is refused, and `fail` too unless `allow_failed` (CI records every merged commit;
    a failed version is never promoted without --force). A commit whose version was
    deregistered gets that version back (as GTO does), under a tag with a counter
    (`NAME@vX.Y.Z#N`), so a commit keeps one version number.
    """
    repo = Path(repo)
    cfg = params.registry
    artifact = artifact or cfg.artifact
    forced = _check_force(force, reason)
    _check_push(repo, push)
    _check_clean(repo)
    commit = git.head(repo)
    path = declared_artifact(repo, commit, artifact)
    lock = snapshot.read_yaml(repo, commit, "dvc.lock")
    model_md5 = snapshot.dvc_hash(repo, commit, path, lock)
    if model_md5 is None:
        raise RegistryError(f"{artifact}: HEAD's dvc.lock records no output {path} (run `dvc repro` and commit)")
    verdict, source = _head_verdict(repo, params, commit, gate)
    if (verdict == "error" or (verdict == "fail" and not allow_failed)) and not forced:
        hint = ", --allow-failed to record it as failed" if verdict == "fail" else ""
        raise RegistryError(f"{artifact}: the gate's verdict for HEAD is {verdict!r} ({source}); "
                            f"fix the model{hint}, or use --force --reason")
    if verdict == "none" and cfg.require_gate and not forced:
        raise RegistryError(f"{artifact}: no gate report for HEAD in {params.paths.gate_report} "
                            "(registry.require_gate is on)")
    metrics = snapshot.read_any(repo, commit, params.paths.metrics, lock)
    headline = tags.headline(json.loads(metrics) if metrics else None, cfg.headline_metrics)
    wanted = version
    trained = trained_at(repo, commit, model_md5)

    def plan(found: list[tags.Tag]) -> _Plan:
        state = _artifact(found, artifact)
        taken = set(tags.lightweight(found))
        for active in state.versions if state else []:
            if active.commit == commit:
                raise RegistryError(f"{artifact}: commit {commit[:12]} is registered already as {active.tag}")
        again = state.at_commit(commit) if state else None
        if again and wanted not in (None, again):
            raise RegistryError(f"{artifact}: commit {commit[:12]} was registered as {again} (deregistered since); "
                                f"it can only be registered again as {again}")
        chosen = again or wanted
        if chosen is None:
            chosen = _next_version(state, part, taken, artifact)
        elif not again:
            _check_version(chosen, state, artifact, taken, forced)
        name = f"{in_tag(artifact)}@{chosen}" + (f"#{tags.next_number(found, artifact)}" if again else "")
        message = _message(f"Registering artifact {artifact} version {chosen}", {
            GATE: verdict, MODEL_HASH: model_md5, TRAINED_AT: trained,
            METRICS: json.dumps(headline, separators=(",", ":")) if headline else None, FORCED: forced,
        })
        return _Plan(name, artifact, chosen, commit, message)

    def settle(found: list[tags.Tag], name: str) -> str | None:
        mine = [t for t in found if t.commit == commit and t.annotated and t.action == "register"
                and t.artifact == artifact]
        state = _artifact(found, artifact)
        rivals = {t.version for t in mine} & {v.version for v in state.versions} if state else set()
        if len(rivals) <= 1:
            return None
        first = min((t for t in mine if t.version in rivals), key=lambda t: t.order)
        if first.name == name:
            return None
        return f"{artifact}: another writer registered commit {commit[:12]} as {first.name} at the same time"

    return _write(repo, plan, push, settle)


def _resolve(artifact: str, version: str, stages: list[str], found: list[tags.Tag]) -> tags.Version:
    """`vX.Y.Z`, `latest`, or a stage name (the version now in that stage)."""
    source = version if version in stages else None
    return tags.find(artifact, version=None if source else version, stage=source, tags=found)


def _recompute(artifact: str, found: tags.Version, stage: str, read: list[tags.Tag],
               compare: Compare | None) -> tuple[Judged, tags.Version | None]:
    """The gate's comparison of `found` with the stage's current holder, from both commits' outputs."""
    if compare is None:
        raise RegistryError(f"stage {stage!r} is gated (registry.gated_stages): promoting to it needs the gate's "
                            "comparison, which `gitml promote` runs")
    holder = next((v for v in tags.versions(read).get(artifact, []) if stage in v.stages), None)
    against = f"{holder.version} (now in {stage!r})" if holder else f"no baseline (nothing is in {stage!r} yet)"
    log.warning("recomputing the gate: %s %s against %s", artifact, found.version, against)
    judged = compare(found.commit, holder.commit if holder else None)
    if judged.verdict == "fail":
        raise RegistryError(f"{artifact} {found.version} may not go to {stage!r}: the gate, recomputed against "
                            f"{against} from both commits' outputs, fails on {', '.join(judged.failed)}; "
                            "promote another version, or use --force --reason")
    if judged.verdict != "pass":
        raise RegistryError(f"{artifact} {found.version} may not go to {stage!r}: the gate could not compare it "
                            f"with {against}: {judged.detail}")
    return judged, holder


def _check_recorded(found: tags.Version, require_gate: bool) -> None:
    """A stage that is not gated goes by the verdict recorded at registration."""
    if found.gate in {"fail", "error"}:
        raise RegistryError(f"{found.artifact} {found.version}: its gate verdict is {found.gate!r}; "
                            "promote another version, or use --force --reason")
    if found.gate == "none" and require_gate:
        raise RegistryError(f"{found.artifact} {found.version}: registered without a gate verdict "
                            "(registry.require_gate is on)")


def promote(params: Params, artifact: str, version: str, stage: str, repo: str | Path = ".", *,
            force: bool = False, reason: str | None = None, push: str | None = None,
            compare: Compare | None = None) -> Created:
    """Assign `stage` to a registered version: `vX.Y.Z`, `latest`, or the version now in a stage.

    A gated stage trusts no recorded verdict: `compare` recomputes the gate against the stage's
    holder. Other stages refuse a version whose recorded verdict is fail or error. Both yield to
    `force` with a `reason`.
    """
    repo = Path(repo)
    stages = params.registry.stages
    forced = _check_force(force, reason)
    _check_push(repo, push)
    if stage not in stages:
        raise RegistryError(f"--stage {quoted(stage)} is not declared in registry.stages ({', '.join(stages)})")
    read = tags.read_tags(repo, artifact)
    found = _resolve(artifact, version, stages, read)
    if stage in found.stages:
        raise RegistryError(f"{artifact} {found.version} is in {quoted(stage)} already")
    judged, holder = None, None
    if not forced and stage in params.registry.gated_stages:
        judged, holder = _recompute(artifact, found, stage, read, compare)
    elif not forced:
        _check_recorded(found, params.registry.require_gate)

    def plan(current: list[tags.Tag]) -> _Plan:
        target = _resolve(artifact, version, stages, current)
        now = next((v for v in tags.versions(current).get(artifact, []) if stage in v.stages), None)
        if target.commit != found.commit or (judged and (now.commit if now else None) !=
                                              (holder.commit if holder else None)):
            raise RegistryError(f"{artifact}: the registry changed while the gate ran; run `gitml promote` again")
        if stage in target.stages:
            raise RegistryError(f"{artifact} {target.version} is in {quoted(stage)} already")
        name = f"{in_tag(artifact)}#{stage}#{tags.next_number(current, artifact)}"
        subject = f"Assigning stage {stage} to artifact {artifact} version {target.version}"
        return _Plan(name, artifact, target.version, target.commit, _message(subject, {
            GATE: judged.verdict if judged else None,
            BASELINE: (holder.version if holder else "none") if judged else None, FORCED: forced,
        }))

    return dataclasses.replace(_write(repo, plan, push), judged=judged)


def unassign(params: Params, artifact: str, version: str, stage: str, repo: str | Path = ".", *,
             push: str | None = None) -> Created:
    """Take `stage` from a version (`NAME#STAGE!#N`); the stage falls back to the version assigned before it."""
    _check_push(Path(repo), push)
    def plan(found: list[tags.Tag]) -> _Plan:
        target = _resolve(artifact, version, params.registry.stages, found)
        if (target.version, stage) not in _artifact(found, artifact).assigned:
            raise RegistryError(f"{artifact} {target.version} is not assigned to {quoted(stage)}")
        name = f"{in_tag(artifact)}#{stage}!#{tags.next_number(found, artifact)}"
        subject = f"Unassigning stage '{stage}' to artifact '{artifact}' version '{target.version}'"
        return _Plan(name, artifact, target.version, target.commit, _message(subject, {}))

    return _write(Path(repo), plan, push)


def deregister(params: Params, artifact: str, version: str, repo: str | Path = ".", *,
               push: str | None = None) -> Created:
    """Withdraw a version (`NAME@vX.Y.Z!#N`): it holds no stage any more and is never served."""
    _check_push(Path(repo), push)
    def plan(found: list[tags.Tag]) -> _Plan:
        target = _resolve(artifact, version, params.registry.stages, found)
        name = f"{in_tag(artifact)}@{target.version}!#{tags.next_number(found, artifact)}"
        subject = f"Deregistering artifact {artifact} version {target.version}"
        return _Plan(name, artifact, target.version, target.commit, _message(subject, {}))

    return _write(Path(repo), plan, push)


def deprecate(artifact: str, repo: str | Path = ".", *, push: str | None = None) -> Created:
    """Deprecate the whole artifact (`NAME@deprecated#N`) until a new version is registered."""
    _check_push(Path(repo), push)
    def plan(found: list[tags.Tag]) -> _Plan:
        state = _artifact(found, artifact)
        if state is None:
            raise RegistryError(f"unknown model {quoted(artifact)}: it has no registry tags")
        if not state.active:
            raise RegistryError(f"{artifact} is deprecated already ({state.deprecated_by})")
        name = f"{in_tag(artifact)}@deprecated#{tags.next_number(found, artifact)}"
        return _Plan(name, artifact, "", state.last_commit, _message(f"Deprecating artifact '{artifact}'", {}))

    return _write(Path(repo), plan, push)
