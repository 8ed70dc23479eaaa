"""Monitoring commands: monitor (drift report), alert (the drift issue), retrain (a retraining PR)."""

from __future__ import annotations

import argparse
import logging
import sys

from gitml.core.errors import GitmlError

log = logging.getLogger(__name__)


def _monitor(args: argparse.Namespace) -> int:
    from gitml import config
    from gitml.core.errors import NOT_EVALUATED
    from gitml.monitor import drift, render

    try:
        params = config.load(args.params)
        params.paths.require_inside("drift", "drift_html")
        report = drift.run(params, current=args.current, reference=args.reference)
        json_path = args.json or params.paths.drift
        html_path = None if args.no_html else (args.html or params.paths.drift_html)
        drift.write(report, json_path, html_path)
    except GitmlError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return NOT_EVALUATED
    except Exception as exc:  # exit 1 means drift: any crash must read as "could not evaluate" (2)
        log.debug("monitoring failed", exc_info=True)
        print(f"error: monitoring failed unexpectedly: {type(exc).__name__}: {exc}", file=sys.stderr)
        return NOT_EVALUATED
    summary = render.markdown(report)
    if args.summary:
        with open(args.summary, "a", encoding="utf-8") as handle:
            handle.write(summary)
    print(summary, end="")
    print(f"wrote {json_path}" + (f" and {html_path}" if html_path else ""), file=sys.stderr)
    return drift.exit_code(report)


def _alert(args: argparse.Namespace) -> int:
    from gitml import config
    from gitml.core import io
    from gitml.monitor import alert

    params = config.load(args.params)
    report = io.read_json(args.report or params.paths.drift)
    print(alert.open_or_update(report, params.monitor.alert, html_url=args.link))
    return 0


def _retrain(args: argparse.Namespace) -> int:
    from gitml import config
    from gitml.monitor import retrain

    params = config.load(args.params)
    result = retrain.run(
        params, labels=args.labels, report_path=args.report, branch=args.branch, push=args.push, open_pr=args.pr
    )
    print(f"branch {result.branch}: {result.commit[:10]} {result.subject}")
    if result.pr_url:
        print(result.pr_url)
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    sub = commands.add_parser(
        "monitor",
        help="compare current data with the reference: exit 0 no drift, 1 drift, 2 could not evaluate",
    )
    sub.add_argument("--params", default="params.yaml")
    sub.add_argument("--current", help="file or folder (CSV/Parquet); default monitor.current")
    sub.add_argument("--reference", help="file or folder (CSV/Parquet); default monitor.reference")
    sub.add_argument("--json", help="default paths.drift")
    sub.add_argument("--html", help="default paths.drift_html")
    sub.add_argument("--no-html", action="store_true", help="write only the JSON report")
    sub.add_argument("--summary", help="also append the Markdown summary to this file (e.g. $GITHUB_STEP_SUMMARY)")
    sub.set_defaults(func=_monitor)

    sub = commands.add_parser("alert", help="open, or update, the one GitHub issue about drift (uses `gh`)")
    sub.add_argument("--params", default="params.yaml")
    sub.add_argument("--report", help="the drift report; default paths.drift")
    sub.add_argument("--link", help="a link to the full report (e.g. the workflow run)")
    sub.set_defaults(func=_alert)

    sub = commands.add_parser(
        "retrain", help="add labelled current rows to the training data and retrain on a new branch"
    )
    sub.add_argument("--params", default="params.yaml")
    sub.add_argument("--labels", help="labelled data file or folder; default monitor.retrain.labels")
    sub.add_argument("--report", help="the drift report cited in the commit; default paths.drift")
    sub.add_argument("--branch", help="default <monitor.retrain.branch_prefix><UTC date>")
    sub.add_argument("--push", action="store_true", help="push the branch (git) and its data (dvc)")
    sub.add_argument("--pr", action="store_true", help="open a pull request with `gh pr create` (implies --push)")
    sub.set_defaults(func=_retrain)
