"""Text for people: flattened key paths, numbers, Markdown table cells, one-line reasons, quoted values.

Reports, the CLI, the model card and error messages all format through these few
functions, so a number or a key path reads the same wherever it appears. A value echoed
in a message (a column name, a cell, a ref) is quoted with `quoted`, so a 5 MB cell
gives a readable line that says how much was cut, not a 5 MB line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")
#: How much of a value a message quotes: enough to recognise it.
LIMIT = 80


def flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    """Dotted key paths to leaf values. Lists and empty mappings are leaves (a changed list is one
    change); a root that is not a non-empty mapping has no keys."""
    return dict(_leaves(tree, prefix))


def _leaves(tree: Any, prefix: str) -> Iterator[tuple[str, Any]]:
    if isinstance(tree, dict) and tree:
        for key, value in tree.items():
            yield from _leaves(value, f"{prefix}.{key}" if prefix else str(key))
    elif prefix:
        yield prefix, tree


def number(value: Any, digits: int = 4, missing: str = "–") -> str:
    """A figure as people read it: `digits` significant digits for reals, thousands separators
    for counts, yes/no for flags, `missing` for None."""
    if value is None:
        return missing
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def cut(text: str, limit: int = LIMIT) -> str:
    """`text`, or its first `limit` characters and a count of the rest (`…` marks the cut)."""
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text) - limit:,} more characters)"


def quoted(value: Any, limit: int = LIMIT) -> str:
    """A value as a message echoes it: its repr (quotes, escapes, one line), cut as `cut` does."""
    if isinstance(value, str) and len(value) > limit:
        return f"{value[:limit]!r}… ({len(value) - limit:,} more characters)"
    return cut(repr(value), limit)


def md_cell(value: Any, limit: int | None = None) -> str:
    """Text safe inside a Markdown table cell: one line, pipes escaped, cut at `limit` characters."""
    text = " ".join(str(value).split()).replace("|", "\\|")
    return cut(text, limit) if limit else text


def one_line(text: str) -> str:
    """Control characters escaped (`\\x0a`), so a message from a file or a peer prints as one line."""
    return _CONTROL_CHARS.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def reason(exc: BaseException) -> str:
    """The first line of an exception's message, or its type when it has none."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
