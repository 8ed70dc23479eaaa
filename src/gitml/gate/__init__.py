"""The promotion gate: compare a candidate commit with a baseline and decide, with a report and a PR comment.

`sides` resolves the baseline and reads what each side measured (reproducing a commit's
missing outputs); `bootstrap` computes paired intervals; `timing` times both models side by
side; `policy` judges each metric and production figure; `diff` lists what changed between
the two commits; `report`, `plots` and `comment` present the verdict; `verdict` runs it all,
for the workspace (`gitml gate`) or for two commits (promotion).
"""

from __future__ import annotations

__all__ = ["bootstrap", "comment", "diff", "plots", "policy", "report", "sides", "timing", "verdict"]
