"""`gitml site -o site/`: the whole project as static pages, from the repository alone.

The pages are rendered with jinja2 from `gitml/site/templates`; the one script (sorting,
filtering and comparing experiments) is shipped in the package, inlined into its page and
allowed by its hash in the page's Content-Security-Policy, which forbids every fetch. So
the site opens the same from `file://` and from GitHub Pages and asks nothing of any
network. Reports that other steps wrote are copied in as they are: the EDA page and each
version's model card from git, the drift and gate reports from the workspace (CI gets them
as artifacts). The site is built in a folder beside the output and renamed into place, so
a failed build leaves the previous site whole.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import json
import logging
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitml import config
from gitml.core import charts, io, svg
from gitml.core.errors import ConfigError, GitmlError
from gitml.core.text import number
from gitml.model import metrics as metric_registry
from gitml.site import history, pipeline, versions
from gitml.vcs import git

log = logging.getLogger(__name__)

#: The file that marks a folder as a gitml site (and says what it was built from).
MARKER = "gitml-site.json"
#: Headline metrics charted over time when none are configured.
MAX_CHARTS = 12
_PAGES = ("index", "experiments", "metrics", "registry", "reports", "pipeline")
_STATIC = Path(__file__).parent / "static"


@dataclass
class Sections:
    """What the site reads from params.yaml: defaults when it is missing or invalid (then said so)."""

    paths: config.Paths = field(default_factory=config.Paths)
    site: config.Site = field(default_factory=config.Site)
    registry: config.Registry = field(default_factory=config.Registry)
    warnings: list[str] = field(default_factory=list)


def sections(params_path: Path) -> Sections:
    if not params_path.is_file():
        return Sections(warnings=[f"{params_path}: not found, the site uses default paths and settings"])
    try:
        params = config.load(params_path)
    except ConfigError as exc:
        first = str(exc).splitlines()[0]
        return Sections(warnings=[f"params.yaml is invalid ({first}), the site uses default paths and settings"])
    return Sections(params.paths, params.site, params.registry)


def _check_destination(output: Path) -> None:
    if output.exists() and not output.is_dir():
        raise GitmlError(f"-o {output}: exists and is not a folder")
    if output.is_dir() and any(output.iterdir()) and not (output / MARKER).is_file():
        raise GitmlError(f"-o {output}: exists, is not empty and is not a site gitml built (no {MARKER}): "
                         "give an empty or new folder")


def run(repo: str | Path = ".", output: str | Path = "site", params_path: str | Path | None = None) -> dict[str, Any]:
    """Build the site of `repo` into `output`; what was built (also written to `output/gitml-site.json`)."""
    repo, output = Path(repo), Path(output)
    if not repo.is_dir() or not git.succeeds(repo, "rev-parse", "--git-dir"):
        raise GitmlError(f"{repo.resolve()}: not a git repository (the site is built from git history)")
    _check_destination(output)
    found = sections(Path(params_path) if params_path else repo / "params.yaml")
    log.info("reading the history")
    past = history.read(repo, found.site)
    log.info("%d commits; reading the registry", len(past.commits))
    registry = versions.read(repo, past) if past.tip else versions.Registry()
    context = _context(repo, found, past, registry)
    output.parent.mkdir(parents=True, exist_ok=True)
    built = io.temporary(output, folder=True)
    try:
        _write(built, context, registry)
        os.chmod(built, 0o755)
        io.swap_into_place(built, output)
    finally:
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(built)
    for line in context["warnings"]:
        log.warning("%s", line)
    return context["summary"]


def _tip_files(repo: Path, tip: str | None, paths: config.Paths) -> dict[str, bytes | None]:
    wanted = [paths.eda_html, paths.eda_json, paths.card_html]
    return git.read_files(repo, tip, wanted) if tip else dict.fromkeys(wanted)


def _workspace(repo: Path, paths: config.Paths) -> dict[str, Any]:
    """The drift and gate reports in the workspace (not committed: CI brings them as artifacts)."""
    found: dict[str, Any] = {"notes": []}
    for key, path in (("drift", paths.drift), ("gate", paths.gate_report)):
        file = repo / path
        found[key] = None
        if file.is_file():
            try:
                found[key] = json.loads(file.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                found["notes"].append(f"{path}: not readable JSON ({exc}); left out")
    found["drift_html"] = repo / paths.drift_html if (repo / paths.drift_html).is_file() else None
    plots = repo / paths.gate_plots
    found["gate_plots"] = sorted(plots.glob("*.svg")) if plots.is_dir() else []
    found["gate_markdown"] = repo / paths.gate_markdown if (repo / paths.gate_markdown).is_file() else None
    return found


def _headline(found: Sections, past: history.History) -> list[str]:
    wanted = found.site.metrics or found.registry.headline_metrics
    if wanted:
        return list(wanted)
    names: dict[str, None] = {}
    for sha in reversed(past.mainline):
        names.update(dict.fromkeys(past.by_sha[sha].metrics))
        if names:
            break
    return list(names)[:MAX_CHARTS]


def _changed(commit: history.Commit, past: history.History) -> list[tuple[str, Any, Any]]:
    parent = past.by_sha.get(commit.parent) if commit.parent else None
    if parent is None:
        return []
    before, after = parent.params, commit.params
    return [(k, before.get(k), after.get(k)) for k in dict.fromkeys([*before, *after]) if before.get(k) != after.get(k)]


def _value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def experiments_data(past: history.History) -> dict[str, Any]:
    """The experiments page's data: metric names and directions, varying params, each commit's values."""
    metric_names = list(dict.fromkeys(name for c in past.commits for name in c.metrics))
    keys = list(dict.fromkeys(key for c in past.commits for key in c.params))
    varying = [k for k in keys if len({json.dumps(c.params.get(k), sort_keys=True, default=str)
                                       for c in past.commits}) > 1]
    constant = {k: past.commits[0].params.get(k) for k in keys if k not in varying} if past.commits else {}
    curves: dict[str, int] = {}
    rows = []
    for commit in past.commits:
        refs = {}
        for name, values in commit.curves.items():
            key = json.dumps(values)
            refs[name] = curves.setdefault(key, len(curves))
        rows.append({"s": commit.sha, "t": f"{commit.short} {commit.subject}",
                     "p": [commit.params.get(k) for k in varying], "m": [commit.metrics.get(n) for n in metric_names],
                     "c": refs})
    return {"metrics": metric_names, "directions": {n: metric_registry.direction(n) for n in metric_names},
            "params": varying, "constant": len(constant), "commits": rows,
            "curves": [json.loads(key) for key in curves], "grid": charts.GRID,
            "titles": {"roc": ["ROC", "false positive rate", "true positive rate"],
                       "precision_recall": ["Precision-recall", "recall", "precision"],
                       "residuals": ["Residual quantiles", "quantile", "predicted − actual"]}}


def _timeline(past: history.History, registry: versions.Registry, names: list[str]) -> list[dict[str, Any]]:
    """One chart per headline metric along the default branch, versions and stage moves marked."""
    index = {sha: i for i, sha in enumerate(past.mainline)}
    marks: list[tuple[int, str, str]] = []
    for view in registry.versions:
        if view.commit in index:
            marks.append((index[view.commit], view.version, "version"))
    for event in registry.events:
        if event.commit in index and not event.removal:
            marks.append((index[event.commit], f"{event.stage} {event.date[:10]}", "stage"))
    found = []
    for name in names:
        points = [(past.by_sha[sha].date[:10], past.by_sha[sha].metrics.get(name)) for sha in past.mainline]
        direction = metric_registry.direction(name)
        chart = svg.series(points, f"{name} over time", f"{name} ({direction} is better)", marks)
        found.append({"name": name, "direction": direction, "chart": chart,
                      "measured": sum(v is not None for _, v in points)})
    return found


def _context(repo: Path, found: Sections, past: history.History, registry: versions.Registry) -> dict[str, Any]:
    tip = past.by_sha.get(past.tip) if past.tip else None
    raw = (tip.raw_params if tip else None) or {}
    files = _tip_files(repo, past.tip, found.paths)
    eda = None
    if files.get(found.paths.eda_json):
        try:
            eda = json.loads(files[found.paths.eda_json])
        except ValueError:
            found.warnings.append(f"{found.paths.eda_json} at the branch tip is not valid JSON")
    workspace = _workspace(repo, found.paths)
    stages = pipeline.stages(tip.dvc_yaml if tip else None, raw)
    headline = _headline(found, past)
    holders = [{"stage": stage, "view": view} for view in registry.versions for stage in view.stages]
    last_gate = workspace["gate"]
    warnings = [*found.warnings, *past.warnings, *registry.warnings, *workspace["notes"]]
    built_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    summary = {"built_at": built_at, "commit": past.tip, "branch": past.branch, "commits": len(past.commits),
               "hidden": past.hidden, "experiments": sum(c.group == "experiment" for c in past.commits),
               "branches": len({c.branch for c in past.commits if c.group == "branch"}),
               "versions": len(registry.versions), "warnings": warnings}
    return {
        "past": past, "registry": registry, "raw": raw, "project": (raw.get("project") or {}).get("name")
        or repo.resolve().name, "data": raw.get("data") if isinstance(raw.get("data"), dict) else {},
        "eda": eda, "files": files, "paths": found.paths, "workspace": workspace, "stages": stages,
        "headline": headline, "holders": holders, "last_gate": last_gate, "warnings": warnings,
        "summary": summary, "changed": {c.sha: _changed(c, past) for c in past.commits},
        "timeline": _timeline(past, registry, headline) if past.mainline else [],
        "latest_version": registry.versions[0] if registry.versions else None,
    }


def _environment() -> Any:
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("gitml.site", "templates"),
                             autoescape=jinja2.select_autoescape(["html", "j2"]), undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters.update(num=number, value=_value, short=lambda sha: (sha or "")[:7],
                       pct=lambda v: f"{v:.0%}", tojson_compact=lambda v: json.dumps(v, separators=(",", ":"))
                       .replace("<", "\\u003c"))
    return env


def _script_hash(script: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")


def _write(folder: Path, context: dict[str, Any], registry: versions.Registry) -> None:
    env = _environment()
    script = (_STATIC / "site.js").read_text(encoding="utf-8")
    style = (_STATIC / "site.css").read_text(encoding="utf-8")
    reports = _copy_reports(folder, context, registry)
    common = {**context, "style": style, "reports": reports, "pages": _PAGES, "csp_script": "",
              "dag": svg.dag([(s.name, s.layer) for s in context["stages"]],
                             [(up, s.name) for s in context["stages"] for up in s.upstream])}
    for page in _PAGES:
        extra: dict[str, Any] = {}
        if page == "experiments":
            extra = {"script": script, "csp_script": f" script-src '{_script_hash(script)}';",
                     "data": experiments_data(context["past"])}
        text = env.get_template(f"{page}.html.j2").render({**common, "page": page, "depth": "", **extra})
        (folder / f"{page}.html").write_text(text, encoding="utf-8")
    (folder / "versions").mkdir()
    for view in registry.versions:
        text = env.get_template("version.html.j2").render({**common, "page": "registry", "depth": "../", "view": view})
        (folder / "versions" / f"{view.slug}.html").write_text(text, encoding="utf-8")
    (folder / ".nojekyll").write_text("", encoding="utf-8")  # GitHub Pages serves the files as they are
    (folder / MARKER).write_text(json.dumps(context["summary"], indent=2) + "\n", encoding="utf-8")


def _copy_reports(folder: Path, context: dict[str, Any], registry: versions.Registry) -> dict[str, Any]:
    """Copy the reports other steps wrote into the site; which ones it has, by name."""
    target = folder / "reports"
    target.mkdir()
    found: dict[str, Any] = {"cards": {}, "eda": None, "card": None, "drift": None, "gate_plots": []}
    paths, files, workspace = context["paths"], context["files"], context["workspace"]
    if files.get(paths.eda_html):
        (target / "eda.html").write_bytes(files[paths.eda_html])
        found["eda"] = "reports/eda.html"
    if files.get(paths.card_html):
        (target / "card.html").write_bytes(files[paths.card_html])
        found["card"] = "reports/card.html"
    if workspace["drift_html"]:
        shutil.copyfile(workspace["drift_html"], target / "drift.html")
        found["drift"] = "reports/drift.html"
    if workspace["gate_plots"]:
        (target / "gate").mkdir()
        found["gate_plots"] = []
        for plot in workspace["gate_plots"]:
            shutil.copyfile(plot, target / "gate" / plot.name)
            found["gate_plots"].append(f"reports/gate/{plot.name}")
    cards = target / "cards"
    cards.mkdir()
    for view in registry.versions:
        if view.card is not None:
            (cards / f"{view.slug}.html").write_bytes(view.card)
            found["cards"][view.slug] = f"reports/cards/{view.slug}.html"
    return found

