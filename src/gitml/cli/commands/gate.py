"""Promotion commands: gate (compare with a baseline, decide), comment (the sticky PR comment)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from gitml.core.errors import GateError, GateFailed, GitmlError

_ICONS = {"improved": "▲", "regressed": "▼", "unchanged": "=", "new": "·"}


def _run_url() -> str | None:
    """The workflow run's page, where the report artifact is, when running in GitHub Actions."""
    server, repo, run = (os.environ.get(k) for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID"))
    return f"{server}/{repo}/actions/runs/{run}" if server and repo and run else None


def _num(value: float | None, spec: str = ".4g") -> str:
    return "—" if value is None else format(value, spec)


def _pages_url() -> str | None:
    """GitHub Pages' address of the repository (where the site workflow publishes), in GitHub Actions."""
    repo = os.environ.get("GITHUB_REPOSITORY") if os.environ.get("GITHUB_ACTIONS") else None
    if not repo or "/" not in repo:
        return None
    owner, name = repo.split("/", 1)
    return f"https://{owner.lower()}.github.io/{name}/"


def _table(out: dict[str, Any]) -> str:
    lines = [f"gate: {out['verdict']}: {out['summary']}"]
    if out.get("baseline"):
        b = out["baseline"]
        against = f"baseline {b['commit'][:7]} ({b['ref']})" if b["commit"] else f"no baseline ({b['ref']})"
        lines.append(f"candidate {out['candidate']['commit'][:7]} vs {against}")
    for m in out["metrics"]:
        interval = f"[{m['interval'][0]:+.4g}, {m['interval'][1]:+.4g}]" if m["interval"] else f"({m['method']})"
        status = {"fail": "FAIL " + "; ".join(m["reasons"]), "pass": "ok", "info": "info"}[m["status"]]
        lines.append(f"  {m['name']:<12} {_num(m['baseline'])} -> {m['candidate']:.4g}  {_num(m['delta'], '+.4g')} "
                     f"{interval}  {_ICONS[m['change']]} {m['change']:<9}  {status}")
    production = out.get("production") or {}
    if production.get("figures"):
        lines.append(f"  production figures ({production['clock']}, {production['rounds']} interleaved rounds, "
                     f"{production['seconds']} s):")
    for f in production.get("figures") or []:
        interval = f" [{f['interval'][0]:.3g}, {f['interval'][1]:.3g}]" if f["interval"] else ""
        ratio = f"x{f['ratio']:.3g}{interval}" if f["ratio"] else ""
        status = {"fail": "FAIL " + "; ".join(f["reasons"]), "pass": "ok", "info": "info"}[f["status"]]
        lines.append(f"  {f['name']:<15} {_num(f['baseline'])} -> {f['candidate']:.4g} {f['unit']}  {ratio}  "
                     f"{_ICONS[f['change']]} {f['change']:<9}  {status}")
    comparison = out.get("comparison") or {}
    if comparison.get("why") and out["metrics"]:
        lines.append(f"  note: no paired intervals: {comparison['why']}")
    for note in comparison.get("notes", []):
        lines.append(f"  note: {note}")
    return "\n".join(lines)


def _gate(args: argparse.Namespace) -> int:
    from gitml import config
    from gitml.gate import verdict

    try:
        out = verdict.run(".", args.params, args.baseline, args.allow_dirty, run_url=_run_url(),
                          site_url=_pages_url())
    except GateError:
        if args.comment:
            _print_markdown(args.params)
        raise
    if args.comment:
        _print_markdown(args.params)
    else:
        print(_table(out))
        paths = config.load(args.params).paths
        plots = f" and {len(out['plots'])} plots" if out["plots"] else ""
        print(f"wrote {paths.gate_report}, {paths.gate_markdown}{plots}")
    if out["verdict"] == "fail":
        raise GateFailed(f"gate failed on {', '.join(verdict.failed(out))} (the report says why)")
    return 0


def _markdown_path(params: str) -> Path:
    from gitml import config

    try:
        return Path(config.load(params).paths.gate_markdown)
    except GitmlError:
        return Path(config.Paths().gate_markdown)


def _print_markdown(params: str) -> None:
    path = _markdown_path(params)
    if path.is_file():
        sys.stdout.write(path.read_text(encoding="utf-8"))


def _comment(args: argparse.Namespace) -> int:
    from gitml.core.errors import GitHubError
    from gitml.gate import comment

    path = Path(args.body_file) if args.body_file else _markdown_path(args.params)
    if not path.is_file():
        raise GitmlError(f"{path}: not found (run `gitml gate` first)")
    body = path.read_text(encoding="utf-8")
    try:
        call = comment.post(body, args.pr, args.repo, dry_run=args.dry_run)
    except GitHubError as exc:
        if not (args.summary and comment.read_only(exc)):
            raise
        with open(args.summary, "a", encoding="utf-8") as summary:
            summary.write(comment.SKIPPED + body)
        print(f"::notice title=gitml comment::not posted: the token is read-only (a fork's pull request); "
              f"the report is in the job summary ({exc})")
        return 0
    verb = "would send" if args.dry_run else "sent"
    print(f"{verb} {call.method} {call.endpoint} ({len(call.payload['body']) if call.payload else 0} characters)")
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    sub = commands.add_parser(
        "gate", help="compare the workspace with a baseline commit and decide promotion (exit 0 pass, 1 fail, 2 error)"
    )
    sub.add_argument("--baseline", metavar="REF",
                     help="compare with this commit, tag or branch (default: the registry's prod model, else the "
                          "merge base with the default branch)")
    sub.add_argument("--params", default="params.yaml")
    sub.add_argument("--allow-dirty", action="store_true", help="evaluate a workspace with uncommitted changes")
    sub.add_argument("--comment", action="store_true",
                     help="print the pull-request comment it would post (a local dry run of `gitml comment`)")
    sub.set_defaults(func=_gate)

    sub = commands.add_parser("comment", help="create or update the gate's one sticky comment on a pull request")
    sub.add_argument("--pr", type=int, required=True, help="the pull request's number")
    sub.add_argument("--repo", help="OWNER/NAME (default: $GITHUB_REPOSITORY, else gh's current repository)")
    sub.add_argument("--body-file", help="the Markdown to post (default: paths.gate_markdown)")
    sub.add_argument("--params", default="params.yaml")
    sub.add_argument("--dry-run", action="store_true", help="find the comment, but only print what would be sent")
    sub.add_argument("--summary", metavar="FILE",
                     help="when GitHub refuses a read-only token (a fork's pull request), write a notice and the "
                          "report here instead (e.g. $GITHUB_STEP_SUMMARY) and exit 0")
    sub.set_defaults(func=_comment)
