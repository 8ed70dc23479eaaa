"""What changed between two commits, read from their params.yaml and dvc.lock.

`dvc.lock` records, per stage, the command, the content hash of every dependency and output,
and the params it read: comparing two locks says which data and which stages changed without
running anything. The same lock names the test set's content hash, which decides whether two
prediction files can be compared row by row.
"""

from __future__ import annotations

from typing import Any

from gitml.core.text import flatten


def params_diff(baseline: dict[str, Any], candidate: dict[str, Any]) -> list[dict[str, Any]]:
    """Every key whose value differs, sorted: {key, change: changed|added|removed, baseline, candidate}."""
    old, new = flatten(baseline), flatten(candidate)
    rows = []
    for key in sorted(old.keys() | new.keys()):
        if key in old and key in new and old[key] == new[key]:
            continue
        change = "changed" if key in old and key in new else ("added" if key in new else "removed")
        rows.append({"key": key, "change": change, "baseline": old.get(key), "candidate": new.get(key)})
    return rows


def _entries(stage: dict[str, Any], kind: str) -> dict[str, str | None]:
    return {str(e.get("path")): e.get("md5") for e in stage.get(kind) or [] if isinstance(e, dict)}


def _stages(lock: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    stages = (lock or {}).get("stages") if isinstance(lock, dict) else None
    return {str(k): v for k, v in stages.items() if isinstance(v, dict)} if isinstance(stages, dict) else {}


def _params(stage: dict[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for values in (stage.get("params") or {}).values():
        merged.update(flatten(values) if isinstance(values, dict) else {})
    return merged


def pipeline_diff(baseline: dict[str, Any] | None, candidate: dict[str, Any] | None) -> dict[str, list[dict[str, Any]]]:
    """Stages that changed (and how) and files whose content hash changed, between two dvc.lock files."""
    old, new = _stages(baseline), _stages(candidate)
    stages, files = [], {}
    for name in dict.fromkeys([*old, *new]):  # pipeline order
        if name not in old or name not in new:
            stages.append({"name": name, "change": "added" if name in new else "removed", "details": []})
            continue
        a, b = old[name], new[name]
        details = []
        if a.get("cmd") != b.get("cmd"):
            details.append("command")
        for kind in ("deps", "outs"):
            before, after = _entries(a, kind), _entries(b, kind)
            moved = sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))
            if moved:
                details.append(f"{kind}: {', '.join(moved)}")
            for path in moved:
                files[path] = {"path": path, "baseline": before.get(path), "candidate": after.get(path)}
        before, after = _params(a), _params(b)
        keys = sorted(k for k in before.keys() | after.keys() if before.get(k, ...) != after.get(k, ...))
        if keys:
            details.append(f"params: {', '.join(keys)}")
        if details:
            stages.append({"name": name, "change": "changed", "details": details})
    return {"stages": stages, "files": sorted(files.values(), key=lambda f: f["path"])}


def test_md5(lock: dict[str, Any] | None, predictions: str, test: str) -> str | None:
    """The hash of the test set the predictions were made on: `test` among the deps of their stage."""
    stages = _stages(lock).values()
    producing = [s for s in stages if predictions in _entries(s, "outs")] or list(stages)
    for stage in producing:
        deps = _entries(stage, "deps")
        if test in deps:
            return deps[test]
    return None
