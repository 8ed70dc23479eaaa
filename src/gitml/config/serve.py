"""The `serve` section: the REST endpoint, its limits, micro-batching, prediction log and auth."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from gitml.config.base import Section


class MicroBatch(Section):
    """Adaptive micro-batching: concurrent requests share one model call."""

    #: At most this many rows go into one model call (a larger single request runs alone).
    max_rows: Annotated[int, Field(gt=0)] = 256
    #: When the model is idle and other requests are still arriving, wait at most this
    #: long for them; an idle server with nothing else arriving never waits.
    max_wait_ms: Annotated[float, Field(ge=0.0, le=1000.0)] = 2.0


class PredictionLog(Section):
    """Every served prediction appended to Parquet files: the `current` data monitoring reads."""

    enabled: bool = True
    #: A local folder, or an fsspec URL (s3://bucket/prefix, gs://..., az://...) closed parts are uploaded to.
    dir: str = "data/inference"
    #: With a URL `dir`: the local folder parts are written to before their upload (kept until it succeeds).
    spool: str = "data/inference/.upload"
    #: Buffered rows are on disk (fsynced, in a closed Parquet segment of the open part) within this
    #: many seconds: a crash loses at most the last `flush_s` of rows.
    flush_s: Annotated[float, Field(gt=0.0, le=3600.0)] = 2.0
    #: The open part is merged into one Parquet file and renamed into place (made visible) at this size or age.
    rotate_mb: Annotated[float, Field(gt=0.0)] = 64.0
    rotate_s: Annotated[float, Field(gt=0.0)] = 300.0
    #: Beyond this many unwritten rows (a failing disk), new rows are dropped and counted.
    max_buffer_rows: Annotated[int, Field(gt=0)] = 200_000


class ServeAuth(Section):
    #: The environment variable holding the bearer token; unset or empty means no auth
    #: (and /admin disabled). The token itself never goes into config.
    token_env: str = "GITML_SERVE_TOKEN"
    #: Paths answered without a token (liveness and readiness probes, MLflow's /ping).
    public_paths: list[str] = ["/health", "/ready", "/ping"]


class Serve(Section):
    """`gitml serve`: the REST endpoint, its limits, micro-batching and prediction log."""

    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 8080
    #: uvicorn worker processes; each loads its own copy of the model.
    workers: Annotated[int, Field(ge=1)] = 1
    #: With several workers: how long a (re)started worker may take to load its model, and
    #: to answer the supervisor's health check, before uvicorn gives up on it.
    worker_timeout_s: Annotated[int, Field(gt=0)] = 60
    #: The model directory (model.skops + signature.json); empty means the folder of paths.model.
    model_dir: str = ""
    max_body_bytes: Annotated[int, Field(gt=0)] = 8 * 1024 * 1024
    max_batch_rows: Annotated[int, Field(gt=0)] = 10_000
    #: Values outside the signature's min/max: `accept` (and log them for drift
    #: monitoring) or `reject` with a 400.
    out_of_range: Literal["accept", "reject"] = "accept"
    #: Columns a request sends beyond the signature (an ID, the target, the index column of
    #: `DataFrame.to_csv()`): `ignore` them, as MLflow does (counted in /metrics), or `reject` with a 400.
    extra_columns: Literal["ignore", "reject"] = "ignore"
    #: Missing values (null, NaN, an empty CSV cell) in a column the contract declares not
    #: nullable: `accept` them, as MLflow does (the model's imputer sees them), or `reject` with a 400.
    nulls: Literal["accept", "reject"] = "accept"
    #: Values outside a column's declared categories: `reject` with a 400 (stricter than MLflow, on
    #: purpose: a typo is refused, not predicted) or `accept` them (the encoder decides).
    unknown_categories: Literal["accept", "reject"] = "reject"
    #: JSON values of another type than the column's: `strict` refuses them with a 400 (`true` for a
    #: number, `3` for a string, `2.5` for an integer, `"yes"` for a flag; stricter than MLflow, on
    #: purpose), `coerce` converts them as MLflow does (numbers to text, true/false to 1/0, 0/1 and
    #: "true"/"false" to flags, fractions allowed in integer columns). Numeric strings are numbers either way.
    types: Literal["strict", "coerce"] = "strict"
    #: Seconds a shutdown waits for in-flight requests.
    graceful_timeout_s: Annotated[float, Field(gt=0.0)] = 30.0
    #: uvicorn's per-request access log on stdout (off: it costs throughput; /metrics counts requests).
    access_log: bool = False
    micro_batch: MicroBatch = MicroBatch()
    log: PredictionLog = PredictionLog()
    auth: ServeAuth = ServeAuth()
