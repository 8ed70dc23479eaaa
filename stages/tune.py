"""Stage tune: search hyperparameters (or model=auto's families) by cross-validation.

Always in the graph so that `train` can depend on its output; with tuning off it only
writes an empty models/best_params.yaml, without importing the search machinery.
"""

from __future__ import annotations

from collections.abc import Sequence

from gitml import io, search, stage, tuning
from gitml.config import Params


def run(params: Params) -> None:
    outcome = None
    if search.tuned_specs(params):
        outcome = tuning.run(params, io.read_table(params.paths.train))
    tuning.write_outputs(params, outcome)


def main(argv: Sequence[str] | None = None) -> int:
    return stage.run(run, argv, __doc__)


if __name__ == "__main__":
    raise SystemExit(main())
