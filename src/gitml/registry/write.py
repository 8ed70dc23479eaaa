"""The model registry's write side: `register` a version and `promote` it to a stage.

Both only create annotated git tags (GTO's convention, see gitml.registry.tags), after every
check has passed, so a refused command leaves no tag created or moved. The gate
verdict and headline metrics of the commit go into the version tag's message as
`gitml-*` trailers: `gitml models` reads them in its single git call.

The registry sits below the gate (the gate reads the registry for its baseline), so it
never imports it: the gate comes in as a function. `register` takes one that runs the
gate on HEAD, called when HEAD has no gate report, so every version records a real
verdict. `promote` to a gated stage (`registry.gated_stages`, default prod) takes one
that compares two commits from their own outputs: the version against the stage's
current holder. A tag message is a record for people, never evidence: a forged or
hand-edited `gitml-gate: pass` promotes nothing. `--force --reason` overrides, with the
reason on record.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from gitml.config import Params
from gitml.core.errors import GitError, RegistryError
from gitml.core.text import quoted
from gitml.registry import tags
from gitml.registry.tags import BASELINE, FORCED, GATE, METRICS, MODEL_HASH, TRAINED_AT
from gitml.vcs import git, snapshot

log = logging.getLogger(__name__)

Bump = Literal["major", "minor", "patch"]


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
    """The next semantic version after `latest` (v0.0.0 when there is none)."""
    major, minor, patch = tags.version_key(latest or "v0.0.0")
    if part == "major":
        return f"v{major + 1}.0.0"
    if part == "minor":
        return f"v{major}.{minor + 1}.0"
    return f"v{major}.{minor}.{patch + 1}"


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


def headline_metrics(metrics: Any, wanted: list[str]) -> dict[str, float]:
    """Top-level numeric metrics (only the `wanted` ones, if any are named)."""
    if not isinstance(metrics, dict):
        return {}
    numbers = {k: v for k, v in metrics.items()
               if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)}
    return {k: numbers[k] for k in wanted if k in numbers} if wanted else numbers


def declared_artifact(repo: Path, commit: str, artifact: str) -> str:
    """The artifact's path as `dvc.yaml`'s `artifacts:` section declares it at `commit`."""
    dvc_yaml = snapshot.read_yaml(repo, commit, "dvc.yaml") or {}
    declared = (dvc_yaml.get("artifacts") or {}).get(artifact)
    if not isinstance(declared, dict) or not declared.get("path"):
        names = ", ".join(sorted(dvc_yaml.get("artifacts") or {})) or "none"
        raise RegistryError(f"unknown model {artifact!r}: dvc.yaml does not declare it under artifacts: "
                            f"(declared: {names})")
    return str(declared["path"])


def trained_at(repo: Path, commit: str, model_md5: str) -> str:
    """When the model of hash `model_md5` was trained: the date of the oldest commit (of `commit`'s history)
    whose dvc.lock records it, so registering a later commit with the same model keeps its age."""
    dates = git.run(repo, "log", "--reverse", "--format=%cI", f"-S{model_md5}", commit, "--", "dvc.lock").split()
    return dates[0] if dates else git.run(repo, "log", "-1", "--format=%cI", commit).strip()


def _message(subject: str, fields: dict[str, str | None]) -> str:
    lines = [f"{key}: {value}" for key, value in fields.items() if value is not None]
    return subject + ("\n\n" + "\n".join(lines) if lines else "") + "\n"


def _create(repo: Path, tag: str, commit: str, message: str, push: str | None) -> str | None:
    """Create the annotated tag; push it if asked (deleting it again if the push fails)."""
    git.run(repo, "tag", "--annotate", "--file=-", tag, commit, stdin=message)
    if push is None:
        return None
    try:
        git.run(repo, "push", "--quiet", "--end-of-options", push, f"refs/tags/{tag}")
    except GitError as exc:
        git.run(repo, "tag", "--delete", tag)
        raise RegistryError(f"{tag}: push to {push!r} failed, tag not created: {exc}") from exc
    return push


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
    a failed version is never promoted without --force).
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
    found = tags.read_tags(repo, artifact)
    existing = {t.version for t in found if t.version}  # deregistered versions too: never reuse a number
    for active in tags.versions(found).get(artifact, []):
        if active.commit == commit:
            raise RegistryError(f"{artifact}: commit {commit[:12]} is registered already as {active.tag}")
    if version is None:
        version = bump(max(existing, key=tags.version_key, default=None), part)
    elif not tags.VERSION_RE.match(version):
        raise RegistryError(f"--version {quoted(version)}: expected vMAJOR.MINOR.PATCH, e.g. v1.2.0")
    if version in existing:
        raise RegistryError(f"{artifact}@{version}: the tag exists already")
    verdict, source = _head_verdict(repo, params, commit, gate)
    if (verdict == "error" or (verdict == "fail" and not allow_failed)) and not forced:
        hint = ", --allow-failed to record it as failed" if verdict == "fail" else ""
        raise RegistryError(f"{artifact}: the gate's verdict for HEAD is {verdict!r} ({source}); "
                            f"fix the model{hint}, or use --force --reason")
    if verdict == "none" and cfg.require_gate and not forced:
        raise RegistryError(f"{artifact}: no gate report for HEAD in {params.paths.gate_report} "
                            "(registry.require_gate is on)")
    metrics = snapshot.read_any(repo, commit, params.paths.metrics, lock)
    headline = headline_metrics(json.loads(metrics) if metrics else None, cfg.headline_metrics)
    tag = f"{artifact}@{version}"
    message = _message(f"Registering artifact {artifact} version {version}", {
        GATE: verdict, MODEL_HASH: model_md5, TRAINED_AT: trained_at(repo, commit, model_md5),
        METRICS: json.dumps(headline, separators=(",", ":")) if headline else None, FORCED: forced,
    })
    pushed = _create(repo, tag, commit, message, push)
    log.info("registered %s at %s", tag, commit[:12])
    return Created(tag, artifact, version, commit, pushed)


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
    source = version if version in stages else None
    found = tags.find(artifact, repo, version=None if source else version, stage=source, tags=read)
    if stage in found.stages:
        raise RegistryError(f"{artifact} {found.version} is in {quoted(stage)} already")
    judged, holder = None, None
    if not forced and stage in params.registry.gated_stages:
        judged, holder = _recompute(artifact, found, stage, read, compare)
    elif not forced:
        _check_recorded(found, params.registry.require_gate)
    tag = f"{artifact}#{stage}#{tags.next_number(read, artifact)}"
    message = _message(f"Assigning stage {stage} to artifact {artifact} version {found.version}", {
        GATE: judged.verdict if judged else None,
        BASELINE: (holder.version if holder else "none") if judged else None, FORCED: forced,
    })
    pushed = _create(repo, tag, found.commit, message, push)
    log.info("assigned %s to %s %s", stage, artifact, found.version)
    return Created(tag, artifact, found.version, found.commit, pushed, judged)
