"""Shared helpers of the end-to-end tests: run commands with the test venv first on PATH, make projects."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def env() -> dict[str, str]:
    """The environment of every command: this venv first on PATH, a git identity, no telemetry."""
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


def run(cwd: Path, *command: str, check: bool = True, **kwargs: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, cwd=cwd, env=kwargs.pop("env", None) or env(), capture_output=True, text=True,
                            **kwargs)
    if check and result.returncode:
        raise AssertionError(f"{command} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


def init(path: Path) -> Path:
    """A new project with a fast model, committed."""
    run(path.parent, "gitml", "init", str(path), "--name", "demo")
    config = path / "conf" / "model" / "random_forest.yaml"
    config.write_text(config.read_text().replace("n_estimators: 100", "n_estimators: 20"))
    run(path, "gitml", "compose")
    run(path, "git", "commit", "-qam", "fast model for tests")
    return path


GH_STANDIN = '''#!{python}
"""A recording stand-in for the GitHub CLI: logs each call, answers GETs from $GH_COMMENTS."""
import json, os, sys
args = sys.argv[1:]
payload = json.loads(sys.stdin.read()) if "--input" in args else None
with open(os.environ["GH_LOG"], "a") as log:
    log.write(json.dumps({{"args": args, "payload": payload, "token": os.environ.get("GH_TOKEN")}}) + "\\n")
if os.environ.get("GH_FAIL"):
    print(os.environ["GH_FAIL"], file=sys.stderr)
    sys.exit(1)
if "--paginate" in args:
    path = os.environ.get("GH_COMMENTS")
    print(open(path).read() if path else "[]")
else:
    print(json.dumps({{"id": 4242}}))
'''


def standin_gh(folder: Path) -> Path:
    """Write the stand-in `gh` into `folder` (put it first on PATH); its calls go to folder/gh.log."""
    folder.mkdir(parents=True, exist_ok=True)
    gh = folder / "gh"
    gh.write_text(GH_STANDIN.format(python=sys.executable))
    gh.chmod(0o755)
    return folder / "gh.log"


def gh_calls(log: Path) -> list[dict]:
    import json

    return [json.loads(line) for line in log.read_text().splitlines()] if log.is_file() else []
