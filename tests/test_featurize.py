"""The featurize stage: columnar de-duplication and split, equal to the pandas reference."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from feature_helpers import params, synthetic

from gitml import data, features, featurize, io
from gitml.errors import DataError
from stages import featurize as stage


def _ingest(p) -> pd.DataFrame:
    frame = data.load(p.data, p.seed)
    io.write_parquet(p.paths.raw, frame)
    return frame


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_split_files_equal_the_pandas_split_in_rows_order_and_dtypes(tmp_path: Path, task: str) -> None:
    p = params(tmp_path, data=synthetic(700, task, n_classes=3, n_numeric=4, n_categorical=2))
    frame = _ingest(p)
    assert stage.main(["--params", _write(p, tmp_path)]) == 0
    expected = features.split(frame[featurize.columns(p)], p.data.target, task, p.features, p.seed)
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
    np.testing.assert_array_equal(featurize.duplicated(table, keep=keep), expected)


@pytest.mark.parametrize(("policy", "keep"), [("first", "first"), ("last", "last"), ("all", False)])
def test_dedup_policy_drops_duplicates_before_the_split(tmp_path: Path, policy: str, keep: str | bool) -> None:
    p = params(tmp_path, data=synthetic(200, n_numeric=2, n_categorical=1), features={"dedup": {"policy": policy}})
    frame = data.load(p.data, p.seed)
    frame = pd.concat([frame, frame.iloc[:40]], ignore_index=True).sample(frac=1.0, random_state=0)
    io.write_parquet(p.paths.raw, frame)
    summary = featurize.run(p)
    kept = frame[featurize.columns(p)].drop_duplicates(keep=keep).reset_index(drop=True)
    assert summary["duplicates_dropped"] == {"first": 40, "last": 40, "all": 80}[policy]
    written = pd.concat([pd.read_parquet(p.paths.train), pd.read_parquet(p.paths.test)])
    pd.testing.assert_frame_equal(written.sort_values("num_0").reset_index(drop=True),
                                  kept.sort_values("num_0").reset_index(drop=True))
    expected = features.split(kept, p.data.target, p.data.task, p.features, p.seed)[0]
    pd.testing.assert_frame_equal(pd.read_parquet(p.paths.train), expected)


def test_dedup_that_leaves_no_rows_is_one_line(tmp_path: Path) -> None:
    p = params(tmp_path, data=synthetic(50, n_numeric=1, n_categorical=1),
               features={"dedup": {"policy": "all", "subset": ["target"]}})
    _ingest(p)
    with pytest.raises(DataError, match="features.dedup: no rows left"):
        featurize.run(p)


def test_missing_raw_data_is_one_line_and_leaves_outputs_untouched(tmp_path: Path, capsys) -> None:
    p = params(tmp_path)
    Path(p.paths.train).parent.mkdir(parents=True)
    Path(p.paths.train).write_bytes(b"previous")
    assert stage.main(["--params", _write(p, tmp_path)]) == 1
    err = capsys.readouterr().err.strip()
    assert err == f"error: {p.paths.raw}: data file not found"
    assert Path(p.paths.train).read_bytes() == b"previous"


def test_a_missing_input_column_names_the_column(tmp_path: Path) -> None:
    p = params(tmp_path)
    frame = _ingest(p)
    io.write_parquet(p.paths.raw, frame.drop(columns=["mean area"]))
    with pytest.raises(DataError, match=r"columns \['mean area'\] are missing"):
        featurize.run(p)
