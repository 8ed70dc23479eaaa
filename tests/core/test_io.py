"""gitml.core.io: atomic writes never leave half a file; unreadable tables are one line naming the file."""

from __future__ import annotations

import json
import os
import re

import pandas as pd
import pytest

from gitml.core import io
from gitml.core.errors import DataError


def test_write_text_creates_parent_folders(tmp_path):
    io.write_text(tmp_path / "a" / "b" / "out.txt", "hello")

    assert (tmp_path / "a" / "b" / "out.txt").read_text() == "hello"


def test_write_text_leaves_no_temp_files(tmp_path, leftovers):
    io.write_text(tmp_path / "out.txt", "one")
    io.write_text(tmp_path / "out.txt", "two")

    assert (tmp_path / "out.txt").read_text() == "two"
    assert leftovers(tmp_path) == []


def test_write_json_round_trips(tmp_path, leftovers):
    io.write_json(tmp_path / "m.json", {"accuracy": 0.5, "names": ["a"]})

    assert io.read_json(tmp_path / "m.json") == {"accuracy": 0.5, "names": ["a"]}
    assert leftovers(tmp_path) == []


def test_write_json_refuses_nan_and_keeps_previous(tmp_path):
    io.write_json(tmp_path / "m.json", {"accuracy": 0.5})
    before = (tmp_path / "m.json").read_bytes()

    with pytest.raises(ValueError, match="Out of range float"):
        io.write_json(tmp_path / "m.json", {"accuracy": float("nan")})

    assert (tmp_path / "m.json").read_bytes() == before


def test_write_parquet_round_trips(tmp_path, leftovers):
    frame = pd.DataFrame({"x": [1.0, 2.0], "y": ["a", "b"]})

    io.write_parquet(tmp_path / "t.parquet", frame)

    pd.testing.assert_frame_equal(io.read_table(tmp_path / "t.parquet"), frame, check_dtype=False)
    assert leftovers(tmp_path) == []


def test_atomic_path_yields_temp_file_beside_target(tmp_path):
    with io.atomic_path(tmp_path / "out.bin") as tmp:
        assert tmp.parent == tmp_path
        assert tmp != tmp_path / "out.bin"
        assert not (tmp_path / "out.bin").exists()
        tmp.write_bytes(b"new")

    assert (tmp_path / "out.bin").read_bytes() == b"new"


def test_failure_inside_atomic_path_keeps_previous_file(tmp_path, leftovers):
    target = tmp_path / "out.bin"
    target.write_bytes(b"previous \x00 bytes")

    with pytest.raises(RuntimeError, match="boom"), io.atomic_path(target) as tmp:
        tmp.write_bytes(b"half a fi")
        raise RuntimeError("boom")

    assert target.read_bytes() == b"previous \x00 bytes"
    assert leftovers(tmp_path) == []


def test_failure_inside_atomic_path_creates_nothing(tmp_path):
    with pytest.raises(RuntimeError, match="boom"), io.atomic_path(tmp_path / "out.bin") as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("boom")

    assert list(tmp_path.iterdir()) == []


def test_read_json_missing(tmp_path):
    with pytest.raises(DataError, match=r"nope\.json: not found"):
        io.read_json(tmp_path / "nope.json")


def test_read_json_invalid(tmp_path):
    (tmp_path / "bad.json").write_text("{not json")

    with pytest.raises(DataError, match=r"bad\.json: not valid JSON"):
        io.read_json(tmp_path / "bad.json")


def test_read_table_missing(tmp_path):
    with pytest.raises(DataError, match=r"nope\.parquet: data file not found"):
        io.read_table(tmp_path / "nope.parquet")


@pytest.mark.parametrize("name", ["empty.parquet", "empty.csv"])
def test_read_table_zero_bytes(tmp_path, name):
    (tmp_path / name).write_bytes(b"")

    with pytest.raises(DataError, match=re.escape(f"{name}: data file is empty")):
        io.read_table(tmp_path / name)


def test_read_table_unparseable_parquet(tmp_path):
    (tmp_path / "bad.parquet").write_bytes(b"this is not parquet at all\n" * 10)

    with pytest.raises(DataError, match=r"bad\.parquet: cannot be read as parquet: "):
        io.read_table(tmp_path / "bad.parquet")


def test_read_table_unparseable_parquet_is_one_line(tmp_path):
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 truncated")

    with pytest.raises(DataError) as caught:
        io.read_table(tmp_path / "bad.parquet")

    assert "\n" not in str(caught.value)


def test_read_table_csv_header_only(tmp_path):
    (tmp_path / "head.csv").write_text("x,y,target\n")

    with pytest.raises(DataError, match=r"head\.csv: data file has no rows"):
        io.read_table(tmp_path / "head.csv")


def test_read_table_parquet_without_rows(tmp_path):
    pd.DataFrame({"x": pd.Series([], dtype=float)}).to_parquet(tmp_path / "none.parquet")

    with pytest.raises(DataError, match=r"none\.parquet: data file has no rows"):
        io.read_table(tmp_path / "none.parquet")


def test_read_table_csv_by_suffix(tmp_path):
    (tmp_path / "d.csv").write_text("x,y\n1,a\n2,b\n")

    frame = io.read_table(tmp_path / "d.csv")

    assert list(frame.columns) == ["x", "y"]
    assert frame["x"].tolist() == [1, 2]


def test_read_table_explicit_format_overrides_suffix(tmp_path):
    (tmp_path / "d.data").write_text("x,y\n1,a\n")

    assert io.read_table(tmp_path / "d.data", "csv")["y"].tolist() == ["a"]


def test_read_table_csv_named_as_parquet(tmp_path):
    (tmp_path / "d.parquet").write_text("x,y\n1,a\n")

    with pytest.raises(DataError, match=r"d\.parquet: cannot be read as parquet"):
        io.read_table(tmp_path / "d.parquet")


def test_written_json_is_indented_and_ends_with_newline(tmp_path):
    io.write_json(tmp_path / "m.json", {"a": 1})

    text = (tmp_path / "m.json").read_text()
    assert text.endswith("}\n")
    assert json.loads(text) == {"a": 1}
    assert "\n  " in text


def test_atomic_writes_are_readable_by_others(workdir):
    io.write_text(workdir / "out.txt", "x")

    assert (workdir / "out.txt").stat().st_mode & 0o777 == io.FILE_MODE


def test_csv_missing_cells_are_pandas_defaults():
    """One list for every CSV reader; it is pandas' own, so a file reads as pandas users expect."""
    from pandas._libs.parsers import STR_NA_VALUES

    assert io.CSV_MISSING == STR_NA_VALUES


def test_temporaries_are_named_for_their_target_and_process(tmp_path):
    made = io.temporary(tmp_path / "train.parquet")
    folder = io.temporary(tmp_path / "serving", folder=True)

    assert re.fullmatch(rf"\.train\.parquet\.{os.getpid()}\.\w+\.gitml\.tmp", made.name) and made.is_file()
    assert re.fullmatch(rf"\.serving\.{os.getpid()}\.\w+\.gitml\.tmp", folder.name) and folder.is_dir()


def test_sweep_removes_dead_writers_files_and_folders_beside_and_inside(tmp_path):
    (tmp_path / "plots").mkdir()
    dead_file = tmp_path / ".model.skops.4194999.x1.gitml.tmp"
    dead_file.write_bytes(b"half")
    dead_folder = tmp_path / "plots" / ".roc.json.4194999.x2.gitml.tmp"
    dead_folder.mkdir()
    not_ours = tmp_path / ".model.skops.4194999.x3.tmp"
    not_ours.write_bytes(b"")

    assert sorted(io.sweep([tmp_path / "model.skops", tmp_path / "plots"])) == sorted([dead_file, dead_folder])
    assert not_ours.exists()


def test_a_failed_write_removes_the_folders_it_created(tmp_path):
    with pytest.raises(RuntimeError), io.atomic_path(tmp_path / "a" / "b" / "out.txt"):
        raise RuntimeError("refused")

    assert list(tmp_path.iterdir()) == []


def test_a_failed_write_keeps_folders_that_existed(tmp_path):
    (tmp_path / "a").mkdir()
    with pytest.raises(RuntimeError), io.atomic_path(tmp_path / "a" / "out.txt"):
        raise RuntimeError("refused")

    assert [p.name for p in tmp_path.iterdir()] == ["a"]


@pytest.mark.parametrize(("text", "message"), [
    ("a,b,a\n1,2,3\n", "duplicate column 'a' (columns 1 and 3)"),
    ('"x,1",x\n1,2\n', None),
])
def test_check_columns_reads_the_header_itself(tmp_path, text, message):
    path = tmp_path / "t.csv"
    path.write_text(text)

    if message is None:
        io.check_columns(path)
    else:
        with pytest.raises(DataError, match=re.escape(f"{path}: {message}")):
            io.check_columns(path)
