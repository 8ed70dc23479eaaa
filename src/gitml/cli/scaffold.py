"""`gitml init` and `gitml data add`: a new, working project, and your own table in it.

The repository's conf/, stages/, dvc.yaml, params.yaml and .github/ are the template
(shipped inside the wheel as gitml/template), so what `gitml init` creates never
drifts from the reference pipeline that gitml's own tests run. `add_data` puts a CSV or
Parquet file under data/external/ (tracked by DVC), infers its contract and task, writes
conf/data/NAME.yaml and selects it and a model that suits, through the same override
writer as `gitml compose`, so `gitml repro` runs on that table at once.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

import yaml

from gitml.config import Data, compose, overrides
from gitml.core import io
from gitml.core.errors import DataError, GitmlError
from gitml.vcs import dvc, git

log = logging.getLogger(__name__)

#: What a new project gets, relative to the template root.
TEMPLATE = (
    "conf", "stages", ".github", "dvc.yaml", "params.yaml", ".dvc/config", ".dvcignore", ".gitignore",
    "data/external/README.md",
)
#: Above this many rows the picked model is histogram gradient boosting, whose fit time and
#: model size do not grow with the rows; a random forest's do, and it suits small tables well.
LARGE_TABLE = 10_000
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")

_README = """# {name}

```sh
make demo    # create .venv, install requirements.txt, run the pipeline end to end
make test    # check the pipeline's configuration as CI does (`gitml check`)
```

Both need only Python 3.11 and git. The pipeline is managed by gitml: the whole lifecycle
is configuration in `conf/`, composed into `params.yaml`, run by `dvc.yaml`.

    gitml repro                      # recompose params.yaml from conf/, then dvc repro
    dvc metrics show                 # what the last run measured
    gitml compose model.max_iter=50  # a change written into conf/, so it sticks
    dvc exp run -S model=linear      # try a change as an experiment

Edit `conf/` (or let `gitml compose KEY=VALUE` edit it), never `params.yaml`: the `check`
stage stops a run whose params.yaml is not the composition of conf/.
{data}"""

_DATA_NOTE = """
Data: `{path}` is tracked by DVC, not git (`{path}.dvc` is its pointer). A fresh clone
has the pointer only: push the data to a DVC remote (`dvc remote add --default team
s3://...`, `dvc push`) so that `make demo` elsewhere can pull it.
"""

#: What CI installs for this project (`pip install -r requirements.txt` in .github/workflows).
_REQUIREMENTS = """# What CI and `make demo` install for this project (.github/workflows). Add what your
# pipeline needs, e.g. dvc[s3] for an S3 remote.
{note}{requirement}
"""

_MAKEFILE = """# `make demo` installs requirements.txt into .venv and runs the pipeline; `make test` checks it.
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
# DVC runs stage commands through the shell: put the venv first so `python` is ours.
export PATH := $(BIN):$(PATH)
export DO_NOT_TRACK := 1

.PHONY: demo test

$(VENV)/.installed: requirements.txt
\t$(PYTHON) -m venv $(VENV)
\t$(BIN)/python -m pip install --quiet --upgrade pip
\t$(BIN)/python -m pip install --quiet -r requirements.txt
\ttouch $@

demo: $(VENV)/.installed
\tif $(BIN)/dvc remote default > /dev/null 2>&1; then $(BIN)/dvc pull --quiet --allow-missing; fi
\t$(BIN)/gitml repro
\t$(BIN)/dvc metrics show

test: $(VENV)/.installed
\t$(BIN)/gitml check
"""


@dataclass
class Added:
    """What `add_data` did, for the command to print."""

    name: str
    path: str
    task: str
    reason: str
    model: str
    model_reason: str
    rows: int
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [f"data: {self.path} ({self.rows:,} rows), tracked by DVC, described in conf/data/{self.name}.yaml",
                f"task: {self.task} ({self.reason})",
                f"model: {self.model} ({self.model_reason})",
                *(f"note: {note}" for note in self.notes)]


def template_root() -> Path:
    """The packaged template, or the source tree when gitml runs from a checkout."""
    package = Path(__file__).resolve().parents[1]
    for root in (package / "template", package.parents[1]):
        if (root / "dvc.yaml").is_file() and (root / "conf").is_dir():
            return root
    raise GitmlError(f"gitml's project template is missing from this installation ({package / 'template'})")


def requirement() -> tuple[str, str]:
    """The requirement that installs this very gitml elsewhere, and a comment when it is local.

    From an index: `gitml==VERSION`. From a VCS URL: that URL pinned to the commit. From a
    checkout (as `make demo` installs it): the checkout's `origin` remote, else its path,
    as a git URL pinned to its HEAD commit.
    """
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        dist = distribution("gitml")
    except PackageNotFoundError:
        return _from_checkout(Path(__file__).resolve().parents[3])
    direct = json.loads(dist.read_text("direct_url.json") or "null")
    if not direct:
        return f"gitml=={dist.version}", ""
    if "vcs_info" in direct:
        info = direct["vcs_info"]
        return f"gitml @ {info['vcs']}+{direct['url']}@{info['commit_id']}", ""
    location = Path(unquote(urlparse(direct["url"]).path))
    if "dir_info" in direct:
        return _from_checkout(location)
    return f"gitml @ {direct['url']}", f"# {location}: a local file; replace it with a URL other machines can reach.\n"


def _from_checkout(path: Path) -> tuple[str, str]:
    try:
        commit = git.head(path)
    except GitmlError:
        return f"gitml @ {path.as_uri()}", f"# {path}: a local folder; give a URL other machines can reach.\n"
    note = ""
    try:
        url = git.run(path, "remote", "get-url", "origin").strip()
    except GitmlError:
        url = path.as_uri()
        note = f"# {path}: a local checkout; replace it with the repository's public URL.\n"
    else:
        url, note = _pip_url(path, url)
    if git.changed_files(path):
        note += f"# {path} had uncommitted changes, which commit {commit[:12]} lacks.\n"
    return f"gitml @ git+{url}@{commit}", note


def _pip_url(checkout: Path, url: str) -> tuple[str, str]:
    """A git remote's URL as pip's `git+` takes it, and a comment when other machines cannot reach it.

    git also takes `[user@]host:path` (scp syntax) and a plain path, absolute or relative to the
    checkout; pip takes only URLs (`git+/work/gitml@...` is "no scheme supplied").
    """
    if "://" in url:
        note = f"# {url}: a local folder; replace it with the repository's public URL.\n" \
            if url.startswith("file:") else ""
        return url, note
    scp = re.fullmatch(r"((?:[\w.-]+@)?[\w.-]+):(.+)", url)
    if scp:
        return f"ssh://{scp.group(1)}/{scp.group(2)}", ""
    local = (checkout / url).resolve()
    return local.as_uri(), f"# {local}: origin is a local folder; replace it with the repository's public URL.\n"


def init(directory: str | Path, name: str | None = None, data: str | Path | None = None, target: str | None = None,
         task: str | None = None, model: str | None = None) -> tuple[Path, Added | None]:
    """Create a project in `directory` (new or empty): files, git, dvc, your data if given, a first commit."""
    directory = Path(directory)
    if directory.exists() and any(directory.iterdir()):
        raise GitmlError(f"{directory}: exists and is not empty")
    table = _read(Path(data), target) if data is not None else None  # a bad file or target: nothing created
    existed = directory.exists()
    try:
        return _create(directory, name, data, target, task, model, table)
    except BaseException:  # a table gitml cannot train on, a full disk, Ctrl-C: leave no half-made project
        shutil.rmtree(directory, ignore_errors=True)
        if existed:
            directory.mkdir()
        raise


def _create(directory: Path, name: str | None, data: str | Path | None, target: str | None, task: str | None,
            model: str | None, table: object) -> tuple[Path, Added | None]:
    root = template_root()
    directory.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for item in TEMPLATE:
        source, target_path = root / item, directory / item
        if source.is_dir():
            io.copy_tree(source, target_path, ignore=ignore)
        elif source.is_file():
            target_path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target_path)
    name = name or directory.resolve().name
    config = directory / "conf" / "config.yaml"
    config.write_text(re.sub(r"(?m)^(  name: ).*$", rf"\g<1>{name}", config.read_text(), count=1))
    git.run(directory, "init", "--quiet", "--initial-branch=main")
    dvc.run(directory, "init", "--quiet", "--force")
    shutil.copy2(root / ".dvc" / "config", directory / ".dvc" / "config")
    with (directory / ".dvc" / ".gitignore").open("a") as ignore_file:
        ignore_file.write("/storage\n")  # the default local remote lives there
    added = add_data(directory, Path(data), target, task=task, model=model, table=table) if data else None
    compose.write(directory / "params.yaml", directory / "conf")
    note = _DATA_NOTE.format(path=added.path) if added else ""
    (directory / "README.md").write_text(_README.format(name=name, data=note))
    line, comment = requirement()
    (directory / "requirements.txt").write_text(_REQUIREMENTS.format(note=comment, requirement=line))
    (directory / "Makefile").write_text(_MAKEFILE)
    git.run(directory, "add", "--all")
    try:
        git.run(directory, "commit", "--quiet", "-m", f"Create {name} with gitml init")
    except GitmlError as exc:
        log.warning("%s; commit the new project yourself", exc)
    return directory, added


def _read(path: Path, target: str | None) -> object:
    if target is None:
        raise GitmlError("--target: name the column to predict (with --data)")
    if path.suffix.lower() not in {".csv", ".txt", ".parquet", ".pq"}:
        raise DataError(f"{path}: not a CSV or Parquet file (by its name: .csv or .parquet)")
    table = io.read_table(path)
    if target not in table.columns:
        shown = ", ".join(map(str, list(table.columns)[:10])) + (", ..." if len(table.columns) > 10 else "")
        raise GitmlError(f"--target: column {target!r} is not in {path} (it has: {shown})")
    return table


def add_data(project: str | Path, file: str | Path, target: str | None, name: str | None = None,
             task: str | None = None, model: str | None = None, table: object = None) -> Added:
    """Put `file` into the project as its selected data: under data/external/ (DVC-tracked), described in
    conf/data/NAME.yaml (contract and task inferred), chosen with a model that suits in conf/config.yaml."""
    from gitml.cli.check import suited_configs
    from gitml.config import Project
    from gitml.data import contract

    project, file = Path(project), Path(file)
    frame = table if table is not None else _read(file, target)
    name = name or re.sub(r"[^A-Za-z0-9_-]+", "_", file.stem).strip("_-").lower() or "data"
    if not _NAME.match(name):
        raise GitmlError(f"--name: {name!r} is not a config name (letters, digits, _ and -)")
    described = project / "conf" / "data" / f"{name}.yaml"
    if described.exists():
        raise GitmlError(f"{described.relative_to(project)}: exists; choose another --name")
    inferred_task, reason = contract.infer_task(frame[target], target)
    if task and task != inferred_task:
        reason, inferred_task = f"--task {task}; inferred {inferred_task}, as {reason}", task
    chosen_task = inferred_task
    if chosen_task == "classification":
        reason = f"{reason}; {contract.class_balance(frame[target])}"
    inferred = contract.infer(frame, target, chosen_task)
    destination = project / "data" / "external" / file.name
    relative = destination.relative_to(project).as_posix()
    section = {"source": {"kind": "file", "path": relative}, "task": chosen_task, "target": target,
               "contract": inferred}
    Data.model_validate(section)  # what the pipeline reads, checked before anything is written
    fitting = suited_configs(project / "conf", chosen_task, Project().allowed_targets)
    model, model_reason = _model(model, len(frame), fitting)
    if destination.resolve() != file.resolve():
        if destination.exists():
            raise GitmlError(f"{relative}: exists; move it, or add that file itself")
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(file, destination)
    dvc.run(project, "add", "--quiet", relative)
    header = (f"# {file.name}: added by `gitml data add` ({len(frame):,} rows). Task: {chosen_task} ({reason}).\n"
              "# The contract was inferred from the data: review it (roles, categories, ranges), then commit.\n")
    io.write_text(described, header + yaml.safe_dump(section, sort_keys=False, allow_unicode=True))
    overrides.save(project / "conf", [f"data={name}", f"model={model}"])
    compose.write(project / "params.yaml", project / "conf")
    return Added(name, relative, chosen_task, reason, model, model_reason, len(frame),
                 contract.notes(frame, inferred, target))


def _model(model: str | None, rows: int, fitting: list[str]) -> tuple[str, str]:
    """The model config: `--model`, checked to suit the task, else by the table's size."""
    if model is not None:
        if model not in fitting:
            raise GitmlError(f"--model: {model!r} is not a model config for this task (these are: "
                             f"{', '.join(fitting)})")
        return model, "--model"
    if rows > LARGE_TABLE:
        return "hist_gradient_boosting", (f"{rows:,} rows: histogram boosting stays fast and small as tables grow; "
                                          "`gitml compose model=NAME` for another")
    return "random_forest", f"{rows:,} rows; `gitml compose model=NAME` for another"
