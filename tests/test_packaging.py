"""The wheel ships the repository's own pipeline files as the `gitml init` template."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(ROOT)],
        check=True,
    )
    return next(out.glob("gitml-*.whl"))


def test_wheel_template_is_the_repository_pipeline(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        for path in ("dvc.yaml", "params.yaml", "conf/config.yaml", "stages/train.py", ".dvc/config"):
            assert archive.read(f"gitml/template/{path}") == (ROOT / path).read_bytes(), path
        workflows = {p.relative_to(ROOT).as_posix() for p in (ROOT / ".github").rglob("*.y*ml")}
        assert workflows and all(f"gitml/template/{w}" in names for w in workflows)


def test_installed_package_finds_its_template(wheel: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(tmp_path / "site")
    found = subprocess.run(
        [sys.executable, "-c", "from gitml.scaffold import template_root; print(template_root())"],
        env={"PYTHONPATH": str(tmp_path / "site"), "PATH": ""}, capture_output=True, text=True, check=True,
    ).stdout.strip()
    assert Path(found) == tmp_path / "site" / "gitml" / "template"
