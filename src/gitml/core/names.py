"""Name grammars that several layers check: the config when it is read, the registry when it parses tags.

Kept free of any import, so `gitml models` (which parses every tag) stays fast.
"""

from __future__ import annotations

#: GTO's artifact and stage names.
NAME_PATTERN = r"[a-zA-Z0-9](?:[a-zA-Z0-9_/-]*[a-zA-Z0-9])?"
