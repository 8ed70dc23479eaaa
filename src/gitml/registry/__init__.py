"""The registry: model versions and stages as git tags in GTO's grammar, their lineage, artifacts and cards.

`tags` reads the registry (one git call); `write` registers and promotes; `artifacts`
materialises a version's model for serving; `lineage` says where a version came from;
`card` is the model card stage.
"""

from __future__ import annotations

__all__ = ["artifacts", "card", "lineage", "tags", "write"]
