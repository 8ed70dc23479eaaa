"""One sticky pull-request comment, created once and then updated, through the GitHub CLI.

The gate's comment carries a hidden marker (`<!-- gitml-gate -->`). Posting lists the pull
request's comments, PATCHes the first that carries the marker, and POSTs a new one only when
none does, so every push updates one comment instead of adding another. All calls go through
`gh api` (authenticated by GH_TOKEN in a workflow, or a developer's `gh auth login`).

A pull request from a fork runs with a read-only token: GitHub answers 403, and `read_only`
recognises it, so the workflow can skip the comment with a notice instead of failing a job
whose result is the gate's verdict.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from typing import Any

from gitml.core.errors import GitHubError
from gitml.gate.report import MARKER
from gitml.vcs import github

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Call:
    """One `gh api` request: what `post` sends (and what `--dry-run` prints)."""

    method: str
    endpoint: str
    payload: dict[str, Any] | None = None

    def argv(self, gh: str = "gh") -> list[str]:
        args = [gh, "api", "--method", self.method, self.endpoint]
        if self.method == "GET":
            args.insert(2, "--paginate")
        elif self.payload is not None:
            args += ["--input", "-"]
        return args


#: How GitHub refuses a token that may not write to the pull request (a fork's run, a read-only token).
_READ_ONLY = ("HTTP 403", "Resource not accessible by integration")

#: The job summary's note when the comment could not be posted.
SKIPPED = ("> [!NOTE]\n> The gate's pull-request comment was not posted: this run's token cannot write to the pull "
           "request (a pull request from a fork gets a read-only token). The report follows; the job's result is "
           "the gate's verdict.\n\n")


def read_only(exc: GitHubError) -> bool:
    """Whether GitHub refused the call because the token may not write (not because something broke)."""
    return any(mark in str(exc) for mark in _READ_ONLY)


def repository(explicit: str | None = None) -> str:
    """OWNER/NAME: explicit, else the workflow's GITHUB_REPOSITORY, else gh's own {owner}/{repo} lookup."""
    return explicit or os.environ.get("GITHUB_REPOSITORY") or "{owner}/{repo}"


def _gh(call: Call, gh: str) -> str:
    stdin = json.dumps(call.payload) if call.payload is not None else None
    return github.run(*call.argv(gh)[1:], stdin=stdin, gh=gh)


def _pages(text: str) -> list[dict[str, Any]]:
    """`gh api --paginate` prints one JSON array per page, back to back."""
    decoder, items, pos = json.JSONDecoder(), [], 0
    text = text.strip()
    while pos < len(text):
        try:
            page, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise GitHubError(f"gh api returned something other than JSON pages: {text[pos:pos + 80]!r}") from exc
        items += page if isinstance(page, list) else [page]
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return [item for item in items if isinstance(item, dict)]


def plan(body: str, pr: int, repo: str, comments: list[dict[str, Any]]) -> Call:
    """The request that makes `body` the pull request's one marked comment."""
    if MARKER not in body:
        body = f"{MARKER}\n{body}"
    existing = next((c for c in comments if MARKER in str(c.get("body", ""))), None)
    if existing is not None:
        return Call("PATCH", f"repos/{repo}/issues/comments/{existing['id']}", {"body": body})
    return Call("POST", f"repos/{repo}/issues/{pr}/comments", {"body": body})


def post(body: str, pr: int, repo: str | None = None, gh: str = "gh", dry_run: bool = False) -> Call:
    """Create or update the sticky comment; with dry_run, only list the comments and return the plan."""
    repo = repository(repo)
    listing = Call("GET", f"repos/{repo}/issues/{pr}/comments?per_page=100")
    call = plan(body, pr, repo, _pages(_gh(listing, gh)))
    if not dry_run:
        _gh(call, gh)
        log.info("%s %s", call.method, call.endpoint)
    return call
