"""Every `gh` process gitml starts: the GitHub CLI, authenticated by GH_TOKEN in CI or `gh auth login`.

Pull-request comments, the drift issue and retraining pull requests all go through `gh`,
so there is one place that knows how to call it and how to report its failures.
"""

from __future__ import annotations

import subprocess

from gitml.core.errors import GitHubError


def run(*args: str, stdin: str | None = None, gh: str = "gh") -> str:
    """stdout of `gh ARGS`; a failure is one GitHubError naming the command and GitHub's answer."""
    try:
        result = subprocess.run([gh, *args], input=stdin, capture_output=True, text=True)
    except FileNotFoundError as exc:
        raise GitHubError(f"{gh}: not found on PATH: the GitHub CLI is not installed (https://cli.github.com)") from exc
    if result.returncode:
        lines = (result.stderr or result.stdout).strip().splitlines()
        raise GitHubError(f"`{gh} {' '.join(args)}` failed: {lines[-1] if lines else f'exit {result.returncode}'}")
    return result.stdout
