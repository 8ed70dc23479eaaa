"""Benchmark: `gitml serve` against MLflow's own scoring server and the in-process predict floor.

Run with `python bench/serve.py [--requests 2000] [--seconds 10] [--rounds 5]`. It trains the
issue's model with the library (random forest, 100 trees, depth 10, breast-cancer data) and
serves the same fitted pipeline twice on 127.0.0.1, one worker each:

- `gitml serve`;
- `mlflow models serve` (MLflow's real scoring server): MLflow 3 from a virtualenv of its own
  (`--mlflow-venv`, created with uv on first use, in seconds; its bin first on PATH, as
  its CLI needs; this checkout's src on PYTHONPATH, for the pipeline's own gitml steps), the model
  saved there with `mlflow.sklearn.save_model`.

A light keep-alive HTTP/1.1 client (raw asyncio streams) measures requests/s, p50 and p99 of
`/invocations` (`dataframe_split`) in three scenarios: concurrency 1 with 1-row requests (p50
against the in-process `predict` floor: target within 3 ms), concurrency 8 with 1-row requests
(targets: at least 8x MLflow's throughput, p99 under 50 ms) and concurrency 8 with 100-row
requests. Each scenario alternates between the two servers in `--rounds` short rounds, and the
floor is timed between them: the 2 shared cores' load drifts within minutes, and alternating
puts both servers under the same load. The load generator's own CPU use is printed next to each
figure (a client near a whole core would be the bottleneck), and the load average at both ends.

A scenario gives each server at most `--requests` requests or `--seconds` seconds, whichever
comes first. Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLOOR_SLACK_MS = 3.0
MLFLOW_SPEC = "mlflow==3.*"
#: Runs in MLflow's venv: the gitml model directory saved as an MLflow model (same pipeline, same columns).
TO_MLFLOW = """
import json, sys
from pathlib import Path
import mlflow.sklearn, skops.io
from mlflow.models import ModelSignature
from mlflow.types import ColSpec, Schema
source, target = Path(sys.argv[1]), Path(sys.argv[2])
trusted = skops.io.get_untrusted_types(file=source / "model.skops")
pipeline = skops.io.load(source / "model.skops", trusted=trusted)
types = {"float": "double", "int": "long", "str": "string", "bool": "boolean"}
inputs = json.loads((source / "signature.json").read_text())["inputs"]
signature = ModelSignature(inputs=Schema([ColSpec(types[c["dtype"]], c["name"]) for c in inputs]))
mlflow.sklearn.save_model(pipeline, target, signature=signature, serialization_format="skops",
                          skops_trusted_types=trusted)
"""


def train(directory: Path) -> tuple[object, list[dict]]:
    """The issue's model, fitted by the library as the pipeline would; returns it and test records."""
    import yaml
    from sklearn.model_selection import train_test_split

    from gitml import config
    from gitml.config import compose
    from gitml.core import io
    from gitml.data import sources
    from gitml.model import modelio
    from gitml.train import fit

    text = compose.compose(ROOT / "conf", ["data=breast_cancer", "model=random_forest", "model.max_depth=10",
                                           "model.n_estimators=100"])
    params = config.validate(yaml.safe_load(text))
    frame = sources.load(params.data, params.seed)
    target, split = params.data.target, params.features.split
    fit_rows, test = train_test_split(frame, test_size=split.test_size, random_state=params.seed,
                                      stratify=frame[target])
    model = fit.fit(params, fit_rows, params.model.spec())
    modelio.save_model(model, directory / modelio.MODEL_FILE)
    io.write_json(directory / modelio.SIGNATURE_FILE, fit.signature(params, model))
    records = test.drop(columns=[params.data.target]).to_dict(orient="records")
    return model, records


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(port: int, process: subprocess.Popen, path: str = "/health", timeout: float = 90.0) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}:\n{process.stderr.read().decode()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("server did not start in time")


def request_bytes(port: int, path: str, body: bytes) -> bytes:
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


async def _connection(port: int, payload: bytes, budget: dict, latencies: list[float]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while budget["left"] > 0 and time.perf_counter() < budget["until"]:
            budget["left"] -= 1
            started = time.perf_counter()
            writer.write(payload)
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length:"))
            body = await reader.readexactly(length)
            if status != 200:
                raise SystemExit(f"request failed with {status}: {body[:300]!r}")
            latencies.append(time.perf_counter() - started)
    finally:
        writer.close()


def _summary(latencies: list[float], elapsed: float, client_cpu: float = 0.0) -> dict:
    ordered = sorted(latencies)
    return {
        "requests": len(ordered),
        "client_cpu": client_cpu / elapsed,
        "rps": len(ordered) / elapsed,
        "p50_ms": ordered[len(ordered) // 2] * 1000,
        "p99_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000,
    }


def clients(port: int, path: str, body: bytes, concurrency: int, requests: int, seconds: float,
            warmup: int = 20) -> tuple[list[float], float, float]:
    """Latencies of `concurrency` keep-alive clients sharing a budget, the elapsed time, and the
    client's own CPU seconds (a client near one core of CPU would be the bottleneck)."""
    payload = request_bytes(port, path, body)
    latencies: list[float] = []

    async def run() -> float:
        if warmup:  # outside the measurement
            warm = {"left": warmup, "until": time.perf_counter() + 5}
            await asyncio.gather(*(_connection(port, payload, warm, []) for _ in range(concurrency)))
        budget = {"left": requests, "until": time.perf_counter() + seconds}
        started = time.perf_counter()
        await asyncio.gather(*(_connection(port, payload, budget, latencies) for _ in range(concurrency)))
        return time.perf_counter() - started

    cpu = time.process_time()
    elapsed = asyncio.run(run())
    return latencies, elapsed, time.process_time() - cpu


@dataclass
class Tally:
    """One server's measurements in one scenario, summed over rounds."""

    latencies: list[float] = field(default_factory=list)
    elapsed: float = 0.0
    cpu: float = 0.0

    def add(self, measured: tuple[list[float], float, float]) -> None:
        self.latencies += measured[0]
        self.elapsed += measured[1]
        self.cpu += measured[2]

    def summary(self) -> dict:
        return _summary(self.latencies, self.elapsed, self.cpu)


def interleaved(ports: dict[str, int], body: bytes, concurrency: int, requests: int, seconds: float,
                rounds: int, between: Callable[[], None] = lambda: None) -> dict[str, dict]:
    """Each server in turn, `rounds` times, for its share of the budget; `between` runs before each round.

    The 2 cores are shared and their load drifts by a factor of 2-3 within minutes: alternating short
    rounds puts both servers (and the in-process floor) under the same load, so their ratio holds.
    """
    tallies = {name: Tally() for name in ports}
    for i in range(rounds):
        for name, port in ports.items():
            between()
            tallies[name].add(clients(port, "/invocations", body, concurrency, max(1, requests // rounds),
                                      seconds / rounds, 20 if i == 0 else 0))
    return {name: tally.summary() for name, tally in tallies.items()}


def in_process(model: object, records: list[dict], rows: int, repeats: int, times: list[float]) -> Callable[[], None]:
    """A `between` step timing `repeats` in-process `predict` calls on the same inputs (a prebuilt DataFrame)."""
    import pandas as pd

    frame = pd.DataFrame(records[:rows])

    def run() -> None:
        for _ in range(repeats):
            started = time.perf_counter()
            model.predict(frame)
            times.append(time.perf_counter() - started)

    return run


def serve_gitml(model_dir: Path, workdir: Path, port: int) -> subprocess.Popen:
    env = dict(os.environ, DO_NOT_TRACK="1")
    command = [sys.executable, "-m", "gitml", "serve", "--model", str(model_dir), "--port", str(port),
               "--log-level", "warning"]
    return subprocess.Popen(command, cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def mlflow_venv(root: Path) -> Path:
    """A virtualenv with MLflow 3 and this venv's scikit-learn and skops (so it loads the model); its bin folder."""
    import importlib.metadata

    python = root / "bin" / "python"
    if not (root / ".installed").is_file():
        pins = [MLFLOW_SPEC] + [f"{n}=={importlib.metadata.version(n)}" for n in ("scikit-learn", "skops")]
        print(f"installing {' '.join(pins)} into {root} (once) ...", flush=True)
        uv = str(Path(sys.executable).parent / "uv")  # as the tests make theirs: seconds where pip takes minutes
        subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(root)], check=True)
        subprocess.run([uv, "pip", "install", "--quiet", "--python", str(python), *pins], check=True)
        (root / ".installed").write_text(" ".join(pins) + "\n")
    return root / "bin"


def serve_mlflow(model_dir: Path, workdir: Path, port: int, venv_bin: Path) -> subprocess.Popen:
    # PYTHONPATH: the fitted pipeline holds gitml's own steps (gitml.features.transforms, gitml.model.estimators);
    # MLflow's venv imports them from this checkout's src (numpy, scikit-learn, pydantic, PyYAML: MLflow's own).
    env = dict(os.environ, PATH=f"{venv_bin}{os.pathsep}{os.environ['PATH']}", DO_NOT_TRACK="1",
               MLFLOW_TRACKING_URI=f"file://{workdir}/mlruns", MLFLOW_DISABLE_TELEMETRY="true",
               PYTHONPATH=str(ROOT / "src"))
    env.pop("VIRTUAL_ENV", None)
    path = workdir / "mlflow-model"
    subprocess.run([str(venv_bin / "python"), "-c", TO_MLFLOW, str(model_dir), str(path)], env=env, check=True,
                   capture_output=True)
    command = [str(venv_bin / "mlflow"), "models", "serve", "-m", str(path), "--env-manager", "local",
               "-h", "127.0.0.1", "-p", str(port)]
    return subprocess.Popen(command, cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)


def split_body(records: list[dict], rows: int) -> bytes:
    chosen = records[:rows]
    columns = list(chosen[0])
    return json.dumps({"dataframe_split": {"columns": columns,
                                           "data": [[r[c] for c in columns] for r in chosen]}}).encode()


def measure(ports: dict[str, int], model: object, records: list[dict], args: argparse.Namespace,
            ) -> tuple[dict[str, dict[str, dict]], dict[str, float]]:
    """The three scenarios against every server, in alternating rounds, and the in-process floors
    (1 row paired with concurrency 1, 100 rows with the 100-row scenario)."""
    one, hundred = split_body(records, 1), split_body(records, 100)
    floor_1: list[float] = []
    floor_100: list[float] = []
    scenarios = {
        "c1_1row": interleaved(ports, one, 1, args.requests // 2, args.seconds, args.rounds,
                               in_process(model, records, 1, 20, floor_1)),
        "c8_1row": interleaved(ports, one, 8, args.requests, args.seconds, args.rounds),
        "c8_100rows": interleaved(ports, hundred, 8, args.requests // 2, args.seconds, args.rounds,
                                  in_process(model, records, 100, 10, floor_100)),
    }
    results = {name: {scenario: by[name] for scenario, by in scenarios.items()} for name in ports}
    return results, {"1 row": statistics.median(floor_1) * 1000, "100 rows": statistics.median(floor_100) * 1000}


def stop(process: subprocess.Popen, group: bool = False) -> None:
    """Stop a server (`group`: the session it leads, as MLflow's CLI runs uvicorn as a child)."""
    def send(sig: int) -> None:
        os.killpg(process.pid, sig) if group else process.send_signal(sig)

    send(signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        send(signal.SIGKILL)
        process.wait()


def line(name: str, result: dict) -> str:
    return (f"  {name:<12} {result['rps']:8.1f} req/s   p50 {result['p50_ms']:7.2f} ms   "
            f"p99 {result['p99_ms']:7.2f} ms   ({result['requests']} requests; load generator "
            f"{result['client_cpu']:.0%} of a core)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="at most this many requests per scenario")
    parser.add_argument("--seconds", type=float, default=10.0, help="at most this long per scenario")
    parser.add_argument("--mlflow-venv", type=Path, default=Path.home() / ".cache" / "gitml-bench" / "mlflow-venv",
                        help="MLflow's own virtualenv (created with uv when missing)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds per scenario")
    args = parser.parse_args(argv)
    venv_bin = mlflow_venv(args.mlflow_venv)

    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="gitml-bench-serve-") as tmp:
        workdir = Path(tmp)
        model_dir = workdir / "model"
        print("training: random forest, 100 trees, depth 10, breast cancer ...", flush=True)
        model, records = train(model_dir)
        ports = {"gitml": free_port(), "mlflow": free_port()}
        servers = []
        try:
            servers.append((serve_gitml(model_dir, workdir, ports["gitml"]), False))
            servers.append((serve_mlflow(model_dir, workdir, ports["mlflow"], venv_bin), True))
            wait_ready(ports["gitml"], servers[0][0], "/ready")
            wait_ready(ports["mlflow"], servers[1][0], "/ping", timeout=180)
            print(f"measuring both servers in {args.rounds} alternating rounds per scenario ...", flush=True)
            results, floors = measure(ports, model, records, args)
        finally:
            for server, group in servers:
                stop(server, group)
    ours, baseline = results["gitml"], results["mlflow"]["c8_1row"]
    label = "MLflow's scoring server (measured in the same rounds)"
    print(f"load average (1, 5, 15 min): {' '.join(f'{x:.1f}' for x in load_before)} at the start, "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} at the end, on {os.cpu_count()} cores")
    print(f"in-process predict floor: 1 row {floors['1 row']:.2f} ms, 100 rows {floors['100 rows']:.2f} ms "
          "(timed between the rounds)")
    print("gitml serve (1 worker, /invocations, dataframe_split):")
    for name, result in ours.items():
        print(line(name, result))
    print(f"mlflow models serve (1 worker, MLflow from {args.mlflow_venv}):")
    for name, result in results["mlflow"].items():
        print(line(name, result))

    c8, c1 = ours["c8_1row"], ours["c1_1row"]
    ratio = c8["rps"] / baseline["rps"]
    checks = [
        (f"c=8 1-row throughput {ratio:.1f}x {label} ({c8['rps']:.0f} vs {baseline['rps']:.1f} req/s)",
         ratio >= 8.0, "target >= 8x"),
        (f"c=8 1-row p99 {c8['p99_ms']:.1f} ms ({baseline['p99_ms'] / c8['p99_ms']:.1f}x lower than MLflow)",
         c8["p99_ms"] < 50.0, "target < 50 ms"),
        (f"c=1 1-row p50 {c1['p50_ms']:.2f} ms = floor {floors['1 row']:.2f} ms + "
         f"{c1['p50_ms'] - floors['1 row']:.2f} ms", c1["p50_ms"] - floors["1 row"] <= FLOOR_SLACK_MS,
         f"target <= +{FLOOR_SLACK_MS:g} ms"),
        (f"c=8 100-row {ours['c8_100rows']['rps'] * 100:.0f} rows/s; floor for 100 rows {floors['100 rows']:.2f} ms",
         True, "reported"),
    ]
    print("summary:")
    for text, ok, target in checks:
        print(f"  [{'ok' if ok else 'MISS'}] {text} ({target})")
    return 0 if all(ok for _, ok, _ in checks) else 1


if __name__ == "__main__":
    raise SystemExit(main())
