"""The command line: `gitml` and its subcommands, the DVC stage runner, the project check and scaffold."""

from __future__ import annotations

__all__ = ["check", "commands", "main", "scaffold", "stage"]
