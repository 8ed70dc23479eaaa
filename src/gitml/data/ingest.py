"""The ingest stage: the configured source, loaded once and stored as the raw Parquet table."""

from __future__ import annotations

from gitml.config import Params
from gitml.core import io
from gitml.data import sources


def run(params: Params) -> None:
    io.write_parquet(params.paths.raw, sources.load(params.data, params.seed))
