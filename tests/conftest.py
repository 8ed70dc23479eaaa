"""Shared fixtures of the whole suite.

- params: valid params built from the repository's own composition and small data;
- projects: temp folders made current, real projects made by `gitml init`, commands run
  with this venv first on PATH;
- servers: a moto S3 server on 127.0.0.1 for DVC remotes; `gitml serve` as a real server;
- GitHub: a recording stand-in for `gh`, and `workflow`, which runs a workflow file's own
  `run:` steps in order as the runner would.

Every fixture that writes works in `tmp_path` (and chdirs there when it says so), so stage
paths (relative, from params) land in the test's own folder and never in the repository.
"""

from __future__ import annotations

import copy
import fcntl
import itertools
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from subprocess import CompletedProcess
from typing import Any

# DVC binds its log handlers to sys.stdout/sys.stderr as they are when it is first imported: here, the
# session's streams, not those of whichever test imports it first (closed after that test, they made
# every later in-process DVC warning a LoggingException: tests/vcs/test_worktree.py failed that way).
import dvc.logger  # noqa: F401
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
# `stages/` is a top-level package of the repository, not of the installed library.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from gitml import config  # noqa: E402

_REPO_PARAMS: dict[str, Any] = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))

#: A synthetic source small enough that the whole pipeline runs in about a second.
_SMALL_SOURCE = {"kind": "synthetic", "n_rows": 160, "n_numeric": 3, "n_categorical": 2, "n_classes": 2, "noise": 0.3}


# --- params -----------------------------------------------------------------------------------

def _set_key(raw: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    *parents, leaf = dotted.split(".")
    node = raw
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value
    return raw


def _changed(raw: dict[str, Any], changes: dict[str, Any] | None = None) -> dict[str, Any]:
    result = copy.deepcopy(raw)
    for dotted, value in (changes or {}).items():
        _set_key(result, dotted, value)
    return result


@pytest.fixture
def repo_root() -> Path:
    """The repository's root folder (its conf/, params.yaml, workflows: the template)."""
    return ROOT


@pytest.fixture
def edit_params() -> Callable[..., dict[str, Any]]:
    """`edit(raw, {"a.b": 1})`: a deep copy of a params mapping with dotted-key changes."""
    return _changed


@pytest.fixture
def repo_params() -> dict[str, Any]:
    """The repository's committed params.yaml as a dict (a fresh copy per test)."""
    return copy.deepcopy(_REPO_PARAMS)


@pytest.fixture
def small_source() -> dict[str, Any]:
    """A synthetic `data.source` small enough that the whole pipeline runs in about a second."""
    return dict(_SMALL_SOURCE)


@pytest.fixture
def small_raw(repo_params: dict[str, Any]) -> dict[str, Any]:
    """Valid params for a small synthetic classification run with a fast model."""
    return _changed(
        repo_params,
        {
            "data": {"source": dict(_SMALL_SOURCE), "task": "classification", "target": "target"},
            "model.n_estimators": 10,
            "evaluate.importance.n_repeats": 2,
            "evaluate.curve_points": 20,
        },
    )


@pytest.fixture
def make_params(small_raw: dict[str, Any]) -> Callable[..., config.Params]:
    """Validated Params from `small_raw` with dotted-key changes, e.g. {"data.task": "regression"}."""

    def make(changes: dict[str, Any] | None = None, raw: dict[str, Any] | None = None) -> config.Params:
        return config.validate(_changed(small_raw if raw is None else raw, changes))

    return make


@pytest.fixture
def small_params(make_params: Callable[..., config.Params]) -> config.Params:
    return make_params()


@pytest.fixture
def small_frame(small_params: config.Params):
    """The synthetic data `small_params` describes."""
    from gitml.data import sources

    return sources.load(small_params.data, small_params.seed)


@pytest.fixture
def compose_raw() -> Callable[..., dict[str, Any]]:
    """`compose_raw(tmp_path, *overrides)`: the composition of conf/, every output path moved under tmp_path."""
    from gitml.config import compose

    def raw_params(tmp_path: Path, *overrides: str) -> dict[str, Any]:
        raw = yaml.safe_load(compose.compose(ROOT / "conf", overrides))
        raw["paths"] = {key: str(tmp_path / value) for key, value in raw["paths"].items()}
        return raw

    return raw_params


@pytest.fixture
def composed_params(compose_raw: Callable[..., dict[str, Any]]) -> Callable[..., config.Params]:
    """`composed_params(tmp_path, *overrides, features={...}, data={...})`: validated params from the
    composition, paths in tmp_path, `features` keys and whole sections replaced."""

    def params(tmp_path: Path, *overrides: str, features: dict[str, Any] | None = None,
               **sections: Any) -> config.Params:
        raw = compose_raw(tmp_path, *overrides)
        raw["features"].update(copy.deepcopy(features or {}))
        raw.update(copy.deepcopy(sections))
        return config.validate(raw)

    return params


@pytest.fixture
def synthetic_data() -> Callable[..., dict[str, Any]]:
    """`synthetic_data(n_rows, task, **source)`: a `data` section for the seeded synthetic source."""

    def synthetic(n_rows: int = 600, task: str = "classification", **source: Any) -> dict[str, Any]:
        return {"source": {"kind": "synthetic", "n_rows": n_rows, **source}, "task": task, "target": "target"}

    return synthetic


# --- files ------------------------------------------------------------------------------------

@pytest.fixture
def leftovers() -> Callable[[Path], list[Path]]:
    """`leftovers(root)`: temporary files an atomic write would leave behind if it failed to clean up."""

    def temp_files(root: Path) -> list[Path]:
        return sorted(path for path in Path(root).rglob("*") if path.is_file() and path.name.endswith(".tmp"))

    return temp_files


@pytest.fixture(scope="session")
def with_gaps() -> Callable[..., tuple[Path, Path]]:
    """`with_gaps(folder, n_rows=400)`: the same seeded rows written as a CSV file with empty cells and as a
    Parquet file with nulls (text `sex`, float `age`, integer `visits`, bool `smoker`, each with gaps)."""

    def write(folder: Path, n_rows: int = 400) -> tuple[Path, Path]:
        import numpy as np
        import pandas as pd

        rng = np.random.default_rng(7)
        gaps = {name: rng.random(n_rows) < share for name, share in
                (("sex", 0.15), ("age", 0.1), ("visits", 0.1), ("smoker", 0.05))}
        frame = pd.DataFrame({
            "sex": pd.Series(rng.choice(["F", "M"], n_rows), dtype=object).mask(gaps["sex"], None),
            "age": pd.Series(rng.normal(50, 12, n_rows).round(1)).mask(gaps["age"]),
            "visits": pd.Series(rng.integers(0, 9, n_rows), dtype="Int64").mask(gaps["visits"]),
            "smoker": pd.Series(rng.random(n_rows) < 0.3, dtype=object).mask(gaps["smoker"], None),
        })
        folder.mkdir(parents=True, exist_ok=True)
        frame.to_csv(folder / "rows.csv", index=False)
        frame.to_parquet(folder / "rows.parquet", index=False)
        return folder / "rows.csv", folder / "rows.parquet"

    return write


@pytest.fixture
def file_bytes() -> Callable[[Iterable[Path]], dict[Path, bytes]]:
    """`file_bytes(paths)`: the exact bytes of each file, to prove a failing run left them alone."""

    def snapshot(paths: Iterable[Path]) -> dict[Path, bytes]:
        return {Path(path): Path(path).read_bytes() for path in paths}

    return snapshot


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
        path.write_text(yaml.safe_dump(_changed(small_raw if raw is None else raw, changes), sort_keys=False))
        return path

    return write


@pytest.fixture
def project(workdir: Path) -> Path:
    """A temp copy of the repository's conf/ and committed params.yaml, as the current directory."""
    shutil.copytree(ROOT / "conf", workdir / "conf")
    shutil.copy2(ROOT / "params.yaml", workdir / "params.yaml")
    return workdir


# --- commands ---------------------------------------------------------------------------------

def _env() -> dict[str, str]:
    result = dict(os.environ)
    result["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{result['PATH']}"
    result.update(
        DO_NOT_TRACK="1",
        GIT_AUTHOR_NAME="gitml test",
        GIT_AUTHOR_EMAIL="test@gitml.local",
        GIT_COMMITTER_NAME="gitml test",
        GIT_COMMITTER_EMAIL="test@gitml.local",
    )
    result.pop("DVC_EXP_NAME", None)
    return result


def _run(cwd: Path, *command: str, check: bool = True, **kwargs: Any) -> CompletedProcess[str]:
    result = subprocess.run(command, cwd=cwd, env=kwargs.pop("env", None) or _env(), capture_output=True, text=True,
                            **kwargs)
    if check and result.returncode:
        raise AssertionError(f"{command} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


def _init(path: Path) -> Path:
    _run(path.parent, "gitml", "init", str(path), "--name", "demo")
    model = path / "conf" / "model" / "random_forest.yaml"
    model.write_text(model.read_text().replace("n_estimators: 100", "n_estimators: 20"))
    _run(path, "gitml", "compose")
    _run(path, "git", "commit", "-qam", "fast model for tests")
    return path


@pytest.fixture(scope="session")
def cmd_env() -> Callable[[], dict[str, str]]:
    """`cmd_env()`: the environment of every command: this venv first on PATH, a git identity, no telemetry."""
    return _env


@pytest.fixture(scope="session")
def run() -> Callable[..., CompletedProcess[str]]:
    """`run(cwd, *command, check=True, env=None)`: a command with `cmd_env()`; a failure fails the test."""
    return _run


@pytest.fixture(scope="session")
def new_project() -> Callable[[Path], Path]:
    """`new_project(path)`: a new project made by `gitml init`, with a fast model, committed."""
    return _init


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def free_port() -> Callable[[], int]:
    """`free_port()`: a TCP port on 127.0.0.1 nothing listens on."""
    return _free_port


# --- S3: `s3_remote(project)` points a project's DVC remote at a fresh bucket on a moto server,
# exactly as the README documents (`dvc remote add` + `dvc remote modify ... endpointurl`); the
# credentials go to `.dvc/config.local`, as they would for a real team bucket.

#: moto accepts any credentials; these never leave 127.0.0.1.
_S3_CREDENTIALS = {"access_key_id": "testing", "secret_access_key": "testing"}


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """The URL of a moto S3 server on 127.0.0.1, for the whole test session."""
    moto_server = pytest.importorskip("moto.server")
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=_free_port(), verbose=False)
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
            *(["remote", "modify", "--local", name, key, value] for key, value in _S3_CREDENTIALS.items()),
        ):
            subprocess.run([*dvc, *args], cwd=project, check=True, capture_output=True)
        return url

    return configure


# --- GitHub: a recording `gh`, and a workflow's own `run:` steps ---------------------------------------

_GH_STANDIN = '''#!{python}
"""A recording stand-in for the GitHub CLI: logs each call to $GH_LOG and answers as GitHub would."""
import json, os, shutil, sys
from pathlib import Path
args = sys.argv[1:]
entry = {{"args": args, "payload": json.loads(sys.stdin.read()) if "--input" in args else None,
          "token": os.environ.get("GH_TOKEN")}}
if "--body-file" in args:
    entry["body"] = Path(args[args.index("--body-file") + 1]).read_text()
with open(os.environ["GH_LOG"], "a") as log:
    log.write(json.dumps(entry) + "\\n")
if os.environ.get("GH_FAIL"):
    print(os.environ["GH_FAIL"], file=sys.stderr)
    sys.exit(1)
if "--paginate" in args:
    path = os.environ.get("GH_COMMENTS")
    print(open(path).read() if path else "[]")
elif args[:2] == ["issue", "list"]:
    path = os.environ.get("GH_ISSUES")
    print(open(path).read() if path else "[]")
elif args[:2] == ["issue", "create"]:
    print("https://github.example/acme/demo/issues/7")
elif args[:2] == ["pr", "create"]:
    print("https://github.example/acme/demo/pull/8")
elif args[:2] == ["run", "list"]:
    print(os.environ.get("GH_RUN_ID", ""))  # what `--jq '.[0].databaseId // empty'` prints
elif args[:2] == ["run", "download"]:
    source = os.environ.get("GH_ARTIFACT")
    if not source:
        print("no artifact matches any of the names or patterns provided", file=sys.stderr)
        sys.exit(1)
    shutil.copytree(source, args[args.index("--dir") + 1], dirs_exist_ok=True)
elif args[:1] == ["api"]:
    print(json.dumps({{"id": 4242}}))
'''


@dataclass(frozen=True)
class GhStandin:
    """A recording `gh` in `folder` (put it first on PATH, and GH_LOG=log in its environment)."""

    folder: Path
    log: Path

    def calls(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log.read_text().splitlines()] if self.log.is_file() else []


@pytest.fixture(scope="session")
def gh_standin() -> Callable[[Path], GhStandin]:
    """`gh_standin(folder)`: write the recording `gh` into `folder`; its calls go to folder/gh.log."""

    def make(folder: Path) -> GhStandin:
        folder.mkdir(parents=True, exist_ok=True)
        gh = folder / "gh"
        gh.write_text(_GH_STANDIN.format(python=sys.executable))
        gh.chmod(0o755)
        return GhStandin(folder, folder / "gh.log")

    return make


_TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+(?:\.\d+)?)|(?P<op>==|!=|&&|\|\||[!(),])"
                    r"|(?P<name>[A-Za-z_][\w.-]*))")


class _Expression:
    """GitHub's expression language, as far as workflows here use it: literals, context paths
    (`github.event_name`, `steps.ID.outputs.KEY`, `inputs.X`, `secrets.X`, `env.X`), `!`, `==`,
    `!=`, `&&`, `||` (which yield a value, as in GitHub) and the status and `hashFiles` functions.
    A name or function the test does not know fails the test rather than guessing."""

    def __init__(self, text: str, context: dict[str, Any], cwd: Path, failed: bool) -> None:
        self.tokens, self.context, self.cwd, self.failed = self._tokenize(text), context, cwd, failed

    @staticmethod
    def _tokenize(text: str) -> list[tuple[str, str]]:
        tokens, pos = [], 0
        while pos < len(text.rstrip()):
            match = _TOKEN.match(text, pos)
            assert match, f"the workflow runner cannot read the expression {text!r} at {text[pos:]!r}"
            kind = match.lastgroup
            tokens.append((kind, match.group(kind)))
            pos = match.end()
        return tokens

    def value(self) -> Any:
        result = self._or()
        assert not self.tokens, f"the workflow runner did not understand {self.tokens!r}"
        return result

    def _take(self, text: str) -> bool:
        if self.tokens and self.tokens[0] == ("op", text):
            self.tokens.pop(0)
            return True
        return False

    def _or(self) -> Any:
        left = self._and()
        while self._take("||"):
            right = self._and()
            left = left or right
        return left

    def _and(self) -> Any:
        left = self._compare()
        while self._take("&&"):
            right = self._compare()
            left = left and right
        return left

    def _compare(self) -> Any:
        left = self._unary()
        for op in ("==", "!="):
            if self._take(op):
                right = self._unary()
                if None in (left, right) and {type(left), type(right)} <= {str, type(None)}:
                    left, right = left or "", right or ""  # GitHub coerces null and '' alike (both to 0)
                equal = str(left).lower() == str(right).lower() if {type(left), type(right)} <= {str} \
                    else left == right
                return equal if op == "==" else not equal
        return left

    def _unary(self) -> Any:
        if self._take("!"):
            return not self._unary()
        if self._take("("):
            value = self._or()
            assert self._take(")"), "unbalanced parentheses"
            return value
        kind, text = self.tokens.pop(0)
        if kind == "str":
            return text[1:-1].replace("''", "'")
        if kind == "num":
            return float(text)
        if self._take("("):
            args = []
            while not self._take(")"):
                args.append(self._or())
                self._take(",")
            return self._call(text, args)
        return self._lookup(text)

    def _call(self, name: str, args: list[Any]) -> Any:
        if name in ("success", "failure"):
            return self.failed == (name == "failure")
        if name in ("always",):
            return True
        if name == "cancelled":
            return False
        if name == "hashFiles":
            return "hash" if any(any(self.cwd.glob(pattern)) for pattern in args) else ""
        if name in ("startsWith", "endsWith", "contains"):
            method = {"startsWith": "startswith", "endsWith": "endswith", "contains": "__contains__"}[name]
            return getattr(str(args[0]).lower(), method)(str(args[1]).lower())
        raise AssertionError(f"the workflow runner does not know the function {name}()")

    def _lookup(self, path: str) -> Any:
        if path in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[path]
        found: Any = self.context
        for part in path.split("."):
            assert isinstance(found, dict) and part in found, f"the test does not provide ${{{{ {path} }}}}"
            found = found[part]
        return found


@dataclass
class JobRun:
    """What a job's run did: the result of each step that ran (by id, else name, else command),
    their outputs (by step id), what the steps wrote to $GITHUB_STEP_SUMMARY, and whether the
    job was skipped by its `if:`."""

    steps: dict[str, CompletedProcess[str]] = field(default_factory=dict)
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)
    skipped: bool = False
    summary: str = ""

    @property
    def ok(self) -> bool:
        return all(result.returncode == 0 for result in self.steps.values())


class Workflow:
    """A workflow file whose jobs run step by step, as GitHub's runner runs them (bash -e, pipefail).

    `uses:` steps are skipped (the test prepares the checkout and the Python); `if:` conditions,
    `${{ }}` in `env:` and `run:`, step outputs ($GITHUB_OUTPUT), exported variables
    ($GITHUB_ENV) and the job summary ($GITHUB_STEP_SUMMARY) work as on GitHub. The workflow
    file is what is tested, not a copy of it.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.spec = yaml.safe_load(path.read_text(encoding="utf-8"))

    @property
    def on(self) -> Any:
        return self.spec[True]  # YAML reads `on` as True

    def expand(self, text: str, context: dict[str, Any], cwd: Path, failed: bool = False) -> str:
        def value(match: re.Match[str]) -> str:
            found = _Expression(match.group(1), context, cwd, failed).value()
            return "" if found is None else str(found).lower() if isinstance(found, bool) else str(found)

        return re.sub(r"\$\{\{(.*?)\}\}", value, str(text))

    def condition(self, text: Any, context: dict[str, Any], cwd: Path, failed: bool) -> bool:
        if text is None:
            return not failed
        text = str(text).strip()
        inner = re.fullmatch(r"\$\{\{(.*)\}\}", text, flags=re.S)
        found = _Expression(inner.group(1) if inner else text, context, cwd, failed).value()
        if not re.search(r"\b(always|failure|cancelled|success)\(", text) and failed:
            return False  # a condition without a status function implies success()
        return bool(found)

    def run_job(self, job: str, cwd: Path, env: dict[str, str], context: dict[str, Any] | None = None,
                stop_on_failure: bool = False) -> JobRun:
        """Run `job`; `context` holds `github`, `inputs`, `secrets`, `vars` (steps and env are added)."""
        spec = self.spec["jobs"][job]
        context = {"github": {}, "inputs": {}, "secrets": {}, "vars": {}, **(context or {}), "steps": {}}
        result = JobRun()
        if not self.condition(spec.get("if"), context, cwd, failed=False):
            result.skipped = True
            return result
        workflow_env = {k: self.expand(v, context, cwd) for k, v in (self.spec.get("env") or {}).items()}
        context["env"] = {**workflow_env}
        job_env = {**workflow_env, **{k: self.expand(v, context, cwd) for k, v in (spec.get("env") or {}).items()}}
        exported: dict[str, str] = {}
        failed = False
        files = cwd.parent / f".{cwd.name}-runner"
        files.mkdir(exist_ok=True)
        summary = files / "summary"
        summary.write_text("")
        for index, step in enumerate(spec["steps"]):
            key = step.get("name") or step.get("id") or step.get("run") or f"step {index}"
            context["env"] = {**job_env, **exported}
            if "uses" in step or not self.condition(step.get("if"), context, cwd, failed):
                continue
            step_env = {k: self.expand(v, context, cwd, failed) for k, v in (step.get("env") or {}).items()}
            output, exported_file = files / "output", files / "env"
            output.write_text("")
            exported_file.write_text("")
            script = self.expand(step["run"], context, cwd, failed)
            process = subprocess.run(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
                cwd=cwd / step.get("working-directory", "."), capture_output=True, text=True,
                env={**env, **job_env, **exported, **step_env, "GITHUB_OUTPUT": str(output),
                     "GITHUB_ENV": str(exported_file), "GITHUB_STEP_SUMMARY": str(summary)},
            )
            result.steps[key] = process
            outputs = _key_values(output.read_text())
            exported.update(_key_values(exported_file.read_text()))
            if step.get("id"):
                outputs_ = {"outputs": outputs, "outcome": "success" if process.returncode == 0 else "failure"}
                context["steps"][step["id"]] = outputs_
                result.outputs[step["id"]] = outputs
            if process.returncode and not step.get("continue-on-error"):
                failed = True
                if stop_on_failure:
                    break
        result.summary = summary.read_text()
        return result


def _key_values(text: str) -> dict[str, str]:
    """`KEY=value` lines and `KEY<<DELIM` blocks, as GitHub reads $GITHUB_OUTPUT and $GITHUB_ENV."""
    found, lines = {}, iter(text.splitlines())
    for line in lines:
        if "<<" in line and "=" not in line.split("<<", 1)[0]:
            name, delimiter = line.split("<<", 1)
            found[name] = "\n".join(iter(lambda: next(lines), delimiter))
        elif "=" in line:
            name, value = line.split("=", 1)
            found[name] = value
    return found


@pytest.fixture(scope="session")
def workflow() -> Callable[[Path], Workflow]:
    """`workflow(path)`: a workflow file whose jobs the test runs step by step (`run_job`)."""
    return Workflow


@pytest.fixture(scope="session")
def pip_standin() -> Callable[[Path], Path]:
    """`pip_standin(folder)`: a recording `pip` in `folder` (gitml is installed already); returns its log."""

    def make(folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        log = folder / "pip.log"
        pip = folder / "pip"
        pip.write_text(f"#!/bin/sh\necho \"$@\" >> {log}\n")
        pip.chmod(0o755)
        return log

    return make


# --- a real browser: Debian's Chromium driven by Playwright -----------------------------------------

_CHROMIUM = next((shutil.which(name) for name in ("chromium", "chromium-browser") if shutil.which(name)), None)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium (Debian's, never a downloaded build) driven by Playwright, for one module.

    Not for the session: Playwright's sync API keeps its event loop running in the main thread
    while it is open, and `asyncio.run` in any later test of the same worker would refuse to start.
    """
    if _CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (.ci/run installs it)")
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is a dev dependency")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=_CHROMIUM, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where tests keep what a person may want to look at afterwards (screenshots): build/test-artifacts."""
    folder = ROOT / "build" / "test-artifacts"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# --- serving: tiny models trained with the library, and real servers on 127.0.0.1 ------------------

@dataclass(frozen=True)
class ServeKit:
    """Tiny models and requests for the serving tests (and monitoring's, which serve for real)."""

    INPUTS: tuple[str, ...] = ("x", "k", "color", "flag")
    CONTRACT: dict[str, Any] = field(default_factory=lambda: {
        "x": {"dtype": "float", "role": "numeric", "min": -5.0, "max": 5.0},
        "k": {"dtype": "int", "role": "numeric", "max_null_fraction": 0.2},
        "color": {"dtype": "str", "role": "categorical", "categories": ["red", "green", "blue"]},
        "flag": {"dtype": "bool", "role": "categorical", "categories": [False, True]},
    })

    @staticmethod
    def frame(n: int = 160, seed: int = 0) -> Any:
        """Mixed dtypes: a float, a nullable integer, a string category and a bool; target `label`."""
        import numpy as np
        import pandas as pd

        rng = np.random.default_rng(seed)
        x = rng.uniform(-3, 3, size=n)
        k = rng.integers(0, 5, size=n).astype(float)
        k[::10] = np.nan
        color = rng.choice(["red", "green", "blue"], size=n)
        flag = rng.choice([True, False], size=n)
        signal = x + (color == "red") - 0.5 * flag + np.nan_to_num(k) * 0.1
        return pd.DataFrame({
            "x": x, "k": pd.array(k, dtype="Float64").astype("Int64"), "color": color, "flag": flag,
            "label": np.where(signal > 0.3, "yes", "no"), "amount": signal * 10,
        })

    def train_model(self, directory: Path, *, task: str = "classification", n_estimators: int = 8, seed: int = 0,
                    version: dict[str, Any] | None = None, model: dict[str, Any] | None = None,
                    numeric: list[dict[str, Any]] | None = None, complete: bool = False) -> Path:
        """Fit with the train stage's library and write a model directory (model, signature, version)."""
        from gitml.core import io
        from gitml.model import modelio
        from gitml.train import fit

        target = "label" if task == "classification" else "amount"
        columns = {**self.CONTRACT, target: {"dtype": "str", "role": "categorical", "categories": ["no", "yes"]}
                   if task == "classification" else {"dtype": "float", "role": "numeric"}}
        estimator = "RandomForestClassifier" if task == "classification" else "RandomForestRegressor"
        impute = [{"_target_": "sklearn.impute.SimpleImputer", "strategy": "median"}]
        one_hot = [{"_target_": "sklearn.impute.SimpleImputer", "strategy": "most_frequent"},
                   {"_target_": "sklearn.preprocessing.OneHotEncoder", "handle_unknown": "ignore"}]
        params = config.validate({
            "data": {"source": {"kind": "file", "path": "unused.csv"}, "task": task, "target": target,
                     "contract": {"columns": columns}},
            "features": {"numeric": impute if numeric is None else numeric, "categorical": one_hot},
            "model": model or {"_target_": f"sklearn.ensemble.{estimator}", "n_estimators": n_estimators,
                               "random_state": seed, "n_jobs": 1},
        })
        data = self.frame(seed=seed).drop(columns=["amount" if task == "classification" else "label"])
        if complete:  # no missing values in training (the signature still allows them)
            data["k"] = data["k"].fillna(0)
        fitted = fit.fit(params, data, params.model.spec())
        directory.mkdir(parents=True, exist_ok=True)
        modelio.save_model(fitted, directory / modelio.MODEL_FILE)
        io.write_json(directory / modelio.SIGNATURE_FILE, fit.signature(params, fitted))
        if version is not None:
            io.write_json(directory / modelio.VERSION_FILE, version)
        return directory

    def records(self, n: int = 5, seed: int = 1) -> list[dict[str, Any]]:
        """Valid request rows as JSON values (nullable `k` is None where missing)."""
        import pandas as pd

        rows = self.frame(n, seed)[list(self.INPUTS)]
        return [{"x": float(row.x), "k": None if pd.isna(row.k) else int(row.k), "color": str(row.color),
                 "flag": bool(row.flag)} for row in rows.itertuples(index=False)]

    def as_frame(self, rows: list[dict[str, Any]]) -> Any:
        """Request rows as the model sees them (what in-process predict gets)."""
        import pandas as pd

        table = pd.DataFrame(rows, columns=list(self.INPUTS))
        table["k"] = table["k"].astype("float64")
        table["color"] = table["color"].astype(object)
        return table

    @staticmethod
    @contextmanager
    def thread_server(app: Any) -> Iterator[str]:
        """A real uvicorn server on 127.0.0.1 in a thread; yields its base URL; stops it (lifespan shutdown)."""
        import uvicorn

        port = _free_port()
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
            thread.join(30)

    @staticmethod
    @contextmanager
    def cli_server(cwd: Path, *args: str, extra_env: dict[str, str] | None = None,
                   ready: str = "/ready") -> Iterator[tuple[str, subprocess.Popen]]:
        """`gitml serve ARGS` as a subprocess on a free port; yields (base URL, process); SIGTERM after."""

        port = _free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "gitml", "serve", "--port", str(port), *args],
            cwd=cwd, env={**_env(), **(extra_env or {})}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(process, url + ready, 180, "gitml serve")
            yield url, process
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


@pytest.fixture(scope="session")
def serve_kit() -> ServeKit:
    return ServeKit()


# --- MLflow, the peer of `gitml serve`: its real scoring server, installed in a virtualenv of its own ----------

#: What the MLflow virtualenv installs: MLflow 3, and the scikit-learn and skops of this venv, so it loads our models.
_MLFLOW_SPEC = "mlflow==3.*"


@dataclass(frozen=True)
class MlflowVenv:
    """A virtualenv holding MLflow (`python`, and `bin` to put first on PATH for `mlflow models serve`)."""

    root: Path

    @property
    def bin(self) -> Path:
        return self.root / "bin"

    @property
    def python(self) -> Path:
        return self.bin / "python"

    def env(self) -> dict[str, str]:
        """MLflow starts `uvicorn` from PATH: its own bin first; no tracking server, no telemetry. The fitted
        pipeline holds gitml's own steps (gitml.features.transforms, gitml.model.estimators), so this checkout's
        `src` is MLflow's only PYTHONPATH entry: its venv imports them (they need only numpy, scikit-learn,
        pydantic and PyYAML, which MLflow brings) and serves the very same model, with no other package of ours."""
        env = {**_env(), "PATH": f"{self.bin}{os.pathsep}{os.environ['PATH']}", "MLFLOW_TRACKING_URI":
               f"file://{self.root}/mlruns", "DO_NOT_TRACK": "1", "MLFLOW_DISABLE_TELEMETRY": "true",
               "PYTHONPATH": str(ROOT / "src")}
        env.pop("VIRTUAL_ENV", None)
        return env


def _mlflow_venv(root: Path) -> MlflowVenv:
    """Create (once) a virtualenv with MLflow; GITML_TEST_MLFLOW_VENV names an existing one to reuse."""
    import importlib.metadata

    given = os.environ.get("GITML_TEST_MLFLOW_VENV")
    venv = MlflowVenv(Path(given) if given else root)
    if (venv.root / ".installed").is_file():
        return venv
    pins = [_MLFLOW_SPEC] + [f"{name}=={importlib.metadata.version(name)}" for name in ("scikit-learn", "skops")]
    started = time.monotonic()
    uv = str(Path(sys.executable).parent / "uv")  # seconds where pip takes minutes (a dev dependency)
    for command in ([uv, "venv", "--quiet", "--python", sys.executable, str(venv.root)],
                    [uv, "pip", "install", "--quiet", "--python", str(venv.python), *pins]):
        result = subprocess.run(command, capture_output=True, text=True, timeout=900)
        if result.returncode:
            pytest.skip(f"MLflow could not be installed in its own virtualenv ({' '.join(pins)}): "
                        f"{(result.stderr or result.stdout).strip().splitlines()[-1:]}")
    (venv.root / ".installed").write_text(f"{' '.join(pins)} in {time.monotonic() - started:.0f} s\n")
    return venv


@pytest.fixture(scope="session")
def mlflow_venv(tmp_path_factory: pytest.TempPathFactory) -> MlflowVenv:
    """MLflow 3 in a virtualenv of its own, installed once per test session (seconds, with uv)."""
    return _mlflow_venv(tmp_path_factory.getbasetemp() / "mlflow-venv")


def _wait_ready(process: subprocess.Popen, url: str, timeout: float, what: str) -> None:
    """Poll `url` until it answers 200; fail with the server's stderr if it exits, or after `timeout` s."""
    import httpx

    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise AssertionError(f"{what} exited {process.returncode}: {process.stderr.read()}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not become ready within {timeout:g} s")
        time.sleep(0.1)


def _to_mlflow_script(root: Path) -> str:
    """The script (run in MLflow's venv) saving a gitml model directory as an MLflow model (the same fitted
    pipeline, the signature's columns as MLflow column types): bench/serve.py's, so both compare one thing."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_serve", root / "bench" / "serve.py")
    bench = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, bench)  # its dataclasses look their module up there
    spec.loader.exec_module(bench)
    return bench.TO_MLFLOW


@pytest.fixture(scope="session")
def mlflow_server(mlflow_venv: MlflowVenv) -> Callable[[Path, Path], Any]:
    """`mlflow_server(model_dir, workdir)`: a context manager serving the gitml model directory with
    `mlflow models serve` (MLflow's real scoring server) on 127.0.0.1; yields its base URL."""
    script = _to_mlflow_script(ROOT)

    @contextmanager
    def serve(model_dir: Path, workdir: Path) -> Iterator[str]:
        target = workdir / "mlflow-model"
        _run(workdir, str(mlflow_venv.python), "-c", script, str(model_dir), str(target), env=mlflow_venv.env())
        port = _free_port()
        process = subprocess.Popen([str(mlflow_venv.bin / "mlflow"), "models", "serve", "-m", str(target),
                                    "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port)],
                                   cwd=workdir, env=mlflow_venv.env(), stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, text=True, start_new_session=True)
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(process, url + "/ping", 180, "mlflow models serve")
            yield url
        finally:  # MLflow's CLI starts uvicorn as a child: stop the session it leads
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    return serve


# --- the gate project: a baseline on main and one branch per kind of change --------------------

#: Branches of the gate project: each edits conf/model/random_forest.yaml of the baseline
#: (a depth-2 forest of 20 trees) and reruns the pipeline.
_BRANCHES = {
    "worse": ("max_depth: 2", "max_depth: 1"),  # a crippled forest
    "better": ("max_depth: 2", "max_depth: null"),
    "noise": ("n_estimators: 20", "n_estimators: 25"),  # a params-only change within noise
}


@dataclass
class GateProject:
    """A project with a baseline on main, one branch per kind of change, and `gitml gate` run on each.

    `origin` is a bare repository holding main and every branch, as GitHub would; `outcomes`,
    `reports` and `markdown` are the local run of `gitml gate` on each branch.
    """

    path: Path
    remote: Path
    baseline: str
    origin: Path
    outcomes: dict[str, CompletedProcess[str]] = field(default_factory=dict)
    reports: dict[str, dict] = field(default_factory=dict)
    markdown: dict[str, str] = field(default_factory=dict)


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))


@pytest.fixture(scope="session")
def gate_project(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> GateProject:
    """Built once per run (minutes): under xdist the first worker that needs it builds it while the
    others wait, and each worker gets its own copy to change (checkouts, tags); the DVC remote,
    content-addressed, is shared."""
    if worker_id == "master":
        return _build_gate_project(tmp_path_factory.mktemp("gate"))
    shared = tmp_path_factory.getbasetemp().parent / "gate"
    with open(shared.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (shared / "built.json").is_file():
            built = _build_gate_project(shared)
            outcomes = {name: [done.returncode, done.stdout, done.stderr] for name, done in built.outcomes.items()}
            (shared / "built.json").write_text(json.dumps({"baseline": built.baseline, "outcomes": outcomes,
                                                           "reports": built.reports, "markdown": built.markdown}))
    built = json.loads((shared / "built.json").read_text())
    root = tmp_path_factory.mktemp("gate")
    for name in ("demo", "origin.git"):
        shutil.copytree(shared / name, root / name, symlinks=True)
    outcomes = {name: CompletedProcess(["gitml", "gate"], code, out, err) for name, (code, out, err)
                in built["outcomes"].items()}
    return GateProject(root / "demo", shared / "remote", built["baseline"], root / "origin.git", outcomes,
                       built["reports"], built["markdown"])


def _build_gate_project(root: Path) -> GateProject:
    root.mkdir(parents=True, exist_ok=True)
    path = _init(root / "demo")
    model = path / "conf" / "model" / "random_forest.yaml"
    _edit(model, "max_depth: null", "max_depth: 2")
    _edit(path / "conf" / "evaluate" / "default.yaml", "n_repeats: 5", "n_repeats: 1")
    _edit(path / "conf" / "gate" / "default.yaml", "budget_s: 5.0", "budget_s: 1.0")  # timing's own tests are apart
    _run(path, "dvc", "remote", "modify", "storage", "url", str(root / "remote"))
    _run(path, "gitml", "compose")
    _run(path, "dvc", "repro")
    _run(path, "git", "add", "--all")
    _run(path, "git", "commit", "-qm", "baseline: depth-2 forest")
    project = GateProject(path, root / "remote", _run(path, "git", "rev-parse", "HEAD").stdout.strip(),
                          root / "origin.git")
    for branch, (old, new) in _BRANCHES.items():  # `gitml repro` reruns what the last branch's outputs lack
        _run(path, "git", "checkout", "-qb", branch, "main")
        _edit(model, old, new)
        _run(path, "gitml", "repro")
        _run(path, "git", "add", "--all")
        _run(path, "git", "commit", "-qm", f"{branch}: {new}")
        project.outcomes[branch] = _run(path, "gitml", "gate", check=False)
        project.reports[branch] = json.loads((path / "reports" / "gate.json").read_text())
        project.markdown[branch] = (path / "reports" / "gate" / "report.md").read_text()
    _run(path, "git", "checkout", "-q", "main")
    _run(path, "dvc", "checkout", "--quiet")
    _run(root, "git", "clone", "--quiet", "--bare", str(path), str(project.origin))
    return project
