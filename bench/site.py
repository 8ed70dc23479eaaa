"""Benchmark: `gitml site` against `dvc exp show --json --all-commits` on the same repository.

Run with `python bench/site.py [--commits 100 1000] [--metrics 10]`. Each size builds a DVC
repository with `git fast-import`: one commit per experiment, each changing params.yaml and
writing a metrics file of `--metrics` metrics (declared in dvc.yaml, as the pipeline does) and
a ROC curve; three commits in ten sit on side branches. Both tools run as commands a person
types, one after the other, in the same run; the bench checks they list the same commits with
the same metrics, then prints each one's wall time, the ratio, and the site's weight (targets:
at least 5x faster than the listing at 1,000 commits; the whole site under 5 MB, the first
page under 1 MB).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_EPOCH = 1_700_000_000
_DVC_YAML = """stages:
  evaluate:
    cmd: python evaluate.py
    deps: [evaluate.py]
    params: [model]
    metrics:
      - ${paths.metrics}:
          cache: false
"""


def _data(text: str) -> str:
    return f"data {len(text.encode())}\n{text}\n"


def _env() -> dict[str, str]:
    return {**os.environ, "DO_NOT_TRACK": "1", "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@gitml.local",
            "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@gitml.local"}


def history(path: Path, n_commits: int, n_metrics: int) -> dict[str, float]:
    """A DVC repository at `path` with `n_commits` commits; the first metric's value at each commit."""
    run = lambda *args: subprocess.run(args, cwd=path, check=True, capture_output=True, env=_env())  # noqa: E731
    path.mkdir()
    run("git", "init", "--quiet", "--initial-branch=main")
    run(sys.executable, "-m", "dvc", "init", "--quiet")
    run("git", "commit", "--quiet", "-m", "dvc init")
    stream, expected, clock = [], {}, _EPOCH
    for i in range(n_commits):
        clock += 60
        side = i % 10 in (3, 6, 9)
        branch = f"refs/heads/idea-{i}" if side else "refs/heads/main"
        metrics = {f"metric_{m}": round(0.5 + ((i * 7 + m * 13) % 97) / 200, 6) for m in range(n_metrics)}
        params = (f"seed: 42\nmodel:\n  n_estimators: {100 + i}\n  max_depth: {2 + i % 7}\n"
                  f"paths:\n  metrics: reports/metrics.json\n  plots: reports/plots\n")
        roc = {"roc": [{"fpr": f / 50, "tpr": min(1.0, f / 50 + 0.3 * (1 - f / 50) * (i % 5 + 1) / 5)}
                       for f in range(51)]}
        stream.append(
            f"commit {branch}\nmark :{i + 1}\ncommitter bench <bench@gitml.local> {clock} +0000\n"
            + _data(f"experiment {i}")
            + ("from refs/heads/main^0\n" if side or i == 0 else "")
            + "M 644 inline params.yaml\n" + _data(params)
            + "M 644 inline dvc.yaml\n" + _data(_DVC_YAML)
            + "M 644 inline reports/metrics.json\n" + _data(json.dumps(metrics, indent=2))
            + "M 644 inline reports/plots/roc.json\n" + _data(json.dumps(roc))
        )
        expected[f":{i + 1}"] = metrics["metric_0"]
    marks = path / "marks"
    result = subprocess.run(["git", "fast-import", "--quiet", f"--export-marks={marks}"], cwd=path,
                            input="".join(stream).encode(), env=_env(), capture_output=True)
    if result.returncode:
        raise SystemExit(f"git fast-import failed: {result.stderr.decode()[-500:]}")
    shas = dict(line.split() for line in marks.read_text().splitlines())
    marks.unlink()
    run("git", "reset", "--quiet", "--hard", "main")
    return {shas[mark]: value for mark, value in expected.items()}


def _timed(args: list[str], cwd: Path) -> tuple[float, str]:
    start = time.perf_counter()
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, env=_env())
    elapsed = time.perf_counter() - start
    if result.returncode:
        raise SystemExit(f"{' '.join(args)} failed: {result.stderr[-500:]}")
    return elapsed, result.stdout


def _weight(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def measure(n_commits: int, n_metrics: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="gitml-bench-site-") as tmp:
        repo = Path(tmp) / "repo"
        expected = history(repo, n_commits, n_metrics)
        site_s, _ = _timed([sys.executable, "-m", "gitml", "site", "-o", str(Path(tmp) / "site")], repo)
        dvc_s, shown = _timed([sys.executable, "-m", "dvc", "exp", "show", "--json", "--all-commits"], repo)
        listed = {entry["rev"]: (((entry.get("data") or {}).get("metrics") or {}).get("reports/metrics.json") or {})
                  .get("data", {}).get("metric_0") for entry in json.loads(shown) if entry["rev"] != "workspace"}
        page = (Path(tmp) / "site" / "experiments.html").read_text()
        ours = page.count('data-group="main"') + page.count('data-group="branch"')
        assert {k: v for k, v in listed.items() if k in expected} == expected, "dvc lists other metrics"
        assert ours == len(listed) == n_commits + 1, f"the site lists {ours}, dvc {len(listed)} commits"
        site = Path(tmp) / "site"
        return {"commits": n_commits, "site_s": site_s, "dvc_s": dvc_s, "ratio": dvc_s / site_s,
                "site_mb": _weight(site) / 1e6, "first_page_kb": (site / "index.html").stat().st_size / 1e3,
                "experiments_kb": (site / "experiments.html").stat().st_size / 1e3}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--metrics", type=int, default=10)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f}; {args.metrics} metrics per commit")
    for n in args.commits:
        r = measure(n, args.metrics)
        print(f"{n:>5} commits: gitml site {r['site_s']:.2f} s, dvc exp show --all-commits {r['dvc_s']:.2f} s "
              f"-> {r['ratio']:.1f}x faster; site {r['site_mb']:.2f} MB, first page {r['first_page_kb']:.0f} KB, "
              f"experiments page {r['experiments_kb']:.0f} KB")


if __name__ == "__main__":
    main()
