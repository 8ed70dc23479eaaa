"""Hydra overrides written into conf/, so a choice made on the command line sticks.

`gitml compose data=mydata model.max_iter=50` edits the files that hold those values: a
group choice is the group's line in the defaults list of conf/config.yaml, a value is its
line in the file of the selected group option (conf/model/<option>.yaml) or in
conf/config.yaml. Only those lines change, comments and layout stay. The edit is proven
before anything is written: conf/ edited in a temporary copy must compose to exactly what
the overrides compose to, or nothing is written and the error says which file to edit by
hand. So conf/ stays the one source of params.yaml and no later composition (`gitml repro`,
`dvc exp run`) can throw a choice away.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitml.config import compose
from gitml.core import io
from gitml.core.errors import ConfigError

CONFIG = "config.yaml"


@dataclass(frozen=True)
class Change:
    """One override as written: the file, the key path in it, and the value's new text."""

    file: str
    key: str
    text: str

    def __str__(self) -> str:
        return f"{self.file}: {self.key}: {self.text}"


def save(conf_dir: str | Path, overrides: Sequence[str]) -> list[Change]:
    """Write `overrides` into the files of `conf_dir`; what changed (nothing when they hold it already)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    conf_dir = Path(conf_dir)
    try:
        parsed = OverridesParser.create().parse_overrides(list(overrides))
    except HydraException as exc:
        raise ConfigError(f"overrides: {' '.join(str(exc).split())}") from exc
    texts = {path: path.read_text(encoding="utf-8") for path in conf_dir.rglob("*.yaml")}
    groups = [o for o in parsed if (conf_dir / o.key_or_group).is_dir() and not o.is_delete()]
    values = [o for o in parsed if o not in groups]
    changes: list[Change] = []
    for override in [*groups, *values]:  # group choices first: a value lands in the newly chosen option's file
        _refuse_unsupported(override)
        if override in groups:
            change = _choose(texts, conf_dir, override.key_or_group, str(override.value()), override.is_add())
        else:
            change = _set(texts, conf_dir, override.key_or_group, override.value(),
                          override.is_add() or override.is_force_add())
        if change:
            changes.append(change)
    if changes:
        _prove(conf_dir, texts, overrides)
        for path, text in texts.items():
            if path.read_text(encoding="utf-8") != text:
                io.write_text(path, text)
    return changes


def _refuse_unsupported(override: Any) -> None:
    shown = override.input_line
    if override.is_sweep_override():
        raise ConfigError(f"{shown}: a sweep runs as experiments (`dvc exp run --queue -S '{shown}'`), not in conf/")
    if override.is_delete():
        raise ConfigError(f"{shown}: deleting a key is not written into conf/; remove it from its file by hand")
    if override.package is not None:
        raise ConfigError(f"{shown}: a group choice with a package (@) is not written into conf/; edit the defaults "
                          f"list of conf/{CONFIG} by hand")


def _load(text: str, path: Path) -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        return YAML().load(text)
    except YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {str(exc).splitlines()[0]}") from exc


def _choice(texts: dict[Path, str], conf_dir: Path, group: str) -> str | None:
    """The option the defaults list of conf/config.yaml selects for `group`."""
    path = conf_dir / CONFIG
    for item in _load(texts[path], path).get("defaults") or []:
        if isinstance(item, dict) and group in item:
            return str(item[group])
    return None


def _choose(texts: dict[Path, str], conf_dir: Path, group: str, option: str, add: bool) -> Change | None:
    """`group=option`: the group's entry of the defaults list."""
    path = conf_dir / CONFIG
    document = _load(texts[path], path)
    defaults = document.get("defaults") if isinstance(document, dict) else None
    if not isinstance(defaults, list):
        raise ConfigError(f"{conf_dir.name}/{CONFIG}: has no defaults list to choose {group}={option} in")
    lines = texts[path].splitlines(keepends=True)
    for item in defaults:
        if isinstance(item, dict) and group in item:
            if str(item[group]) == option:
                return None
            line, column = item.lc.value(group)
            lines[line] = _replace(lines[line], column, option, item.ca.items.get(group))
            texts[path] = "".join(lines)
            return Change(f"{conf_dir.name}/{CONFIG}", f"defaults.{group}", option)
    if not add:
        raise ConfigError(f"{group}={option}: {conf_dir.name}/{CONFIG} chooses no {group} option; "
                          f"add it with +{group}={option}")
    self_index = next((i for i, item in enumerate(defaults) if item == "_self_"), len(defaults) - 1)
    line, column = defaults.lc.item(self_index)
    lines.insert(line, f"{' ' * (column - 2)}- {group}: {option}\n")
    texts[path] = "".join(lines)
    return Change(f"{conf_dir.name}/{CONFIG}", f"defaults.{group}", option)


def _set(texts: dict[Path, str], conf_dir: Path, key: str, value: Any, add: bool) -> Change | None:
    """`a.b.c=value`: the line of the key in the selected option's file of group `a`, else in config.yaml."""
    head, _, rest = key.partition(".")
    option = _choice(texts, conf_dir, head) if rest and (conf_dir / head).is_dir() else None
    if option:
        path, parts = conf_dir / head / f"{option}.yaml", rest.split(".")
    else:
        path, parts = conf_dir / CONFIG, key.split(".")
    if path not in texts:
        raise ConfigError(f"{key}: {path} does not exist")
    shown = f"{conf_dir.name}/{path.relative_to(conf_dir).as_posix()}"
    document = _load(texts[path], path)
    node = document
    for part in parts[:-1]:
        child = node.get(part) if isinstance(node, dict) else None
        if not isinstance(child, dict):
            raise ConfigError(f"{key}: {shown} has no mapping {part!r} to hold it; edit that file by hand")
        node = child
    leaf, text = parts[-1], compose.flow(value)
    lines = texts[path].splitlines(keepends=True)
    if isinstance(node, dict) and leaf in node:
        if node[leaf] == value:
            return None
        if _is_block(node[leaf]):
            raise ConfigError(f"{key}: {shown} holds a block there; edit that file by hand")
        line, column = node.lc.value(leaf)
        lines[line] = _replace(lines[line], column, text, node.ca.items.get(leaf))
    elif add and isinstance(node, dict) and not node.fa.flow_style():
        indent = node.lc.key(next(iter(node)))[1] if node else 0
        lines.insert(_last_line(node) + 1 if node else len(lines), f"{' ' * indent}{leaf}: {text}\n")
    elif add:
        raise ConfigError(f"{key}: {shown} holds its parent in flow style; edit that file by hand")
    else:
        raise ConfigError(f"{key}: not set in {shown} (it comes from elsewhere); add it with +{key}=..., "
                          "or edit conf/ by hand")
    texts[path] = "".join(lines)
    return Change(shown, ".".join(parts), text)


def _is_block(value: Any) -> bool:
    """A value that spans lines: a block mapping or list, or a folded or literal string."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.scalarstring import FoldedScalarString, LiteralScalarString

    if isinstance(value, CommentedMap | CommentedSeq):
        return not value.fa.flow_style()
    return isinstance(value, FoldedScalarString | LiteralScalarString)


def _last_line(node: Any) -> int:
    """The last line a block mapping or list occupies."""
    from ruamel.yaml.comments import CommentedMap

    if isinstance(node, CommentedMap):
        last = next(reversed(node))
        child, line = node[last], node.lc.value(last)[0]
    else:
        child, line = node[-1], node.lc.item(len(node) - 1)[0]
    return _last_line(child) if _is_block(child) and len(child) else line


def _replace(line: str, column: int, text: str, comment: Any) -> str:
    """A line with the value from `column` on replaced by `text`; its trailing comment kept in its column."""
    ending = "\n" if line.endswith("\n") else ""
    new = line[:column] + text
    token = comment[2] if comment and len(comment) > 2 and comment[2] is not None else None
    if token is not None and token.value.lstrip().startswith("#"):
        new = new + " " * max(1, token.column - len(new)) + token.value.strip()
    return new + ending


def _prove(conf_dir: Path, texts: dict[Path, str], overrides: Sequence[str]) -> None:
    """The edited conf/ must compose to what the overrides compose to; else nothing is written."""
    wanted = compose.compose(conf_dir, overrides)
    with tempfile.TemporaryDirectory(prefix=".gitml-conf-") as folder:
        copy = Path(folder) / conf_dir.name
        io.copy_tree(conf_dir, copy)  # a full disk or size limit: one line naming the file
        for path, text in texts.items():
            (copy / path.relative_to(conf_dir)).write_text(text, encoding="utf-8")
        try:
            got = compose.compose(copy)
        except ConfigError as exc:
            raise ConfigError(f"overrides {' '.join(overrides)}: conf/ would not compose: {exc}") from exc
    if got != wanted:
        keys = compose.stale_keys(got, wanted)
        raise ConfigError(f"overrides {' '.join(overrides)}: cannot be written into conf/ faithfully (they would "
                          f"differ at {', '.join(keys[:5]) or '<formatting>'}); edit conf/ by hand")
