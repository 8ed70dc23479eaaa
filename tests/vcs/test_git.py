"""gitml.vcs.git: refs, branches and remotes from people are validated before git sees them."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from gitml.core.errors import GitError
from gitml.vcs import git


@pytest.fixture
def repo(tmp_path: Path, cmd_env) -> Path:
    env = cmd_env()
    for args in (["init", "-q", "-b", "main"], ["commit", "-q", "--allow-empty", "-m", "one"]):
        subprocess.run(["git", *args], cwd=tmp_path, env=env, check=True)
    subprocess.run(["git", "remote", "add", "origin", str(tmp_path)], cwd=tmp_path, check=True)
    return tmp_path


def test_commit_of_never_reads_a_ref_as_an_option(repo: Path) -> None:
    assert git.commit_of(repo, "--all") is None
    assert git.commit_of(repo, "main") == git.head(repo)


@pytest.mark.parametrize("ref", ["--upload-pack=touch x", "-c", ""])
def test_ensure_commit_refuses_what_git_would_read_as_an_option(repo: Path, ref: str) -> None:
    with pytest.raises(GitError, match=r": not a ref or name git can take \("):
        git.ensure_commit(repo, ref, "origin")
    assert sorted(p.name for p in repo.iterdir()) == [".git"]


def test_ensure_commit_fetches_only_ref_names(repo: Path) -> None:
    with pytest.raises(GitError, match=r"^'a\.\.b': no such commit or ref here, and not a ref name to fetch from "
                                       r"origin$"):
        git.ensure_commit(repo, "a..b", "origin")


@pytest.mark.parametrize(("name", "ok"), [("retrain/2024-01-01", True), ("-b", False), ("a..b", False),
                                          ("x y", False), ("HEAD", False)])
def test_branch_names_are_what_git_check_ref_format_accepts(repo: Path, name: str, ok: bool) -> None:
    if ok:
        assert git.branch_name(repo, name) == name
    else:
        with pytest.raises(GitError):
            git.branch_name(repo, name)


def test_a_remote_must_be_configured(repo: Path) -> None:
    assert git.checked_remote(repo, "origin") == "origin"
    with pytest.raises(GitError, match=r"^'/elsewhere': no such git remote here \(remotes: origin\)$"):
        git.checked_remote(repo, "/elsewhere")
