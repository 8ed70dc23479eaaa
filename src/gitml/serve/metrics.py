"""Prometheus metrics of one serving process, and the text /metrics returns.

Each app has its own registry (several apps in one process, as in tests, do not
collide). With several uvicorn workers, `gitml serve` sets `PROMETHEUS_MULTIPROC_DIR`
and /metrics aggregates every worker's values, whichever worker answers.
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_LATENCY = (0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
_ROWS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096, 16384)


def multiprocess_mode() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


class Metrics:
    """Request counts and latency, errors, predictions by class, batching and log health."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter("gitml_requests", "HTTP requests by endpoint and status code",
                                ["endpoint", "status"], registry=r)
        self.latency = Histogram("gitml_request_duration_seconds", "Request latency by endpoint",
                                 ["endpoint"], buckets=_LATENCY, registry=r)
        self.errors = Counter("gitml_request_errors", "Requests answered with an error, by endpoint and error code",
                              ["endpoint", "code"], registry=r)
        self.ignored_columns = Counter("gitml_request_ignored_columns",
                                       "Columns requests sent beyond the signature, ignored (serve.extra_columns)",
                                       registry=r)
        self.predictions = Counter("gitml_predictions", "Predicted rows by predicted class (empty for regression)",
                                   ["label"], registry=r)
        self.batch_rows = Histogram("gitml_batch_rows", "Rows per model call", buckets=_ROWS, registry=r)
        self.batch_requests = Histogram("gitml_batch_requests", "Requests per model call (micro-batching)",
                                        buckets=_ROWS, registry=r)
        self.model_seconds = Histogram("gitml_model_seconds", "Time in one model call", buckets=_LATENCY, registry=r)
        self.log_rows = Counter("gitml_prediction_log_rows", "Rows written to the prediction log", registry=r)
        self.log_dropped = Counter("gitml_prediction_log_dropped_rows", "Rows the prediction log could not keep",
                                   registry=r)
        self.log_buffered = Gauge("gitml_prediction_log_buffered_rows",
                                  "Rows answered and not yet written (written + dropped + buffered = answered)",
                                  registry=r, multiprocess_mode="livesum")
        self.reloads = Counter("gitml_model_reloads", "Model reloads by outcome", ["outcome"], registry=r)
        self.model = Gauge("gitml_model_info", "The model version being served (1) and earlier ones (0)",
                           ["name", "version"], registry=r, multiprocess_mode="liveall")

    def serving(self, name: str, version: str, previous: tuple[str, str] | None = None) -> None:
        if previous is not None and previous != (name, version):
            self.model.labels(*previous).set(0)
        self.model.labels(name, version).set(1)

    def render(self) -> bytes:
        if multiprocess_mode():
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry)
        return generate_latest(self.registry)

    @staticmethod
    def process_exit() -> None:
        """Let live-only gauges of this worker disappear from the aggregate."""
        if multiprocess_mode():
            multiprocess.mark_process_dead(os.getpid())
