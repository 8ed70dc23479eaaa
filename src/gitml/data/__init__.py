"""Data: the configured source, its contract, and columnar table helpers.

`sources` loads a scikit-learn dataset, a CSV/Parquet file or the seeded generator;
`contract` checks a table against the declared contract (or infers a starting one);
`tables` reads, codes and de-duplicates columns in pyarrow; `dates` parses dates and times
one way for every stage and for serving; `ingest` and `validate` are the pipeline's first
two stages.
"""

from __future__ import annotations

__all__ = ["contract", "dates", "ingest", "sources", "tables", "validate"]
