"""The two sides the gate compares: the baseline commit it resolves, and what each side measured.

A side is what one commit (or the workspace) measured: its metrics, params, dvc.lock,
test-set hash, the plot data its evaluate stage kept in git and its test predictions. A
commit's are read with `gitml.vcs.snapshot` (git files in one call; DVC outputs from the
local cache, else from the DVC remote, else reproduced at that commit in a temporary
worktree), so the verdict for a pair of commits does not depend on what a cache happens to
hold. An output that cannot be had is a GateError saying what is missing and how to provide
it; the gate never quietly compares less. Missing or malformed metrics are errors too.
"""

from __future__ import annotations

import io as _io
import json
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml

from gitml.config import Params
from gitml.core.errors import GateError, GitError, GitmlError, SnapshotError
from gitml.core.text import flatten, quoted, reason
from gitml.gate import diff
from gitml.model import metrics as registry
from gitml.model import outputs
from gitml.registry import tags
from gitml.vcs import git, snapshot

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class Baseline:
    """The commit the candidate is compared with, and how it was chosen (`none`: nothing to compare with)."""

    ref: str
    source: Literal["argument", "registry", "merge-base", "none"]
    commit: str | None


@dataclass
class Side:
    commit: str
    metrics_path: str
    metrics: dict[str, float]
    params: dict[str, Any]
    lock: dict[str, Any]
    test_md5: str | None
    predictions: pd.DataFrame | None = None
    #: Why `predictions` is None.
    note: str | None = None
    #: The evaluate stage's plot data kept in git: curve points by name, actual/predicted pairs.
    curves: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    pairs: list[tuple[str, str]] | None = None
    #: Where each DVC output came from: workspace, cache, remote or reproduced.
    sources: dict[str, str] = field(default_factory=dict)
    #: The model file and the test split, when asked for (to time the model).
    model: Path | None = None
    test: Path | None = None
    #: Why they are None although asked for: the timing says so after the quality verdict is in.
    missing: str | None = None


def resolve(repo: str | Path, params: Params, explicit: str | None = None) -> Baseline:
    """`--baseline REF`, else the model in the registry's baseline stage, else the merge base with the branch."""
    cfg = params.gate.baseline
    if explicit:
        return Baseline(explicit, "argument", _commit(repo, explicit, cfg.remote))
    model = params.registry.artifact
    git.fetch_tags(repo, cfg.remote, [f"{model}@*", f"{model}#*"])
    try:
        version = tags.in_stage(model, cfg.stage, repo)
    except GitmlError as exc:
        raise GateError(f"registry: {exc}") from exc
    if version:
        commit = _commit(repo, version.commit, cfg.remote)
        return Baseline(f"{version.artifact}@{version.version} ({cfg.stage})", "registry", commit)
    branch = _branch(repo, cfg.branch, cfg.remote, model, cfg.stage)
    try:
        base = git.merge_base(repo, branch, cfg.remote)
    except GitError as exc:
        raise GateError(f"{exc}; pass --baseline REF") from exc
    if base == git.head(repo):  # HEAD is the tip of the branch (a push to main): nothing to compare with
        return Baseline(f"none: no {model!r} version in stage {cfg.stage!r} yet, and HEAD is on {branch}",
                        "none", None)
    return Baseline(f"merge base with {branch}", "merge-base", base)


def _commit(repo: str | Path, ref: str, remote: str) -> str:
    try:
        return git.ensure_commit(repo, ref, remote)
    except GitError as exc:
        raise GateError(f"baseline {exc}") from exc


def _branch(repo: str | Path, branch: str, remote: str, model: str, stage: str) -> str:
    """`remote/branch` when it exists (CI checkouts), else the local branch, else fetch it."""
    for ref in (f"{remote}/{branch}", branch):
        if git.commit_of(repo, ref):
            return ref
    if git.fetch_branch(repo, remote, branch):
        return f"{remote}/{branch}"
    raise GateError(
        f"no baseline: no {model!r} version in stage {stage!r} of the registry, and no branch {branch!r} "
        f"(gate.baseline.branch) to take a merge base with; pass --baseline REF"
    )


def parse_metrics(text: str, source: str) -> dict[str, float]:
    """A metrics JSON object as {name: value}; nested objects flatten to dotted names."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise GateError(f"{source}: not valid JSON ({exc.msg} at line {exc.lineno})") from exc
    if not isinstance(data, dict) or not data:
        raise GateError(f"{source}: expected a JSON object of metric values, got {type(data).__name__}")
    metrics = {}
    for key, value in flatten(data).items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise GateError(f"{source}: metric {quoted(key)} is not a finite number (got {quoted(value)})")
        metrics[key] = float(value)
    return metrics


def _classes(signature: str | None) -> int | None:
    """How many classes a committed signature.json lists (None: unknown, or a regression)."""
    try:
        classes = json.loads(signature).get("classes") if signature else None
    except (json.JSONDecodeError, AttributeError):
        return None
    return len(classes) if isinstance(classes, list) and classes else None


def _yaml(text: str | None, source: str) -> dict[str, Any]:
    if text is None:
        return {}
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise GateError(f"{source}: not valid YAML: {str(exc).splitlines()[0]}") from exc
    return data if isinstance(data, dict) else {}


def _read_predictions(data: bytes | Path, source: str) -> pd.DataFrame:
    import pandas as pd

    try:
        frame = pd.read_parquet(data if isinstance(data, Path) else _io.BytesIO(data))
    except Exception as exc:  # pyarrow raises several unrelated types for a bad file
        raise GateError(f"{source}: not a readable Parquet file: {reason(exc)}") from exc
    missing = {outputs.Y_TRUE, outputs.Y_PRED} - set(frame.columns)
    if missing:
        raise GateError(f"{source}: predictions lack column(s) {', '.join(sorted(missing))}")
    return frame


def _plot_data(snap: Side, read: Callable[[str], str | None], folder: str) -> None:
    """Curve points and actual/predicted pairs the evaluate stage wrote (unreadable ones are skipped)."""
    for name in outputs.CURVES:
        points = outputs.parse_curve(read(f"{folder}/{outputs.curve_file(name)}"), name)
        if points is not None:
            snap.curves[name] = points
    snap.pairs = outputs.parse_pairs(read(f"{folder}/{outputs.PAIRS_FILE}"))


def _read_file(root: Path) -> Callable[[str], str | None]:
    def read(path: str) -> str | None:
        file = root / path
        return file.read_text(encoding="utf-8") if file.is_file() else None

    return read


def workspace(repo: str | Path, params: Params, commit: str, files: bool = False) -> Side:
    """The candidate: the workspace's own outputs (the gate checks they belong to HEAD); `files`: model and test too."""
    root, paths = Path(repo), params.paths
    metrics_file = root / paths.metrics
    if not metrics_file.is_file():
        raise GateError(f"{paths.metrics}: not found in the workspace (run `dvc repro`, or `dvc pull`)")
    metrics = parse_metrics(metrics_file.read_text(encoding="utf-8"), paths.metrics)
    lock_file = root / "dvc.lock"
    lock = _yaml(lock_file.read_text(encoding="utf-8") if lock_file.is_file() else None, "dvc.lock")
    raw = _yaml((root / "params.yaml").read_text(encoding="utf-8"), "params.yaml")
    snap = Side(commit, paths.metrics, metrics, raw, lock, diff.test_md5(lock, paths.predictions, paths.test))
    predictions = root / paths.predictions
    if predictions.is_file():
        snap.predictions = _read_predictions(predictions, paths.predictions)
        snap.sources["predictions"] = "workspace"
    else:
        snap.note = f"{paths.predictions} is not in the workspace (run `dvc repro`, or `dvc pull`)"
    if files:
        for name in ("model", "test"):
            file = root / getattr(paths, name)
            if file.is_file():
                setattr(snap, name, file)
                snap.sources[name] = "workspace"
            else:
                snap.missing = f"{getattr(paths, name)}: not in the workspace (run `dvc repro`, or `dvc pull`)"
    _plot_data(snap, _read_file(root), paths.plots)
    return snap


def at_commit(repo: str | Path, commit: str, current: Params, *, label: str = "baseline",
              files: bool = False) -> Side:
    """A commit's side: metrics, params, lock, plot data from git; predictions (`files`: model, test) from DVC."""
    short = commit[:7]

    def read(*paths: str) -> dict[str, str | None]:
        try:
            found = snapshot.read_git(repo, commit, paths)
        except SnapshotError as exc:
            raise GateError(str(exc)) from exc
        return {path: raw.decode("utf-8") if raw is not None else None for path, raw in found.items()}

    first = read("params.yaml", "dvc.lock")
    params = _yaml(first["params.yaml"], f"params.yaml at {short}")
    paths = {**current.paths.model_dump(), **(params.get("paths") if isinstance(params.get("paths"), dict) else {})}
    plots = [f"{paths['plots']}/{name}" for name in (*map(outputs.curve_file, outputs.CURVES), outputs.PAIRS_FILE)]
    committed = read(paths["metrics"], paths["signature"], *plots)
    if committed[paths["metrics"]] is None:
        raise GateError(f"{label} {short}: {paths['metrics']} is not committed there (no metrics to compare with)")
    # A baseline older than today's metric names: its number of classes says what its `f1` was.
    metrics = registry.readable(parse_metrics(committed[paths["metrics"]], f"{paths['metrics']} at {short}"),
                                _classes(committed[paths["signature"]]))
    lock = _yaml(first["dvc.lock"], f"dvc.lock at {short}")
    snap = Side(commit, paths["metrics"], metrics, params, lock,
                diff.test_md5(lock, paths["predictions"], paths["test"]))
    wanted = {"predictions": paths["predictions"]}
    if files:
        wanted.update(model=paths["model"], test=paths["test"])
    reproduce = current.gate.baseline.reproduce
    try:
        found = _outputs(repo, commit, wanted, lock, label, reproduce)
    except GateError as exc:
        if not files:
            raise
        snap.missing = str(exc)  # the quality verdict needs the predictions alone
        found = _outputs(repo, commit, {"predictions": wanted["predictions"]}, lock, label, reproduce)
    for name, output in found.items():
        if output is None and name == "predictions":
            snap.note = f"{wanted[name]} is not a DVC output at {short}"
        elif output is None:
            snap.missing = f"{label} {short}: {wanted[name]} is not a DVC output there"
        else:
            snap.sources[name] = output.source
            snap.note = output.note or snap.note
            if name == "predictions":
                snap.predictions = _read_predictions(output.file, f"{wanted[name]} at {short}")
            else:
                setattr(snap, name, output.file)
    _plot_data(snap, committed.get, paths["plots"])
    return snap


def _outputs(repo: str | Path, commit: str, wanted: dict[str, str], lock: dict[str, Any], label: str,
             reproduce: bool) -> dict[str, snapshot.Output | None]:
    """The DVC outputs `wanted` ({name: path}) of `commit`; a GateError says how to provide a missing one."""
    try:
        found = snapshot.dvc_outputs(repo, commit, wanted.values(), lock, reproduce=reproduce)
    except SnapshotError as exc:
        how = ("its data cannot be had here: `dvc push` it where it was made, or restore the DVC cache"
               if reproduce else "`dvc push` where it was made, restore the DVC cache, "
               "or let the gate reproduce it (gate.baseline.reproduce: true)")
        raise GateError(f"{label} {commit[:7]}: {exc}; {how}") from exc
    return {name: found[path] for name, path in wanted.items()}
