"""`gitml site` on repositories that lack things: the site is still built and says what is missing where.

Each case is a small repository made with git (and DVC where it matters) in a few commands; the
command runs as a user runs it. A one-line warning per cause goes to the terminal, and the exit
code is 0 unless nothing at all can be built.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from gitml.config import Site
from gitml.site import history, pipeline

METRICS = "reports/metrics.json"


@pytest.fixture
def repo(tmp_path: Path, run: Callable) -> Callable[..., Path]:
    """`repo(commits)`: a git repository whose commits write the given files ({path: text}) in order."""

    def make(commits: list[dict[str, str]], name: str = "repo") -> Path:
        path = tmp_path / name
        path.mkdir()
        run(path, "git", "init", "-q", "-b", "main")
        for i, files in enumerate(commits):
            for file, text in files.items():
                (path / file).parent.mkdir(parents=True, exist_ok=True)
                (path / file).write_text(text)
            run(path, "git", "add", "--all")
            run(path, "git", "commit", "-qm", f"commit {i}", "--allow-empty")
        return path

    return make


def _site(run: Callable, path: Path, out: Path) -> tuple[int, list[str]]:
    result = run(path, "gitml", "site", "-o", str(out), check=False)
    return result.returncode, [line for line in result.stderr.splitlines() if not line.startswith("building")]


def _params(seed: int) -> str:
    return f"seed: {seed}\ndata:\n  task: classification\n"


def test_a_repository_without_commits_still_gets_a_site(repo: Callable, run: Callable, tmp_path: Path) -> None:
    path = repo([])
    code, lines = _site(run, path, tmp_path / "site")
    assert code == 0
    assert lines == ["gitml.site.build: params.yaml: not found, the site uses default paths and settings",
                     "gitml.site.build: the repository has no commits yet: nothing to list"]
    assert "has no commits yet" in (tmp_path / "site" / "index.html").read_text()
    assert "No commits yet." in (tmp_path / "site" / "experiments.html").read_text()


def test_commits_without_metrics_say_so_in_place(repo: Callable, run: Callable, tmp_path: Path) -> None:
    path = repo([{"params.yaml": _params(1)}, {"params.yaml": _params(2)}])
    code, lines = _site(run, path, tmp_path / "site")
    assert code == 0
    assert any("no commit has metrics yet" in line for line in lines)
    page = (tmp_path / "site" / "experiments.html").read_text()
    assert "No commit has metrics yet" in page and "seed: 1 → 2" in page
    assert "No metrics to chart" in (tmp_path / "site" / "metrics.html").read_text()


def test_malformed_metrics_files_are_one_warning_and_a_note_on_each_commit(repo: Callable, run: Callable,
                                                                         tmp_path: Path) -> None:
    path = repo([{"params.yaml": _params(1), METRICS: '{"auc": 0.9}'}, {METRICS: "{not json"},
                 {METRICS: "[1, 2]"}, {METRICS: '{"auc": 0.95, "note": "text is skipped"}'}])
    code, lines = _site(run, path, tmp_path / "site")
    assert code == 0
    malformed = [line for line in lines if "malformed" in line]
    assert len(malformed) == 1 and "reports/metrics.json is malformed (at " in malformed[0]
    page = (tmp_path / "site" / "experiments.html").read_text()
    assert page.count("not a readable metrics file") == 2 and 'data-v="0.95"' in page


def test_a_version_whose_outputs_are_nowhere_is_listed_with_what_is_missing(repo: Callable, run: Callable,
                                                                            tmp_path: Path) -> None:
    lock = ("schema: '2.0'\nstages:\n  train:\n    cmd: python -m stages.train\n    outs:\n"
            "    - path: models/model.skops\n      hash: md5\n      md5: 0123456789abcdef0123456789abcdef\n"
            "      size: 10\n")
    path = repo([{"params.yaml": _params(1), METRICS: '{"auc": 0.9}', "dvc.lock": lock,
                  "models/.gitignore": "/model.skops\n"}])
    run(path, "dvc", "init", "-q")
    run(path, "dvc", "remote", "add", "-d", "storage", str(tmp_path / "remote"))
    (tmp_path / "remote").mkdir()
    run(path, "git", "add", "--all")
    run(path, "git", "commit", "-qm", "dvc")
    run(path, "git", "tag", "-a", "model@v0.0.1", "-m", "Registered model v0.0.1")
    code, lines = _site(run, path, tmp_path / "site")
    assert code == 0
    assert any("outputs are neither in the DVC cache nor on the DVC remote (at v0.0.1)" in line for line in lines)
    page = (tmp_path / "site" / "versions" / "model-v0.0.1.html").read_text()
    assert "models/model.skops: neither in the DVC cache nor on the DVC remote" in page
    assert 'class="badge missing"' in page and "no model card" in page


def test_a_shallow_clone_lists_what_it_has_and_says_the_rest_is_missing(repo: Callable, run: Callable,
                                                                        tmp_path: Path) -> None:
    path = repo([{"params.yaml": _params(i), METRICS: json.dumps({"auc": i / 10})} for i in range(6)])
    run(tmp_path, "git", "clone", "-q", "--depth", "2", path.as_uri(), str(tmp_path / "shallow"))
    code, lines = _site(run, tmp_path / "shallow", tmp_path / "site")
    assert code == 0
    assert any("a shallow clone" in line for line in lines)
    data = (tmp_path / "site" / "experiments.html").read_text()
    assert data.count('data-group="main"') == 2 and "this was built from a shallow clone" in data


def test_nothing_to_build_from_is_one_error_line(run: Callable, tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    code, lines = _site(run, tmp_path / "plain", tmp_path / "site")
    assert code == 1 and len(lines) == 1 and "not a git repository" in lines[0]
    assert not (tmp_path / "site").exists()


def test_a_folder_that_is_not_a_site_is_never_overwritten(repo: Callable, run: Callable, tmp_path: Path,
                                                         file_bytes: Callable) -> None:
    path = repo([{"params.yaml": _params(1)}])
    out = tmp_path / "docs"
    out.mkdir()
    (out / "notes.md").write_text("mine")
    before = file_bytes(out.iterdir())
    code, lines = _site(run, path, out)
    assert code == 1 and "is not a site gitml built" in lines[-1]
    assert file_bytes(out.iterdir()) == before


def test_a_rebuild_replaces_the_site_whole_and_leaves_no_temporary_folder(repo: Callable, run: Callable,
                                                                          tmp_path: Path) -> None:
    path = repo([{"params.yaml": _params(1), METRICS: '{"auc": 0.5}'}])
    out = tmp_path / "site"
    assert _site(run, path, out)[0] == 0
    (out / "stale.html").write_text("old")
    (path / METRICS).write_text('{"auc": 0.75}')
    run(path, "git", "commit", "-qam", "better")
    assert _site(run, path, out)[0] == 0
    assert not (out / "stale.html").exists() and 'data-v="0.75"' in (out / "experiments.html").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["repo", "site"]


def test_history_reads_branches_experiments_and_declared_metrics_in_a_fixed_number_of_git_calls(
        repo: Callable, run: Callable, monkeypatch: pytest.MonkeyPatch) -> None:
    dvc_yaml = "stages:\n  evaluate:\n    cmd: x\n    metrics:\n    - ${paths.scores}:\n        cache: false\n"
    params = "paths:\n  scores: out/scores.yaml\n"
    path = repo([{"params.yaml": params, "dvc.yaml": dvc_yaml, "out/scores.yaml": f"auc: 0.{i}\n"} for i in range(5)])
    run(path, "git", "checkout", "-qb", "side", "HEAD~2")
    (path / "out" / "scores.yaml").write_text("auc: 0.99\n")
    run(path, "git", "commit", "-qam", "side")
    run(path, "git", "checkout", "-q", "main")
    from gitml.vcs import git

    calls = []
    original = git._start
    monkeypatch.setattr(git, "_start", lambda repo, args, stdin: calls.append(args[0]) or original(repo, args, stdin))
    found = history.read(path, Site())
    assert calls.count("cat-file") == 3 and calls.count("log") == 1 and calls.count("for-each-ref") == 1
    assert [c.metrics["auc"] for c in found.commits if c.group == "main"] == [0.4, 0.3, 0.2, 0.1, 0.0]
    side = [c for c in found.commits if c.group == "branch"]
    assert len(side) == 1 and side[0].branch == "side" and side[0].metrics == {"auc": 0.99}
    assert len(found.mainline) == 5


def test_the_pipeline_graph_follows_outputs_into_folders() -> None:
    dvc_yaml = {"stages": {
        "prepare": {"cmd": "a", "outs": ["${paths.data}"]},
        "train": {"cmd": "b", "deps": ["data/clean.csv"], "outs": [{"model.pkl": {"cache": True}}]},
        "report": {"cmd": ["c", "d"], "deps": ["model.pkl", "data"], "metrics": ["m.json"]},
    }}
    stages = {s.name: s for s in pipeline.stages(dvc_yaml, {"paths": {"data": "data"}})}
    assert stages["train"].upstream == ["prepare"] and sorted(stages["report"].upstream) == ["prepare", "train"]
    assert [stages[n].layer for n in ("prepare", "train", "report")] == [0, 1, 2]
    assert stages["report"].cmd == "c && d" and stages["report"].outs == ["m.json"]
