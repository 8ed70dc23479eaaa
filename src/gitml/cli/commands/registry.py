"""Registry commands: register, promote, unassign, deregister, deprecate, models, lineage, get.

`gitml models` is the hot one (people and CI run it often): it imports only the tag
reader and makes one git call; the others import what they need when they run.

The registry sits below the gate, so this is where the two meet: `register` and `promote`
receive the gate's own functions (run the gate on HEAD; compare two commits) as arguments.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import Any

from gitml.core.text import flatten, number, quoted


def _print_created(created: Any, what: str) -> None:
    pushed = f", pushed to {created.pushed}" if created.pushed else ""
    judged = f"; gate: {created.judged.detail}" if created.judged else ""
    print(f"{created.tag}: {what} {created.artifact} {created.version} (commit {created.commit[:12]}){pushed}{judged}")


def _params_path(args: argparse.Namespace) -> str:
    from pathlib import Path

    return str(Path(args.params).resolve()) if args.params else "params.yaml"


def _params(args: argparse.Namespace) -> Any:
    from pathlib import Path

    from gitml import config

    return config.load(Path(args.repo) / _params_path(args))


def _judged(out: dict[str, Any]) -> Any:
    """The gate's report as the registry's `Judged`."""
    from gitml.gate import verdict
    from gitml.registry.write import Judged

    return Judged(out["verdict"], out["error"] if out["verdict"] == "error" else out["summary"], verdict.failed(out))


def _run_gate(args: argparse.Namespace) -> Any:
    """The gate on HEAD's committed outputs, as `register` calls it when HEAD has no gate report."""

    def run() -> Any:
        from gitml.core.errors import GateError
        from gitml.gate import verdict
        from gitml.registry.write import Judged

        try:
            return _judged(verdict.run(args.repo, _params_path(args), workspace=False))
        except GateError as exc:
            return Judged("error", str(exc))

    return run


def _compare(args: argparse.Namespace, params: Any) -> Any:
    """The gate's comparison of two commits, as `promote` calls it for a gated stage."""

    def compare(candidate: str, baseline: str | None) -> Any:
        from gitml.gate import verdict

        return _judged(verdict.compare(args.repo, params, candidate, baseline))

    return compare


def _register(args: argparse.Namespace) -> int:
    from gitml.registry import write

    created = write.register(
        _params(args), args.repo, artifact=args.name, part=args.bump, version=args.version,
        force=args.force, reason=args.reason, push=args.push, allow_failed=args.allow_failed, gate=_run_gate(args),
    )
    _print_created(created, "registered")
    return 0


def _promote(args: argparse.Namespace) -> int:
    from gitml.registry import write

    params = _params(args)
    created = write.promote(
        params, args.name, args.version, args.stage, args.repo,
        force=args.force, reason=args.reason, push=args.push, compare=_compare(args, params),
    )
    _print_created(created, f"assigned {args.stage} to")
    return 0


def _unassign(args: argparse.Namespace) -> int:
    from gitml.registry import write

    _print_created(write.unassign(_params(args), args.name, args.version, args.stage, args.repo, push=args.push),
                   f"unassigned {args.stage} from")
    return 0


def _deregister(args: argparse.Namespace) -> int:
    from gitml.registry import write

    _print_created(write.deregister(_params(args), args.name, args.version, args.repo, push=args.push),
                   "deregistered")
    return 0


def _deprecate(args: argparse.Namespace) -> int:
    from gitml.registry import write

    created = write.deprecate(args.name, args.repo, push=args.push)
    pushed = f", pushed to {created.pushed}" if created.pushed else ""
    print(f"{created.tag}: deprecated {created.artifact} (register a version to revive it){pushed}")
    return 0


def _metrics_source(repo: str) -> tuple[str, list[str]]:
    """paths.metrics and registry.headline_metrics of the repository's params.yaml (read as plain YAML: fast)."""
    from pathlib import Path

    import yaml

    path = Path(repo) / "params.yaml"
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        raw = {}
    raw = raw if isinstance(raw, dict) else {}
    metrics = (raw.get("paths") or {}).get("metrics") if isinstance(raw.get("paths"), dict) else None
    wanted = (raw.get("registry") or {}).get("headline_metrics") if isinstance(raw.get("registry"), dict) else None
    return str(metrics or "reports/metrics.json"), [str(m) for m in wanted or []]


def _models(args: argparse.Namespace) -> int:
    from gitml.core.errors import RegistryError
    from gitml.registry import tags

    read = tags.read_tags(args.repo, args.name)
    for name in tags.lightweight(read):
        print(f"note: {name} is a lightweight tag: GTO and gitml read no registry event from it", file=sys.stderr)
    state = tags.state(read)
    if args.name and (args.name not in state or not state[args.name].versions):
        raise RegistryError(f"unknown model {quoted(args.name)}: it has no registered versions")
    for artifact in state.values():
        if not artifact.active and not args.deprecated:
            print(f"note: {artifact.name} is deprecated ({artifact.deprecated_by}): shown with --deprecated",
                  file=sys.stderr)
    rows = [v for artifact in state.values() if artifact.active or args.deprecated for v in artifact.versions]
    tags.load_metrics(args.repo, rows, *_metrics_source(args.repo))
    now = datetime.now(UTC)
    if args.json:
        print(json.dumps([{
            "name": v.artifact, "version": v.version, "stages": v.stages, "commit": v.commit, "tag": v.tag,
            "registered_at": v.date, "registered_by": v.tagger, "trained_at": v.trained_at,
            "age_days": round(_age(v.trained_at, now) / 86400, 2), "gate": v.gate, "metrics": v.metrics,
            "deprecated": not state[v.artifact].active,
        } for v in rows], indent=2))
        return 0
    if not rows:
        print("no registered models (run `gitml register`)", file=sys.stderr)
        return 0
    metric_names = list(dict.fromkeys(name for v in rows for name in v.metrics))
    header = ["NAME", "VERSION", "STAGES", "COMMIT", "REGISTERED", "AGE", "GATE", *metric_names]
    table = [header] + [
        [v.artifact, v.version, ",".join(v.stages) or "-", v.commit[:8], v.date[:19].replace("T", " "),
         _shown_age(_age(v.trained_at, now)), v.gate, *(number(v.metrics[m]) if m in v.metrics else "-"
                                                       for m in metric_names)]
        for v in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    sys.stdout.write("".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() + "\n"
                             for row in table))
    return 0


def _age(iso: str, now: datetime) -> float:
    """Seconds since an ISO 8601 time."""
    return (now - datetime.fromisoformat(iso)).total_seconds()


def _shown_age(seconds: float) -> str:
    """An age as a person reads it: 40min, 5h, 12d."""
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{max(0, int(seconds))}s"


#: params sections `gitml lineage` prints (with --json, every section).
_LINEAGE_PARAMS = ("seed", "data.source", "data.target", "data.task", "features", "model")


def _block(label: str, items: list[str]) -> list[str]:
    return [f"{label if i == 0 else '':<12}{item}" for i, item in enumerate(items)]


def _lineage(args: argparse.Namespace) -> int:
    from gitml.registry import lineage

    found = lineage.lineage(args.ref, args.repo)
    if args.json:
        print(json.dumps(found, indent=2, default=str))
        return 0
    info, reg = found["commit_info"], found["registered"]
    lines = [
        f"{found['artifact']} {found['version']}  tag {found['tag']}  stages: {', '.join(found['stages']) or '-'}",
        f"commit      {found['commit']}  {info['subject']!r}",
        f"authored    {info['date']} by {info['author']}",
        f"registered  {reg['at']} by {reg['by']}; gate: {reg['gate']}"
        + (f" (forced: {reg['forced']})" if reg["forced"] else ""),
        f"model       {found['model']['path']}  md5 {found['model']['md5']}",
    ]
    lines += _block("outputs", [f"{path}  md5 {md5}" for path, md5 in found["outputs"].items()])
    params = [f"{key} = {value}" for key, value in flatten(found["params"] or {}).items()
              if any(key == p or key.startswith(f"{p}.") for p in _LINEAGE_PARAMS)]
    lines += _block("params", params)
    metrics = found["metrics"] if isinstance(found["metrics"], dict) else {}
    lines += _block("metrics", [f"{key} = {number(value)}" for key, value in metrics.items()])
    features = found["features"]
    lines += _block("features", ["(no feature catalog at this commit)"] if features is None
                    else [f"{name}  definition {digest}" for name, digest in features.items()])
    print("\n".join(lines))
    return 0


def _get(args: argparse.Namespace) -> int:
    from gitml.registry import artifacts

    info = artifacts.get(args.name, stage=args.stage, version=args.version, output=args.output, repo=args.repo)
    print(f"{args.output}: {info['name']} {info['version']} (commit {info['commit'][:12]})")
    return 0


def _common(sub: argparse.ArgumentParser, params: bool = False) -> None:
    sub.add_argument("--repo", default=".", help="the git repository (default: here)")
    if params:
        sub.add_argument("--params", help="where registry.* is configured (default: REPO/params.yaml)")


def _writes(sub: argparse.ArgumentParser) -> None:
    _common(sub, params=True)
    sub.add_argument("--force", action="store_true",
                     help="override the gate (a failed verdict, or a gated stage's comparison; needs --reason)")
    sub.add_argument("--reason", help="why --force is right; recorded in the tag message")
    sub.add_argument("--push", metavar="REMOTE", help="push the new tag to this git remote (e.g. origin)")


def register(commands: argparse._SubParsersAction) -> None:
    sub = commands.add_parser("register", help="register HEAD as a new model version (tag NAME@vX.Y.Z)")
    sub.add_argument("name", nargs="?", help="the artifact (default: registry.artifact)")
    how = sub.add_mutually_exclusive_group()
    how.add_argument("--bump", choices=["major", "minor", "patch"], default="patch", help="which part to increment")
    how.add_argument("--version", help="an explicit semantic version: vMAJOR.MINOR.PATCH, pre-releases such as "
                     "v2.0.0-rc.1 too (more than one major above the latest needs --force)")
    sub.add_argument("--allow-failed", action="store_true",
                     help="register even when the gate fails, recording `fail` (CI records every merged commit)")
    _writes(sub)
    sub.set_defaults(func=_register)

    sub = commands.add_parser("promote", help="assign a stage to a registered version (tag NAME#STAGE#N)")
    sub.add_argument("name", help="the artifact")
    sub.add_argument("version", help="vX.Y.Z, latest, or a stage name (the version now in that stage)")
    sub.add_argument("--stage", required=True, help="one of registry.stages")
    _writes(sub)
    sub.set_defaults(func=_promote)

    sub = commands.add_parser("unassign", help="take a stage from a version (tag NAME#STAGE!#N)")
    sub.add_argument("name", help="the artifact")
    sub.add_argument("version", help="vX.Y.Z, latest, or a stage name (the version now in that stage)")
    sub.add_argument("--stage", required=True, help="the stage to take away (it falls back to the one before)")
    _common(sub, params=True)
    sub.add_argument("--push", metavar="REMOTE", help="push the new tag to this git remote (e.g. origin)")
    sub.set_defaults(func=_unassign)

    sub = commands.add_parser("deregister", help="withdraw a version: it is never served again (tag NAME@vX.Y.Z!#N)")
    sub.add_argument("name", help="the artifact")
    sub.add_argument("version", help="vX.Y.Z, latest, or a stage name (the version now in that stage)")
    _common(sub, params=True)
    sub.add_argument("--push", metavar="REMOTE", help="push the new tag to this git remote (e.g. origin)")
    sub.set_defaults(func=_deregister)

    sub = commands.add_parser("deprecate", help="deprecate an artifact until a new version is registered "
                                                "(tag NAME@deprecated#N)")
    sub.add_argument("name", help="the artifact")
    _common(sub)
    sub.add_argument("--push", metavar="REMOTE", help="push the new tag to this git remote (e.g. origin)")
    sub.set_defaults(func=_deprecate)

    sub = commands.add_parser("models", help="registered versions: stages, model age (since training), gate, metrics")
    sub.add_argument("name", nargs="?", help="only this artifact")
    sub.add_argument("--json", action="store_true")
    sub.add_argument("--deprecated", action="store_true", help="also show deprecated artifacts")
    _common(sub)
    sub.set_defaults(func=_models)

    sub = commands.add_parser("lineage", help="commit, params, data/model hashes, metrics of a version")
    sub.add_argument("ref", help="NAME, NAME@vX.Y.Z or NAME#STAGE")
    sub.add_argument("--json", action="store_true")
    _common(sub)
    sub.set_defaults(func=_lineage)

    sub = commands.add_parser("get", help="write a version's model, signature and version.json into a folder")
    sub.add_argument("name", help="the artifact")
    which = sub.add_mutually_exclusive_group(required=True)
    which.add_argument("--stage", help="the version now in this stage")
    which.add_argument("--version", help="this version, vX.Y.Z (or latest)")
    sub.add_argument("-o", "--output", required=True, help="the folder to (re)create")
    _common(sub)
    sub.set_defaults(func=_get)
