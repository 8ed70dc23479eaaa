"""The card stage on hand-made pipeline outputs: a regression model, odd text, a missing input."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from stages import card as card_stage


@pytest.fixture
def outputs(tmp_path: Path, repo_root: Path) -> Path:
    """params.yaml for a regression model whose pipeline outputs all live under tmp_path."""
    params = yaml.safe_load((repo_root / "params.yaml").read_text())
    params["data"]["task"] = "regression"
    params["data"]["target"] = "y"
    params["data"]["contract"]["columns"] = {"x|1": {"dtype": "float", "role": "numeric", "min": 0, "max": 1},
                                             "y": {"dtype": "float", "role": "numeric"}}
    params["card"].update(owner="<script>alert(1)</script> team", limitations=["Only | pipes | here."])
    params["paths"] = {key: str(tmp_path / value) for key, value in params["paths"].items()}
    paths = params["paths"]
    frame = pd.DataFrame({"x|1": [0.1, 0.5, 0.9, 0.3], "y": [1.0, 2.0, 3.0, 1.5]})
    for key in ("raw", "train", "test"):
        Path(paths[key]).parent.mkdir(parents=True, exist_ok=True)
        frame.to_parquet(paths[key])
    Path(paths["model"]).parent.mkdir(parents=True, exist_ok=True)
    Path(paths["model"]).write_bytes(b"model bytes")
    files = {
        "signature": {"inputs": [{"name": "x|1", "dtype": "float", "role": "numeric"}], "task": "regression"},
        "metrics": {"rmse": 0.25, "mae": 0.2, "r2": 0.9, "mape": 0.1},
        "importance": [{"feature": "x|1", "importance_mean": 0.5, "importance_std": 0.1}],
        "validation": {"ok": True, "warnings": []},
    }
    for key, content in files.items():
        Path(paths[key]).parent.mkdir(parents=True, exist_ok=True)
        Path(paths[key]).write_text(json.dumps(content))
    Path(paths["plots"]).mkdir(parents=True)
    (Path(paths["plots"]) / "predictions.csv").write_text("actual,predicted\n1.0,1.1\n2.0,1.9\n3.0,3.2\n")
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    return tmp_path


def test_regression_card(outputs: Path) -> None:
    assert card_stage.main(["--params", str(outputs / "params.yaml")]) == 0
    html = (outputs / "models" / "card.html").read_text()
    markdown = (outputs / "models" / "card.md").read_text()
    images = re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', html)
    assert len(images) == 2  # predicted vs actual, importance (no ROC/PR for regression)
    scatter = base64.b64decode(images[0]).decode()
    assert scatter.startswith("<svg") and "Predicted vs actual" in scatter
    assert "&lt;script&gt;" in html and "<script>" not in html
    assert "| x\\|1 | 0.5 | 0.1 |" in markdown and "- Only | pipes | here." in markdown
    assert "| rmse | 0.25 |  |" in markdown and "4 in total" in markdown
    assert "| mape | 0.1 | mean of \\|error\\| / \\|actual\\|, as a fraction (0.1 is 10%) |" in markdown
    assert "<td>mape</td><td class=\"num\">0.1</td><td>mean of |error| / |actual|" in html
    assert not list(outputs.rglob("*.tmp"))


def test_missing_input_is_one_line_and_keeps_the_old_card(outputs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert card_stage.main(["--params", str(outputs / "params.yaml")]) == 0
    before = (outputs / "models" / "card.html").read_bytes()
    (outputs / "reports" / "metrics.json").unlink()
    capsys.readouterr()
    assert card_stage.main(["--params", str(outputs / "params.yaml")]) != 0
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "metrics.json: not found" in err and err.count("\n") == 1
    assert (outputs / "models" / "card.html").read_bytes() == before


def test_card_of_many_rows_stays_small(outputs: Path) -> None:
    """Predicted vs actual of many test rows is a binned density, so the card stays under 300 KB
    (the chart itself at a million rows: tests/core/test_charts.py)."""
    rng = np.random.default_rng(5)
    actual = rng.normal(100.0, 30.0, 50_000)
    pd.DataFrame({"actual": actual, "predicted": actual + rng.normal(0.0, 10.0, actual.size)}).to_csv(
        Path(yaml.safe_load((outputs / "params.yaml").read_text())["paths"]["plots"]) / "predictions.csv", index=False)
    assert card_stage.main(["--params", str(outputs / "params.yaml")]) == 0
    for name in ("card.html", "card.md"):
        card = (outputs / "models" / name).read_text()
        assert len(card.encode()) < 300_000, name
        scatter = base64.b64decode(re.findall(r"data:image/svg\+xml;base64,([^\")]+)", card)[0]).decode()
        assert "50,000 rows binned" in scatter
