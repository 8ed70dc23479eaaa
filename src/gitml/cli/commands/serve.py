"""Serving commands: `gitml serve` (REST endpoint) and `gitml predict` (files in chunks)."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from gitml.core.errors import ConfigError

if TYPE_CHECKING:
    from gitml.serve.settings import Settings


def _settings(args: argparse.Namespace) -> Settings:
    """params.yaml's `serve` section (defaults outside a project) with the command's flags on top."""
    from gitml import config
    from gitml.serve import settings

    params = Path(args.params)
    if params.is_file():
        loaded = config.load(params)
        serve, model_dir, artifact = loaded.serve, loaded.serve.model_dir, loaded.registry.artifact
        model_dir = model_dir or str(Path(loaded.paths.model).parent)
    elif args.params != "params.yaml":
        raise ConfigError(f"{params}: not found")
    else:
        serve, model_dir, artifact = config.Serve(), "models", "model"
    updates = {key: getattr(args, key) for key in ("host", "port", "workers") if getattr(args, key, None) is not None}
    if args.model and args.stage:
        raise ConfigError("--model and --stage: give one of them")
    return settings.load(model_dir=Path(args.model or model_dir), stage=args.stage,
                         artifact=args.artifact or artifact, config={**serve.model_dump(), **updates})


def _loopback(host: str) -> bool:
    import ipaddress

    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host == "localhost"


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from gitml.serve import inputs, logsink, model, predlog
    from gitml.serve.main import create_app

    settings = _settings(args)
    serve = settings.config
    # Load once here: a bad model or config stops with one line before any port is bound or
    # any folder is created.
    bundle = model.load(settings.source(), inputs.Rules.of(serve))
    if serve.log.enabled:
        predlog.check_writable(logsink.local_dir(serve.log))
        logsink.check(serve.log)
    if not _loopback(serve.host) and settings.token() is None:
        print(f"warning: serving on {serve.host} without a token: anyone who reaches it can predict and write to the "
              f"prediction log (set {serve.auth.token_env}, or keep serve.host 127.0.0.1 behind a proxy)",
              file=sys.stderr)
    print(f"serving {bundle.info.name} {bundle.info.version} on http://{serve.host}:{serve.port} "
          f"({serve.workers} worker{'s' if serve.workers > 1 else ''})", file=sys.stderr)
    options = dict(host=serve.host, port=serve.port, access_log=serve.access_log, log_level=args.log_level,
                   timeout_graceful_shutdown=serve.graceful_timeout_s, server_header=False)
    if serve.workers == 1:
        uvicorn.Server(uvicorn.Config(create_app(settings, bundle), **options)).run()
        return 0
    # Several workers: each process rebuilds the settings from the environment and loads its own model.
    from gitml.serve import workers

    del bundle
    os.environ.update(settings.environment())
    with tempfile.TemporaryDirectory(prefix="gitml-metrics-") as metrics_dir:
        os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", metrics_dir)
        config = uvicorn.Config("gitml.serve.main:create_app", factory=True, workers=serve.workers,
                                timeout_worker_healthcheck=serve.worker_timeout_s, **options)
        workers.Supervisor(config, [config.bind_socket()]).run()
    return 0


def _predict(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from gitml.serve import batch, inputs, model

    if args.chunk_rows <= 0:
        raise ConfigError(f"--chunk-rows: must be positive, got {args.chunk_rows}")
    settings = _settings(args)
    bundle = model.load(settings.source(), inputs.Rules.of(settings.config))
    source = Path(args.input)
    total = batch.total_rows(source) if source.is_file() else None
    with tqdm(total=total, unit="rows", unit_scale=True, disable=args.no_progress, file=sys.stderr,
              desc=f"predict {source.name}") as bar:
        rows = batch.predict_file(source, args.output, bundle, args.chunk_rows, bar.update)
    print(f"wrote {args.output}: {rows} rows predicted by {bundle.info.name} {bundle.info.version}", file=sys.stderr)
    return 0


def _model_args(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--model", metavar="DIR", help="model directory (default: serve.model_dir, else models/)")
    sub.add_argument("--stage", help="serve the registry version assigned to this stage, e.g. prod")
    sub.add_argument("--artifact", help="registry artifact name (default: registry.artifact)")
    sub.add_argument("--params", default="params.yaml", help="read the `serve` section from here")


def register(commands: argparse._SubParsersAction) -> None:
    sub = commands.add_parser("serve", help="serve a model over HTTP (MLflow-compatible /invocations, /predict)")
    _model_args(sub)
    sub.add_argument("--host", help="bind address (default serve.host: 127.0.0.1)")
    sub.add_argument("--port", type=int, help="port (default serve.port)")
    sub.add_argument("--workers", type=int, help="worker processes (default serve.workers)")
    sub.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    sub.set_defaults(func=_serve)

    sub = commands.add_parser("predict", help="predict a CSV/Parquet file in chunks (batch prediction)")
    sub.add_argument("input", help="a .csv or .parquet file")
    sub.add_argument("-o", "--output", required=True, help="where to write predictions (.csv or .parquet)")
    _model_args(sub)
    sub.add_argument("--chunk-rows", type=int, default=50_000, help="rows per chunk (bounds memory)")
    sub.add_argument("--no-progress", action="store_true", help="no progress bar")
    sub.set_defaults(func=_predict)
