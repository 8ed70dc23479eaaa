"""`POST /admin/reload`: load the model again without dropping in-flight requests (as SIGHUP does)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from gitml.core.errors import GitmlError
from gitml.serve.deps import AdminDep, ServiceDep

router = APIRouter(prefix="/admin", tags=["admin"])


@router.post("/reload", responses={403: {"description": "no token configured"},
                                   409: {"description": "the new model failed to load; the old one still serves"}})
async def reload(service: ServiceDep, _: AdminDep) -> dict[str, str]:
    previous = service.bundle.info.version
    try:
        bundle = await service.reload()
    except GitmlError as exc:
        raise HTTPException(409, f"reload failed, still serving {previous}: {exc}") from exc
    return {"status": "reloaded", "name": bundle.info.name, "version": bundle.info.version, "previous": previous}
