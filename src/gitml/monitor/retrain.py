"""`gitml retrain`: labelled current rows join the training data; the pipeline reruns on a branch.

Nothing retrains into production: the result is a commit on a new branch
`<monitor.retrain.branch_prefix><date>` and, in CI, a pull request that the gate
judges. The refreshed training data is one DVC-tracked Parquet file per retrain
(`monitor.retrain.folder`), named after the branch, and a generated data config
(`conf/data/<monitor.retrain.config_name>.yaml`) points the `file` source at it: a new
path each time, so the `ingest` stage (which depends on `data.source`) reruns. The
pipeline itself runs as `dvc repro`; this module imports no training code.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from gitml.config import FileSource, Params, compose
from gitml.core import io
from gitml.core.errors import ConfigError, DataError, GitError, RetrainError
from gitml.core.text import quoted
from gitml.data import sources as data_sources
from gitml.monitor import status
from gitml.monitor.sources import Table
from gitml.vcs import dvc, git, github

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

_DEFAULT_DATA = re.compile(r"(?m)^(\s*-\s*data\s*:\s*)([^\s#]+)")


@dataclass(frozen=True)
class Result:
    """What a retrain made: the branch, its commit, the commit's subject and the pull request."""

    branch: str
    commit: str
    subject: str
    pr_url: str | None = None


def labelled_rows(path: str | Path, columns: list[str], target: str) -> pd.DataFrame:
    """The rows of a labelled file or folder that carry a label, cut to the training columns."""
    import pandas as pd

    table = Table(path)
    missing = [name for name in columns if name not in table.columns]
    if missing:
        raise DataError(f"{path}: labelled data lacks training columns {missing}")
    frames = [batch.to_pandas() for batch in table.batches(columns)]
    rows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    rows = rows[rows[target].notna()].reset_index(drop=True)
    if rows.empty:
        raise DataError(f"{path}: no rows with a label in column {quoted(target)}: nothing to retrain on")
    return rows


def combine(base: pd.DataFrame, new: pd.DataFrame, mode: str) -> tuple[pd.DataFrame, int]:
    """The refreshed training data and how many new rows were dropped as exact duplicates."""
    import pandas as pd

    for name in base.columns:
        try:
            new[name] = new[name].astype(base[name].dtype)
        except (TypeError, ValueError) as exc:
            wanted = base[name].dtype
            raise DataError(f"labelled column {quoted(name)}: values do not fit its training dtype {wanted}") from exc
    if mode == "replace":
        return new.drop_duplicates().reset_index(drop=True), int(new.duplicated().sum())
    combined = pd.concat([base, new[base.columns]], ignore_index=True)
    duplicate = combined.duplicated(keep="first")
    duplicate.iloc[: len(base)] = False
    return combined[~duplicate].reset_index(drop=True), int(duplicate.sum())


def data_config(params: Params, path: str, note: str) -> str:
    """The YAML of a data config identical to the one in force, except that it reads `path`."""
    section = params.data.model_dump(mode="json", exclude_none=True)
    section["source"] = FileSource(kind="file", path=path, format="parquet").model_dump(mode="json")
    section["contract"] = data_sources.contract(params.data).model_dump(mode="json", exclude_none=True)
    header = f"# Written by `gitml retrain`: {note}\n# Review the contract before merging.\n"
    return header + yaml.safe_dump(section, sort_keys=False, allow_unicode=True)


def select_data_config(config_path: Path, name: str) -> None:
    """Point conf/config.yaml's `- data: X` default at `name`."""
    text = config_path.read_text(encoding="utf-8")
    if not _DEFAULT_DATA.search(text):
        raise ConfigError(f"{config_path}: no `- data: ...` entry in defaults to point at the retrain data")
    io.write_text(config_path, _DEFAULT_DATA.sub(rf"\g<1>{name}", text, count=1))


def branch_name(repo: Path, wanted: str | None, prefix: str, date: str | None = None) -> str:
    """`wanted`, or `<prefix><UTC date>` with `-2`, `-3`... if taken here or on origin."""
    base = wanted or f"{prefix}{date or dt.datetime.now(dt.UTC).strftime('%Y-%m-%d')}"
    try:
        git.branch_name(repo, base)
    except GitError as exc:
        raise RetrainError(f"{'--branch' if wanted else 'monitor.retrain.branch_prefix'} {exc}") from exc
    for attempt in range(1, 100):
        name = base if attempt == 1 else f"{base}-{attempt}"
        local = git.succeeds(repo, "rev-parse", "--verify", "--quiet", f"refs/heads/{name}")
        if not local and not git.remote_branch_exists(repo, "origin", name):
            return name
        if wanted:
            raise RetrainError(f"--branch: {name} already exists")
    raise RetrainError(f"{base}: 99 retrain branches today already")


def _summary(report: dict[str, Any] | None, report_path: str) -> tuple[str, list[str]]:
    """The commit subject and the lines citing the drift report."""
    if not report:
        return "Retrain on new labelled data", [f"No drift report at {report_path}."]
    heading = f"Drift report {report_path} ({report.get('generated_at', '?')}): {status.label(report['status'])}"
    checks = report.get("checks")
    if not checks:
        return "Retrain on new labelled data", [f"{heading}: {report.get('reason', '')}"]
    dataset = checks["dataset"]
    drifted = dataset["drifted_columns"]
    names = ", ".join(drifted[:5]) + (f" and {len(drifted) - 5} more" if len(drifted) > 5 else "")
    subject = f"Retrain: drift in {dataset['n_drifted']} of {dataset['n_evaluated']} columns"
    subject += f" ({dataset['share_drifted']:.0%}): {names}" if drifted else ""
    lines = [
        f"{heading}:",
        *[f"- {title}: {status.label(checks[name]['status'])}: {checks[name]['reason']}"
          for name, title in status.CHECKS.items() if name in checks],
        *[f"- {line}" for line in report.get("alerts", [])[:20]],
    ]
    return subject, lines


def _metrics_lines(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[str]:
    if not after:
        return []
    lines = ["Metrics of the retrained model (held-out split):"]
    for key, value in after.items():
        old = (before or {}).get(key)
        lines.append(f"- {key}: {value:.4g}" + (f" (was {old:.4g})" if isinstance(old, (int, float)) else ""))
    return lines


def _base(repo: Path) -> str:
    name = git.branch(repo) or os.environ.get("GITHUB_REF_NAME", "")
    if not name:
        raise RetrainError("HEAD is detached: check out the branch the retrain should start from")
    return name


def training_data(params: Params, new: pd.DataFrame, source: str, repo: Path) -> tuple[pd.DataFrame, str]:
    """The refreshed training data and a note of what it holds; refuses when nothing is new."""
    cfg = params.monitor.retrain
    current = io.read_table(repo / params.paths.raw)[list(data_sources.contract(params.data).columns)]
    refreshed, duplicates = combine(current, new, cfg.mode)
    if duplicates == len(new):
        raise RetrainError(f"{source}: all {len(new)} labelled rows are already in the training data")
    note = (f"{params.paths.raw} ({len(current)} rows) + " if cfg.mode == "append" else "") + \
        f"{len(new) - duplicates} labelled rows from {source}" + \
        (f" ({duplicates} duplicates dropped)" if duplicates else "")
    return refreshed, note


def write_training_data(params: Params, refreshed: pd.DataFrame, dataset: str, note: str, repo: Path) -> None:
    """`dataset` as a DVC-tracked file that replaces the previous retrain file, the data config
    reading it selected in conf/, params.yaml recomposed; the new files staged in git."""
    cfg = params.monitor.retrain
    log.info("writing %s (%d rows)", dataset, len(refreshed))
    previous = params.data.source
    if isinstance(previous, FileSource) and previous.path.startswith(f"{cfg.folder}/") and previous.path != dataset \
            and (repo / f"{previous.path}.dvc").is_file():
        dvc.run(repo, "remove", "--outs", f"{previous.path}.dvc")
    io.write_parquet(repo / dataset, refreshed)
    dvc.run(repo, "add", "--quiet", dataset)
    config_file = repo / "conf" / "data" / f"{cfg.config_name}.yaml"
    io.write_text(config_file, data_config(params, dataset, f"{dataset} = {note}"))
    select_data_config(repo / "conf" / "config.yaml", cfg.config_name)
    compose.write(repo / "params.yaml", repo / "conf")
    git.run(repo, "add", "--all", "--", str(Path(dataset).parent), str(config_file.relative_to(repo)))


def run(params: Params, labels: str | None = None, report_path: str | None = None, branch: str | None = None,
        push: bool = False, open_pr: bool = False, repo: str | Path = ".") -> Result:
    """Refresh the training data, rerun the pipeline on a new branch, commit; push and open a PR if asked."""
    repo = Path(repo)
    cfg = params.monitor.retrain
    if git.changed_files(repo):
        raise RetrainError("the working tree has uncommitted changes; commit or stash them first")
    base = _base(repo)
    report_path = report_path or params.paths.drift
    report = io.read_json_if_exists(repo / report_path)
    source = labels or cfg.labels
    new = labelled_rows(repo / source, list(data_sources.contract(params.data).columns), params.data.target)
    refreshed, note = training_data(params, new, source, repo)
    before = io.read_json_if_exists(repo / params.paths.metrics)
    name = branch_name(repo, branch, cfg.branch_prefix)
    dataset = f"{cfg.folder}/{name.removeprefix(cfg.branch_prefix).replace('/', '-')}.parquet"

    git.run(repo, "switch", "--quiet", "-c", name)
    write_training_data(params, refreshed, dataset, note, repo)
    log.info("running dvc repro on %s", name)
    dvc.run(repo, "repro", stream=True)

    subject, cited = _summary(report, report_path)
    message = "\n".join([subject, "", *cited, "", f"Training data: {dataset} = {note}.", "",
                         *_metrics_lines(before, io.read_json_if_exists(repo / params.paths.metrics))])
    git.run(repo, "add", "--update")
    git.run(repo, "commit", "--quiet", "-m", message)
    commit = git.head(repo)
    url = None
    if push or open_pr:
        git.run(repo, "push", "--quiet", "--set-upstream", "origin", name)
        dvc.run(repo, "push", "--quiet")
    if open_pr:
        url = _pull_request(repo, base, name, subject, message, cfg.pr_labels)
    return Result(name, commit, subject, url)


def _pull_request(repo: Path, base: str, head: str, title: str, message: str, labels: list[str]) -> str:
    text = message.split("\n", 2)[-1]
    text += "\n\nOpened by `gitml retrain`. The gate decides whether this model is promoted.\n"
    with tempfile.TemporaryDirectory(prefix="gitml-pr-") as tmp:
        body = Path(tmp) / "body.md"
        body.write_text(text, encoding="utf-8")
        command = ["pr", "create", "--base", base, "--head", head, "--title", title, "--body-file", str(body)]
        for label in labels:
            github.run("label", "create", label, "--color", "1d76db", "--description", "Opened by gitml retrain",
                       "--force")
            command += ["--label", label]
        return github.run(*command).strip()
