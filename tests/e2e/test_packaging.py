"""The wheel ships the repository's own pipeline files as the `gitml init` template, and each package's templates."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"
#: The report templates: each package that renders one keeps its own, next to its code.
TEMPLATES = {
    "gitml/gate/templates": {"gate.md.j2", "gate.json.j2"},
    "gitml/registry/templates": {"card.md.j2", "card.html.j2"},
    "gitml/eda/templates": {"eda.html.j2"},
    "gitml/monitor/templates": {"drift.html.j2"},
    "gitml/site/templates": {"base.html.j2", "macros.html.j2", "index.html.j2", "experiments.html.j2",
                             "metrics.html.j2", "pipeline.html.j2", "registry.html.j2", "reports.html.j2",
                             "version.html.j2"},
}
#: The files the site's pages link, copied beside them (gitml.site.build).
STATIC = {"gitml/site/static": {"site.css", "site.js"}}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(ROOT)],
        check=True,
    )
    return next(out.glob("gitml-*.whl"))


@pytest.fixture(scope="module")
def site(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel unpacked, as an installation would lay it out."""
    path = tmp_path_factory.mktemp("site")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(path)
    return path


def test_wheel_template_is_the_repository_pipeline(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        for path in ("dvc.yaml", "params.yaml", "conf/config.yaml", "conf/model/auto.yaml", "stages/train.py",
                     ".dvc/config"):
            assert archive.read(f"gitml/template/{path}") == (ROOT / path).read_bytes(), path
        workflows = {p.relative_to(ROOT).as_posix() for p in (ROOT / ".github").rglob("*.y*ml")}
        assert workflows and all(f"gitml/template/{w}" in names for w in workflows)
        stages = {p.relative_to(ROOT).as_posix() for p in (ROOT / "stages").glob("*.py")}
        assert stages and all(f"gitml/template/{s}" in names for s in stages)


def test_wheel_has_every_module_of_the_package_layout(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        shipped = {name for name in archive.namelist()
                   if name.endswith(".py") and not name.startswith("gitml/template/")}
    modules = {p.relative_to(SRC).as_posix() for p in (SRC / "gitml").rglob("*.py")}
    assert shipped == modules
    # Only __init__.py and __main__.py at the top level: everything else lives in a package.
    assert {name for name in shipped if name.count("/") == 1} == {"gitml/__init__.py", "gitml/__main__.py"}


def _package_files(names: set[str]) -> set[str]:
    """The files of a package's templates/ or static/ folder among `names` (not `gitml init`'s template)."""
    return {name for name in names if not name.startswith("gitml/template/")
            and name.count("/") == 3 and name.split("/")[2] in {"templates", "static"}}


def test_wheel_ships_each_package_s_templates_and_no_flat_folder(wheel: Path) -> None:
    expected = {f"{folder}/{name}" for folder, files in (TEMPLATES | STATIC).items() for name in files}
    in_tree = _package_files({p.relative_to(SRC).as_posix() for p in (SRC / "gitml").rglob("*") if p.is_file()})
    assert in_tree == expected  # TEMPLATES and STATIC list what the source tree holds
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        found = _package_files(names)
        assert found == expected
        for name in found:
            assert archive.read(name) == (SRC / name).read_bytes(), name
        assert {name for name in names if name.endswith(".j2") and not name.startswith("gitml/template/")} \
            <= found  # no template elsewhere
    assert not any(name.startswith("gitml/templates/") for name in names)


def test_installed_package_finds_its_template(site: Path) -> None:
    found = subprocess.run(
        [sys.executable, "-c", "from gitml.cli.scaffold import template_root; print(template_root())"],
        env={"PYTHONPATH": str(site), "PATH": ""}, capture_output=True, text=True, check=True,
    ).stdout.strip()
    assert Path(found) == site / "gitml" / "template"


def test_installed_packages_load_their_report_templates(site: Path) -> None:
    """Each package's templates load from the installation itself (the loader the gate and card use)."""
    code = (
        "import sys, jinja2\n"
        "env = jinja2.Environment()\n"
        "for package in sys.argv[1:]:\n"
        "    loader = jinja2.PackageLoader(package, 'templates')\n"
        "    for name in loader.list_templates():\n"
        "        print(loader.get_source(env, name)[1])\n"
    )
    packages = [folder.removesuffix("/templates").replace("/", ".") for folder in TEMPLATES]
    shown = subprocess.run(
        [sys.executable, "-c", code, *packages],
        env={"PYTHONPATH": str(site), "PATH": ""}, capture_output=True, text=True, check=True,
    ).stdout.splitlines()
    assert sorted(shown) == sorted(str(site / folder / name) for folder, files in TEMPLATES.items() for name in files)
