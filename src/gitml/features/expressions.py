"""Safe arithmetic expressions over columns, the language of derived features.

An expression is parsed with Python's `ast` and accepted only if every node is on a
short whitelist: arithmetic, comparisons, `and`/`or`/`not`, numeric literals, column
names and a few numpy functions. It is then evaluated by walking that tree with numpy,
column-wise; nothing is ever compiled or passed to `eval`, so an expression read from a
config or from inside a model file can compute arithmetic over columns and nothing else.

Column names that are not Python identifiers are quoted with backticks, as in
`pandas.eval`: ``log1p(`mean area`) / `mean radius` ``.
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gitml.core.errors import ExpressionError

if TYPE_CHECKING:
    import numpy as np

#: Functions an expression may call, with their number of arguments.
FUNCTIONS: dict[str, int] = {
    "abs": 1, "exp": 1, "log": 1, "log1p": 1, "log2": 1, "log10": 1, "sqrt": 1, "floor": 1, "ceil": 1,
    "minimum": 2, "maximum": 2, "clip": 3, "where": 3,
}
_BINARY = {
    ast.Add: "add", ast.Sub: "subtract", ast.Mult: "multiply", ast.Div: "true_divide",
    ast.FloorDiv: "floor_divide", ast.Mod: "mod", ast.Pow: "power",
}
_COMPARE = {
    ast.Lt: "less", ast.LtE: "less_equal", ast.Gt: "greater", ast.GtE: "greater_equal",
    ast.Eq: "equal", ast.NotEq: "not_equal",
}
_UNARY = {ast.USub: "negative", ast.UAdd: "positive", ast.Not: "logical_not"}
_MAX_LENGTH = 2000
_BACKTICKED = re.compile(r"`([^`]*)`")
_PLACEHOLDER = "__gitml_column_{}__"


@dataclass(frozen=True)
class Expression:
    """A parsed, whitelisted expression and the columns it reads, in order of first use."""

    text: str
    tree: ast.Expression
    columns: tuple[str, ...]
    aliases: tuple[tuple[str, str], ...]

    def evaluate(self, column: Callable[[str], np.ndarray], n_rows: int) -> np.ndarray:
        """The expression's float64 values for `n_rows` rows; non-finite results become NaN."""
        import numpy as np

        names = dict(self.aliases)
        with np.errstate(all="ignore"):
            value = _evaluate(self.tree.body, lambda name: column(names.get(name, name)))
            result = np.broadcast_to(np.asarray(value, dtype=np.float64), (n_rows,))
            result = np.array(result, dtype=np.float64)  # an owned, writable copy
        result[~np.isfinite(result)] = np.nan
        return result


@functools.lru_cache(maxsize=256)
def parse(text: str) -> Expression:
    """Parse and whitelist `text`; ExpressionError says what is wrong, in one line."""
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("empty expression")
    if len(text) > _MAX_LENGTH:
        raise ExpressionError(f"expression longer than {_MAX_LENGTH} characters")
    aliases: dict[str, str] = {}

    def quote(match: re.Match[str]) -> str:
        name = match.group(1)
        if not name:
            raise ExpressionError("empty backtick-quoted column name")
        alias = next((a for a, n in aliases.items() if n == name), None)
        if alias is None:
            alias = _PLACEHOLDER.format(len(aliases))
            aliases[alias] = name
        return f" {alias} "

    source = _BACKTICKED.sub(quote, text)
    if "`" in source:
        raise ExpressionError("unbalanced backtick")
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"invalid syntax: {exc.msg}") from exc
    except (RecursionError, MemoryError, ValueError) as exc:
        raise ExpressionError(f"cannot parse: {type(exc).__name__}") from exc
    columns: list[str] = []
    _check(tree.body, lambda name: columns.append(aliases.get(name, name)))
    ordered = tuple(dict.fromkeys(columns))
    return Expression(text=text, tree=tree, columns=ordered, aliases=tuple(aliases.items()))


def _check(node: ast.AST, use: Callable[[str], None]) -> None:
    """Raise ExpressionError on any node outside the whitelist; report every column read."""
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        _check(node.left, use)
        _check(node.right, use)
    elif isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        _check(node.operand, use)
    elif isinstance(node, ast.BoolOp):
        for value in node.values:
            _check(value, use)
    elif isinstance(node, ast.Compare) and all(type(op) in _COMPARE for op in node.ops):
        for value in (node.left, *node.comparators):
            _check(value, use)
    elif isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise ExpressionError(f"only numeric literals are allowed, not {node.value!r}")
    elif isinstance(node, ast.Name):
        if node.id in FUNCTIONS:
            raise ExpressionError(f"{node.id!r} is a function; call it, or quote a column of that name in backticks")
        use(node.id)
    elif isinstance(node, ast.Call):
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if name not in FUNCTIONS:
            raise ExpressionError(f"unknown function {ast.unparse(node.func)!r} (allowed: {', '.join(FUNCTIONS)})")
        if node.keywords or len(node.args) != FUNCTIONS[name]:
            raise ExpressionError(f"{name}() takes {FUNCTIONS[name]} positional argument(s)")
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise ExpressionError(f"{name}(): *arguments are not allowed")
            _check(arg, use)
    else:
        raise ExpressionError(f"{type(node).__name__} is not allowed in an expression ({ast.unparse(node)!r})")


def _evaluate(node: ast.AST, column: Callable[[str], np.ndarray]) -> np.ndarray | float:
    """Evaluate a node already accepted by `_check`, with numpy ufuncs."""
    import numpy as np

    if isinstance(node, ast.BinOp):
        op = getattr(np, _BINARY[type(node.op)])
        return op(_float(_evaluate(node.left, column)), _float(_evaluate(node.right, column)))
    if isinstance(node, ast.UnaryOp):
        return getattr(np, _UNARY[type(node.op)])(_evaluate(node.operand, column))
    if isinstance(node, ast.BoolOp):
        combine = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
        return functools.reduce(combine, (_evaluate(v, column) for v in node.values))
    if isinstance(node, ast.Compare):
        left, result = _evaluate(node.left, column), True
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = _evaluate(right_node, column)
            result = np.logical_and(result, getattr(np, _COMPARE[type(op)])(left, right))
            left = right
        return result
    if isinstance(node, ast.Constant):
        return float(node.value)
    if isinstance(node, ast.Name):
        return column(node.id)
    if isinstance(node, ast.Call):
        args = [_float(_evaluate(arg, column)) for arg in node.args]
        name = node.func.id
        if name == "where":
            return np.where(np.asarray(args[0], dtype=bool), args[1], args[2])
        if name == "clip":
            return np.minimum(np.maximum(args[0], args[1]), args[2])
        return getattr(np, "absolute" if name == "abs" else name)(*args)
    raise ExpressionError(f"{type(node).__name__} is not allowed in an expression")  # unreachable after _check


def _float(value: np.ndarray | float) -> np.ndarray | float:
    import numpy as np

    return value if isinstance(value, float) else np.asarray(value, dtype=np.float64)
