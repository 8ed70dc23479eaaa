"""The app factory: `create_app()` wires settings, the service, middleware and the routers.

`uvicorn --factory gitml.serve.main:create_app` builds the app from `GITML_SERVE_*`
environment variables (that is how each of several workers starts); `gitml serve`
passes its settings and the model it already loaded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

import gitml
from gitml.core.errors import RequestError
from gitml.serve import settings as settings_module
from gitml.serve.middleware import BearerAuth, Observe
from gitml.serve.model import Bundle
from gitml.serve.routers import admin, predictions, probes
from gitml.serve.service import Service
from gitml.serve.settings import Settings

log = logging.getLogger(__name__)

_CODES = {400: "BAD_REQUEST", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "ENDPOINT_NOT_FOUND",
          405: "BAD_REQUEST", 409: "CONFLICT", 413: "REQUEST_LIMIT_EXCEEDED", 422: "INVALID_PARAMETER_VALUE"}


#: The services of the apps this process built: a worker process builds one, and its supervisor asks it
#: (`gitml.serve.workers`) whether it is ready, as /ready would answer.
_services: list[Service] = []


def ready() -> bool:
    """Whether every app of this process is ready (model loaded, prediction log writable)."""
    return bool(_services) and all(service.ready()[0] for service in _services)


def create_app(settings: Settings | None = None, bundle: Bundle | None = None) -> FastAPI:
    """A serving app; without arguments, settings come from the environment and the model is loaded at start."""
    settings = settings or settings_module.load()
    service = Service(settings, bundle)
    _services.append(service)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await service.start()
        hangup = _on_sighup(service)
        log.info("serving %s %s", service.bundle.info.name, service.bundle.info.version)
        try:
            yield
        finally:
            if hangup:
                asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
            await service.stop()
            _services.remove(service)

    app = FastAPI(title="gitml model server", version=gitml.__version__, lifespan=lifespan,
                  description="Predictions from the model in a gitml model directory or registry stage.")
    app.state.service = service
    routers = (predictions.router, probes.router, admin.router)
    for router in routers:
        app.include_router(router)
    endpoints = {route.path for router in routers for route in router.routes} | {app.docs_url, app.openapi_url}
    _add_error_handlers(app, service, endpoints)
    app.openapi = lambda: _openapi(app, service)
    # Added last = outermost: every request is timed and counted, 401s included.
    app.add_middleware(BearerAuth, token=settings.token(), public=settings.config.auth.public_paths)
    app.add_middleware(Observe, metrics=service.metrics, endpoints=endpoints)
    return app


def _on_sighup(service: Service) -> bool:
    """Reload on SIGHUP; only possible in the main thread (not when a test runs the server in a thread)."""
    with contextlib.suppress(ValueError, RuntimeError, NotImplementedError):
        asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, service.reload_in_background)
        return True
    return False


def _error(status: int, message: str, code: str | None = None, headers: dict[str, str] | None = None) -> JSONResponse:
    """MLflow's error body: `{"error_code": ..., "message": ...}`."""
    return JSONResponse({"error_code": code or _CODES.get(status, "ERROR"), "message": message}, status, headers)


def _add_error_handlers(app: FastAPI, service: Service, endpoints: set[str]) -> None:
    def endpoint(request: Request) -> str:
        """The metric label: unknown paths share one, so scanners cannot blow up the series count."""
        return request.url.path if request.url.path in endpoints else "other"

    @app.exception_handler(RequestError)
    async def request_error(request: Request, exc: RequestError) -> JSONResponse:
        service.metrics.errors.labels(endpoint(request), exc.code).inc()
        return _error(exc.status, str(exc), exc.code)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        code = _CODES.get(exc.status_code, "ERROR")
        service.metrics.errors.labels(endpoint(request), code).inc()
        return _error(exc.status_code, str(exc.detail), code, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(part) for part in first["loc"])
        service.metrics.errors.labels(endpoint(request), "BAD_REQUEST").inc()
        return _error(400, f"{where}: {first['msg']}" if where else first["msg"])

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        request_id = request.scope.get("state", {}).get("request_id", "")
        log.exception("internal error in %s (request %s)", request.url.path, request_id)
        service.metrics.errors.labels(endpoint(request), "INTERNAL_ERROR").inc()
        return _error(500, f"internal error (request id {request_id}); see the server log", "INTERNAL_ERROR")


def _openapi(app: FastAPI, service: Service) -> dict[str, Any]:
    """OpenAPI with the current model's /predict schema (regenerated after a reload)."""
    version = service.bundle.info.version if service.bundle else None
    if app.openapi_schema and app.openapi_schema.get("x-model-version") == version:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    schema["x-model-version"] = version
    components = schema.setdefault("components", {})
    if service.bundle is not None:
        model = service.bundle.request_model.model_json_schema(ref_template="#/components/schemas/{model}")
        components.setdefault("schemas", {}).update(model.pop("$defs", {}))
        components["schemas"]["PredictRequest"] = model
        schema["paths"]["/predict"]["post"]["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PredictRequest"}}},
        }
    if service.settings.token():
        components.setdefault("securitySchemes", {})["bearer"] = {"type": "http", "scheme": "bearer"}
        schema["security"] = [{"bearer": []}]
    app.openapi_schema = schema
    return schema
