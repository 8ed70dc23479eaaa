"""gitml.features.pointintime: no feature value from after a label's time, ever; TTL; `gitml features build --as-of`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitml.cli import main
from gitml.config import FeatureView
from gitml.core.errors import DataError
from gitml.features import pointintime

BASE = pd.Timestamp("2024-01-01")
events = st.lists(st.tuples(st.integers(0, 3), st.integers(0, 60)), max_size=40)
labels = st.lists(st.tuples(st.integers(0, 4), st.integers(0, 70)), min_size=1, max_size=25)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=events, labels=labels, ttl=st.one_of(st.none(), st.integers(0, 30)))
def test_no_later_or_expired_value_ever_leaks(events, labels, ttl) -> None:
    feature = pd.DataFrame({
        "user": pd.Series([e for e, _ in events], dtype="int64"),
        "seen": BASE + pd.to_timedelta(pd.Series([m for _, m in events], dtype="int64"), unit="min"),
        "value": np.arange(len(events), dtype=float),  # identifies the event it came from
    })
    label = pd.DataFrame({
        "user": [e for e, _ in labels],
        "at": BASE + pd.to_timedelta(pd.Series([m for _, m in labels], dtype="int64"), unit="min"),
        "y": np.arange(len(labels)),
    })
    view = FeatureView(name="v", path="v.parquet", entity="user", timestamp="seen",
                       ttl=None if ttl is None else f"{ttl}min", features=["value"])
    joined = pointintime.as_of_join(label, "user", "at", view, feature)
    pd.testing.assert_frame_equal(joined[["user", "at", "y"]], label)  # labels kept, in order
    for row in joined.itertuples():
        visible = [(m, i) for i, (e, m) in enumerate(events)
                   if e == row.user and BASE + pd.Timedelta(minutes=m) <= row.at
                   and (ttl is None or row.at - (BASE + pd.Timedelta(minutes=m)) <= pd.Timedelta(minutes=ttl))]
        if not visible:
            assert np.isnan(row.value)
            continue
        assert not np.isnan(row.value)
        chosen = events[int(row.value)]
        assert chosen[0] == row.user
        assert BASE + pd.Timedelta(minutes=chosen[1]) <= row.at, "a value from after the label's time leaked"
        assert chosen[1] == max(m for m, _ in visible), "not the latest visible value"


def _project(tmp_path: Path, raw: dict) -> Path:
    pd.DataFrame({
        "user": [1, 1, 2, 1],
        "at": pd.to_datetime(["2024-01-05", "2024-01-20", "2024-01-06", "2024-03-01"]),
        "churned": [0, 1, 0, 1],
    }).to_parquet(tmp_path / "labels.parquet")
    pd.DataFrame({
        "user": [1, 1, 2, 1],
        "seen": pd.to_datetime(["2024-01-01", "2024-01-10", "2024-01-02", "2024-02-25"]),
        "spend": [10.0, 20.0, 5.0, 99.0],
        "internal": ["x"] * 4,
    }).to_parquet(tmp_path / "spend.parquet")
    raw["features"]["labels"] = {"path": str(tmp_path / "labels.parquet"), "entity": "user", "timestamp": "at"}
    raw["features"]["views"] = [{"name": "spend", "path": str(tmp_path / "spend.parquet"), "entity": "user",
                                 "timestamp": "seen", "ttl": "7d", "features": ["spend"]}]
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_build_as_of_rebuilds_a_past_training_set(tmp_path: Path, capsys, compose_raw) -> None:
    params_path = _project(tmp_path, compose_raw(tmp_path))
    out = tmp_path / "past.parquet"
    assert main.main(["features", "build", "--params", str(params_path), "--as-of", "2024-02-01", "-o", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    past = pd.read_parquet(out)
    # The 2024-03-01 label is after --as-of; user 1 on 01-20: the 01-10 value is 10 days old (> 7d TTL).
    assert past["at"].dt.strftime("%m-%d").tolist() == ["01-05", "01-20", "01-06"]
    np.testing.assert_array_equal(past["spend"], [10.0, np.nan, 5.0])
    assert "internal" not in past.columns
    now = tmp_path / "now.parquet"
    assert main.main(["features", "build", "--params", str(params_path), "-o", str(now)]) == 0
    np.testing.assert_array_equal(pd.read_parquet(now)["spend"], [10.0, np.nan, 5.0, 99.0])


def test_bad_as_of_and_missing_view_columns_are_one_line(tmp_path: Path, capsys, compose_raw) -> None:
    params_path = _project(tmp_path, compose_raw(tmp_path))
    assert main.main(["features", "build", "--params", str(params_path), "--as-of", "someday"]) == 1
    assert capsys.readouterr().err.strip() == (
        "error: --as-of: not a timestamp: 'someday' (e.g. 2024-06-30 or 2024-06-30T12:00:00Z)")
    view = FeatureView(name="v", path="v.parquet", entity="user", timestamp="seen", features=["nope"])
    frame = pd.DataFrame({"user": [1], "seen": [BASE]})
    with pytest.raises(DataError, match=r"feature view 'v': columns \['nope'\] are missing from v.parquet"):
        pointintime.as_of_join(pd.DataFrame({"user": [1], "at": [BASE]}), "user", "at", view, frame)
    with pytest.raises(DataError, match="cannot join to the labels on 'user'"):
        view = FeatureView(name="v", path="v.parquet", entity="user", timestamp="seen")
        pointintime.as_of_join(pd.DataFrame({"user": ["a"], "at": [BASE]}), "user", "at", view, frame)


def test_ttl_must_be_a_duration(repo_root: Path) -> None:
    from gitml.config import validate
    from gitml.core.errors import ConfigError

    raw = yaml.safe_load((repo_root / "params.yaml").read_text())
    raw["features"]["views"] = [{"name": "v", "path": "p", "entity": "e", "timestamp": "t", "ttl": "a week"}]
    with pytest.raises(ConfigError, match=r"features\.views\[0\]\.ttl: Value error, not a duration: 'a week'"):
        validate(raw)
