"""The serving process's moving parts in one place: model, micro-batcher, prediction log, metrics.

Reload swaps the model reference; requests already validated against the old model are
predicted by the old model (each queued job carries its model), so a reload drops no
in-flight request, and a model that fails to load leaves the old one serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from gitml.core.errors import GitmlError, RequestError
from gitml.serve import inputs, logsink, model
from gitml.serve.batcher import Job, MicroBatcher
from gitml.serve.metrics import Metrics
from gitml.serve.predlog import Entry, PredictionLog
from gitml.serve.settings import Settings

log = logging.getLogger(__name__)


class Service:
    def __init__(self, settings: Settings, bundle: model.Bundle | None = None) -> None:
        self.settings = settings
        self.config = settings.config
        self.bundle = bundle
        self.metrics = Metrics()
        self.predlog: PredictionLog | None = None
        self.uploads: logsink.Uploader | None = None
        if self.config.log.enabled:
            self.uploads = logsink.uploader(self.config.log)
            self.predlog = PredictionLog(self.config.log, self.metrics.log_rows.inc, self.metrics.log_dropped.inc,
                                         directory=logsink.local_dir(self.config.log),
                                         on_closed=self.uploads.put if self.uploads else None)
        batching = self.config.micro_batch
        self.batcher = MicroBatcher(self._predict, batching.max_rows, batching.max_wait_ms / 1000.0)
        self._reload_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        if self.bundle is None:
            self.bundle = await asyncio.to_thread(self._load)
        self.metrics.serving(self.bundle.info.name, self.bundle.info.version)
        if self.uploads is not None:
            self.uploads.start()
        if self.predlog is not None:
            self.predlog.start()
        self.batcher.start()

    async def stop(self) -> None:
        await self.batcher.close()
        if self.predlog is not None:
            await asyncio.to_thread(self.predlog.close, self.config.graceful_timeout_s)
        if self.uploads is not None:
            await asyncio.to_thread(self.uploads.close, self.config.graceful_timeout_s)
        self.metrics.process_exit()

    def _load(self) -> model.Bundle:
        return model.load(self.settings.source(), inputs.Rules.of(self.config))

    async def reload(self) -> model.Bundle:
        """Load the model again (a new version if the source changed) and swap it in."""
        async with self._reload_lock:
            try:
                bundle = await asyncio.to_thread(self._load)
            except GitmlError as exc:
                self.metrics.reloads.labels("failed").inc()
                log.error("reload failed, still serving %s: %s", self.bundle.info.version, exc)
                raise
            previous = self.bundle.info
            self.bundle = bundle
            self.metrics.reloads.labels("ok").inc()
            self.metrics.serving(bundle.info.name, bundle.info.version, (previous.name, previous.version))
            log.warning("reloaded: now serving %s %s (was %s)", bundle.info.name, bundle.info.version, previous.version)
            return bundle

    def reload_in_background(self) -> None:
        """SIGHUP: reload; a failure is logged and the old model keeps serving."""
        async def reload() -> None:
            with contextlib.suppress(GitmlError):  # already logged and counted
                await self.reload()

        task = asyncio.get_running_loop().create_task(reload())
        self._tasks.add(task)  # the loop keeps only a weak reference
        task.add_done_callback(self._tasks.discard)

    # -- requests -----------------------------------------------------------------------------

    def ready(self) -> tuple[bool, str]:
        if self.bundle is None:
            return False, "model not loaded"
        if self.predlog is not None and not self.predlog.healthy:
            return False, self.predlog.error or "prediction log writer stopped"
        return True, "ready"

    async def predict(self, bundle: model.Bundle, rows: inputs.Rows, request_id: str, arrival: Any) -> model.Prediction:
        if rows.ignored:
            self.metrics.ignored_columns.inc(rows.ignored)
        job = Job(bundle, rows, request_id, time.time())
        return await arrival.submit(job)

    def _predict(self, jobs: Sequence[Job]) -> list[Any]:
        """Model thread: one call for the whole batch, results split back per request."""
        bundle = jobs[0].bundle
        rows = inputs.concat([job.rows for job in jobs])
        started = time.perf_counter()
        try:
            prediction = bundle.predict(rows)
        except Exception as exc:  # model code raises anything; it must fail only the request that caused it
            if len(jobs) > 1:
                return [result for job in jobs for result in self._predict([job])]
            reason = " ".join(str(exc).split())[:200]
            return [RequestError(f"the model could not predict on this input: {type(exc).__name__}: {reason}")]
        self._observe(bundle, prediction, len(jobs), time.perf_counter() - started)
        if self.predlog is not None:
            self.predlog.append(Entry(bundle, rows, prediction, [job.request_id for job in jobs],
                                      [job.timestamp for job in jobs], [job.rows.n for job in jobs]))
        results, start = [], 0
        for job in jobs:
            results.append(prediction.part(start, start + job.rows.n))
            start += job.rows.n
        return results

    def _observe(self, bundle: model.Bundle, prediction: model.Prediction, requests: int, seconds: float) -> None:
        metrics = self.metrics
        metrics.model_seconds.observe(seconds)
        metrics.batch_rows.observe(len(prediction.labels))
        metrics.batch_requests.observe(requests)
        if bundle.is_classifier:
            labels, counts = np.unique(prediction.labels.astype(str), return_counts=True)
            for label, count in zip(labels.tolist(), counts.tolist(), strict=True):
                metrics.predictions.labels(label).inc(count)
        else:
            metrics.predictions.labels("").inc(len(prediction.labels))
