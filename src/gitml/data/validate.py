"""The validate stage: the raw table checked against its contract, a column-level report written."""

from __future__ import annotations

import logging

from gitml.config import Params
from gitml.core import io
from gitml.core.errors import DataContractError
from gitml.data import contract, sources

log = logging.getLogger(__name__)


def run(params: Params) -> None:
    """Write the report; a violation fails the stage with one line per column after the report is written."""
    frame = io.read_table(params.paths.raw)
    report = contract.check(frame, sources.contract(params.data), params.data.target, params.data.task)
    io.write_json(params.paths.validation, report)
    for warning in report["warnings"]:
        log.warning("%s", warning)
    if not report["ok"]:
        raise DataContractError(
            f"{params.paths.raw} violates the data contract (details in {params.paths.validation}):\n"
            + contract.summary(report)
        )
    log.info("%d rows, %d columns match the contract", report["rows"], report["columns_checked"])
