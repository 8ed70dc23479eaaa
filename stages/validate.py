"""Stage validate: check the raw data against its contract; fail with a column-level report."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from gitml import contract, data, io, stage
from gitml.config import Params
from gitml.errors import DataContractError

log = logging.getLogger("validate")


def run(params: Params) -> None:
    frame = io.read_table(params.paths.raw)
    report = contract.check(frame, data.contract(params.data), params.data.target)
    io.write_json(params.paths.validation, report)
    for warning in report["warnings"]:
        log.warning("%s", warning)
    if not report["ok"]:
        raise DataContractError(
            f"{params.paths.raw} violates the data contract (details in {params.paths.validation}):\n"
            + contract.summary(report)
        )
    log.info("%d rows, %d columns match the contract", report["rows"], report["columns_checked"])


def main(argv: Sequence[str] | None = None) -> int:
    return stage.run(run, argv, __doc__)


if __name__ == "__main__":
    raise SystemExit(main())
