"""Drift monitoring: compare current data (the serving prediction log) with a reference.

`sources` reads CSV/Parquet files and folders in record batches and resolves the
reference (the training features of the model in `prod`, else `paths.train`);
`stats` holds the vectorised statistics; `policy` turns the rule table and its
overrides into one decision per column; `drift` runs a whole comparison into a report;
`render` writes it as compact HTML and Markdown; `alert` opens or updates the one
GitHub issue about drift. Nothing here imports training code.
"""

from __future__ import annotations

#: `gitml monitor` exit codes.
NO_DRIFT, DRIFT, NOT_EVALUATED = 0, 1, 2
