"""The project site: the whole project as static pages, built from git, tags and the DVC cache.

`history` reads every commit's params, metrics and curves; `versions` the registry's versions,
their stage moves, lineage and cards; `pipeline` the stage graph of dvc.yaml; `build` writes
the pages (`gitml site -o site/`). Nothing below the command line imports this package: it
reads what the other steps wrote (the gate and drift reports are files to it).
"""

from __future__ import annotations

__all__ = ["build", "history", "pipeline", "versions"]
