"""The project's history as the site shows it: every commit of the default branch, of other
branches and of DVC experiments, each with its params, metrics and resampled curves.

Read from git alone, in a fixed number of processes whatever the number of commits: one
`git for-each-ref` (branches, remote branches, `refs/exps`), one `git log` over every tip,
then `git cat-file`: params.yaml and dvc.yaml of every commit in one `--batch` call, the
sizes of the metrics and plot files they name in one `--batch-check`, and those files, each
distinct object once, in one more `--batch`. A file many commits share is parsed once (by
object id). DVC keeps an experiment as a commit on its baseline under
`refs/exps/XX/REST-OF-SHA/NAME`; reading those refs lists what `dvc exp show --json
--all-commits` lists, with no DVC process (tested against DVC itself).
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gitml.config import Site
from gitml.core.text import flatten
from gitml.model import outputs
from gitml.vcs import git

log = logging.getLogger(__name__)

_FIELDS = ("%H", "%P", "%an", "%aI", "%s")
_EXP = re.compile(r"^refs/exps/([0-9a-f]{2})/([0-9a-f]{38})/([^/]+)$")
_VAR = re.compile(r"\$\{\s*([\w.-]+)\s*\}")
#: Plot files larger than this are not read for every commit (a regression's pairs file grows with its test set).
PLOT_MAX_BYTES = 2_000_000
DEFAULT_METRICS = "reports/metrics.json"
DEFAULT_PLOTS = "reports/plots"
RESIDUALS = "residuals"
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class Commit:
    sha: str
    parents: list[str]
    author: str
    date: str
    subject: str
    #: main (the default branch's history), branch, or experiment.
    group: str = "main"
    #: The branch (or experiment) name it is listed under.
    branch: str = ""
    #: An experiment's baseline commit.
    baseline: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    #: Curves resampled on `charts.GRID` by name (ROC, precision-recall; residual quantiles for regression).
    curves: dict[str, list[float | None]] = field(default_factory=dict)
    task: str | None = None
    #: What could not be read at this commit, one line each.
    problems: list[str] = field(default_factory=list)
    #: Parsed params.yaml and dvc.yaml (None when absent or unreadable).
    raw_params: dict[str, Any] | None = None
    dvc_yaml: dict[str, Any] | None = None

    @property
    def short(self) -> str:
        return self.sha[:7]

    @property
    def parent(self) -> str | None:
        """What its params and metrics are compared with: an experiment's baseline, else the first parent."""
        return self.baseline or (self.parents[0] if self.parents else None)


@dataclass
class History:
    branch: str
    #: The tip of the default branch, or None in a repository without commits.
    tip: str | None = None
    commits: list[Commit] = field(default_factory=list)
    #: The default branch's first-parent chain, oldest first (metrics over time).
    mainline: list[str] = field(default_factory=list)
    shallow: bool = False
    #: Commits beyond site.max_commits, counted, not shown.
    hidden: int = 0
    warnings: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.by_sha = {c.sha: c for c in self.commits}


class Problems:
    """Problems grouped by cause, so the terminal gets one line per cause, not one per commit."""

    def __init__(self) -> None:
        self.causes: dict[str, list[str]] = {}

    def add(self, cause: str, where: str = "") -> None:
        self.causes.setdefault(cause, [])
        if where:
            self.causes[cause].append(where)

    def lines(self) -> list[str]:
        found = []
        for cause, places in self.causes.items():
            shown = ", ".join(places[:3]) + (f" and {len(places) - 3} more" if len(places) > 3 else "")
            found.append(f"{cause} (at {shown})" if places else cause)
        return found


def load_yaml(raw: bytes) -> Any:
    return yaml.load(raw, Loader=_Loader)  # noqa: S506 - a C-accelerated *safe* loader


def parse_each(raw: dict[str, tuple[str, bytes] | None], parse: Callable[[bytes], Any]) -> dict[str, Any]:
    """Each spec's parsed object, each object id parsed once; an Exception value where it would not parse."""
    by_oid: dict[str, Any] = {}
    found: dict[str, Any] = {}
    for spec, entry in raw.items():
        if entry is None:
            found[spec] = None
            continue
        oid, data = entry
        if oid not in by_oid:
            try:
                by_oid[oid] = parse(data)
            except (ValueError, yaml.YAMLError) as exc:
                by_oid[oid] = exc
        found[spec] = by_oid[oid]
    return found


def resolve(value: Any, params: dict[str, Any]) -> Any:
    """`${a.b}` references in dvc.yaml replaced from params, as DVC's templating does for plain keys."""
    if isinstance(value, str):
        def lookup(match: re.Match[str]) -> str:
            node: Any = params
            for part in match.group(1).split("."):
                if not isinstance(node, dict) or part not in node:
                    return match.group(0)
                node = node[part]
            return str(node)

        return _VAR.sub(lookup, value)
    if isinstance(value, list):
        return [resolve(v, params) for v in value]
    if isinstance(value, dict):
        return {resolve(k, params): resolve(v, params) for k, v in value.items()}
    return value


def _entries(items: Any) -> list[str]:
    """Paths of a dvc.yaml list of outs/metrics/deps (plain strings or one-key mappings)."""
    found = []
    for item in items or []:
        if isinstance(item, str):
            found.append(item)
        elif isinstance(item, dict) and item:
            found.append(str(next(iter(item))))
    return found


def metrics_files(dvc_yaml: dict[str, Any] | None, params: dict[str, Any]) -> list[str]:
    """The metrics files a commit's dvc.yaml declares (stages' and top-level), as DVC reads them."""
    if not isinstance(dvc_yaml, dict):
        paths = params.get("paths") if isinstance(params.get("paths"), dict) else {}
        return [str(paths.get("metrics", DEFAULT_METRICS))]
    declared = _entries(dvc_yaml.get("metrics"))
    for stage in (dvc_yaml.get("stages") or {}).values():
        if isinstance(stage, dict):
            declared += _entries(stage.get("metrics"))
    return list(dict.fromkeys(resolve(path, params) for path in declared))


def parse_metrics(data: bytes, path: str) -> dict[str, float]:
    """The numbers of a metrics file (JSON or YAML), flattened to dotted names; other values are left out."""
    tree = load_yaml(data) if path.endswith((".yaml", ".yml")) else json.loads(data)
    if not isinstance(tree, dict):
        raise ValueError(f"expected an object of metric values, got {type(tree).__name__}")
    return {key: float(value) for key, value in flatten(tree).items()
            if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)}


def _curve(name: str, data: bytes) -> list[float | None] | None:
    points = outputs.parse_curve(data.decode("utf-8", "replace"), name)
    return outputs.on_grid(name, points) if points else None


def _residuals(data: bytes) -> list[float | None] | None:
    pairs = outputs.parse_pairs(data.decode("utf-8", "replace"))
    return outputs.residual_quantiles(pairs) if pairs else None


def _default_branch(refs: dict[str, str], branch: str) -> tuple[str | None, str]:
    for ref in (f"refs/heads/{branch}", f"refs/remotes/origin/{branch}"):
        if ref in refs:
            return refs[ref], branch
    return None, branch


def _branches(refs: dict[str, str], default: str) -> dict[str, str]:
    """Branch name → tip, local branches first; `origin/x` is the same branch as `x`."""
    found: dict[str, str] = {}
    for ref, sha in sorted(refs.items(), key=lambda item: not item[0].startswith("refs/heads/")):
        if ref.startswith("refs/heads/"):
            name = ref.removeprefix("refs/heads/")
        elif ref.startswith("refs/remotes/") and not ref.endswith("/HEAD"):
            name = ref.removeprefix("refs/remotes/").split("/", 1)[-1]
        else:
            continue
        if name != default:
            found.setdefault(name, sha)
    return found


def experiments(refs: dict[str, str]) -> dict[str, tuple[str, str]]:
    """Experiment commit → (name, baseline commit), from DVC's `refs/exps/XX/REST/NAME` refs."""
    found = {}
    for ref, sha in refs.items():
        match = _EXP.match(ref)
        if match:
            found[sha] = (match.group(3), match.group(1) + match.group(2))
    return found


def _reach(start: str, parents: dict[str, list[str]], stop: set[str]) -> list[str]:
    """Commits reachable from `start` (within the listed ones) that are not in `stop`."""
    seen, stack = [], [start]
    visited: set[str] = set()
    while stack:
        sha = stack.pop()
        if sha in visited or sha in stop or sha not in parents:
            continue
        visited.add(sha)
        seen.append(sha)
        stack.extend(parents[sha])
    return seen


def _first_parents(tip: str | None, parents: dict[str, list[str]]) -> list[str]:
    chain = []
    while tip and tip in parents:
        chain.append(tip)
        tip = parents[tip][0] if parents[tip] else None
    return chain[::-1]


def read(repo: str | Path, cfg: Site) -> History:
    """Every commit the site lists, with what each measured. A repository without commits gives an empty history."""
    history = History(cfg.branch)
    if git.commit_of(repo, "HEAD") is None and not git.refs(repo, "refs/heads"):
        history.warnings.append("the repository has no commits yet: nothing to list")
        return history
    refs = git.refs(repo, "refs/heads", "refs/remotes", "refs/exps")
    tip, _ = _default_branch(refs, cfg.branch)
    problems = Problems()
    if tip is None:
        tip = git.commit_of(repo, "HEAD")
        problems.add(f"no branch {cfg.branch!r} (site.branch): the history shown is HEAD's")
    branches = _branches(refs, cfg.branch)
    exps = experiments(refs)
    tips = list(dict.fromkeys([t for t in (tip, *branches.values(), *exps) if t]))
    records = git.commits(repo, tips, _FIELDS, f"--max-count={cfg.max_commits}", "--date-order")
    if len(records) == cfg.max_commits:
        total = int(git.run(repo, "rev-list", "--count", "--stdin", stdin="\n".join(tips) + "\n").strip() or 0)
        history.hidden = total - len(records)
        if history.hidden:
            problems.add(f"{history.hidden} older commits are counted, not listed (site.max_commits={cfg.max_commits})")
    history.shallow = git.is_shallow(repo)
    if history.shallow:
        problems.add("a shallow clone: older history is not here (check out with fetch-depth: 0)")
    commits = [Commit(sha, parents.split(), author, date, subject) for sha, parents, author, date, subject in records]
    parents = {c.sha: c.parents for c in commits}
    group = {sha: ("main", cfg.branch) for sha in _reach(tip, parents, set())} if tip else {}
    for sha, (name, _) in exps.items():
        group[sha] = ("experiment", name)
    for name, sha in sorted(branches.items()):
        for found in _reach(sha, parents, set(group)):
            group[found] = ("branch", name)
    for commit in commits:
        commit.group, commit.branch = group.get(commit.sha, ("branch", "(no branch)"))
        if commit.sha in exps:
            commit.baseline = exps[commit.sha][1]
    history.tip = tip
    history.mainline = _first_parents(tip, parents)
    _read_files(repo, commits, problems)
    if commits and not any(c.metrics for c in commits):
        problems.add("no commit has metrics yet (run the pipeline and commit its metrics file)")
    history.commits = commits
    history.__post_init__()
    history.warnings = problems.lines()
    return history


def _read_files(repo: str | Path, commits: list[Commit], problems: Problems) -> None:
    """Params, dvc.yaml, metrics and plot data of every commit, in three git calls."""
    first = git.read_objects(repo, [f"{c.sha}:{name}" for c in commits for name in ("params.yaml", "dvc.yaml")])
    parsed = parse_each(first, load_yaml)
    wanted: dict[str, list[tuple[Commit, str, str]]] = {}
    for commit in commits:
        raw, dvc_yaml = parsed[f"{commit.sha}:params.yaml"], parsed[f"{commit.sha}:dvc.yaml"]
        for name, value in (("params.yaml", raw), ("dvc.yaml", dvc_yaml)):
            if isinstance(value, Exception):
                problems.add(f"{name} is not valid YAML", commit.short)
                commit.problems.append(f"{name}: not valid YAML")
        raw = raw if isinstance(raw, dict) else {}
        commit.raw_params = raw or None
        commit.dvc_yaml = dvc_yaml if isinstance(dvc_yaml, dict) else None
        commit.params = flatten(raw)
        task = (raw.get("data") or {}).get("task") if isinstance(raw.get("data"), dict) else None
        commit.task = task if task in ("classification", "regression") else None
        for path in metrics_files(commit.dvc_yaml, raw):
            wanted.setdefault(f"{commit.sha}:{path}", []).append((commit, "metrics", path))
        paths = raw.get("paths") if isinstance(raw.get("paths"), dict) else {}
        folder = str(paths.get("plots", DEFAULT_PLOTS))
        if commit.task == "regression":
            wanted.setdefault(f"{commit.sha}:{folder}/{outputs.PAIRS_FILE}", []).append((commit, "pairs", RESIDUALS))
        else:
            for name in outputs.CURVES:
                spec = f"{commit.sha}:{folder}/{outputs.curve_file(name)}"
                wanted.setdefault(spec, []).append((commit, "curve", name))
    sizes = git.object_sizes(repo, wanted)
    oids = {}
    for spec, info in sizes.items():
        kind = wanted[spec][0][1]
        if info and (kind == "metrics" or info[1] <= PLOT_MAX_BYTES):
            oids[spec] = info[0]
    objects = git.read_objects(repo, set(oids.values()))
    decoded: dict[tuple[str, str, str], Any] = {}
    files: dict[str, dict[str, dict[str, float]]] = {}
    for spec, uses in wanted.items():
        oid = oids.get(spec)
        entry = objects.get(oid) if oid else None
        for commit, kind, name in uses:
            if entry is None:
                continue
            key = (entry[0], kind, name)
            if key not in decoded:
                decoded[key] = _decode(kind, name, entry[1])
            value = decoded[key]
            if kind != "metrics":
                if value:
                    commit.curves[name] = value
            elif isinstance(value, str):
                problems.add(f"{name} is malformed", commit.short)
                commit.problems.append(value)
            else:
                files.setdefault(commit.sha, {})[name] = value
    for commit in commits:
        found = files.get(commit.sha, {})
        # One metrics file: its names as they are; several: each name qualified by its file, as DVC shows them.
        commit.metrics = next(iter(found.values())) if len(found) == 1 else {
            f"{path}:{key}": value for path, values in found.items() for key, value in values.items()}


def _decode(kind: str, name: str, data: bytes) -> Any:
    """A metrics file's numbers (or a one-line reason it is unreadable), or a resampled curve."""
    if kind == "pairs":
        return _residuals(data)
    if kind == "curve":
        return _curve(name, data)
    try:
        return parse_metrics(data, name)
    except (ValueError, yaml.YAMLError) as exc:
        return f"{name}: not a readable metrics file ({str(exc).splitlines()[0][:80]})"
