"""Your own data, as a new user brings it: `gitml init DIR --data FILE --target COL`, then `gitml repro`,
on six seeded tables shaped like real ones; the model served and asked for one row; `gitml monitor` on an
unshifted sample of the same table finds no drift.

Each table's project is made and run once per session, and every test of that table reads it: the
24 tests took 28 minutes on the shared 2-core machine under a load of 6-7 (each project's init and
repro 3-5 minutes there; the 50,000-row regression the longest).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from subprocess import CompletedProcess
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

pytestmark = pytest.mark.e2e

Run = Callable[..., CompletedProcess[str]]


@dataclass(frozen=True)
class Table:
    """A generated table, the target a user names, and what gitml should make of it."""

    file: str
    target: str
    task: str
    frame: Callable[[np.random.Generator], pd.DataFrame]
    #: The metric that must be reached, and at least how high (plausible, not tuned).
    metric: tuple[str, float]
    roles: dict[str, str]


def _multiclass(rng: np.random.Generator, n: int = 1_200) -> pd.DataFrame:
    """Three string classes from string categoricals and numbers, with missing values in both."""
    colour = rng.choice(["red", "green", "blue", "black"], n)
    shape = rng.choice(["round", "square"], n)
    size = rng.normal(10, 3, n)
    score = size / 3 + (colour == "red") * 2 - (shape == "square") * 1.5 + rng.normal(0, 0.5, n)
    label = np.select([score < 2.5, score < 4], ["small", "medium"], "large")
    frame = pd.DataFrame({"colour": colour, "shape": shape, "size": size, "label": label})
    frame.loc[rng.random(n) < 0.08, "colour"] = None
    frame.loc[rng.random(n) < 0.05, "size"] = np.nan
    return frame


def _regression(rng: np.random.Generator, n: int = 50_000) -> pd.DataFrame:
    """Diamonds-shaped: ordered categoricals and an integer price of thousands of distinct values."""
    cuts = ["Fair", "Good", "Very Good", "Premium", "Ideal"]
    carat = rng.gamma(2.0, 0.4, n).round(2)
    cut = rng.choice(len(cuts), n, p=[0.05, 0.1, 0.2, 0.25, 0.4])
    depth = rng.normal(61.7, 1.4, n).round(1)
    price = (3_000 * carat ** 1.6 * (1 + 0.08 * cut) + rng.normal(0, 150, n)).clip(300).astype(np.int64)
    return pd.DataFrame({"carat": carat, "cut": pd.Categorical.from_codes(cut, cuts, ordered=True),
                         "depth": depth, "price": price})


def _ids_dates(rng: np.random.Generator, n: int = 1_000) -> pd.DataFrame:
    """A customer id, a signup date and a boolean: the id is no feature, the date gives calendar parts."""
    signup = pd.Timestamp("2022-01-01") + pd.to_timedelta(rng.integers(0, 700, n), unit="D")
    member = rng.random(n) < 0.4
    spend = rng.gamma(2.0, 40.0, n).round(2)
    churn = (spend / 80 - member * 1.2 + rng.normal(0, 0.4, n)) < 0.5
    return pd.DataFrame({"customer_id": rng.permutation(n) + 70_000, "signup": signup.strftime("%Y-%m-%d"),
                         "member": member, "spend": spend, "churned": np.where(churn, "yes", "no")})


def _coded(rng: np.random.Generator, n: int = 1_000) -> pd.DataFrame:
    """An integer-coded categorical target (grades 1-4): classes, not a quantity."""
    hours = rng.uniform(0, 20, n)
    attendance = rng.uniform(0.3, 1.0, n)
    grade = np.digitize(hours / 5 + attendance * 2 + rng.normal(0, 0.3, n), [2.0, 3.2, 4.4]) + 1
    return pd.DataFrame({"hours": hours, "attendance": attendance, "grade": grade.astype(np.int64)})


def _imbalanced(rng: np.random.Generator, n: int = 5_100) -> pd.DataFrame:
    """A binary 0/1 target, one positive in fifty-one rows."""
    fraud = np.zeros(n, dtype=np.int64)
    fraud[rng.choice(n, n // 51, replace=False)] = 1
    amount = np.where(fraud == 1, rng.normal(900, 150, n), rng.normal(100, 60, n)).round(2)
    channel = np.where(fraud == 1, rng.choice(["web", "app"], n, p=[0.8, 0.2]), rng.choice(["web", "app", "shop"], n))
    return pd.DataFrame({"amount": amount, "channel": channel, "fraud": fraud})


def _empty_cells(rng: np.random.Generator, n: int = 1_000) -> pd.DataFrame:
    """Written as CSV with empty cells in a number, a text and a true/false column, and in the target."""
    rooms = rng.integers(1, 7, n).astype(float)
    area = (rooms * 18 + rng.normal(0, 8, n)).round(1)
    garden = rng.random(n) < 0.5
    town = rng.choice(["Leeds", "York", "Hull"], n)
    rent = area * 11 + garden * 120 + (town == "York") * 200 + rng.normal(0, 40, n)
    frame = pd.DataFrame({"area": area, "town": town, "garden": garden.astype(object), "rent": rent.round(2)})
    for column, share in (("area", 0.05), ("town", 0.06), ("garden", 0.04), ("rent", 0.02)):
        frame.loc[rng.random(n) < share, column] = None
    return frame


TABLES = {
    "multiclass": Table("shapes.csv", "label", "classification", _multiclass, ("accuracy", 0.7),
                        {"colour": "categorical", "shape": "categorical", "size": "numeric"}),
    "regression": Table("diamonds.parquet", "price", "regression", _regression, ("r2", 0.9),
                        {"carat": "numeric", "cut": "categorical", "depth": "numeric"}),
    "ids_dates": Table("customers.csv", "churned", "classification", _ids_dates, ("accuracy", 0.75),
                       {"customer_id": "id", "signup": "datetime", "member": "categorical", "spend": "numeric"}),
    "coded": Table("grades.parquet", "grade", "classification", _coded, ("accuracy", 0.6),
                   {"hours": "numeric", "attendance": "numeric"}),
    "imbalanced": Table("payments.parquet", "fraud", "classification", _imbalanced, ("recall", 0.7),
                        {"amount": "numeric", "channel": "categorical"}),
    "empty_cells": Table("rents.csv", "rent", "regression", _empty_cells, ("r2", 0.7),
                         {"area": "numeric", "town": "categorical", "garden": "categorical"}),
}


def _write(frame: pd.DataFrame, path: Path) -> None:
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)  # None and NaN become empty cells
    else:
        frame.to_parquet(path, index=False)


@dataclass
class Made:
    """A table's project after `gitml init --data` and `gitml repro`."""

    path: Path
    frame: pd.DataFrame
    init: CompletedProcess[str]


@pytest.fixture(scope="session")
def made(tmp_path_factory: pytest.TempPathFactory, run: Run) -> Callable[[str], Made]:
    """`made(name)`: the project of TABLES[name], made and run once per session."""
    cache: dict[str, Made] = {}

    def make(name: str) -> Made:
        if name not in cache:
            table = TABLES[name]
            root = tmp_path_factory.mktemp(name)
            frame = table.frame(np.random.default_rng(13))
            _write(frame, root / table.file)
            init = run(root, "gitml", "init", "project", "--data", table.file, "--target", table.target)
            path = root / "project"
            run(path, "gitml", "repro")
            cache[name] = Made(path, frame, init)
        return cache[name]

    return make


@pytest.mark.parametrize("name", TABLES)
def test_init_infers_the_task_and_the_roles(name: str, made: Callable[[str], Made]) -> None:
    table, project = TABLES[name], made(name)

    assert f"task: {table.task} (target {table.target!r}" in project.init.stdout
    params = yaml.safe_load((project.path / "params.yaml").read_text())
    assert params["data"]["task"] == table.task and params["data"]["target"] == table.target
    columns = params["data"]["contract"]["columns"]
    assert {column: columns[column]["role"] for column in table.roles} == table.roles
    assert (project.path / "data" / "external" / f"{table.file}.dvc").is_file()


@pytest.mark.parametrize("name", TABLES)
def test_repro_trains_a_plausible_model(name: str, made: Callable[[str], Made]) -> None:
    table, project = TABLES[name], made(name)
    metric, floor = table.metric

    metrics = json.loads((project.path / "reports" / "metrics.json").read_text())
    signature = json.loads((project.path / "models" / "signature.json").read_text())

    assert metrics[metric] >= floor, metrics
    assert signature["task"] == table.task
    assert {item["name"] for item in signature["inputs"]} == {c for c, role in table.roles.items() if role != "id"}
    validation = json.loads((project.path / "reports" / "validation.json").read_text())
    assert validation["ok"] and validation["rows_without_target"] == int(project.frame[table.target].isna().sum())


def _record(row: pd.Series, names: list[str]) -> dict[str, Any]:
    """One table row as JSON values: missing cells are null, numpy scalars plain numbers."""
    return {name: None if pd.isna(row[name]) else (row[name].item() if hasattr(row[name], "item") else row[name])
            for name in names}


@pytest.mark.parametrize("name", TABLES)
def test_the_model_serves_and_predicts_one_row(name: str, made: Callable[[str], Made], serve_kit) -> None:
    import httpx

    table, project = TABLES[name], made(name)
    names = [item["name"] for item in json.loads((project.path / "models" / "signature.json").read_text())["inputs"]]
    row = project.frame.dropna(subset=[table.target]).iloc[0]

    with serve_kit.cli_server(project.path, "--model", "models") as (url, _):
        response = httpx.post(f"{url}/predict", json={"records": [_record(row, names)]}, timeout=60)

    assert response.status_code == 200, response.text
    [prediction] = response.json()["predictions"]
    if table.task == "regression":
        assert isinstance(prediction["prediction"], float) and prediction.get("probabilities") is None
    else:
        classes = {str(c) for c in project.frame[table.target].dropna().unique()}
        assert str(prediction["prediction"]) in classes and set(prediction["probabilities"]) == classes


@pytest.mark.parametrize("name", TABLES)
def test_monitor_finds_no_drift_in_an_unshifted_sample(name: str, made: Callable[[str], Made], run: Run) -> None:
    table, project = TABLES[name], made(name)
    current = project.path / "data" / "inference" / f"current{Path(table.file).suffix}"
    current.parent.mkdir(parents=True, exist_ok=True)
    _write(project.frame.sample(n=800, random_state=1).drop(columns=[table.target]), current)

    run(project.path, "gitml", "monitor", "--current", str(current), "--no-html")

    report = json.loads((project.path / "reports" / "drift.json").read_text())
    assert (report["status"], report["drift"], report["alerts"]) == ("no_drift", False, [])
    assert report["ignored_columns"] == [c for c, role in table.roles.items() if role in ("id", "datetime")]
