"""Where parallel work runs: local joblib workers, or a Dask distributed cluster.

Cross-validation fits and tuning trials are joblib tasks, so the same code runs on a
Dask cluster when `compute.backend: dask` names a scheduler: only the joblib backend
changes. An unreachable scheduler fails within `compute.connect_timeout` seconds with
one line naming the address, never a hang.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Iterator
from typing import Any

from gitml.config import Compute
from gitml.core.errors import ComputeError

log = logging.getLogger(__name__)


def _host_port(address: str) -> tuple[str, int]:
    scheme, _, rest = address.rpartition("://")
    if scheme not in {"", "tcp", "tls"}:
        raise ComputeError(f"compute.scheduler: {address!r} must be tcp://HOST:PORT (or tls://)")
    host, _, port = rest.rpartition(":")
    if not host or not port.isdigit():
        raise ComputeError(f"compute.scheduler: {address!r} must be tcp://HOST:PORT (no port given)")
    return host.strip("[]"), int(port)


def _probe(address: str, timeout: float) -> None:
    """Open and close a TCP connection first: refused or silent addresses fail fast and clearly."""
    host, port = _host_port(address)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        reason = "timed out" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
        raise ComputeError(
            f"compute.scheduler: cannot reach the Dask scheduler at {address} within {timeout:g} s ({reason})"
        ) from exc


def connect(compute: Compute) -> Any:
    """A `distributed.Client` for the configured scheduler, or a one-line ComputeError.

    The Client is made in a daemon thread with a hard deadline: its own timeout does not
    cover a listener that accepts the connection but never speaks Dask.
    """
    try:
        from distributed import Client
    except ImportError as exc:
        raise ComputeError("compute.backend: dask needs the dask extra (pip install 'gitml[dask]')") from exc
    address, timeout = str(compute.scheduler), compute.connect_timeout
    _probe(address, timeout)
    made: dict[str, Any] = {}

    def make() -> None:
        try:
            made["client"] = Client(address, timeout=timeout, set_as_default=False)
        except Exception as exc:  # a listener that is not a Dask scheduler fails in many ways: report it
            made["error"] = exc

    thread = threading.Thread(target=make, name="gitml-dask-connect", daemon=True)
    thread.start()
    thread.join(timeout + 1.0)
    if "client" in made:
        log.info("connected to Dask scheduler %s", address)
        return made["client"]
    error = made.get("error")
    reason = f"{type(error).__name__}: {str(error).splitlines()[0][:120]}" if error else "no handshake"
    raise ComputeError(
        f"compute.scheduler: {address} did not answer as a Dask scheduler within {timeout:g} s ({reason})"
    ) from error


@contextlib.contextmanager
def backend(compute: Compute) -> Iterator[int]:
    """Route joblib work inside the block to the configured backend; yields the n_jobs to use."""
    if compute.backend == "local":
        yield compute.n_jobs
        return
    import joblib

    client = connect(compute)
    try:
        with joblib.parallel_backend("dask", client=client, wait_for_workers_timeout=compute.connect_timeout):
            yield -1
    finally:
        client.close(timeout=compute.connect_timeout)
