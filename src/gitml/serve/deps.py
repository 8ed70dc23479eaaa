"""Route dependencies as `Annotated[..., Depends]` aliases, and the size-limited body reader.

The dependencies are `async def` on purpose: FastAPI runs a plain `def` dependency in a
worker thread, a thread hop per dependency per request that cost a third of the
per-request overhead in a profile.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from gitml.core.errors import RequestError
from gitml.serve.service import Service


async def get_service(request: Request) -> Service:
    return request.app.state.service


ServiceDep = Annotated[Service, Depends(get_service)]


async def require_admin(service: ServiceDep) -> None:
    """Admin endpoints exist only when a token guards them (the auth middleware checked it)."""
    if service.settings.token() is None:
        env = service.config.auth.token_env
        raise HTTPException(403, f"admin endpoints are disabled: set {env} to a token to enable them")


AdminDep = Annotated[None, Depends(require_admin)]


async def request_id(request: Request) -> str:
    return request.scope["state"]["request_id"]


RequestIdDep = Annotated[str, Depends(request_id)]


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it passes `limit` bytes (never read whole)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise RequestError(f"request body of {declared} bytes is over the limit of {limit} (serve.max_body_bytes)",
                           413, "REQUEST_LIMIT_EXCEEDED")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestError(f"request body is over the limit of {limit} bytes (serve.max_body_bytes)",
                               413, "REQUEST_LIMIT_EXCEEDED")
        chunks.append(chunk)
    return b"".join(chunks)
