"""The sticky pull-request comment: the exact `gh api` calls and payloads, against a recording stand-in gh."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gitml.cli import main as cli
from gitml.core.errors import GitHubError
from gitml.gate import comment
from gitml.gate.report import MARKER

BODY = f"{MARKER}\n## ✅ gitml gate: pass\n\nA table | with a pipe\n"


@pytest.fixture
def gh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, gh_standin: Callable[[Path], Any]) -> Any:
    standin = gh_standin(tmp_path / "bin")
    monkeypatch.setenv("PATH", f"{standin.folder}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("GH_LOG", str(standin.log))
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/demo")
    monkeypatch.delenv("GH_COMMENTS", raising=False)
    monkeypatch.delenv("GH_FAIL", raising=False)
    monkeypatch.delenv("GH_TOKEN", raising=False)
    return standin


def _comments(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *pages: list[dict]) -> None:
    path = tmp_path / "comments.json"
    path.write_text("".join(json.dumps(page) for page in pages))  # --paginate prints pages back to back
    monkeypatch.setenv("GH_COMMENTS", str(path))


def test_the_first_comment_is_created(gh: Any) -> None:
    call = comment.post(BODY, 17)
    assert (call.method, call.endpoint) == ("POST", "repos/acme/demo/issues/17/comments")
    assert gh.calls() == [
        {"args": ["api", "--paginate", "--method", "GET", "repos/acme/demo/issues/17/comments?per_page=100"],
         "payload": None, "token": None},
        {"args": ["api", "--method", "POST", "repos/acme/demo/issues/17/comments", "--input", "-"],
         "payload": {"body": BODY}, "token": None},
    ]


def test_the_marked_comment_is_updated_not_duplicated(gh: Any, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    _comments(tmp_path, monkeypatch, [{"id": 1, "body": "looks good"}, {"id": 2, "body": "unrelated <!-- other -->"}],
              [{"id": 99, "body": f"{MARKER}\nold report"}, {"id": 100, "body": f"{MARKER}\nduplicate"}])
    call = comment.post(BODY, 17, repo="other/repo")
    assert gh.calls()[-1] == {
        "args": ["api", "--method", "PATCH", "repos/other/repo/issues/comments/99", "--input", "-"],
        "payload": {"body": BODY}, "token": None}
    assert call.payload == {"body": BODY}


def test_a_body_without_the_marker_gets_it(gh: Any) -> None:
    comment.post("plain text", 3)
    assert gh.calls()[-1]["payload"] == {"body": f"{MARKER}\nplain text"}


def test_the_dry_run_only_reads(gh: Any) -> None:
    call = comment.post(BODY, 5, dry_run=True)
    assert call.method == "POST" and [c["args"][3] for c in gh.calls()] == ["GET"]


def test_gh_failures_are_one_line(gh: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GH_FAIL", "HTTP 403: Resource not accessible by integration")
    with pytest.raises(GitHubError, match="failed: HTTP 403: Resource not accessible by integration"):
        comment.post(BODY, 5)
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(GitHubError, match="gh: not found on PATH"):
        comment.post(BODY, 5)


def test_gitml_comment_posts_the_gate_report(gh: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert cli.main(["comment", "--pr", "8"]) == 1
    assert "reports/gate/report.md: not found (run `gitml gate` first)" in capsys.readouterr().err
    body = tmp_path / "reports" / "gate" / "report.md"
    body.parent.mkdir(parents=True)
    body.write_text(BODY)
    assert cli.main(["comment", "--pr", "8"]) == 0
    assert capsys.readouterr().out.startswith("sent POST repos/acme/demo/issues/8/comments")
    assert gh.calls()[-1]["payload"] == {"body": BODY}


def test_a_read_only_token_skips_the_comment_with_a_notice_in_the_job_summary(
        gh: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """A fork's pull request: GitHub answers 403; the job's result stays the gate's verdict."""
    monkeypatch.chdir(tmp_path)
    body = tmp_path / "reports" / "gate" / "report.md"
    body.parent.mkdir(parents=True)
    body.write_text(BODY)
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GH_FAIL", "HTTP 403: Resource not accessible by integration")
    assert cli.main(["comment", "--pr", "8", "--summary", str(summary)]) == 0
    assert "::notice title=gitml comment::not posted: the token is read-only" in capsys.readouterr().out
    assert summary.read_text() == "earlier step\n" + comment.SKIPPED + BODY
    # Any other failure still fails the step, summary or not.
    monkeypatch.setenv("GH_FAIL", "HTTP 502: Bad Gateway")
    assert cli.main(["comment", "--pr", "8", "--summary", str(summary)]) == 1
    assert "HTTP 502" in capsys.readouterr().err
    assert summary.read_text() == "earlier step\n" + comment.SKIPPED + BODY
