"""gitml.features.spec: the features config compiled into one preprocessing pipeline, and its check-time errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from gitml import config
from gitml.cli import check, main
from gitml.config import compose
from gitml.core.errors import ConfigError
from gitml.data import sources
from gitml.features import spec, split
from gitml.model import modelio
from gitml.train import fit


def _frame(p: config.Params) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The train and test rows the featurize stage's split gives."""
    table = pa.Table.from_pandas(sources.load(p.data, p.seed), preserve_index=False)
    train, test = split.split_indices(table, np.arange(table.num_rows), p.features.split, p.data.target,
                                      p.data.task, p.seed)
    return table.take(train).to_pandas(), table.take(test).to_pandas()


def test_params_yaml_is_the_composition_of_conf_and_every_features_option_checks_clean(tmp_path: Path, composed_params,
                                                                                       repo_root: Path) -> None:
    compose.check_fresh(repo_root / "params.yaml", repo_root / "conf")
    for option in ("default", "engineered"):
        assert check.semantic_problems(composed_params(tmp_path, f"features={option}")) == []


def test_default_config_compiles_to_the_original_column_transformer(tmp_path: Path, composed_params) -> None:
    p = composed_params(tmp_path)
    columns = spec.input_columns(sources.contract(p.data), p.data.target, p.features)
    pre = spec.preprocessor(columns, p.features, p.project.allowed_targets)
    assert [(name, cols) for name, _, cols in pre.transformers] == [("numeric", columns["numeric"])]
    steps = pre.transformers[0][1].steps
    assert [type(step).__name__ for _, step in steps] == ["SimpleImputer", "StandardScaler"]
    assert steps[0][1].strategy == "median"


def test_shorthand_kinds_expand_to_targets_with_overridable_defaults(composed_params) -> None:
    assert spec.step_spec({"kind": "onehot", "min_frequency": 5}) == {
        "_target_": "sklearn.preprocessing.OneHotEncoder", "handle_unknown": "ignore", "sparse_output": False,
        "min_frequency": 5,
    }
    assert spec.step_spec({"kind": "clip", "upper": 3}) == {"_target_": "gitml.features.transforms.Clip", "upper": 3}
    assert spec.step_spec({"_target_": "x.Y", "a": 1}) == {"_target_": "x.Y", "a": 1}
    with pytest.raises(ConfigError, match="unknown step kind 'logg'"):
        composed_params(Path("."), features={"numeric": [{"kind": "logg"}]})


def test_engineered_transforms_produce_the_declared_columns(tmp_path: Path, composed_params) -> None:
    p = composed_params(tmp_path, "features=engineered")
    train_frame, _ = _frame(p)
    X = train_frame.drop(columns=[p.data.target])
    columns = spec.input_columns(sources.contract(p.data), p.data.target, p.features)
    pre = spec.preprocessor(columns, p.features, p.project.allowed_targets).fit(X)
    names = list(pre.get_feature_names_out())
    raw = [c for c in X.columns if c not in p.features.drop]
    expected = {*raw, "radius_growth", "compact_concave", "large_area"} - {"mean texture"}
    expected |= {f"mean texture_{i:.1f}" for i in range(5)}
    assert set(names) == expected and len(names) == len(expected)
    out = pd.DataFrame(pre.transform(X), columns=names)
    derived = X["worst radius"] / X["mean radius"]
    np.testing.assert_allclose(out["radius_growth"], (derived - derived.mean()) / derived.std(ddof=0))
    logged = np.log1p(X["mean area"])
    np.testing.assert_allclose(out["mean area"], (logged - logged.mean()) / logged.std(ddof=0))
    assert set(np.unique(out[[f"mean texture_{i:.1f}" for i in range(5)]].sum(axis=1))) == {1.0}
    cap = np.quantile(X["mean concavity"], 0.99)
    scaled = (X["mean concavity"].clip(upper=cap) - X["mean concavity"].clip(upper=cap).mean())
    np.testing.assert_allclose(out["mean concavity"], scaled / X["mean concavity"].clip(upper=cap).std(ddof=0))


def test_the_model_file_gives_serving_identical_features_and_predictions(tmp_path: Path, composed_params) -> None:
    p = composed_params(tmp_path, "features=engineered",
                        model={"_target_": "sklearn.linear_model.LogisticRegression", "max_iter": 3000})
    train_frame, test_frame = _frame(p)
    model = fit.fit(p, train_frame, p.model.spec())
    modelio.save_model(model, p.paths.model)
    served = modelio.load_model(p.paths.model)  # the serving path: default trust list
    X = test_frame.drop(columns=[p.data.target])
    batch = model[:-1].transform(X)
    np.testing.assert_array_equal(served[:-1].transform(X), batch)
    for i in range(0, len(X), 23):  # one request per row, as serving sends them
        np.testing.assert_array_equal(served[:-1].transform(X.iloc[[i]]), batch[[i]])
    np.testing.assert_array_equal(served.predict_proba(X), model.predict_proba(X))
    assert set(fit.signature(p, model)["inputs"][0]) >= {"name", "dtype", "role"}


def test_a_dropped_column_that_an_expression_reads_stays_a_model_input(tmp_path: Path, composed_params) -> None:
    p = composed_params(tmp_path, features={"drop": ["mean radius", "mean texture"],
                                            "derived": [{"name": "r2", "expr": "`mean radius` ** 2"}]})
    columns = spec.input_columns(sources.contract(p.data), p.data.target, p.features)
    assert "mean radius" in columns["numeric"] and "mean texture" not in columns["numeric"]
    roles = spec.feature_columns(columns, p.features)
    assert "mean radius" not in roles["numeric"] and roles["numeric"][-1] == "r2"


BAD = [
    ({"transforms": [{"columns": ["nope"], "steps": [{"kind": "scale"}]}]},
     "features.transforms[0].columns: column 'nope' is not in the data contract or features.derived"),
    ({"derived": [{"name": "d", "expr": "`mean radius` +* 2"}]},
     "features.derived[0].expr: cannot parse '`mean radius` +* 2': invalid syntax"),
    ({"derived": [{"name": "d", "expr": "open('x')"}]}, "features.derived[0].expr: cannot parse \"open('x')\""),
    ({"derived": [{"name": "d", "expr": "nope * 2"}]},
     "features.derived[0].expr: column 'nope' is not in the data contract or derived before it"),
    ({"derived": [{"name": "d", "expr": "later * 2"}, {"name": "later", "expr": "`mean radius`"}]},
     "features.derived[0].expr: column 'later' is not in the data contract or derived before it"),
    ({"derived": [{"name": "d", "expr": "diagnosis * 2"}]}, "features.derived[0].expr: reads the target column"),
    ({"numeric": [{"_target_": "sklearn.linear_model.Ridge"}]},
     "features.numeric[0]._target_: 'sklearn.linear_model.Ridge' is not a transformer (no fit/transform)"),
    ({"transforms": [{"columns": ["mean area"], "steps": [{"_target_": "sklearn.svm.SVC"}]}]},
     "features.transforms[0].steps[0]._target_: 'sklearn.svm.SVC' is not a transformer"),
    ({"derived": [{"name": "mean area", "expr": "`mean radius`"}]},
     "features.derived[0].name: duplicate feature name 'mean area' (already a column of the data contract)"),
    ({"derived": [{"name": "d", "expr": "1"}, {"name": "d", "expr": "2"}]},
     "features.derived[1].name: duplicate feature name 'd' (already an earlier derived feature)"),
    ({"transforms": [{"columns": ["mean area"], "steps": []}, {"columns": ["mean area"], "steps": []}]},
     "features.transforms[1].columns: duplicate feature name 'mean area' (already in features.transforms[0])"),
    ({"transforms": [{"name": "g", "columns": ["mean area"], "steps": []},
                     {"name": "g", "columns": ["worst area"], "steps": []}]},
     "features.transforms: duplicate group name 'g'"),
    ({"drop": ["mean area"], "transforms": [{"columns": ["mean area"], "steps": []}]},
     "features.transforms[0].columns: 'mean area' is dropped (features.drop)"),
    ({"docs": {"nope": {"description": "x"}}}, "features.docs: 'nope' is not a feature"),
    ({"dedup": {"policy": "first", "subset": ["nope"]}}, "features.dedup.subset: column 'nope' is not in the data"),
    ({"views": [{"name": "v", "path": "v.parquet", "entity": "id", "timestamp": "t", "features": ["x"]},
                {"name": "w", "path": "w.parquet", "entity": "id", "timestamp": "t", "features": ["x"]}],
      "labels": {"path": "l.parquet", "entity": "id", "timestamp": "t"}},
     "features.views[1].features: duplicate feature name 'x' (already in view 'v')"),
]


@pytest.mark.parametrize(("change", "line"), BAD, ids=[line.split(":")[0] + str(i) for i, (_, line) in enumerate(BAD)])
def test_each_bad_features_config_is_one_line_at_check_time(tmp_path: Path, change: dict, line: str,
                                                            composed_params) -> None:
    found = check.semantic_problems(composed_params(tmp_path, features=change))
    assert len(found) == 1, found
    assert found[0].startswith(line), found[0]
    assert "\n" not in found[0]


def test_an_expression_over_a_categorical_column_is_refused(tmp_path: Path, composed_params, synthetic_data) -> None:
    p = composed_params(tmp_path, data=synthetic_data(), features={"derived": [{"name": "d", "expr": "cat_0 * 2"}]})
    assert check.semantic_problems(p) == [
        "features.derived[0].expr: column 'cat_0' is not numeric; expressions compute on numbers"
    ]


def test_gitml_check_prints_every_problem_and_exits_non_zero(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                             compose_raw) -> None:
    import yaml

    raw = compose_raw(tmp_path)
    del raw["paths"]  # the defaults, inside the project (check refuses the absolute ones of compose_raw)
    raw["features"]["derived"] = [{"name": "d", "expr": "a +"}]
    raw["features"]["transforms"] = [{"columns": ["nope"], "steps": [{"kind": "log"}]}]
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw))
    assert main.main(["check", "--params", str(path), "--no-fresh"]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[0].startswith("error: features.derived[0].expr: cannot parse 'a +'")
    assert lines[1].startswith("features.transforms[0].columns: column 'nope'")
    assert len(lines) == 2
