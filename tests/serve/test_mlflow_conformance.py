"""MLflow conformance: the same fitted pipeline behind MLflow's real scoring server and behind `gitml serve`.

MLflow 3 is installed in a virtualenv of its own (the `mlflow_venv` fixture; skipped with
the reason when it cannot be installed). A corpus of requests covering every input format
and every error class goes to both servers: they must answer with the same status code
and the same body shape (the same predictions when both predict), except where the corpus
names a documented difference. MLflow's own `ScoringServerClient` then talks to gitml.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

pytestmark = pytest.mark.e2e

COLUMNS = ["x", "k", "color", "flag"]
GOOD = {"x": 0.5, "k": 1, "color": "red", "flag": True}
J, CSV, PARQUET = "application/json", "text/csv", "application/vnd.apache.parquet"
TWO = pd.DataFrame([GOOD, {**GOOD, "x": -1.0, "color": "blue", "flag": False}])


def _parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    return buffer.getvalue()


def _records(**change: Any) -> dict[str, Any]:
    return {"dataframe_records": [{**GOOD, **change}]}


#: Requests both servers answer alike: (name, body (dict = JSON), Content-Type).
SAME = [
    ("dataframe_split", {"dataframe_split": {"columns": COLUMNS, "data": [[GOOD[c] for c in COLUMNS]]}}, J),
    ("dataframe_split with an index", {"dataframe_split": {"index": [7], "columns": COLUMNS,
                                                           "data": [[GOOD[c] for c in COLUMNS]]}}, J),
    ("dataframe_records", {"dataframe_records": [GOOD, {**GOOD, "x": -2.0}]}, J),
    ("instances as records", {"instances": [GOOD]}, J),
    ("inputs as columns", {"inputs": {c: [GOOD[c]] for c in COLUMNS}}, J),
    ("inputs as records", {"inputs": [GOOD]}, J),
    ("inputs of scalars", {"inputs": GOOD}, J),
    ("an extra ID column", _records(id=3), J),
    ("the target column too", _records(label="yes"), J),
    ("a numeric string for a float", _records(x="1.5"), J),
    ("a numeric string for an integer", _records(k="2"), J),
    ("null in a float column", _records(x=None), J),
    ("null in a string column", _records(color=None), J),
    ("null in a boolean column", _records(flag=None), J),
    ("NaN in a float column", '{"dataframe_records": [{"x": NaN, "k": 1, "color": "red", "flag": true}]}', J),
    ("an integral float for an integer", _records(k=2.0), J),
    ("empty params", {**_records(), "params": {}}, J),
    ("params the model does not take", {**_records(), "params": {"alpha": 1}}, J),
    ("an unknown top-level key", {**_records(), "note": "x"}, J),
    ("charset utf-8", json.dumps(_records()), "application/json; charset=utf-8"),
    ("CSV", TWO.to_csv(index=False), CSV),
    ("CSV with the index column of to_csv()", TWO.to_csv(), CSV),
    ("CSV with an extra column", TWO.assign(id=[1, 2]).to_csv(index=False), CSV),
    ("CSV: a flag as 1", "x,k,color,flag\n0.5,1,red,1\n", CSV),
    ("CSV: a flag as True", "x,k,color,flag\n0.5,1,red,True\n", CSV),
    ("CSV with an empty float cell", "x,k,color,flag\n,1,red,true\n", CSV),
    ("Parquet", _parquet(TWO), PARQUET),
    ("Parquet with an extra column", _parquet(TWO.assign(id=[1, 2])), PARQUET),
    # errors: 400 with {"error_code", "message"}
    ("a missing column", {"dataframe_records": [{"x": 1.0, "k": 1, "color": "red"}]}, J),
    ("a string that is no number", _records(x="abc"), J),
    ("an infinite number", '{"dataframe_records": [{"x": Infinity, "k": 1, "color": "red", "flag": true}]}', J),
    ("an integer beyond 64 bits", _records(k=2**70), J),
    ("a list for a number", _records(x=[1, 2]), J),
    ("an object for a number", _records(x={"a": 1}), J),
    ("two formats", {**_records(), "instances": [GOOD]}, J),
    ("no format key", {"records": [GOOD]}, J),
    ("no rows", {"dataframe_records": []}, J),
    ("records that are no objects", {"dataframe_records": [1, 2]}, J),
    ("a short dataframe_split row", {"dataframe_split": {"columns": COLUMNS, "data": [[0.5, 1, "red"]]}}, J),
    ("repeated column names", {"dataframe_split": {"columns": ["x", "x", "color", "flag"],
                                                   "data": [[0.5, 1, "red", True]]}}, J),
    ("not JSON", "{not json", J),
    ("a JSON list", "[1, 2]", J),
    ("a JSON number", "3", J),
    ("not UTF-8", "x,k,color,flag\n0.5,1,r\xe9d,true\n".encode("latin-1"), CSV),
    ("CSV: a missing column", TWO[["x", "k", "color"]].to_csv(index=False), CSV),
    ("CSV: a cell that is no number", "x,k,color,flag\nabc,1,red,true\n", CSV),
    ("CSV: a short line", "x,k,color,flag\n0.5,1,red\n", CSV),
    ("CSV: empty", "", CSV),
    ("Parquet: not Parquet", b"PAR1 not a parquet file", PARQUET),
    # 415: MLflow answers text/plain, gitml its JSON error body (same status; gitml's body is documented)
    ("a form body", "x=1", "application/x-www-form-urlencoded"),
    ("text/plain", json.dumps(_records()), "text/plain"),
    ("charset latin-1", json.dumps(_records()), "application/json; charset=latin-1"),
    ("a Content-Type parameter of MLflow 1", json.dumps(_records()), "application/json; format=pandas-split"),
]

#: Documented differences: (name, body, Content-Type, MLflow's status, gitml's status).
DIFFERENT = [
    # gitml is stricter on purpose, by a setting (serve.types, serve.unknown_categories): see LENIENT
    ("true for a number", _records(x=True), J, 200, 400),
    ("a number for a string", _records(color=3), J, 200, 400),
    ("a fraction for an integer", _records(k=2.5), J, 200, 400),
    ("a word for a flag", _records(flag="yes"), J, 200, 400),
    ("a number for a flag", _records(flag=1), J, 200, 400),
    ("an unknown category", _records(color="purple"), J, 200, 400),
    # gitml reads what MLflow cannot: positional rows, a null in an integer column the contract allows
    ("dataframe_split without columns", {"dataframe_split": {"data": [[GOOD[c] for c in COLUMNS]]}}, J, 400, 200),
    ("instances as positional rows", {"instances": [[GOOD[c] for c in COLUMNS]]}, J, 400, 200),
    ("null in a nullable integer column", _records(k=None), J, 400, 200),
    ("CSV with an empty integer cell", "x,k,color,flag\n0.5,,red,true\n", CSV, 400, 200),
    # MLflow fails with a 500 where gitml names the problem
    ("no Content-Type", json.dumps(_records()), None, 500, 415),
    ("JSON nested 3,000 deep", "[" * 3000 + "]" * 3000, J, 500, 400),
    ("a value nested 3,000 deep", json.dumps(_records()).replace("0.5", "[" * 3000 + "]" * 3000), J, 500, 400),
    ("an integer of 5,000 digits", json.dumps(_records()).replace('"k": 1', '"k": ' + "9" * 5000), J, 500, 400),
]

#: With serve.types=coerce and serve.unknown_categories=accept, gitml answers these as MLflow does.
LENIENT = DIFFERENT[:6]


def _post(url: str, body: Any, content_type: str | None) -> httpx.Response:
    content = json.dumps(body) if isinstance(body, dict) else body
    headers = {} if content_type is None else {"Content-Type": content_type}
    return httpx.post(url + "/invocations", content=content, headers=headers, timeout=60)


def _shape(response: httpx.Response) -> Any:
    """What a client reads from an answer: predictions (their values), or which error fields it carries."""
    try:
        body = response.json()
    except ValueError:
        return "text"
    if response.status_code == 200:
        return {"predictions": body["predictions"]}
    return sorted(key for key in ("error_code", "message") if isinstance(body.get(key), str))


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory, serve_kit: Any, mlflow_server: Any) -> Iterator[dict[str, str]]:
    from gitml.serve import settings
    from gitml.serve.main import create_app

    root = tmp_path_factory.mktemp("mlflow-conformance")
    model = serve_kit.train_model(root / "model")
    lenient = create_app(settings.load(model_dir=model, config={
        "types": "coerce", "unknown_categories": "accept", "log": {"dir": str(root / "lenient-log")}}))
    with mlflow_server(model, root) as mlflow, serve_kit.cli_server(root, "--model", str(model)) as (ours, _), \
            serve_kit.thread_server(lenient) as relaxed:
        yield {"mlflow": mlflow, "gitml": ours, "lenient": relaxed, "model": str(model)}


def test_the_corpus_is_large_enough() -> None:
    assert len(SAME) + len(DIFFERENT) >= 40


@pytest.mark.parametrize(("name", "body", "content_type"), SAME, ids=[case[0] for case in SAME])
def test_same_status_and_body_shape(servers: dict[str, str], name: str, body: Any, content_type: str) -> None:
    theirs, ours = _post(servers["mlflow"], body, content_type), _post(servers["gitml"], body, content_type)
    assert ours.status_code == theirs.status_code, f"{name}: MLflow {theirs.text[:200]}; gitml {ours.text[:200]}"
    if theirs.status_code == 415:  # MLflow's 415s are text/plain; gitml keeps its one JSON error body
        assert _shape(theirs) == "text" and _shape(ours) == ["error_code", "message"]
    else:
        assert _shape(ours) == _shape(theirs), f"{name}: MLflow {theirs.text[:200]}; gitml {ours.text[:200]}"
    if ours.status_code >= 400:
        assert "Traceback" not in ours.text and len(ours.json()["message"]) < 400


@pytest.mark.parametrize(("name", "body", "content_type", "mlflow", "gitml"), DIFFERENT,
                         ids=[case[0] for case in DIFFERENT])
def test_documented_differences(servers: dict[str, str], name: str, body: Any, content_type: str | None,
                                mlflow: int, gitml: int) -> None:
    theirs, ours = _post(servers["mlflow"], body, content_type), _post(servers["gitml"], body, content_type)
    assert (theirs.status_code, ours.status_code) == (mlflow, gitml), f"{name}: {theirs.text[:200]} / {ours.text[:200]}"
    if gitml == 400:
        assert set(ours.json()) == {"error_code", "message"}


@pytest.mark.parametrize(("name", "body", "content_type"), [case[:3] for case in LENIENT],
                         ids=[case[0] for case in LENIENT])
def test_the_strict_settings_relaxed_answer_as_mlflow(servers: dict[str, str], name: str, body: Any,
                                                      content_type: str) -> None:
    theirs, ours = _post(servers["mlflow"], body, content_type), _post(servers["lenient"], body, content_type)
    assert ours.status_code == theirs.status_code == 200, ours.text
    assert _shape(ours) == _shape(theirs)


_CLIENT = """
import json, sys
import pandas as pd
from mlflow.pyfunc.scoring_server.client import ScoringServerClient
from mlflow.utils.rest_utils import augmented_raise_for_status
client = ScoringServerClient("127.0.0.1", int(sys.argv[1]))
client.wait_server_ready(timeout=30)
client.ping()
rows = json.loads(sys.argv[2])
answer = client.invoke(pd.DataFrame(rows))
try:
    client.invoke(pd.DataFrame([{**rows[0], "color": 7}]))
except Exception as exc:
    refused = str(exc)
print(json.dumps({"predictions": answer.get_predictions(predictions_format="ndarray").tolist(), "refused": refused}))
"""


def test_mlflow_scoring_server_client_works_against_gitml(servers: dict[str, str], serve_kit: Any,
                                                           mlflow_venv: Any, run: Any, tmp_path: Path) -> None:
    rows = serve_kit.records(5)
    port = servers["gitml"].rsplit(":", 1)[1]
    out = run(tmp_path, str(mlflow_venv.python), "-c", _CLIENT, port, json.dumps(rows), env=mlflow_venv.env())
    answer = json.loads(out.stdout.strip().splitlines()[-1])
    direct = httpx.post(servers["gitml"] + "/invocations", json={"dataframe_records": rows}).json()
    assert answer["predictions"] == direct["predictions"]
    assert "error code 400" in answer["refused"] and "column 'color': expected a string" in answer["refused"]
