"""`gitml init`: a new, working project made from this repository's own pipeline files.

The repository's conf/, stages/, dvc.yaml, params.yaml and .github/ are the template
(shipped inside the wheel as gitml/template), so what `gitml init` creates never
drifts from the reference pipeline that gitml's own tests run.
"""

from __future__ import annotations

import logging
import re
import shutil
from pathlib import Path

from gitml.config import compose
from gitml.core.errors import GitmlError
from gitml.vcs import dvc, git

log = logging.getLogger(__name__)

#: What a new project gets, relative to the template root.
TEMPLATE = (
    "conf", "stages", ".github", "dvc.yaml", "params.yaml", ".dvc/config", ".dvcignore", ".gitignore",
    "data/external/README.md",
)

_README = """# {name}

A machine-learning pipeline managed by [gitml](https://pypi.org/project/gitml/): the whole
lifecycle is configuration in `conf/`, composed into `params.yaml`, run by `dvc.yaml`.

    gitml repro            # recompose params.yaml from conf/, then dvc repro
    dvc metrics show       # what the last run measured
    dvc exp run -S model=hist_gradient_boosting   # try a change as an experiment

Edit `conf/`, never `params.yaml`: `dvc repro` alone does not recompose it, and the
`check` stage stops a run whose params.yaml is stale.
"""

#: What the project's CI installs (`pip install -r requirements.txt` in .github/workflows).
_REQUIREMENTS = """# What CI installs for this project (.github/workflows). Add what your pipeline needs,
# e.g. dvc[s3] for an S3 remote.
gitml>={version}
"""


def template_root() -> Path:
    """The packaged template, or the source tree when gitml runs from a checkout."""
    package = Path(__file__).resolve().parents[1]
    for root in (package / "template", package.parents[1]):
        if (root / "dvc.yaml").is_file() and (root / "conf").is_dir():
            return root
    raise GitmlError(f"gitml's project template is missing from this installation ({package / 'template'})")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("gitml")
    except PackageNotFoundError:
        return "0.1"


def init(directory: str | Path, name: str | None = None) -> Path:
    """Create a project in `directory` (new or empty): files, git, dvc, a first commit."""
    directory = Path(directory)
    if directory.exists() and any(directory.iterdir()):
        raise GitmlError(f"{directory}: exists and is not empty")
    root = template_root()
    directory.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for item in TEMPLATE:
        source, target = root / item, directory / item
        if source.is_dir():
            shutil.copytree(source, target, ignore=ignore)
        elif source.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    name = name or directory.resolve().name
    config = directory / "conf" / "config.yaml"
    config.write_text(re.sub(r"(?m)^(  name: ).*$", rf"\g<1>{name}", config.read_text(), count=1))
    compose.write(directory / "params.yaml", directory / "conf")
    (directory / "README.md").write_text(_README.format(name=name))
    (directory / "requirements.txt").write_text(_REQUIREMENTS.format(version=_version()))
    git.run(directory, "init", "--quiet", "--initial-branch=main")
    dvc.run(directory, "init", "--quiet", "--force")
    shutil.copy2(root / ".dvc" / "config", directory / ".dvc" / "config")
    with (directory / ".dvc" / ".gitignore").open("a") as ignore_file:
        ignore_file.write("/storage\n")  # the default local remote lives there
    git.run(directory, "add", "--all")
    try:
        git.run(directory, "commit", "--quiet", "-m", f"Create {name} with gitml init")
    except GitmlError as exc:
        log.warning("%s; commit the new project yourself", exc)
    return directory
