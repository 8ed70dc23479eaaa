"""gitml.features.spec: input columns from the contract, the seeded split, and the configured preprocessing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from gitml.core.errors import ConfigError
from gitml.data import sources
from gitml.features import spec, split

ALLOWED = ["sklearn.", "gitml."]


def _columns(params):
    return spec.input_columns(sources.contract(params.data), params.data.target, params.features)


def test_input_columns_by_role_without_target(small_params):
    assert _columns(small_params) == {"numeric": ["num_0", "num_1", "num_2"], "categorical": ["cat_0", "cat_1"],
                                      "datetime": []}


def test_input_columns_without_dropped(make_params):
    params = make_params({"features.drop": ["num_1", "cat_0"]})

    assert _columns(params) == {"numeric": ["num_0", "num_2"], "categorical": ["cat_1"], "datetime": []}


def test_unknown_drop_column(make_params):
    params = make_params({"features.drop": ["num_1", "nope"]})

    with pytest.raises(ConfigError, match=r"^features\.drop: columns not in the data contract: \['nope'\]$"):
        _columns(params)


def _split(frame, params, seed, task="classification"):
    """The featurize stage's split of `frame`: the train and test rows, as tables."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    train, test = split.split_indices(table, np.arange(len(frame)), params.features.split, "target", task, seed)
    return table.take(train).to_pandas(), table.take(test).to_pandas()


def test_split_sizes_and_columns(small_params, small_frame):
    train, test = _split(small_frame, small_params, seed=1)

    assert (len(train), len(test)) == (128, 32)
    assert list(train.columns) == list(small_frame.columns)
    assert list(train.index) == list(range(128))


def test_split_is_seeded(small_params, small_frame):
    first, _ = _split(small_frame, small_params, seed=1)
    again, _ = _split(small_frame, small_params, seed=1)
    other, _ = _split(small_frame, small_params, seed=2)

    assert first.equals(again)
    assert not first.equals(other)


def test_split_is_stratified(small_params, small_frame):
    _, test = _split(small_frame, small_params, seed=1)

    assert test["target"].value_counts().to_dict() == {"class_0": 16, "class_1": 16}


def test_split_too_few_rows_is_config_error(small_params, small_frame):
    with pytest.raises(ConfigError, match=r"^features\.split: cannot split 3 rows: "):
        _split(small_frame.head(3), small_params, seed=1)


def test_preprocessor_output_columns(small_params, small_frame):
    pre = spec.preprocessor(_columns(small_params), small_params.features, ALLOWED)

    out = pre.fit(small_frame.drop(columns=["target"])).get_feature_names_out()

    levels = sources.SYNTHETIC_LEVELS
    assert list(out) == ["num_0", "num_1", "num_2", *[f"cat_0_{v}" for v in levels], *[f"cat_1_{v}" for v in levels]]


def test_preprocessor_scales_numeric(small_params, small_frame):
    pre = spec.preprocessor(_columns(small_params), small_params.features, ALLOWED)

    out = pre.fit_transform(small_frame.drop(columns=["target"]))

    assert abs(out[:, 0].mean()) < 1e-9
    assert abs(out[:, 0].std() - 1.0) < 1e-9


def test_preprocessor_ignores_dropped_and_extra_columns(make_params, small_frame):
    params = make_params({"features.drop": ["num_2"]})
    pre = spec.preprocessor(_columns(params), params.features, ALLOWED)

    out = pre.fit(small_frame.assign(extra=1.0)).get_feature_names_out()

    assert "num_2" not in out
    assert "extra" not in out


def test_preprocessor_imputes_missing_values(small_params, small_frame):
    frame = small_frame.drop(columns=["target"])
    frame.loc[0, "num_0"] = None
    frame.loc[1, "cat_0"] = None
    pre = spec.preprocessor(_columns(small_params), small_params.features, ALLOWED)

    out = pre.fit_transform(frame)

    assert not np.isnan(out).any()


def test_empty_steps_pass_columns_through(make_params, small_frame):
    params = make_params({"features.numeric": [], "features.categorical": []})
    pre = spec.preprocessor({"numeric": ["num_0"], "categorical": []}, params.features, ALLOWED)

    out = pre.fit_transform(small_frame)

    assert out[:, 0].tolist() == small_frame["num_0"].tolist()


def test_estimator_as_transformer_step_is_config_error():
    specs = [{"_target_": "sklearn.impute.SimpleImputer"}, {"_target_": "sklearn.linear_model.LogisticRegression"}]

    with pytest.raises(
        ConfigError,
        match=r"^features\.numeric\[1\]\._target_: 'sklearn\.linear_model\.LogisticRegression' is not a transformer",
    ):
        spec.build_steps(specs, "features.numeric", ALLOWED)


def test_disallowed_step_target_names_index():
    specs = [{"_target_": "os.system"}]

    with pytest.raises(ConfigError, match=r"^features\.categorical\[0\]\._target_: 'os\.system' is outside"):
        spec.build_steps(specs, "features.categorical", ALLOWED)


def test_bad_step_kwarg_names_index():
    specs = [
        {"_target_": "sklearn.impute.SimpleImputer", "strategy": "median"},
        {"_target_": "sklearn.preprocessing.StandardScaler", "with_man": False},
    ]

    with pytest.raises(ConfigError, match=r"^features\.numeric\[1\]: cannot build .*StandardScaler.*'with_man'"):
        spec.build_steps(specs, "features.numeric", ALLOWED)


def test_a_true_false_column_alone_is_categories_for_the_imputer(tmp_path, composed_params) -> None:
    data = {"source": {"kind": "file", "path": "unused.csv"}, "task": "classification", "target": "y",
            "contract": {"columns": {"x": {"dtype": "float", "role": "numeric"},
                                     "member": {"dtype": "bool", "role": "categorical", "categories": [False, True]},
                                     "y": {"dtype": "str", "role": "categorical"}}}}
    p = composed_params(tmp_path, data=data)
    frame = pd.DataFrame({"x": [0.5, 1.5, 2.5, 3.5], "member": [True, False, False, True]})
    contract = sources.contract(p.data)
    pre = spec.preprocessor(spec.input_columns(contract, "y", p.features), p.features, ALLOWED, contract)

    out = pre.fit_transform(frame)

    assert out.shape == (4, 3)
    assert type(pre.named_transformers_["categorical"].steps[0][1]).__name__ == "Categories"
