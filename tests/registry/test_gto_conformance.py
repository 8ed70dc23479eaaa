"""GTO conformance: seeded random registry histories written half by the real `gto` CLI, half by gitml.

After every step, `gitml models --json` and GTO's own reading of the repository (its API,
and its CLI `gto show --json` at the end) must agree on each artifact's versions, stage
holders and latest version. Operations: register (bump patch/minor/major, explicit and
pre-release versions), assign, unassign, deregister, deprecate, each by either tool, in
GTO's counter or simple notation.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.e2e

STAGES = ("staging", "prod")
STEPS = 24


def _gto(repo: Path, env: dict[str, str], *args: str) -> None:
    gto = Path(sys.executable).parent / "gto"
    result = subprocess.run([str(gto), *args], cwd=repo, env=env, capture_output=True, text=True)
    assert result.returncode == 0, f"gto {' '.join(args)}: {result.stdout}{result.stderr}"


def _gitml(repo: Path, env: dict[str, str], *args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "gitml", *args], cwd=repo, env=env, capture_output=True, text=True)
    assert result.returncode == 0, f"gitml {' '.join(args)}: {result.stdout}{result.stderr}"
    return result.stdout


def _gitml_view(repo: Path, env: dict[str, str]) -> dict[str, Any]:
    view: dict[str, Any] = {}
    for row in json.loads(_gitml(repo, env, "models", "--json")):
        # whichever tool registered it, a version shows the metrics of its commit
        assert set(row["metrics"]) == {"accuracy"}, f"{row['tag']}: metrics {row['metrics']}"
        entry = view.setdefault(row["name"], {"latest": row["version"], "versions": [], "stages": {}})
        entry["versions"].append(row["version"])
        entry["stages"].update(dict.fromkeys(row["stages"], row["version"]))
    return view


def _gto_view(repo: Path) -> dict[str, Any]:
    import gto.api

    view: dict[str, Any] = {}
    for name, shown in gto.api.show(str(repo)).items():
        versions = [v["version"] for v in gto.api.show(str(repo), name=name)]
        view[name] = {"latest": shown["version"], "versions": versions,
                      "stages": {stage: v for stage, v in shown["stage"].items() if v}}
    return view


def _next_second(last: list[int]) -> None:
    """GTO orders events by their tags' times (seconds): give every step a second of its own."""
    while int(time.time()) <= last[0]:
        time.sleep(0.05)
    last[0] = int(time.time())


class History:
    """One repository and the random operations applied to it."""

    def __init__(self, repo: Path, env: dict[str, str], rng: random.Random) -> None:
        self.repo, self.env, self.rng, self.trained = repo, env, rng, 0
        self.tried: set[tuple[bool, str]] = set()

    def tags(self) -> set[str]:
        out = subprocess.run(["git", "tag", "-l"], cwd=self.repo, capture_output=True, text=True, check=True)
        return set(out.stdout.split())

    def train(self) -> None:
        """A new commit with its own model hash and metrics, as the pipeline would leave it."""
        self.trained += 1
        lock = {"schema": "2.0", "stages": {"train": {"cmd": "python -m stages.train", "outs": [
            {"path": "models/model.skops", "hash": "md5", "md5": f"{self.trained:032x}", "size": 1}]}}}
        (self.repo / "dvc.lock").write_text(yaml.safe_dump(lock))
        (self.repo / "reports" / "metrics.json").write_text(json.dumps({"accuracy": 0.5 + self.trained / 100}))
        subprocess.run(["git", "add", "--all"], cwd=self.repo, check=True, env=self.env)
        subprocess.run(["git", "commit", "-qm", f"train {self.trained}"], cwd=self.repo, check=True, env=self.env)
        # and the gate's report on it, as CI leaves one before it registers (the commits hold no outputs the
        # gate could judge; `gitml register` would run it when there is no report)
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=self.repo, capture_output=True, text=True,
                              check=True).stdout.strip()
        (self.repo / "reports" / "gate.json").write_text(json.dumps({"verdict": "pass", "candidate": {"commit": head}}))

    def step(self, by_gto: bool, state: dict[str, Any]) -> str:
        """Apply one random operation that the current state allows; return what was done."""
        model = state.get("model")
        choices = ["register"] if model is None else ["register", "assign", "assign", "deregister", "deprecate"]
        if model and any(True for _ in self.assigned(model)):
            choices += ["unassign", "unassign"]
        if model and len(model["versions"]) < 2:
            choices = [c for c in choices if c not in ("deregister", "deprecate")] or ["register"]
        untried = [c for c in choices if (by_gto, c) not in self.tried]
        action = self.rng.choice(untried if untried and self.rng.random() < 0.6 else choices)
        self.tried.add((by_gto, action))
        return getattr(self, action)(by_gto, model)

    def assigned(self, model: dict[str, Any]) -> list[tuple[str, str]]:
        return [(version, stage) for stage, version in model["stages"].items()]

    def register(self, by_gto: bool, model: dict[str, Any] | None) -> str:
        self.train()
        how = self.rng.choice(["patch", "minor", "major", "pre", "pre"]) if model else "patch"
        if how == "pre":
            import semver

            top = max(semver.Version.parse(v[1:]) for v in model["versions"])
            version = f"v{top.bump_minor()}-rc.{self.rng.randint(1, 3)}"
            args = ["--version", version]
            _gto(self.repo, self.env, "register", "model", *args) if by_gto else _gitml(self.repo, self.env,
                                                                                         "register", *args)
            return f"register {version}"
        if by_gto:
            _gto(self.repo, self.env, "register", "model", *([f"--bump-{how}"] if model else []))
        else:
            _gitml(self.repo, self.env, "register", "--bump", how)
        return f"register --bump {how}"

    def assign(self, by_gto: bool, model: dict[str, Any]) -> str:
        version, stage = self.rng.choice(model["versions"]), self.rng.choice(STAGES)
        if model["stages"].get(stage) == version:
            return self.unassign(by_gto, model)
        if by_gto:
            simple = f"model#{stage}" not in self.tags() and self.rng.random() < 0.6
            # --force: GTO refuses a version that is still assigned the stage but no longer holds it (gitml's
            # `promote` makes it the holder again: a rollback); the tag means the same to both either way.
            _gto(self.repo, self.env, "assign", "model", "--version", version, "--stage", stage, "--force",
                 "--simple", "true" if simple else "false")
            return f"assign {version} {stage}{' (simple)' if simple else ''}"
        _gitml(self.repo, self.env, "promote", "model", version, "--stage", stage)
        return f"promote {version} {stage}"

    def unassign(self, by_gto: bool, model: dict[str, Any]) -> str:
        version, stage = self.rng.choice(self.assigned(model))
        if by_gto:
            simple = f"model#{stage}!" not in self.tags() and self.rng.random() < 0.6
            _gto(self.repo, self.env, "deprecate", "model", version, stage, "--simple", "true" if simple else "false")
            return f"unassign {version} {stage}{' (simple)' if simple else ''}"
        _gitml(self.repo, self.env, "unassign", "model", version, "--stage", stage)
        return f"unassign {version} {stage}"

    def deregister(self, by_gto: bool, model: dict[str, Any]) -> str:
        version = self.rng.choice(model["versions"])
        if by_gto:
            simple = "true" if f"model@{version}!" not in self.tags() else "false"
            _gto(self.repo, self.env, "deprecate", "model", version, "--simple", simple)
        else:
            _gitml(self.repo, self.env, "deregister", "model", version)
        return f"deregister {version}"

    def deprecate(self, by_gto: bool, model: dict[str, Any]) -> str:
        if by_gto:
            _gto(self.repo, self.env, "deprecate", "model", *(["--force"] if "model@deprecated" in self.tags() else []))
        else:
            _gitml(self.repo, self.env, "deprecate", "model")
        return "deprecate"


@pytest.fixture
def registry_repo(tmp_path: Path, repo_root: Path, cmd_env: Callable[[], dict[str, str]]) -> tuple[Path, dict]:
    repo = tmp_path / "project"
    (repo / "reports").mkdir(parents=True)
    env = {**cmd_env(), "GIT_AUTHOR_NAME": "Ada", "GIT_AUTHOR_EMAIL": "ada@gitml.local",
           "GIT_COMMITTER_NAME": "Ada", "GIT_COMMITTER_EMAIL": "ada@gitml.local"}
    env.pop("GIT_COMMITTER_DATE", None)
    subprocess.run(["git", "init", "-q", "--initial-branch=main", str(repo)], check=True)
    for name in ("params.yaml", "dvc.yaml"):
        shutil.copy(repo_root / name, repo / name)
    # No gated stage: promotion to one recomputes the gate from both commits' outputs, which these commits
    # (a dvc.lock and a metrics file, no DVC) do not have; this test is about GTO's grammar, not the gate.
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["registry"]["gated_stages"] = []
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    (repo / ".gitignore").write_text("/reports/gate.json\n")  # as the project's: git does not keep the report
    return repo, env


def test_gitml_and_gto_agree_after_every_step(registry_repo: tuple[Path, dict], seed: int = 4) -> None:
    repo, env = registry_repo
    history, rng, last = History(repo, env, random.Random(seed)), random.Random(seed + 100), [0]
    state: dict[str, Any] = {}
    done = []
    for step in range(STEPS):
        if state == {} and step:  # deprecated: only a registration revives the artifact
            history.train()
            _next_second(last)
            _gitml(repo, env, "register") if rng.random() < 0.5 else _gto(repo, env, "register", "model")
            done.append("revive by register")
        else:
            _next_second(last)
            done.append(("gto " if (by_gto := rng.random() < 0.5) else "gitml ") + history.step(by_gto, state))
        ours, theirs = _gitml_view(repo, env), _gto_view(repo)
        assert ours == theirs, f"after {done}"
        state = ours
    shown = subprocess.run([str(Path(sys.executable).parent / "gto"), "show", "--json"], cwd=repo, env=env,
                           capture_output=True, text=True, check=True)
    cli = {name: {"latest": s["version"], "stages": {k: v for k, v in s["stage"].items() if v}}
           for name, s in json.loads(shown.stdout).items()}
    assert cli == {name: {"latest": s["latest"], "stages": s["stages"]} for name, s in state.items()}
    kinds = " ".join(done)
    for word in ("gto register", "gitml register", "gto assign", "gitml promote", "gto unassign", "gitml unassign",
                 "deregister", "deprecate", "-rc.", "(simple)"):
        assert word in kinds, f"seed {seed} never tried {word!r}: {done}"
