"""Stage catalog: the feature catalog (data/features/catalog.json) and its readable page (reports/features.md)."""

from __future__ import annotations

from collections.abc import Sequence

from gitml import catalog, featurize, io, stage
from gitml.config import Params


def run(params: Params) -> None:
    inputs = featurize.columns(params)[:-1]  # the target is not a feature
    built = catalog.build(params, featurize.read_columns(params.paths.train, inputs))
    io.write_json(params.paths.catalog, built)
    io.write_text(params.paths.features_report, catalog.markdown(built))


def main(argv: Sequence[str] | None = None) -> int:
    return stage.run(run, argv, __doc__)


if __name__ == "__main__":
    raise SystemExit(main())
