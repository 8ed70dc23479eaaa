"""Drift monitoring: compare current data (the serving prediction log) with a reference, alert, retrain.

`sources` reads CSV/Parquet files and folders in record batches and resolves the
reference (the training features of the model in `prod`, else `paths.train`);
`stats` holds the vectorised statistics; `rules` turns the rule table and its
overrides into one decision per column, corrected across the columns; `columns`
measures column by column and decides them together; `status` is the vocabulary every
check ends in; `drift` runs a whole comparison into a report; `render` writes it as
compact HTML and Markdown; `alert` opens or updates the one GitHub issue about drift; `retrain` adds
labelled rows to the training data and retrains on a branch. Nothing here imports
training code.
"""

from __future__ import annotations

__all__ = ["alert", "columns", "drift", "render", "retrain", "rules", "sources", "stats", "status"]
