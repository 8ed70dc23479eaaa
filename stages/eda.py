"""Stage eda: profile the raw data (reports/eda.json) and render it as a self-contained page (reports/eda.html)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import pyarrow.parquet as pq

from gitml import data, eda, eda_html, io, stage
from gitml.config import Params
from gitml.errors import DataError

log = logging.getLogger("eda")


def run(params: Params) -> None:
    try:
        table = pq.read_table(params.paths.raw)
    except (OSError, ValueError) as exc:
        raise DataError(f"{params.paths.raw}: cannot be read as parquet: {str(exc).splitlines()[0]}") from exc
    profile = eda.profile(table, data.contract(params.data), params.data.target, params.data.task, params.eda)
    io.write_json(params.paths.eda_json, profile)
    title = f"Exploratory data analysis: {params.project.name}"
    io.write_text(params.paths.eda_html, eda_html.render(profile, title, params.eda.leakage_warn))
    for warning in profile["warnings"]:
        log.warning("%s", warning["message"])


def main(argv: Sequence[str] | None = None) -> int:
    return stage.run(run, argv, __doc__)


if __name__ == "__main__":
    raise SystemExit(main())
