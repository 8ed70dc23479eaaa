"""Several worker processes behind one socket, reloaded one by one without dropping a request.

uvicorn's own supervisor replaces workers on SIGHUP, but runs one restart per signal (14
signals, 28 restarts) and retires a worker by closing its idle keep-alive connections at
once, racing clients that are sending on them. This supervisor, built on uvicorn's
worker processes:

- coalesces signals: every SIGHUP that arrives while a reload runs adds up to one more reload;
- starts a replacement, and retires the old worker only when the replacement's
  readiness (the check `/ready` answers: model loaded, prediction log writable) holds;
  a replacement not ready within `serve.worker_timeout_s` is stopped and the old
  workers keep serving;
- retires a worker by draining it: it stops accepting connections, answers every
  request still arriving with `Connection: close` (so clients reconnect to the other
  workers), and shuts down once its connections are gone or `DRAIN_S` has passed.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from types import FrameType

from uvicorn import Config, Server
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors.multiprocess import Process

log = logging.getLogger(__name__)

#: How long a retiring worker keeps answering (with `Connection: close`) before it shuts down.
DRAIN_S = 5.0
_EXIT = (signal.SIGINT, signal.SIGTERM)


class _DrainingServer(Server):
    """uvicorn's server, whose first SIGTERM drains the worker instead of closing connections at once."""

    def __init__(self, config: Config) -> None:
        super().__init__(config)
        self._draining: float | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if sig == signal.SIGTERM and self.started and self._draining is None:
            self._draining = time.monotonic()  # the next tick starts the drain, in the event loop
            return
        super().handle_exit(sig, frame)

    async def on_tick(self, counter: int) -> bool:
        if self._draining is not None and not self.should_exit:
            if self.servers and any(server.is_serving() for server in self.servers):
                for server in self.servers:
                    server.close()  # this process stops accepting; the others still do
                self.config.encoded_headers = [*self.config.encoded_headers, (b"connection", b"close")]
                self.server_state.default_headers = [*self.server_state.default_headers, (b"connection", b"close")]
            if not self.server_state.connections or time.monotonic() - self._draining > DRAIN_S:
                self.should_exit = True
        return await super().on_tick(counter)


class _Worker(Process):
    """A uvicorn worker process whose health answer is the app's readiness, not only "started"."""

    @property
    def server(self) -> Server:
        if self._server is None:
            self._server = _DrainingServer(config=self.config)
        return self._server

    def pong(self) -> None:
        from gitml.serve import main

        self.child_conn.recv()
        self.child_conn.send(self.server.started and main.ready())


class Supervisor:
    """Start `config.workers` workers on `sockets`; SIGHUP reloads them one by one; SIGTERM/SIGINT stop them."""

    def __init__(self, config: Config, sockets: list[socket.socket]) -> None:
        self.config = config
        self.sockets = sockets
        self.workers: list[_Worker] = []
        self.should_exit = threading.Event()
        self._signals: list[int] = []
        self.reloads = 0

    def run(self) -> None:
        for sig in (*_EXIT, signal.SIGHUP):
            signal.signal(sig, lambda sig, frame: self._signals.append(sig))
        log.info("started supervisor [%d] with %d workers", os.getpid(), self.config.workers)
        self.workers = [self._start() for _ in range(self.config.workers)]
        while not self.should_exit.wait(0.5):
            self._handle_signals()
            self._keep_alive()
        for worker in self.workers:
            worker.terminate()
        for worker in self.workers:
            worker.join()

    def _start(self) -> _Worker:
        worker = _Worker(self.config, self.sockets)
        worker.start()
        return worker

    def _handle_signals(self) -> None:
        """Every signal queued since the last look counts once: many SIGHUPs are one reload."""
        queued, self._signals[:] = set(self._signals), []
        if queued & set(_EXIT):
            log.info("received %s, stopping the workers", "SIGTERM" if signal.SIGTERM in queued else "SIGINT")
            self.should_exit.set()
        elif signal.SIGHUP in queued:
            self.reload()

    def reload(self) -> bool:
        """Replace each worker by a new one, which must be ready before the old one is retired."""
        self.reloads += 1
        for index, old in enumerate(self.workers):
            if self.should_exit.is_set():
                return False
            new = self._start()
            if not new.wait_until_ready(self.config.timeout_worker_healthcheck, self.should_exit):
                new.kill()
                new.join()
                log.error("reload: a new worker was not ready within %s s (see its log above); worker [%s] keeps "
                          "serving, the reload stopped", self.config.timeout_worker_healthcheck, old.pid)
                return False
            old.terminate()  # it drains, then exits
            old.join()
            self.workers[index] = new
        log.warning("reload %d: every worker replaced", self.reloads)
        return True

    def _keep_alive(self) -> None:
        for index, worker in enumerate(self.workers):
            if self.should_exit.is_set() or worker.is_alive(timeout=self.config.timeout_worker_healthcheck):
                continue
            worker.kill()
            worker.join()
            if worker.exitcode == STARTUP_FAILURE:
                log.error("worker [%s] failed to start: stopping", worker.pid)
                self.should_exit.set()
                return
            log.warning("worker [%s] died: starting another", worker.pid)
            self.workers[index] = self._start()
