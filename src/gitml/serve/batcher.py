"""Adaptive micro-batching: concurrent requests share one model call.

A model call costs nearly the same for 1 row as for 100 (a 100-tree forest: a few
milliseconds either way), so under load requests are gathered and predicted together.
One model thread runs one call at a time; requests that arrive meanwhile queue, and the
next call takes all of them (up to `max_rows`). When the model is idle, a request is
predicted at once, unless other requests are still being received and validated: only
then does the batcher wait, at most `max_wait_ms`, for them. So an idle server adds no
latency and a busy one batches by itself.

Under steady load (requests were queued when the last call ended), the next call also
waits, at most `max_wait_ms`, for the clients of the call that just ended to send again.
Without it, concurrent clients settle into two half-size batches that take turns (8
clients: calls of 4 while the other 4 wait), which halves throughput and doubles latency
when a call costs the same for 4 rows as for 8.

Requests are validated before they are queued, so one bad request never reaches a
batch; if a model call still fails, its requests are retried one by one so only the
request that breaks the model fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from gitml.serve.inputs import Rows

log = logging.getLogger(__name__)


@dataclass
class Job:
    """One validated request waiting for its share of a model call."""

    bundle: Any
    rows: Rows
    request_id: str
    timestamp: float
    future: asyncio.Future[Any] = field(repr=False, default=None)  # type: ignore[assignment]


#: Runs in the model thread: one result (or exception) per job, in order.
RunBatch = Callable[[Sequence[Job]], list[Any]]


class Arrival:
    """A request being received; it counts as `arriving` until it is queued or gives up."""

    def __init__(self, batcher: MicroBatcher) -> None:
        self._batcher = batcher
        self._open = True

    def done(self) -> None:
        """No longer arriving: queued, or given up (then a waiting batch need not wait for it)."""
        if self._open:
            self._open = False
            self._batcher.arriving -= 1
            self._batcher._wake.set()

    async def submit(self, job: Job) -> Any:
        self.done()
        return await self._batcher.submit(job)


class MicroBatcher:
    def __init__(self, run: RunBatch, max_rows: int, max_wait_s: float) -> None:
        self._run = run
        self.max_rows = max_rows
        self.max_wait_s = max_wait_s
        self.arriving = 0
        self._queue: deque[Job] = deque()
        self._wake = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="gitml-model")
        self._returning = 0  # requests of the last call, when more were queued behind it: expected back

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="gitml-batcher")

    async def close(self) -> None:
        """Finish every queued job, then stop the model thread."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task
        self._executor.shutdown(wait=True)

    @contextlib.asynccontextmanager
    async def arrival(self) -> AsyncIterator[Arrival]:
        self.arriving += 1
        arrival = Arrival(self)
        try:
            yield arrival
        finally:
            arrival.done()

    async def submit(self, job: Job) -> Any:
        if self._closing:
            raise RuntimeError("the batcher is shut down")
        job.future = asyncio.get_running_loop().create_future()
        self._queue.append(job)
        self._wake.set()
        return await job.future

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self._queue:
                if self._closing:
                    return
                self._returning = 0
                self._wake.clear()
                await self._wake.wait()
                continue
            batch = await self._gather(loop)
            self._returning = len(batch)
            try:
                results = await loop.run_in_executor(self._executor, self._run, batch)
            except Exception as exc:  # the runner converts model errors itself; this is a bug, fail the batch only
                log.exception("model call failed")
                results = [exc] * len(batch)
            for job, result in zip(batch, results, strict=True):
                if job.future.done():  # the client went away
                    continue
                if isinstance(result, BaseException):
                    job.future.set_exception(result)
                else:
                    job.future.set_result(result)

    async def _gather(self, loop: asyncio.AbstractEventLoop) -> list[Job]:
        """The next batch: queued jobs of the same model, waiting only for requests still arriving and,
        under steady load, for the clients of the last call."""
        expected = len(self._queue) + self._returning
        batch = [self._queue.popleft()]
        rows = batch[0].rows.n
        deadline = loop.time() + self.max_wait_s
        while rows < self.max_rows:
            if self._queue:
                head = self._queue[0]
                if head.bundle is not batch[0].bundle or rows + head.rows.n > self.max_rows:
                    break
                batch.append(self._queue.popleft())
                rows += head.rows.n
                continue
            remaining = deadline - loop.time()
            if (self.arriving <= 0 and len(batch) >= expected) or self._closing or remaining <= 0:
                break
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), remaining)
            except TimeoutError:
                break
        return batch
