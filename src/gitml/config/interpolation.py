"""OmegaConf interpolations in conf/ and params.yaml: resolved once, before anything is judged.

Hydra's `instantiate` resolves `${...}` in a spec it is given, so a check of the text as
written is not a check of what gets built: `${oc.create:{_target_: ...}}` would build an
object the `_target_` allow-list never saw. So params.yaml is resolved as a whole when it
is read, every `_target_` is judged after that, and in the sections that name classes
(`model`, `features`, `tune`) two things are refused with one line naming the key:

- resolvers other than references to other keys (`oc.create` and `oc.decode` build
  objects, `oc.env` reads the environment, a custom resolver runs code);
- text still holding `${` after resolution (an escaped `\\${`), which `instantiate`
  would resolve a second time.

`gitml compose` refuses the same resolvers in conf/ before it resolves anything.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from gitml.core.errors import ConfigError
from gitml.core.text import cut, quoted, reason

if TYPE_CHECKING:
    from omegaconf import DictConfig

#: The sections whose specs are instantiated.
GUARDED = ("model", "features", "tune")
#: Resolvers that only read other keys of the same config.
REFERENCES = frozenset({"oc.select", "oc.dict.keys", "oc.dict.values", "oc.deprecated"})


def strings(tree: Any, key: str) -> Iterator[tuple[str, str]]:
    """Every (key path, string) in a tree of mappings and lists."""
    if isinstance(tree, str):
        yield key, tree
    elif isinstance(tree, dict):
        for name, value in tree.items():
            yield from strings(value, f"{key}.{name}" if key else str(name))
    elif isinstance(tree, list):
        for index, value in enumerate(tree):
            yield from strings(value, f"{key}[{index}]")


def _resolvers(text: str) -> list[str]:
    """The resolvers an interpolation string calls, nested ones included (OmegaConf's own grammar)."""
    from omegaconf import grammar_parser
    from omegaconf.grammar.gen.OmegaConfGrammarParser import OmegaConfGrammarParser

    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, OmegaConfGrammarParser.InterpolationResolverContext):
            found.append(node.resolverName().getText())
        for i in range(node.getChildCount() if hasattr(node, "getChildCount") else 0):
            walk(node.getChild(i))

    walk(grammar_parser.parse(text))
    return found


def problems(tree: Any) -> list[str]:
    """One line per key of a guarded section whose interpolation calls a resolver that is not a reference."""
    from omegaconf.errors import GrammarParseError

    found = []
    for section in GUARDED:
        value = tree.get(section) if isinstance(tree, dict) else None
        for key, text in strings(value, section):
            if "${" not in text:
                continue
            try:
                refused = sorted({name for name in _resolvers(text) if name not in REFERENCES})
            except GrammarParseError:
                continue  # not an interpolation OmegaConf can read: resolving it reports that
            if refused:
                found.append(f"{key}: the resolver {', '.join(refused)} is refused in `{section}`: only references "
                             "to other keys (${key}, oc.select) are allowed there, nothing that builds objects or "
                             "reads the environment")
    return found


def check_conf(cfg: DictConfig, where: str) -> None:
    """Refuse object-building and environment resolvers in a composed, unresolved conf/ tree."""
    from omegaconf import OmegaConf

    found = problems(OmegaConf.to_container(cfg, resolve=False))
    if found:
        raise ConfigError("\n".join(f"{where}: {line}" for line in found))


def resolve(raw: dict[str, Any], source: str) -> dict[str, Any]:
    """`raw` with every interpolation resolved; ConfigError lines for refused resolvers and leftover `${`."""
    if not any("${" in text for _, text in strings(raw, "")):
        return raw  # the usual params.yaml, written by `gitml compose`: nothing to resolve
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    found = problems(raw)
    if found:
        raise ConfigError("\n".join(f"{source}: {line}" for line in found))
    try:
        resolved = OmegaConf.to_container(OmegaConf.create(raw, flags={"allow_objects": True}), resolve=True)
    except OmegaConfBaseException as exc:
        where = f"{exc.full_key}: " if getattr(exc, "full_key", None) else ""
        raise ConfigError(f"{source}: {where}cannot resolve: {cut(reason(exc), 200)}") from exc
    left = [f"{source}: {key}: {quoted(text)} still holds `${{` after resolution; building would resolve it again"
            for section in GUARDED for key, text in strings(resolved.get(section), section) if "${" in text]
    if left:
        raise ConfigError("\n".join(left))
    return resolved
