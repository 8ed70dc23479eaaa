"""The base every layer stands on: the error tree, atomic file io, text formatting, charts, name grammars."""

from __future__ import annotations

__all__ = ["charts", "errors", "io", "names", "svg", "text"]
