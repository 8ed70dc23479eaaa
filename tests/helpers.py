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
