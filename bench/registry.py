"""Benchmark: `gitml models` against `gto show` on the same registry of 100 and 1,500 tags.

Run with `python bench/registry.py [--tags 100 1500] [--repeat 3]`. Each size builds a
repository with `git fast-import` (a commit per version; annotated GTO-convention tags:
versions `NAME@vX.Y.Z` and stage assignments `NAME#STAGE#N`, spread over five
artifacts), checks that both tools report the same latest version and stage holders,
then prints the median wall time of each command and the ratio (target: gitml at
least 5x faster than gto at 1,500 tags).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ARTIFACTS = 5
STAGES = ("staging", "prod")
_EPOCH = 1_700_000_000


def _data(text: str) -> str:
    return f"data {len(text.encode())}\n{text}\n"


def synthetic_registry(path: Path, n_tags: int, artifacts: int = ARTIFACTS) -> dict[str, dict]:
    """A git repository at `path` holding `n_tags` registry tags; returns what each artifact's state must be.

    Per artifact, four in five tags register a version (one commit each) and one in
    five assigns a stage (alternately staging and prod) to the newest version so far.
    Tag times increase by a second per tag, so time order and counter order agree.
    """
    subprocess.run(["git", "init", "--quiet", "--initial-branch=main", str(path)], check=True)
    per_artifact = n_tags // artifacts
    n_assign = per_artifact // 5
    n_versions = per_artifact - n_assign
    stream, tags, expected = [], [], {}
    mark, clock = 0, _EPOCH
    for a in range(artifacts):
        name, commits = f"model-{a}", []
        for v in range(n_versions):
            mark += 1
            clock += 1
            stream.append(f"commit refs/heads/main\nmark :{mark}\ncommitter bench <bench@gitml.local> {clock} +0000\n"
                          + _data(f"train {name} {v}") + f"M 644 inline {name}.txt\n" + _data(str(v)))
            commits.append((f"v0.{v // 100}.{v % 100}", mark))
        events: list[tuple[str, int, str]] = [(f"{name}@{version}", m, "Registering") for version, m in commits]
        holders: dict[str, str] = {}
        for s in range(n_assign):
            stage = STAGES[s % 2]
            version, m = commits[min(len(commits) - 1, (s + 1) * n_versions // (n_assign + 1))]
            events.append((f"{name}#{stage}#{s + 1}", m, f"Assigning stage {stage}"))
            holders[stage] = version
        tags.extend(events)
        expected[name] = {"version": commits[-1][0], "stage": holders}
    for tag, m, message in tags:
        clock += 1
        stream.append(f"tag {tag}\nfrom :{m}\ntagger bench <bench@gitml.local> {clock} +0000\n"
                      + _data(f"{message}\n\ngitml-gate: pass\ngitml-metrics: {{\"accuracy\":0.9}}"))
    subprocess.run(["git", "fast-import", "--quiet"], cwd=path, input="".join(stream).encode(), check=True)
    subprocess.run(["git", "checkout", "--quiet", "main"], cwd=path, check=True)
    return expected


def _env() -> dict[str, str]:
    env = dict(os.environ, DO_NOT_TRACK="1")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    return env


def _run(command: list[str], cwd: Path) -> tuple[float, str]:
    started = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=_env(), capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode:
        raise SystemExit(f"{command} failed:\n{result.stderr}")
    return elapsed, result.stdout


def gitml_state(stdout: str) -> dict[str, dict]:
    """`gitml models --json` reduced to what `gto show --json` reports."""
    state: dict[str, dict] = {}
    for row in json.loads(stdout):
        entry = state.setdefault(row["name"], {"version": row["version"], "stage": {}})
        for stage in row["stages"]:
            entry["stage"][stage] = row["version"]
    return state


def measure(n_tags: int, root: Path, repeat: int) -> dict[str, float]:
    repo = root / f"tags{n_tags}"
    expected = synthetic_registry(repo, n_tags)
    _, ours = _run(["gitml", "models", "--json"], repo)
    _, theirs = _run(["gto", "show", "--json"], repo)
    gto_state = {name: {"version": s["version"], "stage": s["stage"]} for name, s in json.loads(theirs).items()}
    if not gitml_state(ours) == gto_state == expected:
        raise SystemExit(f"gitml and gto disagree at {n_tags} tags")
    gitml_s = statistics.median(_run(["gitml", "models"], repo)[0] for _ in range(repeat))
    gto_s = statistics.median(_run(["gto", "show"], repo)[0] for _ in range(repeat))
    return {"tags": n_tags, "gitml_s": gitml_s, "gto_s": gto_s, "ratio": gto_s / gitml_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tags", type=int, nargs="*", default=[100, 1500])
    parser.add_argument("--repeat", type=int, default=3, help="runs per command; the median is reported")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gitml-bench-registry-") as tmp:
        for n_tags in args.tags:
            r = measure(n_tags, Path(tmp), args.repeat)
            print(f"{r['tags']:>5,} tags: gitml models {r['gitml_s']:.2f} s vs gto show {r['gto_s']:.2f} s "
                  f"-> gitml {r['ratio']:.1f}x faster (target >= 5x at 1,500); same versions and stages")


if __name__ == "__main__":
    main()
