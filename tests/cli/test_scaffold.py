"""gitml.cli.scaffold: `gitml init --data`, `gitml data add`, and a requirements.txt that installs elsewhere.

The full run (`gitml repro`, serving, monitoring) on real-shaped tables is tests/e2e/test_own_data.py;
here: what the commands write, refuse and leave untouched.
"""

from __future__ import annotations

import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

import numpy as np
import pandas as pd
import pytest
import yaml

from gitml.cli import scaffold

Run = Callable[..., CompletedProcess[str]]
ROOT = Path(__file__).resolve().parents[2]


def _table(path: Path, n: int = 200) -> Path:
    rng = np.random.default_rng(3)
    pd.DataFrame({"x": rng.normal(size=n), "kind": rng.choice(["a", "b"], n),
                  "y": rng.normal(size=n) * 100}).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory, run: Run) -> Path:
    """A project made by `gitml init` on the reference data."""
    root = tmp_path_factory.mktemp("plain")
    run(root, "gitml", "init", "project")
    return root / "project"


def test_init_writes_the_two_commands_and_a_requirement_that_installs_this_gitml(plain: Path, run: Run) -> None:
    readme = (plain / "README.md").read_text()
    assert readme.splitlines()[2:6] == ["```sh", "make demo    # create .venv, install requirements.txt, run the "
                                        "pipeline end to end", "make test    # check the pipeline's configuration "
                                        "as CI does (`gitml check`)", "```"]
    assert {"demo:", "test:"} <= set((plain / "Makefile").read_text().split())
    line, _ = scaffold.requirement()
    assert (plain / "requirements.txt").read_text().splitlines()[-1] == line
    head = run(ROOT, "git", "rev-parse", "HEAD").stdout.strip()
    assert line.startswith("gitml @ git+") and line.endswith(f"@{head}")  # this checkout, pinned


def test_the_requirement_builds_gitml_from_its_pinned_commit(plain: Path, run: Run, tmp_path: Path) -> None:
    """What `pip install -r requirements.txt` does on a fresh machine, without re-installing the dependencies."""
    run(plain, sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
        "-r", "requirements.txt", "-w", str(tmp_path))

    [wheel] = tmp_path.glob("gitml-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        assert "gitml/template/dvc.yaml" in archive.namelist()
        assert archive.read("gitml/cli/scaffold.py") == run(ROOT, "git", "show", "HEAD:src/gitml/cli/scaffold.py"
                                                             ).stdout.encode()


def test_data_add_tracks_describes_and_selects_the_table(plain: Path, run: Run) -> None:
    _table(plain.parent / "rents.csv")

    done = run(plain, "gitml", "data", "add", "../rents.csv", "--target", "y", "--name", "rents")

    assert "task: regression (target 'y' holds 200 distinct numbers: a quantity)" in done.stdout
    assert "selected: data=rents model=random_forest" in done.stdout
    config = yaml.safe_load((plain / "conf" / "config.yaml").read_text())
    assert {"data": "rents"} in config["defaults"] and {"model": "random_forest"} in config["defaults"]
    described = yaml.safe_load((plain / "conf" / "data" / "rents.yaml").read_text())
    assert described["source"] == {"kind": "file", "path": "data/external/rents.csv"}
    assert (plain / "data" / "external" / "rents.csv.dvc").is_file()
    assert "/rents.csv" in (plain / "data" / "external" / ".gitignore").read_text()
    run(plain, "gitml", "check")  # params.yaml is the composition of conf/, and valid


@pytest.mark.parametrize(("args", "message"), [
    (["--target", "nope"], "error: --target: column 'nope' is not in ../again.csv (it has: x, kind, y)"),
    (["--target", "y", "--model", "logistic_regression"],
     "error: --model: 'logistic_regression' is not a model config for this task (these are: auto, "
     "hist_gradient_boosting, linear, random_forest, ridge)"),
    (["--target", "y", "--task", "classification", "--name", "bad name"],
     "error: --name: 'bad name' is not a config name (letters, digits, _ and -)"),
])
def test_data_add_refuses_bad_input_and_writes_nothing(plain: Path, run: Run, args: list[str], message: str,
                                                       file_bytes) -> None:
    _table(plain.parent / "again.csv")
    before = file_bytes(p for p in plain.rglob("*") if p.is_file() and ".git" not in p.parts)

    done = run(plain, "gitml", "data", "add", "../again.csv", *args, check=False)

    assert (done.returncode, done.stderr.strip()) == (1, message)
    assert file_bytes(p for p in plain.rglob("*") if p.is_file() and ".git" not in p.parts) == before


@pytest.mark.parametrize(("args", "message"), [
    (["--data", "rows.csv"], "error: --target: name the column to predict (with --data)"),
    (["--data", "rows.csv", "--target", "nope"], "error: --target: column 'nope' is not in rows.csv"),
    (["--data", "rows.json", "--target", "y"], "error: rows.json: not a CSV or Parquet file"),
    (["--data", "missing.csv", "--target", "y"], "error: missing.csv: data file not found"),
    (["--target", "y"], "error: --target, --task and --model go with --data FILE"),
])
def test_init_with_bad_data_creates_nothing(tmp_path: Path, run: Run, args: list[str], message: str) -> None:
    _table(tmp_path / "rows.csv")
    (tmp_path / "rows.json").write_text("{}")

    done = run(tmp_path, "gitml", "init", "project", *args, check=False)

    assert done.returncode == 1 and done.stderr.startswith(message), done.stderr
    assert not (tmp_path / "project").exists()


def test_a_single_class_target_is_refused_before_anything_is_made(tmp_path: Path, run: Run) -> None:
    pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": ["no", "no", "no"]}).to_csv(tmp_path / "one.csv", index=False)

    done = run(tmp_path, "gitml", "init", "project", "--data", "one.csv", "--target", "y", check=False)

    assert (done.returncode, done.stderr.strip()) == (
        1, "error: target 'y' has a single class ('no' in all 3 rows): nothing to learn")
    assert not (tmp_path / "project").exists()
