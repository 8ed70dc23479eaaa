"""Helpers for the serving tests: tiny models trained with the library, and real servers on 127.0.0.1."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd

from gitml import config, io, modelio, train

INPUTS = ["x", "k", "color", "flag"]
CONTRACT = {
    "x": {"dtype": "float", "role": "numeric", "min": -5.0, "max": 5.0},
    "k": {"dtype": "int", "role": "numeric", "max_null_fraction": 0.2},
    "color": {"dtype": "str", "role": "categorical", "categories": ["red", "green", "blue"]},
    "flag": {"dtype": "bool", "role": "categorical", "categories": [False, True]},
}
IMPUTE = [{"_target_": "sklearn.impute.SimpleImputer", "strategy": "median"}]
ONE_HOT = [{"_target_": "sklearn.impute.SimpleImputer", "strategy": "most_frequent"},
           {"_target_": "sklearn.preprocessing.OneHotEncoder", "handle_unknown": "ignore"}]


def frame(n: int = 160, seed: int = 0) -> pd.DataFrame:
    """Mixed dtypes: a float, a nullable integer, a string category and a bool; target `label`."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-3, 3, size=n)
    k = rng.integers(0, 5, size=n).astype(float)
    k[::10] = np.nan
    color = rng.choice(["red", "green", "blue"], size=n)
    flag = rng.choice([True, False], size=n)
    signal = x + (color == "red") - 0.5 * flag + np.nan_to_num(k) * 0.1
    return pd.DataFrame({
        "x": x, "k": pd.array(k, dtype="Float64").astype("Int64"), "color": color, "flag": flag,
        "label": np.where(signal > 0.3, "yes", "no"), "amount": signal * 10,
    })


def train_model(directory: Path, *, task: str = "classification", n_estimators: int = 8, seed: int = 0,
                version: dict[str, Any] | None = None, model: dict[str, Any] | None = None,
                numeric: list[dict[str, Any]] | None = None, complete: bool = False) -> Path:
    """Fit with gitml.train and write a model directory (model.skops, signature.json, version.json)."""
    target = "label" if task == "classification" else "amount"
    columns = {**CONTRACT, target: {"dtype": "str", "role": "categorical", "categories": ["no", "yes"]}
               if task == "classification" else {"dtype": "float", "role": "numeric"}}
    estimator = "RandomForestClassifier" if task == "classification" else "RandomForestRegressor"
    params = config.validate({
        "data": {"source": {"kind": "file", "path": "unused.csv"}, "task": task, "target": target,
                 "contract": {"columns": columns}},
        "features": {"numeric": IMPUTE if numeric is None else numeric, "categorical": ONE_HOT},
        "model": model or {"_target_": f"sklearn.ensemble.{estimator}", "n_estimators": n_estimators,
                           "random_state": seed, "n_jobs": 1},
    })
    data = frame(seed=seed).drop(columns=["amount" if task == "classification" else "label"])
    if complete:  # no missing values in training (the signature still allows them)
        data["k"] = data["k"].fillna(0)
    fitted = train.fit(params, data)
    directory.mkdir(parents=True, exist_ok=True)
    modelio.save_model(fitted, directory / "model.skops")
    io.write_json(directory / "signature.json", train.signature(params, fitted))
    if version is not None:
        io.write_json(directory / "version.json", version)
    return directory


def records(n: int = 5, seed: int = 1) -> list[dict[str, Any]]:
    """Valid request rows as JSON values (nullable `k` is None where missing)."""
    rows = frame(n, seed)[INPUTS]
    out = []
    for row in rows.itertuples(index=False):
        out.append({"x": float(row.x), "k": None if pd.isna(row.k) else int(row.k), "color": str(row.color),
                    "flag": bool(row.flag)})
    return out


def as_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Request rows as the model sees them (what in-process predict gets)."""
    table = pd.DataFrame(rows, columns=INPUTS)
    table["k"] = table["k"].astype("float64")
    table["color"] = table["color"].astype(object)
    return table


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def thread_server(app: Any) -> Iterator[str]:
    """A real uvicorn server on 127.0.0.1 in a thread; yields its base URL; stops it (lifespan shutdown) after."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


def env() -> dict[str, str]:
    out = dict(os.environ, DO_NOT_TRACK="1")
    out["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{out['PATH']}"
    return out


@contextmanager
def cli_server(cwd: Path, *args: str, extra_env: dict[str, str] | None = None,
               ready: str = "/ready") -> Iterator[tuple[str, subprocess.Popen]]:
    """`gitml serve ARGS` as a subprocess on a free port; yields (base URL, process); SIGTERM after."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gitml", "serve", "--port", str(port), *args],
        cwd=cwd, env={**env(), **(extra_env or {})}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    try:
        while True:
            if process.poll() is not None:
                raise AssertionError(f"gitml serve exited {process.returncode}: {process.stderr.read()}")
            try:
                if httpx.get(url + ready, timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("gitml serve did not become ready")
            time.sleep(0.1)
        yield url, process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
