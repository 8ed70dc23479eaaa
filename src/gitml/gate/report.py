"""The gate report rendered with jinja2 templates: Markdown for the pull request, JSON for machines.

Templates live in `gitml/gate/templates/` (gate.md.j2, gate.json.j2); `gate.report.template_dir`
names a folder whose templates take precedence. A comment must stay under GitHub's 65,536
characters: the Markdown is rendered with every table whole, then with the longest table
halved until it fits, each cut table saying how many rows it left out (and, if that is not
enough, without its Mermaid charts).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gitml.core.errors import GateError
from gitml.core.text import md_cell, number

#: The hidden tag that marks the gate's one sticky comment on a pull request.
MARKER = "<!-- gitml-gate -->"
_NOTE = "\n\n_… truncated to fit a GitHub comment: the full report is gate.json._\n"
_MIN_ROWS = 3


#: Table cells are cut at this many characters.
_CELL = 120


def _num(value: Any) -> str:
    return number(value, missing="—")


def _signed(value: Any) -> str:
    return "—" if value is None else f"{value:+.4g}"


def _cell(value: Any) -> str:
    return md_cell(value, _CELL)


def _value(value: Any) -> str:
    return "—" if value is None else "`" + _cell(json.dumps(value) if not isinstance(value, str) else value) + "`"


def environment(template_dir: str | None = None) -> Any:
    import jinja2

    loaders: list[jinja2.BaseLoader] = [jinja2.PackageLoader("gitml.gate", "templates")]
    if template_dir:
        loaders.insert(0, jinja2.FileSystemLoader(template_dir))
    env = jinja2.Environment(loader=jinja2.ChoiceLoader(loaders), undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True, autoescape=False)
    env.policies["json.dumps_kwargs"] = {"sort_keys": False, "allow_nan": False}
    env.filters.update(num=_num, signed=_signed, cell=_cell, value=_value, pct=lambda c: f"{c:.0%}",
                       short=lambda sha: (sha or "")[:7], basename=lambda p: Path(p).name)
    return env


def _render(env: Any, name: str, **context: Any) -> str:
    import jinja2

    try:
        return env.get_template(name).render(**context)
    except jinja2.TemplateError as exc:
        raise GateError(f"template {name}: {exc}") from exc


def render_json(report: dict[str, Any], env: Any) -> dict[str, Any]:
    """The JSON report as the template renders it, checked to be valid JSON."""
    text = _render(env, "gate.json.j2", report=report)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise GateError(f"template gate.json.j2: did not render valid JSON ({exc.msg} at line {exc.lineno})") from exc


def render_markdown(report: dict[str, Any], env: Any, max_chars: int, plots_folder: str = "") -> str:
    """The PR comment: starts with MARKER, at most `max_chars` characters, long tables cut with a note."""
    pipeline = report.get("pipeline") or {}
    limits = {"metrics": len(report.get("metrics") or []), "params": len(report.get("params") or []),
              "stages": len(pipeline.get("stages") or []), "files": len(pipeline.get("files") or [])}
    charts = len(report.get("mermaid") or [])
    while True:
        text = _render(env, "gate.md.j2", report=report, limits={**limits, "charts": charts}, marker=MARKER,
                       plots_folder=plots_folder)
        if not text.startswith(MARKER):
            text = f"{MARKER}\n{text}"
        longest = max(limits, key=limits.__getitem__)
        if len(text) <= max_chars:
            break
        if limits[longest] > _MIN_ROWS:
            limits[longest] = max(_MIN_ROWS, limits[longest] // 2)
        elif charts:
            charts = 0  # the Mermaid charts go before a table is cut mid-row
        else:
            break
    if len(text) > max_chars:
        text = text[: max_chars - len(_NOTE)] + _NOTE
    return text
