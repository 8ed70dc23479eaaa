"""Stage train: fit preprocessing + estimator (tuned parameters on top); save the model (skops) and its signature."""

from __future__ import annotations

from collections.abc import Sequence

from gitml import io, modelio, stage, train, tuning
from gitml.config import Params


def run(params: Params) -> None:
    best = tuning.read_best(params.paths.best_params)
    model = train.fit(params, io.read_table(params.paths.train), best)
    signature = train.signature(params, model)
    modelio.save_model(model, params.paths.model)
    io.write_json(params.paths.signature, signature)


def main(argv: Sequence[str] | None = None) -> int:
    return stage.run(run, argv, __doc__)


if __name__ == "__main__":
    raise SystemExit(main())
