"""The slips any command can meet end in one line, not a traceback: the real gitml process, the real slip.

Outside the virtualenv (gitml called by its path, no venv on PATH), a reader that closes the
pipe, Ctrl-C, a full disk (a file size limit, /dev/full), a read-only folder.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

GITML = str(Path(sys.executable).parent / "gitml")


def _gitml(*args: str, cwd: Path, **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run([GITML, *args], cwd=cwd, capture_output=True, text=True, timeout=300, **kwargs)


def test_repro_outside_the_virtualenv_runs_stages_with_its_own_python(project: Path) -> None:
    """No venv on PATH: dvc and each stage's `python` are still the interpreter gitml was installed with."""
    for command in (["git", "init", "-q"], [sys.executable, "-m", "dvc", "init", "-q"]):
        subprocess.run(command, cwd=project, check=True)
    shutil.copy2(Path(__file__).parents[2] / "dvc.yaml", project / "dvc.yaml")
    path = os.pathsep.join(p for p in ("/usr/bin", "/bin") if Path(p).is_dir())

    result = _gitml("repro", "--dvc-args", "check", cwd=project, env={"HOME": str(project), "PATH": path})

    assert result.returncode == 0, result.stderr
    assert "params.yaml: ok" in result.stdout + result.stderr and "Traceback" not in result.stderr


def _notes(command: list[str], cwd: Path) -> str:
    """What `command` says on stderr when its output is written (the task it inferred and why): the
    lines a slip must leave as they are, adding at most its own one."""
    result = subprocess.run(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith("task: ") and "error" not in result.stderr, result.stderr
    return result.stderr


def test_a_closed_pipe_is_silent(workdir: Path) -> None:
    """`gitml contract infer ... | head`: more than a pipe's buffer of YAML, the reader gone: no line, exit 141."""
    rng = np.random.default_rng(0)
    pd.DataFrame(rng.normal(size=(5, 1000)), columns=[f"column_{i}" for i in range(1000)]).assign(
        y=range(5)).to_parquet(workdir / "wide.parquet")
    command = [GITML, "contract", "infer", "wide.parquet", "--target", "y"]
    notes = _notes(command, workdir)
    child = subprocess.Popen(command, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    child.stdout.close()  # the reader is gone before the first write; its YAML (115 KB) is beyond a pipe buffer

    stderr = child.stderr.read()
    assert child.wait(timeout=300) == 141
    assert stderr == notes  # the task line it always prints, and nothing of the closed pipe


def test_ctrl_c_is_one_line_and_exit_130(tmp_path: Path) -> None:
    # 'ready' is printed inside report, so the signal cannot arrive before report catches it.
    script = ("import time; from gitml.cli.main import report; "
              "raise SystemExit(report(lambda: print('ready', flush=True) or time.sleep(60)))")
    # A shell starts background jobs with SIGINT ignored, and Python keeps an ignored SIGINT ignored:
    # give the child the default a terminal's foreground process has.
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert child.stdout.readline() == "ready\n"

    child.send_signal(signal.SIGINT)

    assert child.wait(timeout=60) == 130
    assert child.stderr.read() == "interrupted\n"


def test_a_file_size_limit_is_one_line_and_keeps_the_old_file(project: Path) -> None:
    """`ulimit -f`: the write fails with EFBIG, as a full disk fails with ENOSPC; params.yaml is untouched."""
    before = (project / "params.yaml").read_bytes()

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (512, 512))

    result = _gitml("compose", "seed=7", cwd=project, preexec_fn=limit)

    assert result.returncode == 1
    assert result.stderr.startswith("error: file size limit reached: ") and result.stderr.count("\n") == 1
    assert (project / "params.yaml").read_bytes() == before
    assert not [p for p in project.iterdir() if p.name.endswith(".tmp")]


def test_a_full_device_is_one_line(workdir: Path) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full on this system")
    pd.DataFrame({"x": [1.0, 2.0], "y": [0, 1]}).to_parquet(workdir / "t.parquet")
    command = [GITML, "contract", "infer", "t.parquet", "--target", "y"]
    notes = _notes(command, workdir)
    with open("/dev/full", "w") as full:
        result = subprocess.run(command, cwd=workdir, stdout=full, stderr=subprocess.PIPE, text=True, timeout=300)

    assert result.returncode == 1
    assert result.stderr == notes + "error: no space left on the device (writing a file or stream)\n"


def _read_only(folder: Path) -> list[str]:
    """A command prefix that runs with `folder` read-only: chmod for a user, a read-only bind mount in a
    private mount namespace for root (whom permission bits do not stop)."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        return []
    probe = subprocess.run(["unshare", "-rm", "true"], capture_output=True) if shutil.which("unshare") else None
    if probe is None or probe.returncode:
        pytest.skip("running as root, where chmod does not stop writes, and no mount namespace (unshare -rm)")
    mount = f"mount --bind {folder} {folder} && mount -o remount,bind,ro {folder} && exec \"$@\""
    return ["unshare", "-rm", "sh", "-c", mount, "sh"]


def test_a_read_only_folder_is_one_line(project: Path) -> None:
    before = (project / "params.yaml").read_bytes()
    prefix = _read_only(project)
    try:
        result = subprocess.run([*prefix, GITML, "compose", "seed=7"], cwd=project, capture_output=True,
                                text=True, timeout=300)
    finally:
        project.chmod(0o755)

    assert result.returncode == 1
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(("error: read-only file system: ", "error: permission denied: "))
    assert str(project) in result.stderr
    assert (project / "params.yaml").read_bytes() == before
