"""Registry on git tags: register, promote, models, lineage in real git repositories (no pipeline run).

Each repository holds the files the registry reads at a commit (params.yaml, dvc.yaml,
dvc.lock, metrics); every bad input must leave the tags exactly as they were.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from gitml.cli import main as cli
from gitml.registry import tags
from gitml.registry.lineage import feature_hashes

ENV = {"GIT_AUTHOR_NAME": "Ada", "GIT_AUTHOR_EMAIL": "ada@gitml.local",
       "GIT_COMMITTER_NAME": "Ada", "GIT_COMMITTER_EMAIL": "ada@gitml.local", "DO_NOT_TRACK": "1"}


@pytest.fixture(autouse=True)
def _identity(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout


def write_gate(repo: Path, verdict: str, commit: str) -> None:
    (repo / "reports" / "gate.json").write_text(json.dumps(
        {"verdict": verdict, "candidate": {"commit": commit}, "baseline": {"commit": "0" * 40}}))


def commit_model(repo: Path, n: int, metrics: dict | None = None) -> str:
    """Commit a 'trained' state: dvc.lock records model hash n, metrics in git; a passing gate report for it.

    There is no pipeline here for the gate to judge (tests/gate and tests/e2e run the real one),
    so the report stands in for `gitml gate`, and the repository's prod is not gated.
    """
    lock = {"schema": "2.0", "stages": {
        "train": {"cmd": "python -m stages.train", "outs": [
            {"path": "models/model.skops", "hash": "md5", "md5": f"{n:032x}", "size": 10}]},
        "ingest": {"cmd": "python -m stages.ingest", "outs": [
            {"path": "data/raw/dataset.parquet", "hash": "md5", "md5": "a" * 32, "size": 5}]},
    }}
    (repo / "dvc.lock").write_text(yaml.safe_dump(lock))
    (repo / "reports").mkdir(exist_ok=True)
    (repo / "reports" / "metrics.json").write_text(json.dumps(metrics or {"accuracy": 0.9 + n / 1000, "note": "x"}))
    git(repo, "add", "--all")
    git(repo, "commit", "-qm", f"train {n}")
    commit = git(repo, "rev-parse", "HEAD").strip()
    write_gate(repo, "pass", commit)
    return commit


@pytest.fixture
def repo(tmp_path: Path, repo_root: Path) -> Path:
    path = tmp_path / "project"
    path.mkdir()
    git(path, "init", "-q", "--initial-branch=main")
    params = yaml.safe_load((repo_root / "params.yaml").read_text())
    params["registry"]["gated_stages"] = []
    (path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    shutil.copy(repo_root / "dvc.yaml", path / "dvc.yaml")
    (path / ".gitignore").write_text("reports/gate.json\n")
    commit_model(path, 1)
    return path


def gitml(repo: Path, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    code = cli.main([*args[:1], *args[1:], "--repo", str(repo)])
    out, err = capsys.readouterr()
    return code, out, err


def tag_refs(repo: Path) -> str:
    return git(repo, "for-each-ref", "--format=%(refname) %(objectname)", "refs/tags")


def refused(repo: Path, capsys: pytest.CaptureFixture[str], *args: str, match: str) -> None:
    """The command fails with one line naming the problem and leaves every tag as it was."""
    before = tag_refs(repo)
    code, _, err = gitml(repo, *args, capsys=capsys)
    assert code != 0
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert match in err, err
    assert tag_refs(repo) == before


def test_register_promote_and_models(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = git(repo, "rev-parse", "HEAD").strip()
    assert gitml(repo, "register", capsys=capsys)[0] == 0
    second = commit_model(repo, 2)
    code, out, _ = gitml(repo, "register", "--bump", "minor", capsys=capsys)
    assert code == 0 and out.startswith("model@v0.1.0: registered model v0.1.0")
    for version, stage in (("v0.0.1", "staging"), ("v0.0.1", "prod"), ("latest", "staging")):
        assert gitml(repo, "promote", "model", version, "--stage", stage, capsys=capsys)[0] == 0
    names = {line.split()[0] for line in tag_refs(repo).splitlines()}
    assert names == {"refs/tags/model@v0.0.1", "refs/tags/model@v0.1.0", "refs/tags/model#staging#1",
                    "refs/tags/model#prod#2", "refs/tags/model#staging#3"}
    code, out, _ = gitml(repo, "models", "--json", capsys=capsys)
    rows = json.loads(out)
    assert [(r["version"], r["stages"], r["commit"], r["gate"]) for r in rows] == [
        ("v0.1.0", ["staging"], second, "pass"), ("v0.0.1", ["prod"], first, "pass")]
    assert rows[0]["metrics"] == {"accuracy": 0.902} and rows[0]["registered_by"] == "Ada <ada@gitml.local>"
    code, out, _ = gitml(repo, "models", capsys=capsys)
    assert out.splitlines()[0].split() == ["NAME", "VERSION", "STAGES", "COMMIT", "REGISTERED", "AGE", "GATE",
                                           "accuracy"]
    assert out.splitlines()[2].split()[:4] == ["model", "v0.0.1", "prod", first[:8]]
    assert tags.stage_commit("model", "prod", repo) == first
    assert tags.stage_commit("model", "nowhere", repo) is None
    # Rolling back: the most recent assignment holds the stage.
    assert gitml(repo, "promote", "model", "v0.1.0", "--stage", "prod", capsys=capsys)[0] == 0
    assert gitml(repo, "promote", "model", "v0.0.1", "--stage", "prod", capsys=capsys)[0] == 0
    assert tags.stage_commit("model", "prod", repo) == first
    # A stage name as VERSION means the version now in that stage.
    assert gitml(repo, "promote", "model", "prod", "--stage", "staging", capsys=capsys)[0] == 0
    assert tags.in_stage("model", "staging", repo).version == "v0.0.1"


def test_version_tag_records_gate_metrics_and_model_hash(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    head = git(repo, "rev-parse", "HEAD").strip()
    write_gate(repo, "pass", head)
    assert gitml(repo, "register", "--version", "v1.2.3", capsys=capsys)[0] == 0
    message = git(repo, "tag", "-l", "--format=%(contents)", "model@v1.2.3")
    assert message.splitlines()[0] == "Registering artifact model version v1.2.3"
    trained = git(repo, "log", "-1", "--format=%cI", head).strip()
    assert tags.trailers(message) == {"gitml-gate": "pass", "gitml-model-md5": f"{1:032x}",
                                      "gitml-metrics": '{"accuracy":0.901}', "gitml-trained-at": trained}
    assert git(repo, "cat-file", "-t", "model@v1.2.3").strip() == "tag"


def test_the_training_date_is_the_commit_that_first_recorded_the_model(repo: Path, capsys: pytest.CaptureFixture[str],
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    first = git(repo, "rev-parse", "HEAD").strip()
    # A later commit with the same model (a README edit): the model is as old as its training.
    (repo / "README.md").write_text("docs\n")
    git(repo, "add", "README.md")
    monkeypatch.setenv("GIT_COMMITTER_DATE", "2031-01-01T00:00:00Z")
    git(repo, "commit", "-qm", "docs")
    later = git(repo, "rev-parse", "HEAD").strip()
    write_gate(repo, "pass", later)
    assert gitml(repo, "register", capsys=capsys)[0] == 0
    version = tags.find("model", repo)
    assert version.commit == later
    assert version.trained_at == git(repo, "log", "-1", "--format=%cI", first).strip() != "2031-01-01T00:00:00Z"
    code, out, _ = gitml(repo, "models", "--json", capsys=capsys)
    row = json.loads(out)[0]
    assert row["trained_at"] == version.trained_at and row["age_days"] >= 0
    # A version tag made by another tool records no training date: its tag's date stands in.
    git(repo, "tag", "-a", "model@v0.9.0", first, "-m", "Registering artifact model version v0.9.0")
    assert tags.find("model", repo, version="v0.9.0").trained_at == tags.find("model", repo, version="v0.9.0").date


def test_bad_inputs_refused_without_touching_tags(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert gitml(repo, "register", capsys=capsys)[0] == 0
    refused(repo, capsys, "register", match="registered already as model@v0.0.1")
    commit_model(repo, 2)
    refused(repo, capsys, "register", "--version", "v0.0.1", match="model@v0.0.1: the tag exists already")
    refused(repo, capsys, "register", "--version", "1.0", match="expected vMAJOR.MINOR.PATCH")
    refused(repo, capsys, "register", "nosuch", match="unknown model 'nosuch': dvc.yaml does not declare it")
    (repo / "dvc.yaml").write_text((repo / "dvc.yaml").read_text() + "\n# edited\n")
    refused(repo, capsys, "register", match="uncommitted changes (dvc.yaml)")
    git(repo, "checkout", "dvc.yaml")
    refused(repo, capsys, "promote", "nosuch", "v0.0.1", "--stage", "prod", match="unknown model 'nosuch'")
    refused(repo, capsys, "promote", "model", "v9.9.9", "--stage", "prod", match="unknown version 'v9.9.9'")
    refused(repo, capsys, "promote", "model", "v0.0.1", "--stage", "qa", match="'qa' is not declared")
    assert gitml(repo, "promote", "model", "v0.0.1", "--stage", "prod", capsys=capsys)[0] == 0
    refused(repo, capsys, "promote", "model", "v0.0.1", "--stage", "prod", match="in 'prod' already")
    refused(repo, capsys, "promote", "model", "v0.0.1", "--stage", "staging", "--force", match="--force needs --reason")
    refused(repo, capsys, "register", "--push", "nowhere", match="--push 'nowhere': no such git remote here")
    refused(repo, capsys, "lineage", "model@v7", match="expected NAME@vX.Y.Z")
    refused(repo, capsys, "models", "nosuch", match="unknown model 'nosuch'")


def test_gate_verdicts_block_register_and_promote_unless_forced(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    head = git(repo, "rev-parse", "HEAD").strip()
    (repo / "reports" / "gate.json").write_text("{not json")
    refused(repo, capsys, "register", match="reports/gate.json: not a gate report")
    for verdict in ("fail", "error"):
        write_gate(repo, verdict, head)
        refused(repo, capsys, "register", match=f"the gate's verdict for HEAD is '{verdict}'")
    code, _, _ = gitml(repo, "register", "--force", "--reason", "hotfix:  known\nregression", capsys=capsys)
    assert code == 0
    version = tags.find("model", repo)
    assert (version.gate, version.forced) == ("error", "hotfix: known regression")
    refused(repo, capsys, "promote", "model", "v0.0.1", "--stage", "prod", match="its gate verdict is 'error'")
    code, out, _ = gitml(repo, "promote", "model", "v0.0.1", "--stage", "prod", "--force", "--reason", "approved",
                         capsys=capsys)
    assert code == 0 and "model#prod#1" in out
    assert "gitml-forced: approved" in git(repo, "tag", "-l", "--format=%(contents)", "model#prod#1")
    # A report about another commit says nothing about HEAD: register runs the gate, which cannot judge
    # this pipeline-less repository, so nothing is registered (never a version recording "none").
    commit_model(repo, 2)
    write_gate(repo, "fail", head)
    refused(repo, capsys, "register", match="the gate's verdict for HEAD is 'error'")
    (repo / "reports" / "gate.json").unlink()
    refused(repo, capsys, "register", match="the gate's verdict for HEAD is 'error'")


def test_require_gate_refuses_versions_registered_without_a_verdict(repo: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    # A version tag made by another tool (GTO) records no gate verdict.
    git(repo, "tag", "-a", "model@v0.0.1", "-m", "Registering artifact model version v0.0.1")
    assert tags.find("model", repo).gate == "none"
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["registry"]["require_gate"] = True
    strict = repo.parent / "strict.yaml"
    strict.write_text(yaml.safe_dump(params))
    refused(repo, capsys, "promote", "model", "v0.0.1", "--stage", "staging", "--params", str(strict),
            match="registered without a gate verdict (registry.require_gate is on)")
    assert gitml(repo, "promote", "model", "v0.0.1", "--stage", "staging", capsys=capsys)[0] == 0


def test_register_needs_the_model_in_dvc_lock(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "dvc.lock").write_text("schema: '2.0'\nstages: {}\n")
    git(repo, "commit", "-qam", "no model")
    refused(repo, capsys, "register", match="dvc.lock records no output models/model.skops")


def test_lineage_reads_the_version_commit_and_feature_catalog(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = git(repo, "rev-parse", "HEAD").strip()
    assert gitml(repo, "register", capsys=capsys)[0] == 0
    catalog = [{"name": "age", "definition_hash": "h1"}, {"name": "ratio", "definition_hash": "h2", "kind": "derived"}]
    (repo / "data" / "features").mkdir(parents=True)
    (repo / "data" / "features" / "catalog.json").write_text(json.dumps(catalog))
    commit_model(repo, 2, metrics={"rmse": 3.5})
    assert gitml(repo, "register", capsys=capsys)[0] == 0
    assert gitml(repo, "promote", "model", "v0.0.1", "--stage", "prod", capsys=capsys)[0] == 0
    code, out, _ = gitml(repo, "lineage", "model#prod", "--json", capsys=capsys)
    old = json.loads(out)
    assert old["commit"] == first and old["version"] == "v0.0.1" and old["stages"] == ["prod"]
    assert old["model"] == {"path": "models/model.skops", "md5": f"{1:032x}"}
    assert old["outputs"]["data/raw/dataset.parquet"] == "a" * 32
    assert old["metrics"] == {"accuracy": 0.901, "note": "x"} and old["features"] is None
    assert old["params"]["model"]["_target_"] == "gitml.model.estimators.RandomForest"
    assert old["commit_info"]["author"] == "Ada <ada@gitml.local>" and old["commit_info"]["subject"] == "train 1"
    new = json.loads(gitml(repo, "lineage", "model", "--json", capsys=capsys)[1])
    assert new["version"] == "v0.0.2" and new["features"] == {"age": "h1", "ratio": "h2"}
    assert new["metrics"] == {"rmse": 3.5}
    code, out, _ = gitml(repo, "lineage", "model@v0.0.2", capsys=capsys)
    assert code == 0 and "features    age  definition h1" in out and "metrics     rmse = 3.5" in out


@pytest.mark.parametrize("catalog, expected", [
    ([{"name": "a", "definition_hash": "1"}], {"a": "1"}),
    ({"features": [{"feature": "b", "definition_hash": "2"}]}, {"b": "2"}),
    ({"a": {"definition_hash": "1"}, "b": "2", "c": {"nohash": 1}}, {"a": "1", "b": "2"}),
    ("nonsense", {}),
])
def test_feature_hashes_accept_list_or_mapping(catalog: object, expected: dict) -> None:
    assert feature_hashes(catalog) == expected


def test_tag_names_parse_as_gto_parses_them() -> None:
    from gto.constants import Action
    from gto.tag import parse_name

    names = ["model@v0.0.1", "model#prod#3", "model#prod!#4", "model@v1.2.3!#5", "dir/my_model@v10.0.0",
             "Model-2#staging#12", "model#prod", "model#prod!", "model@v0.0.1!", "model@deprecated",
             "model@deprecated#7", "model@v1.0.0-rc.1", "model@v1.0.0-rc.1+build.5#9", "models/a=rf@v2.0.0"]
    for name in names:
        ours, theirs = tags.parse(name), parse_name(name)
        assert ours["artifact"] == theirs["name"] and ours["version"] == theirs.get("version"), name
        assert ours["stage"] == theirs.get("stage") and ours["action"] == theirs[Action.__name__.lower()].value, name
        assert int(ours["number"] or 0) == theirs.get("counter", 0), name
    for name in ("model", "model@latest", "v1.0.0", "-model@v1.0.0", "model@v1.0", "model@v01.0.0", "model@created"):
        assert tags.parse(name) is None, name


@given(st.from_regex(r"\A[a-z][a-z0-9/_=-]{0,6}[a-z0-9](@v[0-9]{1,2}\.[0-9]\.[0-9](-[a-z0-9.]{1,5})?(\+[a-z0-9.]{1,4})?!?"
                     r"|@deprecated|#[a-z][a-z0-9-]{0,5}[a-z0-9]!?)(#[0-9]{1,3})?\Z"))
@settings(max_examples=300, deadline=None)
def test_random_tag_names_parse_as_gto_parses_them(name: str) -> None:
    from gto.tag import parse_name

    theirs = parse_name(name, raise_on_fail=False)
    ours = tags.parse(name)
    assert (ours is None) == (not theirs)
    if ours:
        assert (ours["artifact"], ours["version"], ours["stage"]) == (
            theirs["name"], theirs.get("version"), theirs.get("stage"))


def test_unassignment_and_deregistration_read_as_gto_does(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = git(repo, "rev-parse", "HEAD").strip()
    gitml(repo, "register", capsys=capsys)
    second = commit_model(repo, 2)
    gitml(repo, "register", capsys=capsys)
    third = commit_model(repo, 3)
    gitml(repo, "register", capsys=capsys)
    for version in ("v0.0.1", "v0.0.2"):
        gitml(repo, "promote", "model", version, "--stage", "prod", capsys=capsys)
    # GTO's own tags: unassign v0.0.2 from prod (prod falls back to v0.0.1), deregister v0.0.3.
    git(repo, "tag", "-a", "model#prod!#3", second, "-m", "unassign")
    git(repo, "tag", "-a", "model@v0.0.3!#4", third, "-m", "deregister")
    git(repo, "tag", "model@v0.0.9", first)  # lightweight: no registry event, for GTO or gitml
    found = tags.versions(tags.read_tags(repo))["model"]
    assert [(v.version, v.stages) for v in found] == [("v0.0.2", []), ("v0.0.1", ["prod"])]
    shown = subprocess.run([str(Path(sys.executable).parent / "gto"), "show", "--json"], cwd=repo, capture_output=True,
                           text=True, check=True, env={**os.environ, **ENV})
    assert json.loads(shown.stdout)["model"] == {"version": "v0.0.2", "stage": {"prod": "v0.0.1"},
                                                 "registered": True, "active": True}
    # The deregistered commit is registered again with its own number, as GTO does (a counter keeps the tag new).
    code, out, _ = gitml(repo, "register", capsys=capsys)
    assert code == 0 and out.startswith("model@v0.0.3#5: registered model v0.0.3")
    assert [v.version for v in tags.versions(tags.read_tags(repo))["model"]] == ["v0.0.3", "v0.0.2", "v0.0.1"]


def test_1500_tags_read_in_one_call(tmp_path: Path, repo_root: Path) -> None:
    spec = importlib.util.spec_from_file_location("bench_registry", repo_root / "bench" / "registry.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    expected = bench.synthetic_registry(tmp_path / "big", 1500)
    assert len(tags.read_tags(tmp_path / "big")) == 1500
    out = subprocess.run([sys.executable, "-m", "gitml", "models", "--json"], cwd=tmp_path / "big",
                         capture_output=True, text=True, check=True).stdout
    assert bench.gitml_state(out) == expected
    assert len(json.loads(out)) == 1200
    assert tags.find("model-3", tmp_path / "big", stage="prod").version == expected["model-3"]["stage"]["prod"]


def test_a_deregistered_version_is_never_handed_out(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for n in (2, 3):
        gitml(repo, "register", capsys=capsys)
        commit_model(repo, n)
    gitml(repo, "register", capsys=capsys)
    for version in ("v0.0.1", "v0.0.2"):
        gitml(repo, "promote", "model", version, "--stage", "prod", capsys=capsys)
    code, out, _ = gitml(repo, "deregister", "model", "prod", capsys=capsys)  # the version now in prod: v0.0.2
    assert code == 0 and "v0.0.2" in out
    assert tags.find("model", repo, stage="prod").version == "v0.0.1"  # prod falls back, as GTO reads it
    gitml(repo, "deregister", "model", "v0.0.1", capsys=capsys)
    assert tags.find("model", repo, version="latest").version == "v0.0.3"
    refused(repo, capsys, "get", "model", "--stage", "prod", "-o", str(repo / "out"), match="prod")
    refused(repo, capsys, "get", "model", "--version", "v0.0.2", "-o", str(repo / "out"), match="v0.0.2")
    assert not (repo / "out").exists()


def test_a_gated_stage_recomputes_the_gate_and_trusts_no_tag_message(repo: Path) -> None:
    from gitml import config
    from gitml.core.errors import RegistryError
    from gitml.registry import write

    head = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "tag", "-a", "model@v0.0.1", "-m", "Registering artifact model version v0.0.1\n\ngitml-gate: pass")
    params = config.validate(yaml.safe_load((repo / "params.yaml").read_text()) | {
        "registry": {"artifact": "model", "gated_stages": ["prod"]}})
    before = tag_refs(repo)
    with pytest.raises(RegistryError, match="stage 'prod' is gated .*needs the gate's comparison"):
        write.promote(params, "model", "v0.0.1", "prod", repo)
    asked: list[tuple[str, str | None]] = []

    def compare(verdict: str) -> write.Compare:
        def judged(candidate: str, baseline: str | None) -> write.Judged:
            asked.append((candidate, baseline))
            return write.Judged(verdict, "The candidate fails the promotion policy on accuracy.", ["accuracy"])
        return judged

    with pytest.raises(RegistryError, match="recomputed against no baseline .* fails on accuracy"):
        write.promote(params, "model", "v0.0.1", "prod", repo, compare=compare("fail"))
    with pytest.raises(RegistryError, match="the gate could not compare it"):
        write.promote(params, "model", "v0.0.1", "prod", repo, compare=compare("error"))
    assert tag_refs(repo) == before and asked == [(head, None), (head, None)]
    created = write.promote(params, "model", "v0.0.1", "prod", repo, compare=compare("pass"))
    assert tags.trailers(git(repo, "tag", "-l", "--format=%(contents)", created.tag)) == {
        "gitml-gate": "pass", "gitml-baseline": "none"}
    # The next version is compared with the holder; --force --reason skips the comparison, and says why.
    second = commit_model(repo, 2)
    git(repo, "tag", "-a", "model@v0.0.2", "-m", "Registering artifact model version v0.0.2")
    with pytest.raises(RegistryError, match=r"against v0.0.1 \(now in 'prod'\)"):
        write.promote(params, "model", "v0.0.2", "prod", repo, compare=compare("fail"))
    assert asked[-1] == (second, head)
    forced = write.promote(params, "model", "v0.0.2", "prod", repo, force=True, reason="rollback drill",
                           compare=compare("fail"))
    assert len(asked) == 4 and tags.trailers(git(repo, "tag", "-l", "--format=%(contents)", forced.tag)) == {
        "gitml-forced": "rollback drill"}
