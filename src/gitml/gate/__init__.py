"""The promotion gate: compare a candidate commit with a baseline and decide, with a report and a PR comment.

`sides` resolves the baseline and reads what each side measured; `bootstrap` computes
paired intervals; `policy` judges each metric; `diff` lists what changed between the two
commits; `report`, `plots` and `comment` present the verdict; `verdict` runs it all.
"""

from __future__ import annotations

__all__ = ["bootstrap", "comment", "diff", "plots", "policy", "report", "sides", "verdict"]
