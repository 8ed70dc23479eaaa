"""`gitml monitor` on seeded synthetic data: detection, false alarms, guards and bad input."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from gitml.cli import main as cli
from gitml.config import Params
from gitml.core.errors import FAILED, NOT_EVALUATED, OK, DataError
from gitml.monitor import drift, sources


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def compare(monitor_params: Callable[..., Params], write_table: Callable[..., Path]) -> Callable[..., dict]:
    """`compare(ref, cur, tmp, **monitor)`: the drift report of `cur` against `ref`."""

    def run(ref: pd.DataFrame, cur: pd.DataFrame, tmp: Path, **monitor: object) -> dict:
        p = monitor_params(**monitor)
        return drift.run(p, current=str(write_table(cur, tmp / "cur.parquet")),
                         reference=str(write_table(ref, tmp / "ref.parquet")))

    return run


@pytest.fixture
def monitor_cli(monitor_params: Callable[..., Params], write_table: Callable[..., Path]) -> Callable[..., int]:
    """`monitor_cli(tmp, ref, cur, **monitor)`: `gitml monitor` in-process with params.yaml written from
    `monitor` settings; its exit code."""

    def run(tmp: Path, ref: pd.DataFrame | None, cur: pd.DataFrame | None, **monitor: object) -> int:
        raw = monitor_params(**monitor).model_dump(mode="json")
        (tmp / "params.yaml").write_text(yaml.safe_dump(raw))
        args = ["monitor", "--params", "params.yaml", "--json", "drift.json", "--html", "drift.html"]
        if ref is not None:
            args += ["--reference", str(write_table(ref, tmp / "ref.parquet"))]
        if cur is not None:
            args += ["--current", str(write_table(cur, tmp / "cur.parquet"))]
        return cli.main(args)

    return run


def test_injected_shift_is_found_in_exactly_the_shifted_columns_with_effect_sizes(
    tmp_path: Path, compare: Callable[..., dict], monitor_table: Callable[..., pd.DataFrame],
    shift: Callable[..., pd.DataFrame], shifted: list[str]
) -> None:
    report = compare(monitor_table(5000, 1), shift(monitor_table(5000, 2)), tmp_path)
    assert report["columns"]["num_2"]["rule"]["decide"] == "effect"
    assert sorted(report["drifted_columns"]) == sorted(shifted)
    assert report["n_evaluated"] == 25 and report["share_drifted"] == pytest.approx(3 / 25)
    assert report["dataset_drift"] is False


def test_injected_shift_is_found_in_exactly_the_shifted_columns_with_significance_tests(
    tmp_path: Path, compare: Callable[..., dict], monitor_table: Callable[..., pd.DataFrame],
    shift: Callable[..., pd.DataFrame], shifted: list[str]
) -> None:
    report = compare(monitor_table(800, 1), shift(monitor_table(800, 2)), tmp_path,
                     overrides={"all": {"alpha": 0.001}})
    assert report["columns"]["num_2"]["rule"]["decide"] == "significance"
    assert sorted(report["drifted_columns"]) == sorted(shifted)


def test_dataset_drift_when_the_share_of_drifted_columns_reaches_the_threshold(
    tmp_path: Path, monitor_cli: Callable[..., int], monitor_table: Callable[..., pd.DataFrame],
    shift: Callable[..., pd.DataFrame]
) -> None:
    assert monitor_cli(tmp_path, monitor_table(3000, 1), shift(monitor_table(3000, 2)), drift_share=0.12) == FAILED
    report = json.loads((tmp_path / "drift.json").read_text())
    assert report["dataset_drift"] is True and report["status"] == "drift"
    assert monitor_cli(tmp_path, monitor_table(3000, 1), shift(monitor_table(3000, 2)), drift_share=0.13) == OK


def test_no_shift_false_alarm_rate_across_20_seeds_stays_within_the_significance_level(
    tmp_path: Path, compare: Callable[..., dict], monitor_table: Callable[..., pd.DataFrame]
) -> None:
    alpha, columns_flagged, tests, datasets_flagged = 0.05, 0, 0, 0
    for seed in range(20):
        report = compare(monitor_table(400, 100 + seed), monitor_table(400, 200 + seed), tmp_path)
        assert report["columns"]["num_0"]["rule"]["decide"] == "significance"
        columns_flagged += report["n_drifted"]
        tests += report["n_evaluated"]
        datasets_flagged += report["dataset_drift"]
    # Each column test flags at rate <= alpha under no shift: allow the binomial's 3-sigma upper band.
    assert columns_flagged / tests <= alpha + 3 * math.sqrt(alpha * (1 - alpha) / tests)
    assert datasets_flagged == 0


def test_no_shift_large_samples_raise_no_effect_size_alarm(
    tmp_path: Path, compare: Callable[..., dict], monitor_table: Callable[..., pd.DataFrame]
) -> None:
    for seed in range(3):
        report = compare(monitor_table(20_000, 10 + seed), monitor_table(20_000, 20 + seed), tmp_path)
        assert report["drifted_columns"] == [], report["alerts"]


def test_requiring_significance_and_effect_ignores_a_trivial_shift_in_a_large_sample(
    tmp_path: Path, compare: Callable[..., dict], monitor_table: Callable[..., pd.DataFrame]
) -> None:
    ref, cur = monitor_table(40_000, 1, 2, 0), monitor_table(40_000, 2, 2, 0)
    cur["num_0"] = cur["num_0"] + 0.04 * cur["num_0"].std()
    significance = compare(ref, cur, tmp_path, overrides={"all": {"decide": "significance"}})
    both = compare(ref, cur, tmp_path, overrides={"all": {"decide": "both"}})
    assert significance["columns"]["num_0"]["drifted"] is True
    assert both["columns"]["num_0"]["drifted"] is False
    assert both["columns"]["num_0"]["rule"]["pvalue"] < 0.05


def test_per_column_and_per_role_overrides_change_the_decision(
    tmp_path: Path, compare: Callable[..., dict], monitor_table: Callable[..., pd.DataFrame],
    shift: Callable[..., pd.DataFrame]
) -> None:
    report = compare(monitor_table(5000, 1), shift(monitor_table(5000, 2)), tmp_path,
                     overrides={"columns": {"num_2": {"threshold": 5.0}}, "categorical": {"effect": "psi"}})
    assert "num_2" not in report["drifted_columns"]
    assert report["columns"]["cat_1"]["rule"]["effect"] == "psi"


def test_too_few_current_rows_is_insufficient_data_and_exit_2(
    tmp_path: Path, monitor_cli: Callable[..., int], monitor_table: Callable[..., pd.DataFrame],
    shift: Callable[..., pd.DataFrame]
) -> None:
    assert monitor_cli(tmp_path, monitor_table(2000, 1), shift(monitor_table(40, 2))) == NOT_EVALUATED
    report = json.loads((tmp_path / "drift.json").read_text())
    assert report["status"] == "not_evaluated"
    assert {c["status"] for c in report["columns"].values()} == {"insufficient_data"}
    assert report["drift"] is False
    assert monitor_cli(tmp_path, monitor_table(2000, 1), shift(monitor_table(40, 2)), min_rows=30) == FAILED


def test_different_columns_are_per_column_statuses_and_exit_2(
    tmp_path: Path, monitor_cli: Callable[..., int], monitor_table: Callable[..., pd.DataFrame]
) -> None:
    cur = monitor_table(2000, 2).drop(columns=["num_1"]).assign(extra=1.0)
    assert monitor_cli(tmp_path, monitor_table(2000, 1), cur) == NOT_EVALUATED
    report = json.loads((tmp_path / "drift.json").read_text())
    assert report["status"] == "incomplete"
    assert report["columns"]["num_1"]["status"] == "missing_column"
    assert report["problem_columns"] == ["num_1"] and "extra" in report["ignored_columns"]
    assert report["n_evaluated"] == 24


def test_empty_current_data_cannot_be_evaluated(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monitor_cli: Callable[..., int],
    monitor_table: Callable[..., pd.DataFrame], monitor_params: Callable[..., Params]
) -> None:
    assert monitor_cli(tmp_path, monitor_table(500, 1), monitor_table(500, 2).iloc[:0]) == NOT_EVALUATED
    assert "has no rows" in json.loads((tmp_path / "drift.json").read_text())["reason"]
    (tmp_path / "empty").mkdir()
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(monitor_params().model_dump(mode="json")))
    code = cli.main(["monitor", "--reference", "ref.parquet", "--current", "empty", "--json", "d.json"])
    assert code == NOT_EVALUATED and "empty: folder has no CSV or Parquet files" in capsys.readouterr().err
    assert not (tmp_path / "d.json").exists()


def test_all_null_constant_and_type_conflict_columns_get_clear_statuses(
    tmp_path: Path, compare: Callable[..., dict], monitor_table: Callable[..., pd.DataFrame]
) -> None:
    ref, cur = monitor_table(3000, 1), monitor_table(3000, 2)
    cur["num_3"] = np.nan  # the feature stopped arriving
    ref["num_4"], cur["num_4"] = np.nan, np.nan  # never had values
    ref["num_5"], cur["num_5"] = 1.0, 1.0  # constant, unchanged
    ref["num_6"], cur["num_6"] = 1.0, 2.0  # constant, moved
    cur["num_8"] = cur["num_8"].astype(str)  # numbers arrive as text
    cur["cat_2"] = np.arange(len(cur)) % 3  # categories arrive as integers
    report = compare(ref, cur, tmp_path)
    columns = report["columns"]
    assert columns["num_3"]["status"] == "drift" and "missing values 0.0% -> 100.0%" in columns["num_3"]["reason"]
    assert columns["num_4"]["status"] == "all_null" and columns["num_4"]["drifted"] is False
    assert columns["num_5"]["status"] == "ok" and "reference is constant" in columns["num_5"]["notes"]
    assert columns["num_6"]["drifted"] is True and columns["num_6"]["rule"]["value"] is None
    assert columns["num_8"]["status"] == "type_conflict" and "current values are string" in columns["num_8"]["notes"][0]
    assert columns["cat_2"]["status"] == "type_conflict"
    assert sorted(report["problem_columns"]) == ["cat_2", "num_8"]
    drift.write(report, "drift.json", None)
    assert json.loads(Path("drift.json").read_text())["columns"]["num_6"]["stats"]["wasserstein"] is None


def test_new_categories_are_reported(
    tmp_path: Path, compare: Callable[..., dict], monitor_table: Callable[..., pd.DataFrame]
) -> None:
    cur = monitor_table(3000, 2)
    cur.loc[:99, "cat_3"] = "zz"
    report = compare(monitor_table(3000, 1), cur, tmp_path)
    assert report["columns"]["cat_3"]["new_categories"] == ["zz"]
    assert any("new categories 'zz'" in line for line in report["alerts"])


def test_chunked_folder_of_files_gives_the_same_statistics_as_one_file(
    tmp_path: Path, compare: Callable[..., dict], monitor_table: Callable[..., pd.DataFrame],
    shift: Callable[..., pd.DataFrame], monitor_params: Callable[..., Params], write_table: Callable[..., Path]
) -> None:
    ref, cur = monitor_table(3000, 1), shift(monitor_table(3000, 2))
    whole = compare(ref, cur, tmp_path)
    for i in range(3):
        write_table(cur.iloc[i * 1000:(i + 1) * 1000], tmp_path / "log" / f"part-{i}.parquet")
    p = monitor_params(read={"batch_rows": 128, "block_mb": 1})
    chunked = drift.run(p, current=str(tmp_path / "log"), reference=str(tmp_path / "ref.parquet"))
    for name, entry in whole["columns"].items():
        assert chunked["columns"][name]["stats"] == pytest.approx(entry["stats"]), name


def test_csv_current_data_is_read_too(
    tmp_path: Path, monitor_table: Callable[..., pd.DataFrame], shift: Callable[..., pd.DataFrame], shifted: list[str],
    monitor_params: Callable[..., Params], write_table: Callable[..., Path]
) -> None:
    ref, cur = monitor_table(2000, 1), shift(monitor_table(2000, 2))
    report = drift.run(monitor_params(), current=str(write_table(cur, tmp_path / "cur.csv")),
                       reference=str(write_table(ref, tmp_path / "ref.parquet")))
    assert sorted(report["drifted_columns"]) == sorted(shifted)


def test_prediction_drift_and_metrics_on_labelled_current_data(
    tmp_path: Path, compare: Callable[..., dict], monitor_table: Callable[..., pd.DataFrame],
    write_table: Callable[..., Path]
) -> None:
    ref, cur = monitor_table(2000, 1), monitor_table(2000, 2)
    test = pd.DataFrame({"y_true": ref["target"], "y_pred": ref["target"]})
    test["proba_class_1"] = (test["y_pred"] == "class_1").astype(float)
    test["proba_class_0"] = 1 - test["proba_class_1"]
    write_table(test, tmp_path / "reports" / "predictions.parquet")
    (tmp_path / "reports" / "metrics.json").write_text(json.dumps({"accuracy": 0.97, "f1": 0.96}))
    cur["prediction"] = "class_1"  # the model now predicts one class only
    cur["proba_class_1"], cur["proba_class_0"] = 0.9, 0.1
    cur["model_version"] = "v0.0.2"
    cur["timestamp"] = pd.Timestamp("2026-01-01", tz="UTC")
    report = compare(ref, cur, tmp_path)
    assert report["prediction_drift"] is True and report["status"] == "drift"
    assert report["prediction"]["reference"] == "test-split predictions"
    assert "prediction" in report["prediction"]["drifted_columns"]
    performance = report["performance"]
    assert performance["rows"] == 2000 and "accuracy" in performance["degraded"]
    assert performance["metrics"]["accuracy"]["current"] == pytest.approx((cur["target"] == "class_1").mean())
    assert report["current"]["model_versions"] == {"v0.0.2": 2000}
    assert drift.exit_code(report) == FAILED


def test_config_error_in_the_policy_exits_2_with_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monitor_cli: Callable[..., int],
    monitor_table: Callable[..., pd.DataFrame]
) -> None:
    code = monitor_cli(tmp_path, monitor_table(500, 1), monitor_table(500, 2),
                       overrides={"all": {"significance": "ks"}})
    assert code == NOT_EVALUATED
    assert "monitor.overrides.all.significance: 'ks' does not apply to categorical" in capsys.readouterr().err


def test_reference_defaults_to_the_local_training_features_without_a_registry(
    tmp_path: Path, monitor_table: Callable[..., pd.DataFrame], monitor_params: Callable[..., Params],
    write_table: Callable[..., Path]
) -> None:
    write_table(monitor_table(500, 1), tmp_path / "data" / "features" / "train.parquet")
    ref = sources.resolve_reference(monitor_params())
    assert ref.origin == {"source": "train", "path": "data/features/train.parquet"}
    assert [i["name"] for i in ref.signature["inputs"]][:2] == ["num_0", "num_1"]


def test_outputs_are_untouched_when_monitoring_fails(
    tmp_path: Path, monitor_cli: Callable[..., int], monitor_table: Callable[..., pd.DataFrame]
) -> None:
    (tmp_path / "drift.json").write_text("previous")
    assert monitor_cli(tmp_path, monitor_table(500, 1), None, current="missing-folder") == NOT_EVALUATED
    assert (tmp_path / "drift.json").read_text() == "previous"


def test_monitoring_never_imports_training_code() -> None:
    import subprocess
    import sys

    code = (
        "import sys, gitml.cli.main, gitml.cli.commands.monitor, gitml.monitor.drift, gitml.monitor.render, "
        "gitml.monitor.alert, gitml.monitor.retrain; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'sklearn' "
        "or m in ('gitml.train', 'gitml.tune', 'gitml.features.split', 'gitml.features.spec', "
        "'gitml.config.targets')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_a_corrupt_current_file_is_one_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monitor_cli: Callable[..., int],
    monitor_table: Callable[..., pd.DataFrame]
) -> None:
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 not really parquet")
    assert monitor_cli(tmp_path, monitor_table(500, 1), None, current="bad.parquet") == NOT_EVALUATED
    assert "bad.parquet: cannot be read as parquet" in capsys.readouterr().err


def test_a_signature_input_without_a_role_is_one_clear_error(
    tmp_path: Path, monitor_table: Callable[..., pd.DataFrame], monitor_params: Callable[..., Params],
    write_table: Callable[..., Path]
) -> None:
    reference = sources.Reference(table=sources.Table(write_table(monitor_table(200, 1), tmp_path / "r.parquet")),
                                  signature={"inputs": [{"name": "num_0", "dtype": "float"}]},
                                  origin={"source": "prod"})
    with pytest.raises(DataError, match=r"model signature \(prod\): input .*'num_0'.* needs a name and a role"):
        drift.compare(reference, reference.table, monitor_params().monitor)


def test_hidden_files_being_written_are_not_read(
    tmp_path: Path, monitor_table: Callable[..., pd.DataFrame], write_table: Callable[..., Path]
) -> None:
    write_table(monitor_table(300, 2), tmp_path / "log" / "predictions-1.parquet")
    (tmp_path / "log" / ".predictions-2.parquet").write_bytes(b"PAR1 half written")
    assert sources.Table(tmp_path / "log").rows == 300


def test_a_prod_model_older_than_max_model_age_raises_the_drift_alert(
    tmp_path: Path, monitor_cli: Callable[..., int], monitor_table: Callable[..., pd.DataFrame], run: Callable
) -> None:
    """The same alert path as drift, on data that shows none: the registry's training date says it is stale."""
    ref, cur = monitor_table(1000, 1), monitor_table(1000, 2)
    run(tmp_path, "git", "init", "--quiet")
    run(tmp_path, "git", "commit", "--quiet", "--allow-empty", "-m", "model")
    run(tmp_path, "git", "tag", "-a", "model@v0.0.1", "-m",
        "Registering artifact model version v0.0.1\n\ngitml-trained-at: 2026-01-02T03:04:05+00:00")
    assert monitor_cli(tmp_path, ref, cur, max_model_age="400d") == OK  # a prod holder is needed first
    assert json.loads((tmp_path / "drift.json").read_text())["model_age"]["status"] == "not_available"
    run(tmp_path, "git", "tag", "-a", "model#prod#1", "-m", "Assigning stage prod to artifact model version v0.0.1")

    assert monitor_cli(tmp_path, ref, cur, max_model_age="30d") == FAILED
    report = json.loads((tmp_path / "drift.json").read_text())
    assert report["status"] == "drift" and report["dataset_drift"] is False
    assert report["model_age"]["status"] == "stale" and report["model_age"]["trained_at"].startswith("2026-01-02")
    assert report["alerts"][0].startswith("the prod model v0.0.1 was trained ")
    assert "longer ago than monitor.max_model_age (30d): retrain it" in report["alerts"][0]
    assert monitor_cli(tmp_path, ref, cur, max_model_age="10000d") == OK
    assert json.loads((tmp_path / "drift.json").read_text())["model_age"]["status"] == "ok"
