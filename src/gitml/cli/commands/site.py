"""`gitml site`: the project as a static web site, built from git, tags and the DVC cache."""

from __future__ import annotations

import argparse
import sys


def _site(args: argparse.Namespace) -> int:
    from gitml.site import build

    print(f"building the site of {args.repo} into {args.output} ...", file=sys.stderr)
    summary = build.run(args.repo, args.output, args.params)
    hidden = f" ({summary['hidden']} older not listed)" if summary["hidden"] else ""
    print(f"wrote {args.output}/index.html: {summary['commits']} commits{hidden}, {summary['branches']} other "
          f"branches, {summary['experiments']} experiments, {summary['versions']} versions")
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    sub = commands.add_parser(
        "site", help="write the project as a static web site (history, experiments, registry, reports, pipeline)",
        description="Reads git history, registry tags, the DVC cache or remote and the reports in the workspace; "
        "the pages open from file:// and from GitHub Pages, and fetch nothing from any network. Exit 0 unless "
        "nothing could be built; what is missing is one warning per cause, and said on the page.",
    )
    sub.add_argument("-o", "--output", default="site", help="the site's folder (default: site)")
    sub.add_argument("--repo", default=".", help="the repository (default: the current folder)")
    sub.add_argument("--params", help="params.yaml for paths and the site section (default: REPO/params.yaml)")
    sub.set_defaults(func=_site)
