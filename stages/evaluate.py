"""Stage evaluate: metrics, test predictions, curve data and permutation importance."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from gitml import evaluate, io, modelio, stage
from gitml.config import Params


def run(params: Params) -> None:
    model = modelio.load_model(params.paths.model)
    test = io.read_table(params.paths.test)
    target, task = params.data.target, params.data.task
    predictions = evaluate.predictions(model, test, target, task)
    plots = Path(params.paths.plots)
    for name, points in evaluate.curves(predictions, params.evaluate).items():
        io.write_json(plots / f"{name}.json", {name: points})
    io.write_text(plots / "predictions.csv", predictions[["y_true", "y_pred"]].rename(
        columns={"y_true": "actual", "y_pred": "predicted"}).to_csv(index=False))
    io.write_json(params.paths.importance, evaluate.importance(model, test, target, params.evaluate, params.seed))
    io.write_parquet(params.paths.predictions, predictions)
    io.write_json(params.paths.metrics, evaluate.metrics(predictions, task))


def main(argv: Sequence[str] | None = None) -> int:
    return stage.run(run, argv, __doc__)


if __name__ == "__main__":
    raise SystemExit(main())
