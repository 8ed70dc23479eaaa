"""Stage train: fit preprocessing + estimator; save the model (skops) and its signature."""

from __future__ import annotations

from collections.abc import Sequence

from gitml import io, modelio, stage, train
from gitml.config import Params


def run(params: Params) -> None:
    model = train.fit(params, io.read_table(params.paths.train))
    signature = train.signature(params, model)
    modelio.save_model(model, params.paths.model)
    io.write_json(params.paths.signature, signature)


def main(argv: Sequence[str] | None = None) -> int:
    return stage.run(run, argv, __doc__)


if __name__ == "__main__":
    raise SystemExit(main())
