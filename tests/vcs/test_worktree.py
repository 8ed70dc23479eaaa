"""A commit's missing outputs, reproduced in a temporary worktree sharing the DVC cache (real git and dvc).

A tiny repository: one `dvc add`-ed input and one stage that upper-cases it, both committed with
an empty DVC remote. Each case then empties the cache and asks for outputs of that commit.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

import pytest

from gitml.core.errors import SnapshotError
from gitml.vcs import snapshot, worktree

pytestmark = pytest.mark.e2e

Run = Callable[..., CompletedProcess[str]]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory, run: Run) -> tuple[Path, str]:
    """The repository, made once, and its commit."""
    root = tmp_path_factory.mktemp("worktree")
    repo = root / "repo"
    repo.mkdir()
    run(repo, "git", "init", "--quiet", "--initial-branch=main")
    run(repo, "dvc", "init", "--quiet")
    run(repo, "dvc", "remote", "add", "--default", "storage", str(root / "remote"))
    (repo / "input.txt").write_text("rows\n")
    run(repo, "dvc", "add", "--quiet", "input.txt")
    run(repo, "dvc", "stage", "add", "--quiet", "-n", "copy", "-d", "input.txt", "-o", "out.txt",
        "tr a-z A-Z < input.txt > out.txt")
    run(repo, "dvc", "repro", "--quiet")
    run(repo, "git", "add", "--all")
    run(repo, "git", "commit", "--quiet", "-m", "one stage")
    return repo, run(repo, "git", "rev-parse", "HEAD").stdout.strip()


@pytest.fixture
def tiny(template: tuple[Path, str], tmp_path: Path) -> tuple[Path, str]:
    """A copy of the repository for one test (its cache included), and the commit."""
    repo = tmp_path / "repo"
    shutil.copytree(template[0], repo, symlinks=True)
    return repo, template[1]


def _cache(repo: Path) -> Path:
    return repo / ".dvc" / "cache"


def _worktrees(repo: Path, run: Run) -> str:
    return run(repo, "git", "worktree", "list", "--porcelain").stdout


def test_a_missing_output_is_reproduced_and_stays_in_the_cache(tiny: tuple[Path, str], run: Run) -> None:
    repo, commit = tiny
    before = _worktrees(repo, run)
    out_md5 = snapshot.dvc_hash(repo, commit, "out.txt")
    (_cache(repo) / "files" / "md5" / out_md5[:2] / out_md5[2:]).unlink()
    with pytest.raises(SnapshotError, match=rf"^out\.txt at {commit[:12]}: neither in the DVC cache nor on the DVC "
                                            "remote$"):
        snapshot.dvc_outputs(repo, commit, ["out.txt"])
    found = snapshot.dvc_outputs(repo, commit, ["out.txt"], reproduce=True)["out.txt"]
    assert found.source == "reproduced" and found.note is None and found.file.read_text() == "ROWS\n"
    assert snapshot.dvc_outputs(repo, commit, ["out.txt"])["out.txt"].source == "cache"  # kept for the next run
    assert _worktrees(repo, run) == before and not list(Path(tempfile.gettempdir()).glob(f"gitml-reproduce-"
                                                                                         f"{commit[:7]}-*"))


def test_an_added_input_nobody_pushed_cannot_be_reproduced(tiny: tuple[Path, str], run: Run) -> None:
    repo, commit = tiny
    shutil.rmtree(_cache(repo))
    with pytest.raises(SnapshotError, match=r"^input\.txt at .*: neither in the DVC cache nor on the DVC remote, and "
                                            r"no stage produces it \(it was `dvc add`-ed\): `dvc push` it"):
        snapshot.dvc_outputs(repo, commit, ["input.txt", "out.txt"], reproduce=True)
    # Asking for the stage's output alone: the reproduction runs and fails on the missing input, in one line.
    with pytest.raises(SnapshotError, match=rf"^cannot reproduce copy of {commit[:12]}: ") as err:
        snapshot.dvc_outputs(repo, commit, ["out.txt"], reproduce=True)
    assert "\n" not in str(err.value)
    assert _worktrees(repo, run).count("worktree ") == 1, "no half-created worktree is left"


def test_a_worktree_that_cannot_be_created_is_one_line_and_leaves_nothing(
        tiny: tuple[Path, str], run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo, commit = tiny
    full = tmp_path / "not-a-folder"
    full.write_text("")  # where the temporary folder would go is a file: as good as a full disk for mkdtemp
    monkeypatch.setattr(tempfile, "tempdir", str(full))
    with pytest.raises(SnapshotError, match=rf"^cannot create a temporary folder for reproducing {commit[:12]} "
                                            rf"in {full}: "):
        worktree.reproduce(repo, commit, ["copy"])
    monkeypatch.setattr(tempfile, "tempdir", None)
    with pytest.raises(SnapshotError, match=r"^cannot create a temporary git worktree of 0000000000"):
        worktree.reproduce(repo, "0" * 40, ["copy"])
    assert _worktrees(repo, run).count("worktree ") == 1


def test_the_workspace_is_untouched(tiny: tuple[Path, str], run: Run) -> None:
    """The workspace is never the reproduction's: its files and status are as they were."""
    repo, commit = tiny
    (repo / "out.txt").write_text("edited by hand\n")
    out_md5 = snapshot.dvc_hash(repo, commit, "out.txt")
    (_cache(repo) / "files" / "md5" / out_md5[:2] / out_md5[2:]).unlink()
    snapshot.dvc_outputs(repo, commit, ["out.txt"], reproduce=True)
    assert (repo / "out.txt").read_text() == "edited by hand\n"
    assert run(repo, "git", "status", "--porcelain").stdout == ""  # out.txt is DVC's, gitignored
