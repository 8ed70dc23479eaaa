"""gitml.features.split, the featurize stage: columnar de-duplication and split, equal to the pandas reference."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from gitml.core import io
from gitml.core.errors import DataError
from gitml.data import sources, tables
from gitml.features import spec, split
from stages import featurize as stage


def _ingest(p) -> pd.DataFrame:
    frame = sources.load(p.data, p.seed)
    io.write_parquet(p.paths.raw, frame)
    return frame


def _columns(p) -> list[str]:
    """The split files' columns: the model's raw inputs by role, then the target."""
    return [*spec.raw_columns(sources.contract(p.data), p.data.target, p.features), p.data.target]


def _pandas_split(frame: pd.DataFrame, p) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The reference: scikit-learn's `train_test_split` on the DataFrame, stratified on the target."""
    from sklearn.model_selection import train_test_split

    target, cfg = p.data.target, p.features.split
    stratify = frame[target] if p.data.task == "classification" and cfg.stratify else None
    train, test = train_test_split(frame, test_size=cfg.test_size, random_state=p.seed, stratify=stratify)
    return train.reset_index(drop=True), test.reset_index(drop=True)


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_split_files_equal_the_pandas_split_in_rows_order_and_dtypes(tmp_path: Path, task: str, composed_params,
                                                                    synthetic_data) -> None:
    p = composed_params(tmp_path, data=synthetic_data(700, task, n_classes=3, n_numeric=4, n_categorical=2))
    frame = _ingest(p)
    assert stage.main(["--params", _write(p, tmp_path)]) == 0
    expected = _pandas_split(frame[_columns(p)], p)
    pd.testing.assert_frame_equal(pd.read_parquet(p.paths.train), expected[0])
    pd.testing.assert_frame_equal(pd.read_parquet(p.paths.test), expected[1])
    assert not list(Path(p.paths.train).parent.glob(".*.tmp"))


def _write(p, tmp_path: Path) -> str:
    import yaml

    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(p.model_dump(mode="json")))
    return str(path)


@pytest.mark.parametrize("keep", ["first", "last", False])
def test_duplicated_marks_rows_exactly_as_pandas(keep: str | bool) -> None:
    rng = np.random.default_rng(3)
    n = 400
    frame = pd.DataFrame({
        "x": rng.integers(0, 3, n).astype(float),
        "y": rng.choice(["a", "b", None], n),
        "z": rng.integers(0, 2, n),
    })
    frame.loc[frame.index % 5 == 0, "x"] = np.nan
    frame.loc[frame.index % 7 == 0, "x"] = -0.0  # equal to 0.0 for pandas
    table = pa.Table.from_pandas(frame, preserve_index=False)
    expected = frame.duplicated(keep=keep).to_numpy()
    assert expected.sum() > 0
    np.testing.assert_array_equal(tables.duplicated(table, keep=keep), expected)


@pytest.mark.parametrize(("policy", "keep"), [("first", "first"), ("last", "last"), ("all", False)])
def test_dedup_policy_drops_duplicates_before_the_split(tmp_path: Path, policy: str, keep: str | bool, composed_params,
                                                        synthetic_data) -> None:
    p = composed_params(tmp_path, data=synthetic_data(200, n_numeric=2, n_categorical=1),
                        features={"dedup": {"policy": policy}})
    frame = sources.load(p.data, p.seed)
    frame = pd.concat([frame, frame.iloc[:40]], ignore_index=True).sample(frac=1.0, random_state=0)
    io.write_parquet(p.paths.raw, frame)
    summary = split.run(p)
    kept = frame[_columns(p)].drop_duplicates(keep=keep).reset_index(drop=True)
    assert summary["duplicates_dropped"] == {"first": 40, "last": 40, "all": 80}[policy]
    written = pd.concat([pd.read_parquet(p.paths.train), pd.read_parquet(p.paths.test)])
    pd.testing.assert_frame_equal(written.sort_values("num_0").reset_index(drop=True),
                                  kept.sort_values("num_0").reset_index(drop=True))
    expected = _pandas_split(kept, p)[0]
    pd.testing.assert_frame_equal(pd.read_parquet(p.paths.train), expected)


def test_dedup_that_leaves_no_rows_is_one_line(tmp_path: Path, composed_params, synthetic_data) -> None:
    p = composed_params(tmp_path, data=synthetic_data(50, n_numeric=1, n_categorical=1),
                        features={"dedup": {"policy": "all", "subset": ["target"]}})
    _ingest(p)
    with pytest.raises(DataError, match="features.dedup: no rows left"):
        split.run(p)


def test_missing_raw_data_is_one_line_and_leaves_outputs_untouched(tmp_path: Path, capsys, composed_params) -> None:
    p = composed_params(tmp_path)
    Path(p.paths.train).parent.mkdir(parents=True)
    Path(p.paths.train).write_bytes(b"previous")
    assert stage.main(["--params", _write(p, tmp_path)]) == 1
    err = capsys.readouterr().err.strip()
    assert err == f"error: {p.paths.raw}: data file not found"
    assert Path(p.paths.train).read_bytes() == b"previous"


def test_a_missing_input_column_names_the_column(tmp_path: Path, composed_params) -> None:
    p = composed_params(tmp_path)
    frame = _ingest(p)
    io.write_parquet(p.paths.raw, frame.drop(columns=["mean area"]))
    with pytest.raises(DataError, match=r"columns \['mean area'\] are missing"):
        split.run(p)


def test_rows_without_a_target_are_left_out_and_integer_codes_stay_integers(tmp_path: Path, composed_params) -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(1, 4, size=300).astype(float)
    y[::7] = np.nan  # a CSV column of codes with empty cells reads as floats
    frame = pd.DataFrame({"x": rng.normal(size=300), "grade": y})
    data = {"source": {"kind": "file", "path": "unused.csv"}, "task": "classification", "target": "grade",
            "contract": {"columns": {"x": {"dtype": "float", "role": "numeric"},
                                     "grade": {"dtype": "int", "role": "categorical", "categories": [1, 2, 3],
                                               "max_null_fraction": 0.2}}}}
    p = composed_params(tmp_path, data=data)
    io.write_parquet(p.paths.raw, frame)

    done = split.run(p)

    assert done["rows_without_target"] == int(np.isnan(y).sum()) == 43
    train, test = pd.read_parquet(p.paths.train), pd.read_parquet(p.paths.test)
    assert len(train) + len(test) == 300 - 43
    assert train["grade"].dtype == np.int64 and set(train["grade"]) == {1, 2, 3}


def test_a_table_without_any_target_is_one_error(tmp_path: Path, composed_params) -> None:
    data = {"source": {"kind": "file", "path": "unused.csv"}, "task": "regression", "target": "y",
            "contract": {"columns": {"x": {"dtype": "float", "role": "numeric"},
                                     "y": {"dtype": "float", "role": "numeric", "max_null_fraction": 1.0}}}}
    p = composed_params(tmp_path, data=data)
    io.write_parquet(p.paths.raw, pd.DataFrame({"x": [1.0, 2.0], "y": [np.nan, np.nan]}))

    with pytest.raises(DataError, match="no row has a target 'y'"):
        split.run(p)
