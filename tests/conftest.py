"""Shared fixtures: valid params built from the repository's own composition, small data, temp projects,
and an S3-compatible server on 127.0.0.1 (moto's standalone server) for DVC remotes.

Every fixture that writes works in `tmp_path` and chdirs there, so stage paths (which are
relative, from params) land in the test's own folder and never in the repository.
"""

from __future__ import annotations

import copy
import itertools
import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from subprocess import CompletedProcess
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
# `stages/` is a top-level package of the repository, not of the installed library.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from helpers import init, run  # noqa: E402

from gitml import config, data  # noqa: E402

_REPO_PARAMS: dict[str, Any] = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))

#: A synthetic source small enough that the whole pipeline runs in about a second.
SMALL_SOURCE = {"kind": "synthetic", "n_rows": 160, "n_numeric": 3, "n_categorical": 2, "n_classes": 2, "noise": 0.3}


def set_key(raw: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    """Set `a.b.c` in a nested mapping (creating levels as needed); returns the mapping."""
    *parents, leaf = dotted.split(".")
    node = raw
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value
    return raw


def changed(raw: dict[str, Any], changes: dict[str, Any] | None = None) -> dict[str, Any]:
    """A deep copy of `raw` with dotted-key `changes` applied."""
    result = copy.deepcopy(raw)
    for dotted, value in (changes or {}).items():
        set_key(result, dotted, value)
    return result


def temp_files(root: Path) -> list[Path]:
    """Temporary files an atomic write would leave behind if it failed to clean up."""
    return sorted(path for path in Path(root).rglob("*") if path.is_file() and path.name.endswith(".tmp"))


def snapshot(paths: Iterable[Path]) -> dict[Path, bytes]:
    """The exact bytes of each file, to prove a failing run left them alone."""
    return {Path(path): Path(path).read_bytes() for path in paths}


@pytest.fixture
def repo_params() -> dict[str, Any]:
    """The repository's committed params.yaml as a dict (a fresh copy per test)."""
    return copy.deepcopy(_REPO_PARAMS)


@pytest.fixture
def small_raw(repo_params: dict[str, Any]) -> dict[str, Any]:
    """Valid params for a small synthetic classification run with a fast model."""
    return changed(
        repo_params,
        {
            "data": {"source": dict(SMALL_SOURCE), "task": "classification", "target": "target"},
            "model.n_estimators": 10,
            "evaluate.importance.n_repeats": 2,
            "evaluate.curve_points": 20,
        },
    )


@pytest.fixture
def make_params(small_raw: dict[str, Any]) -> Callable[..., config.Params]:
    """Validated Params from `small_raw` with dotted-key changes, e.g. {"data.task": "regression"}."""

    def make(changes: dict[str, Any] | None = None, raw: dict[str, Any] | None = None) -> config.Params:
        return config.validate(changed(small_raw if raw is None else raw, changes))

    return make


@pytest.fixture
def small_params(make_params: Callable[..., config.Params]) -> config.Params:
    return make_params()


@pytest.fixture
def small_frame(small_params: config.Params):
    """The synthetic data `small_params` describes."""
    return data.load(small_params.data, small_params.seed)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`tmp_path`, made the current directory."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def write_params(workdir: Path, small_raw: dict[str, Any]) -> Callable[..., Path]:
    """Write params (default `small_raw`, with dotted-key changes) into the temp dir; returns the path."""

    def write(
        changes: dict[str, Any] | None = None, raw: dict[str, Any] | None = None, name: str = "params.yaml"
    ) -> Path:
        path = workdir / name
        path.write_text(yaml.safe_dump(changed(small_raw if raw is None else raw, changes), sort_keys=False))
        return path

    return write


@pytest.fixture
def project(workdir: Path) -> Path:
    """A temp copy of the repository's conf/ and committed params.yaml, as the current directory."""
    shutil.copytree(ROOT / "conf", workdir / "conf")
    shutil.copy2(ROOT / "params.yaml", workdir / "params.yaml")
    return workdir


# --- S3: `s3_remote(project)` points a project's DVC remote at a fresh bucket on a moto server,
# exactly as the README documents (`dvc remote add` + `dvc remote modify ... endpointurl`); the
# credentials go to `.dvc/config.local`, as they would for a real team bucket.

#: moto accepts any credentials; these never leave 127.0.0.1.
S3_CREDENTIALS = {"access_key_id": "testing", "secret_access_key": "testing"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """The URL of a moto S3 server on 127.0.0.1, for the whole test session."""
    moto_server = pytest.importorskip("moto.server")
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_remote(s3_endpoint: str) -> Callable[[Path], str]:
    """A function making a new bucket and setting it as `project`'s default DVC remote; returns its URL."""
    import boto3

    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    counter = itertools.count()

    def configure(project: Path, name: str = "team") -> str:
        bucket = f"gitml-test-{os.getpid()}-{next(counter)}"
        client.create_bucket(Bucket=bucket)
        url = f"s3://{bucket}/dvcstore"
        dvc = [str(Path(sys.executable).parent / "dvc")]
        for args in (
            ["remote", "add", "--force", "--default", name, url],
            ["remote", "modify", name, "endpointurl", s3_endpoint],
            *(["remote", "modify", "--local", name, key, value] for key, value in S3_CREDENTIALS.items()),
        ):
            subprocess.run([*dvc, *args], cwd=project, check=True, capture_output=True)
        return url

    return configure


#: Branches of the gate project: each edits conf/model/random_forest.yaml of the baseline
#: (a depth-2 forest of 20 trees) and reruns the pipeline.
BRANCHES = {
    "worse": ("max_depth: 2", "max_depth: 1"),  # a crippled forest
    "better": ("max_depth: 2", "max_depth: null"),
    "noise": ("n_estimators: 20", "n_estimators: 25"),  # a params-only change within noise
}


@dataclass
class GateProject:
    """A project with a baseline on main, one branch per BRANCHES entry, and `gitml gate` run on each."""

    path: Path
    remote: Path
    baseline: str
    outcomes: dict[str, CompletedProcess[str]] = field(default_factory=dict)
    reports: dict[str, dict] = field(default_factory=dict)
    markdown: dict[str, str] = field(default_factory=dict)


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))


@pytest.fixture(scope="session")
def gate_project(tmp_path_factory: pytest.TempPathFactory) -> GateProject:
    root = tmp_path_factory.mktemp("gate")
    path = init(root / "demo")
    model = path / "conf" / "model" / "random_forest.yaml"
    _edit(model, "max_depth: null", "max_depth: 2")
    _edit(path / "conf" / "evaluate" / "default.yaml", "n_repeats: 5", "n_repeats: 1")
    run(path, "dvc", "remote", "modify", "storage", "url", str(root / "remote"))
    run(path, "gitml", "compose")
    run(path, "dvc", "repro")
    run(path, "git", "add", "--all")
    run(path, "git", "commit", "-qm", "baseline: depth-2 forest")
    project = GateProject(path, root / "remote", run(path, "git", "rev-parse", "HEAD").stdout.strip())
    for branch, (old, new) in BRANCHES.items():  # `gitml repro` reruns what the last branch's outputs lack
        run(path, "git", "checkout", "-qb", branch, "main")
        _edit(model, old, new)
        run(path, "gitml", "repro")
        run(path, "git", "add", "--all")
        run(path, "git", "commit", "-qm", f"{branch}: {new}")
        project.outcomes[branch] = run(path, "gitml", "gate", check=False)
        project.reports[branch] = json.loads((path / "reports" / "gate.json").read_text())
        project.markdown[branch] = (path / "reports" / "gate" / "report.md").read_text()
    run(path, "git", "checkout", "-q", "main")
    run(path, "dvc", "checkout", "--quiet")
    return project
