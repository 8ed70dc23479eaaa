"""Stage card: the model card (Markdown and self-contained HTML) from the pipeline's outputs."""

from __future__ import annotations

from collections.abc import Sequence

from gitml import card, stage
from gitml.config import Params


def run(params: Params) -> None:
    card.write(params)


def main(argv: Sequence[str] | None = None) -> int:
    return stage.run(run, argv, __doc__)


if __name__ == "__main__":
    raise SystemExit(main())
