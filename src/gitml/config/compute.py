"""The `compute` section: where parallel work runs (local joblib workers or a Dask cluster)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from gitml.config.base import Section


class Compute(Section):
    """Where parallel work (cross-validation fits, trials) runs; results do not depend on it."""

    backend: Literal["local", "dask"] = "local"
    #: Local joblib workers (-1: all cores).
    n_jobs: int = -1
    #: The Dask scheduler address (e.g. tcp://10.0.0.5:8786), needed when backend is dask.
    scheduler: str | None = None
    #: Seconds to wait for the scheduler (and for its first worker) before failing.
    connect_timeout: Annotated[float, Field(gt=0)] = 5.0

    @model_validator(mode="after")
    def _dask_needs_scheduler(self) -> Compute:
        if self.backend == "dask" and not self.scheduler:
            raise ValueError("backend dask needs `scheduler` (the Dask scheduler address, e.g. tcp://127.0.0.1:8786)")
        if self.n_jobs == 0:
            raise ValueError("n_jobs must be a positive count or -1 (all cores), not 0")
        return self
