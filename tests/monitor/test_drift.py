"""`gitml monitor` on seeded synthetic data: detection, false alarms, guards and bad input."""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from gitml import config
from gitml.cli import main as cli
from gitml.config import Params
from gitml.core.errors import FAILED, NOT_EVALUATED, OK, DataError
from gitml.data import sources as data_sources
from gitml.monitor import drift, render, sources


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
    report = compare(monitor_table(5000, 1), shift(monitor_table(5000, 2)), tmp_path,
                     dataset_drift={"rule": "share"})
    assert report["columns"]["num_2"]["distribution"]["decide"] == "effect"
    dataset = report["checks"]["dataset"]
    assert sorted(dataset["drifted_columns"]) == sorted(shifted)
    assert dataset["n_evaluated"] == 25 and dataset["share_drifted"] == pytest.approx(3 / 25)
    assert dataset["status"] == "no_drift"


def test_injected_shift_is_found_in_exactly_the_shifted_columns_with_significance_tests(
    tmp_path: Path, compare: Callable[..., dict], monitor_table: Callable[..., pd.DataFrame],
    shift: Callable[..., pd.DataFrame], shifted: list[str]
) -> None:
    report = compare(monitor_table(800, 1), shift(monitor_table(800, 2)), tmp_path,
                     overrides={"all": {"alpha": 0.001}})
    assert report["columns"]["num_2"]["distribution"]["decide"] == "significance"
    assert sorted(report["checks"]["dataset"]["drifted_columns"]) == sorted(shifted)


def test_dataset_drift_when_the_share_of_drifted_columns_reaches_the_threshold(
    tmp_path: Path, monitor_cli: Callable[..., int], monitor_table: Callable[..., pd.DataFrame],
    shift: Callable[..., pd.DataFrame]
) -> None:
    rule = {"rule": "share", "share": 0.12}
    assert monitor_cli(tmp_path, monitor_table(3000, 1), shift(monitor_table(3000, 2)), dataset_drift=rule) == FAILED
    report = json.loads((tmp_path / "drift.json").read_text())
    assert report["checks"]["dataset"]["status"] == "drift" and report["status"] == "drift"
    rule["share"] = 0.13
    assert monitor_cli(tmp_path, monitor_table(3000, 1), shift(monitor_table(3000, 2)), dataset_drift=rule) == OK


def test_no_shift_false_alarm_rate_across_20_seeds_stays_within_the_significance_level(
    tmp_path: Path, compare: Callable[..., dict], monitor_table: Callable[..., pd.DataFrame]
) -> None:
    alpha, columns_flagged, tests, datasets_flagged = 0.05, 0, 0, 0
    for seed in range(20):
        report = compare(monitor_table(400, 100 + seed), monitor_table(400, 200 + seed), tmp_path)
        assert report["columns"]["num_0"]["distribution"]["decide"] == "significance"
        dataset = report["checks"]["dataset"]
        columns_flagged += dataset["n_drifted"]
        tests += dataset["n_evaluated"]
        datasets_flagged += dataset["status"] == "drift"
    # Each column test flags at rate <= alpha under no shift: allow the binomial's 3-sigma upper band.
    assert columns_flagged / tests <= alpha + 3 * math.sqrt(alpha * (1 - alpha) / tests)
    assert datasets_flagged == 0


def test_no_shift_large_samples_raise_no_effect_size_alarm(
    tmp_path: Path, compare: Callable[..., dict], monitor_table: Callable[..., pd.DataFrame]
) -> None:
    for seed in range(3):
        report = compare(monitor_table(20_000, 10 + seed), monitor_table(20_000, 20 + seed), tmp_path)
        assert report["checks"]["dataset"]["drifted_columns"] == [], report["alerts"]


def test_requiring_significance_and_effect_ignores_a_trivial_shift_in_a_large_sample(
    tmp_path: Path, compare: Callable[..., dict], monitor_table: Callable[..., pd.DataFrame]
) -> None:
    ref, cur = monitor_table(40_000, 1, 2, 0), monitor_table(40_000, 2, 2, 0)
    cur["num_0"] = cur["num_0"] + 0.04 * cur["num_0"].std()
    significance = compare(ref, cur, tmp_path, overrides={"all": {"decide": "significance"}})
    both = compare(ref, cur, tmp_path, overrides={"all": {"decide": "both"}})
    assert significance["columns"]["num_0"]["status"] == "drift"
    assert both["columns"]["num_0"]["status"] == "no_drift"
    assert both["columns"]["num_0"]["distribution"]["pvalue"] < 0.05


def test_per_column_and_per_role_overrides_change_the_decision(
    tmp_path: Path, compare: Callable[..., dict], monitor_table: Callable[..., pd.DataFrame],
    shift: Callable[..., pd.DataFrame]
) -> None:
    report = compare(monitor_table(5000, 1), shift(monitor_table(5000, 2)), tmp_path,
                     overrides={"columns": {"num_2": {"threshold": 5.0}}, "categorical": {"effect": "psi"}})
    assert "num_2" not in report["checks"]["dataset"]["drifted_columns"]
    assert report["columns"]["cat_1"]["distribution"]["effect"] == "psi"


def test_too_few_current_rows_is_insufficient_data_and_exit_2(
    tmp_path: Path, monitor_cli: Callable[..., int], monitor_table: Callable[..., pd.DataFrame],
    shift: Callable[..., pd.DataFrame]
) -> None:
    assert monitor_cli(tmp_path, monitor_table(2000, 1), shift(monitor_table(40, 2))) == NOT_EVALUATED
    report = json.loads((tmp_path / "drift.json").read_text())
    assert report["status"] == "insufficient_data"
    assert {c["status"] for c in report["columns"].values()} == {"insufficient_data"}
    assert {c["missing"]["status"] for c in report["columns"].values()} == {"insufficient_data"}
    assert report["columns"]["num_0"]["missing"]["reason"] == (
        "40 rows in the current data, at least monitor.min_rows=100 needed")
    assert report["drift"] is False
    assert monitor_cli(tmp_path, monitor_table(2000, 1), shift(monitor_table(40, 2)), min_rows=30) == FAILED


def test_different_columns_are_per_column_statuses_and_exit_2(
    tmp_path: Path, monitor_cli: Callable[..., int], monitor_table: Callable[..., pd.DataFrame]
) -> None:
    cur = monitor_table(2000, 2).drop(columns=["num_1"]).assign(extra=1.0)
    assert monitor_cli(tmp_path, monitor_table(2000, 1), cur) == NOT_EVALUATED
    report = json.loads((tmp_path / "drift.json").read_text())
    assert report["status"] == "not_evaluated" and report["reason"] == "1 column could not be compared: 'num_1'"
    assert report["columns"]["num_1"]["status"] == "not_evaluated"
    assert report["columns"]["num_1"]["problem"] == "missing_column"
    assert report["problem_columns"] == ["num_1"] and "extra" in report["ignored_columns"]
    assert report["checks"]["dataset"]["n_evaluated"] == 24


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
    assert columns["num_3"]["distribution"]["reason"] == "no values in the current data"
    assert columns["num_4"]["status"] == "insufficient_data"
    assert columns["num_4"]["reason"].startswith("no values in the reference data")
    assert columns["num_5"]["status"] == "no_drift" and "reference is constant" in columns["num_5"]["notes"]
    assert columns["num_6"]["status"] == "drift" and columns["num_6"]["distribution"]["value"] is None
    assert columns["num_8"]["status"] == "not_evaluated" and columns["num_8"]["problem"] == "type_conflict"
    assert "current values are string" in columns["num_8"]["reason"]
    assert columns["cat_2"]["problem"] == "type_conflict"
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
    assert sorted(report["checks"]["dataset"]["drifted_columns"]) == sorted(shifted)


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
    prediction, performance = report["checks"]["prediction"], report["checks"]["performance"]
    assert prediction["status"] == "drift" and report["status"] == "drift"
    assert prediction["reference"] == "test-split predictions"
    assert "prediction" in prediction["drifted_columns"]
    assert performance["status"] == "drift" and performance["rows"] == 2000 and "accuracy" in performance["degraded"]
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


def test_a_csv_with_empty_cells_reads_as_the_same_rows_as_parquet_with_nulls(
    tmp_path: Path, monitor_params: Callable[..., Params], with_gaps: Callable[..., tuple[Path, Path]]
) -> None:
    csv_file, parquet_file = with_gaps(tmp_path)
    roles = {"sex": "categorical", "age": "numeric", "visits": "numeric", "smoker": "categorical"}
    inputs = [{"name": name, "role": role} for name, role in roles.items()]
    reference = sources.Reference(table=sources.Table(parquet_file), origin={"source": "file"},
                                  signature={"task": "classification", "target": "y", "inputs": inputs})
    as_csv, as_parquet = (drift.compare(reference, sources.Table(path), monitor_params().monitor)
                          for path in (csv_file, parquet_file))
    for name in roles:
        assert as_csv["columns"][name]["status"] == "no_drift", as_csv["columns"][name]["reason"]
        assert as_csv["columns"][name]["stats"] == as_parquet["columns"][name]["stats"], name
        assert as_csv["columns"][name]["missing"] == as_parquet["columns"][name]["missing"], name
    assert as_csv["columns"]["sex"]["missing"]["current"] > 0.1 and not as_csv["columns"]["sex"]["new_categories"]


def test_library_warnings_go_into_the_report_not_to_the_terminal(
    tmp_path: Path, compare: Callable[..., dict], monitor_table: Callable[..., pd.DataFrame]
) -> None:
    ref, cur = monitor_table(600, 1, 2, 1), monitor_table(600, 2, 2, 1)
    cur["prediction"] = cur["target"]
    for k, share in enumerate((0.5, 0.3, 0.2)):  # a three-class model, whose class_2 these labels never show
        cur[f"proba_class_{k}"] = share
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning reaching the caller fails the test
        report = compare(ref, cur, tmp_path)
    assert report["warnings"] == [{"category": "UndefinedMetricWarning", "count": 1, "message":
                                   "Only one class is present in y_true. ROC AUC score is not defined in that case."}]
    assert math.isnan(report["checks"]["performance"]["metrics"]["roc_auc_ovr"]["current"])  # undefined, as warned
    text = render.markdown(report)
    assert "- library warnings: 1 (UndefinedMetricWarning: Only one class is present in y_true." in text


def test_same_distribution_halves_flag_nothing_where_the_uncorrected_rule_flags_a_column(
    tmp_path: Path, repo_params: dict, write_table: Callable[..., Path]
) -> None:
    """Two random halves of the embedded breast-cancer table (569 rows, 30 columns), judged by KS p-values."""
    params = config.validate(repo_params)
    frame = data_sources.load(params.data, params.seed)
    order = np.random.default_rng(4).permutation(len(frame))
    reference = sources.Reference(table=sources.Table(write_table(frame.iloc[order[:284]], tmp_path / "r.parquet")),
                                  signature=sources.signature_from_contract(params), origin={"source": "file"})
    current = sources.Table(write_table(frame.iloc[order[284:]], tmp_path / "c.parquet"))
    plain = drift.compare(reference, current, params.monitor.model_copy(update={"correction": "none"}))
    corrected = drift.compare(reference, current, params.monitor)
    assert plain["checks"]["dataset"]["drifted_columns"] == ["mean texture"]
    assert corrected["checks"]["dataset"]["drifted_columns"] == [] and corrected["status"] == "no_drift"
    test = corrected["columns"]["mean texture"]["distribution"]
    assert test["pvalue"] < 0.05 <= test["pvalue_adjusted"] and test["correction"] == "bh"
    assert test["reason"].startswith(f"ks p={test['pvalue']:.3g} < 0.05 but BH-adjusted ")
    holm = drift.compare(reference, current, params.monitor.model_copy(update={"correction": "holm"}))
    assert holm["checks"]["dataset"]["drifted_columns"] == []
    assert holm["columns"]["mean texture"]["distribution"]["pvalue_adjusted"] >= test["pvalue_adjusted"]


def _importance(tmp: Path, top: str, names: list[str]) -> Path:
    """An evaluate-stage importance file where `top` carries 0.88 of the importance, as in the issue."""
    rows = [{"feature": n, "importance_mean": 0.88 if n == top else 0.12 / (len(names) - 1), "importance_std": 0.01}
            for n in names]
    path = tmp / "reports" / "importance.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(rows))
    return path


def test_a_shift_in_the_most_important_column_alone_alerts_with_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monitor_cli: Callable[..., int],
    monitor_table: Callable[..., pd.DataFrame]
) -> None:
    ref, cur = monitor_table(3000, 1), monitor_table(3000, 2)
    cur["num_2"] = cur["num_2"] * 1.5
    importance = _importance(tmp_path, "num_2", [c for c in ref.columns if c != "target"])
    assert monitor_cli(tmp_path, ref, cur, dataset_drift={"rule": "share"}) == OK  # 1 of 25 columns
    capsys.readouterr()
    assert monitor_cli(tmp_path, ref, cur) == FAILED
    report = json.loads((tmp_path / "drift.json").read_text())
    dataset = report["checks"]["dataset"]
    assert dataset["rule"] == "importance" and dataset["drifted_columns"] == ["num_2"]
    assert dataset["importance_share"] == pytest.approx(0.88) and report["status"] == "drift"
    assert "- dataset drift: **drift**: drifted columns carry 88% of the model's permutation importance" in (
        capsys.readouterr().out)
    assert monitor_cli(tmp_path, ref, cur, dataset_drift={"rule": "any_top", "top": 1}) == FAILED
    importance.unlink()
    assert monitor_cli(tmp_path, ref, cur) == OK
    reason = json.loads((tmp_path / "drift.json").read_text())["checks"]["dataset"]["reason"]
    assert reason.endswith("decided by the share of columns, as there is no permutation importance "
                           "(reports/importance.json)")


def test_an_unreadable_importance_file_is_one_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monitor_cli: Callable[..., int],
    monitor_table: Callable[..., pd.DataFrame]
) -> None:
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "importance.json").write_text('{"num_0": 1}')
    (tmp_path / "drift.json").write_text("previous")
    assert monitor_cli(tmp_path, monitor_table(500, 1), monitor_table(500, 2)) == NOT_EVALUATED
    assert "reports/importance.json: expected a list of {'feature', 'importance_mean'} objects" in (
        capsys.readouterr().err)
    assert (tmp_path / "drift.json").read_text() == "previous"


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
    assert report["status"] == "drift" and report["checks"]["dataset"]["status"] == "no_drift"
    assert report["model_age"]["status"] == "stale" and report["model_age"]["trained_at"].startswith("2026-01-02")
    assert report["alerts"][0].startswith("the prod model v0.0.1 was trained ")
    assert "longer ago than monitor.max_model_age (30d): retrain it" in report["alerts"][0]
    assert monitor_cli(tmp_path, ref, cur, max_model_age="10000d") == OK
    assert json.loads((tmp_path / "drift.json").read_text())["model_age"]["status"] == "ok"
