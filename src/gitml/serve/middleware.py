"""Pure ASGI middleware: request ids, metrics and bearer-token auth for every path.

Pure ASGI (not starlette's BaseHTTPMiddleware) because it adds next to nothing per
request. Auth is middleware rather than a route dependency so it also guards the
OpenAPI docs and /metrics; the paths in `serve.auth.public_paths` (the probes) stay open.
"""

from __future__ import annotations

import hmac
import itertools
import json
import os
import re
import time
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

from gitml.serve.metrics import Metrics

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

REQUEST_ID = "x-request-id"
_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


async def send_json(send: Send, status: int, body: dict[str, Any], headers: Iterable[tuple[bytes, bytes]] = ()) -> None:
    payload = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()), *headers]})
    await send({"type": "http.response.body", "body": payload})


class Observe:
    """Give each request an id (the client's `X-Request-ID` if sane), echo it, count and time it.

    Generated ids are a random per-process prefix plus a counter: unique across workers and
    restarts without a `urandom` system call per request (which, under load, waits for the
    GIL held by the model thread).
    """

    def __init__(self, app: ASGIApp, metrics: Metrics, endpoints: Iterable[str]) -> None:
        self.app = app
        self.metrics = metrics
        self.endpoints = frozenset(endpoints)
        self._prefix = os.urandom(8).hex()
        self._counter = itertools.count(1)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        given = header(scope, REQUEST_ID.encode())
        request_id = given if given and _VALID_ID.match(given) else f"{self._prefix}{next(self._counter):08x}"
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), (REQUEST_ID.encode(), request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            endpoint = scope["path"] if scope["path"] in self.endpoints else "other"
            self.metrics.requests.labels(endpoint, str(status)).inc()
            self.metrics.latency.labels(endpoint).observe(time.perf_counter() - started)


class BearerAuth:
    """Refuse requests without `Authorization: Bearer <token>` (constant-time comparison)."""

    def __init__(self, app: ASGIApp, token: str | None, public: Iterable[str]) -> None:
        self.app = app
        self.token = token.encode() if token else None
        self.public = frozenset(public)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.token is None or scope["type"] != "http" or scope["path"] in self.public:
            await self.app(scope, receive, send)
            return
        given = header(scope, b"authorization") or ""
        scheme, _, credential = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(credential.strip().encode(), self.token):
            detail = "missing or invalid bearer token" if given else "this server needs `Authorization: Bearer <token>`"
            await send_json(send, 401, {"error_code": "UNAUTHENTICATED", "message": detail},
                            [(b"www-authenticate", b"Bearer")])
            return
        await self.app(scope, receive, send)
