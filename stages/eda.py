"""Stage eda: profile the raw data (reports/eda.json) and render it as a self-contained page (reports/eda.html)."""

from __future__ import annotations

from collections.abc import Sequence

from gitml.cli import stage
from gitml.eda import profile


def main(argv: Sequence[str] | None = None) -> int:
    return stage.run(profile.run, argv, __doc__)


if __name__ == "__main__":
    raise SystemExit(main())
