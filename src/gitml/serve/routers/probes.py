"""`GET /health` and `/ping` (alive), `/ready` (model loaded, log writable), `/version`, `/metrics`."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

import gitml
from gitml.serve import schemas
from gitml.serve.deps import ServiceDep
from gitml.serve.metrics import CONTENT_TYPE

router = APIRouter(tags=["operations"])


@router.get("/health")
async def health() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get("/ping")
async def ping() -> Response:
    """Liveness as MLflow's scoring server answers it (its clients' `wait_server_ready()` calls this)."""
    return Response("\n", media_type="application/json")


@router.get("/ready", responses={503: {"description": "not ready, with the reason"}})
async def ready(service: ServiceDep) -> JSONResponse:
    """Readiness: a model is loaded and the prediction log can be written."""
    ok, detail = service.ready()
    return JSONResponse({"status": "ready" if ok else "not ready", "detail": detail}, 200 if ok else 503)


@router.get("/version", response_model=schemas.Version)
async def version(service: ServiceDep) -> schemas.Version:
    """The model being served (name, version, stage, git commit) and gitml's version."""
    info = service.bundle.info
    return schemas.Version(name=info.name, version=info.version, stage=info.stage, commit=info.commit,
                           registered_at=info.registered_at, gitml_version=gitml.__version__)


@router.get("/metrics", response_class=Response)
async def metrics(service: ServiceDep) -> Response:
    """Prometheus text format."""
    if service.predlog is not None:
        service.metrics.log_buffered.set(service.predlog.buffered_rows)
    return Response(service.metrics.render(), media_type=CONTENT_TYPE)
