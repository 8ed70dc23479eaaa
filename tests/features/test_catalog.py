"""gitml.features.catalog: definitions, content hashes, statistics, the Markdown page and `gitml features`."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from gitml.cli import main
from gitml.core import io
from gitml.data import sources
from gitml.features import catalog, split
from stages import catalog as stage


def _hashes(p) -> dict[str, str]:
    return {entry["name"]: entry["definition_hash"] for entry in catalog.definitions(p)}


def test_definition_hash_follows_the_computation_not_the_documentation(tmp_path: Path, composed_params,
                                                                      compose_raw) -> None:
    base = _hashes(composed_params(tmp_path, "features=engineered"))
    assert base == _hashes(composed_params(tmp_path, "features=engineered"))
    documented = _hashes(composed_params(tmp_path, "features=engineered", features={
        "owner": "someone-else", "docs": {"mean area": {"description": "new words", "owner": "x"}}}))
    assert documented == base
    transforms = compose_raw(tmp_path, "features=engineered")["features"]["transforms"]
    transforms[0]["steps"][0]["offset"] = 2.0  # the `areas` group: log(x + 2)
    changed = _hashes(composed_params(tmp_path, "features=engineered", features={"transforms": transforms}))
    assert {name for name in base if changed.get(name) != base[name]} == {"mean area", "worst area", "area error"}
    spelled_out = _hashes(composed_params(tmp_path, features={"numeric": [
        {"_target_": "sklearn.impute.SimpleImputer", "strategy": "median"},
        {"kind": "scale"}]}))
    assert spelled_out == _hashes(composed_params(tmp_path))


def _run_stage(tmp_path: Path, p) -> dict:
    io.write_parquet(p.paths.raw, sources.load(p.data, p.seed))
    split.run(p)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(p.model_dump(mode="json")))
    assert stage.main(["--params", str(path)]) == 0
    return json.loads(Path(p.paths.catalog).read_text())


def test_catalog_stage_records_each_feature_with_pandas_statistics(tmp_path: Path, composed_params) -> None:
    p = composed_params(tmp_path, "features=engineered")
    built = _run_stage(tmp_path, p)
    train = pd.read_parquet(p.paths.train)
    entries = {f["name"]: f for f in built["features"]}
    assert built["rows"] == len(train) and len(built["definition_hash"]) == 64
    assert "mean perimeter" not in entries
    area = entries["mean area"]
    assert area["transform"] == [{"_target_": "gitml.features.transforms.Log"},
                                 {"_target_": "sklearn.preprocessing.StandardScaler"}]
    assert area["statistics"] == {
        "count": 455, "missing": 0, "mean": pytest.approx(train["mean area"].mean(), rel=1e-12),
        "std": pytest.approx(train["mean area"].std(), rel=1e-12),
        "min": train["mean area"].min(), "max": train["mean area"].max(),
    }
    growth = entries["radius_growth"]
    assert (growth["kind"], growth["source_columns"], growth["owner"]) == (
        "derived", ["worst radius", "mean radius"], "imaging-team")
    assert growth["statistics"]["mean"] == pytest.approx((train["worst radius"] / train["mean radius"]).mean())
    assert entries["mean radius"]["description"].startswith("Mean distance")
    from gitml.registry.lineage import feature_hashes  # what `gitml lineage` records for a model version

    assert feature_hashes(built) == {name: f["definition_hash"] for name, f in entries.items()}
    page = Path(p.paths.features_report).read_text()
    assert all(f"## {name}" in page for name in entries)
    assert f"`{growth['definition_hash'][:12]}`" in page


def test_categorical_statistics_match_value_counts(tmp_path: Path, composed_params, synthetic_data) -> None:
    p = composed_params(tmp_path, data=synthetic_data(400, n_numeric=1, n_categorical=1))
    built = _run_stage(tmp_path, p)
    cat = next(f for f in built["features"] if f["name"] == "cat_0")
    counts = pd.read_parquet(p.paths.train)["cat_0"].value_counts()
    assert [(t["value"], t["count"]) for t in cat["statistics"]["top"]] == list(counts.items())[:5]
    assert cat["statistics"]["distinct"] == len(counts)


def test_gitml_features_lists_and_shows(tmp_path: Path, capsys, composed_params) -> None:
    p = composed_params(tmp_path, "features=engineered")
    built = _run_stage(tmp_path, p)
    params_path = str(tmp_path / "params.yaml")
    assert main.main(["features", "--params", params_path]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["feature", "kind", "dtype", "role", "transform", "owner", "hash"]
    assert len(lines) == 1 + len(built["features"])
    assert any(line.startswith("mean area ") and "Log > StandardScaler" in line for line in lines)
    assert main.main(["features", "show", "radius_growth", "--params", params_path]) == 0
    assert json.loads(capsys.readouterr().out) == next(f for f in built["features"] if f["name"] == "radius_growth")
    assert main.main(["features", "show", "nope", "--params", params_path]) == 1
    assert capsys.readouterr().err.startswith("error: feature 'nope' is not in the catalog (features: ")


def test_an_unparsable_expression_stops_the_catalog_in_one_line(tmp_path: Path, composed_params) -> None:
    from gitml.core.errors import ConfigError

    p = composed_params(tmp_path, features={"derived": [{"name": "d", "expr": "`mean area` +"}]})
    with pytest.raises(ConfigError, match=r"^features\.derived\[0\]\.expr: cannot parse '`mean area` \+': invalid"):
        catalog.definitions(p)
