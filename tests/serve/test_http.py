"""gitml.serve over real HTTP: a uvicorn server on 127.0.0.1 in a thread, httpx as the client."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from gitml.model import modelio
from gitml.serve import settings
from gitml.serve.main import create_app

TOKEN_ENV = "GITML_TEST_SERVE_TOKEN"
#: serve_kit.INPUTS, here as a module constant: the bad-request table below is a parametrize argument.
INPUTS = ["x", "k", "color", "flag"]


def make_app(model_dir: Path, log_dir: Path, **serve: Any) -> Any:
    config = {"log": {"dir": str(log_dir), "flush_s": 0.2}, **serve}
    return create_app(settings.load(model_dir=model_dir, config=config))


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory, serve_kit: Any) -> Path:
    assert list(serve_kit.INPUTS) == INPUTS
    return serve_kit.train_model(tmp_path_factory.mktemp("model") / "model")


@pytest.fixture(scope="module")
def model(model_dir: Path) -> Any:
    return modelio.load_model(model_dir / "model.skops")


@pytest.fixture(scope="module")
def server(model_dir: Path, tmp_path_factory: pytest.TempPathFactory, serve_kit: Any) -> Iterator[httpx.Client]:
    """The default configuration, no auth."""
    app = make_app(model_dir, tmp_path_factory.mktemp("log"))
    with serve_kit.thread_server(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def rows(serve_kit: Any) -> list[dict[str, Any]]:
    """Six valid request rows."""
    return serve_kit.records(6)


def _split(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"dataframe_split": {"columns": INPUTS, "data": [[r[c] for c in INPUTS] for r in rows]}}


def _csv(rows: list[dict[str, Any]]) -> str:
    lines = [",".join(INPUTS)]
    for r in rows:
        lines.append(",".join("" if r[c] is None else str(r[c]).lower() if c == "flag" else str(r[c]) for c in INPUTS))
    return "\n".join(lines) + "\n"


def _formats(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """`rows` in each JSON format of /invocations, by name."""
    return {
        "dataframe_split": _split(rows),
        "dataframe_split_positional": {"dataframe_split": {"data": [[r[c] for c in INPUTS] for r in rows]}},
        "dataframe_records": {"dataframe_records": rows},
        "instances_records": {"instances": rows},
        "instances_rows": {"instances": [[r[c] for c in INPUTS] for r in rows]},
        "inputs_columnar": {"inputs": {c: [r[c] for r in rows] for c in INPUTS}},
        "inputs_records": {"inputs": rows, "params": {}},
    }


@pytest.mark.parametrize("name", sorted(_formats([])))
def test_invocations_json_formats_match_in_process_predict(server: httpx.Client, model: Any, name: str,
                                                           rows: list[dict[str, Any]], serve_kit: Any) -> None:
    response = server.post("/invocations", json=_formats(rows)[name])
    assert response.status_code == 200, response.text
    assert response.json() == {"predictions": model.predict(serve_kit.as_frame(rows)).tolist()}


def test_invocations_csv(server: httpx.Client, model: Any, rows: list[dict[str, Any]], serve_kit: Any) -> None:
    response = server.post("/invocations", content=_csv(rows), headers={"Content-Type": "text/csv; charset=utf-8"})
    assert response.status_code == 200, response.text
    assert response.json()["predictions"] == model.predict(serve_kit.as_frame(rows)).tolist()


def test_predict_returns_labels_and_probabilities(server: httpx.Client, model: Any, rows: list[dict[str, Any]],
                                                   serve_kit: Any) -> None:
    response = server.post("/predict", json={"records": rows}, headers={"X-Request-ID": "req-42"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["request_id"] == "req-42" == response.headers["x-request-id"]
    assert body["model_version"].startswith("sha256:")
    expected = model.predict_proba(serve_kit.as_frame(rows))
    assert [p["prediction"] for p in body["predictions"]] == model.predict(serve_kit.as_frame(rows)).tolist()
    got = np.array([[p["probabilities"]["no"], p["probabilities"]["yes"]] for p in body["predictions"]])
    np.testing.assert_allclose(got, expected)


def test_nullable_integer_and_integral_floats(server: httpx.Client, model: Any, serve_kit: Any) -> None:
    rows = [{"x": 0.5, "k": None, "color": "red", "flag": True}, {"x": 0.5, "k": 3.0, "color": "red", "flag": True}]
    for response in (server.post("/predict", json={"records": rows}),
                     server.post("/invocations", json={"dataframe_records": rows}),
                     server.post("/invocations", content="x,k,color,flag\n0.5,,red,true\n0.5,3.0,red,True\n",
                                 headers={"Content-Type": "text/csv"})):
        assert response.status_code == 200, response.text
    expected = model.predict(serve_kit.as_frame([rows[0], {**rows[1], "k": 3}])).tolist()
    assert response.json()["predictions"] == expected


GOOD = {"x": 0.5, "k": 1, "color": "red", "flag": True}

BAD_REQUESTS = [
    # (endpoint, body (dict = JSON, str = raw), content type, status, words the message must hold)
    ("/invocations", "{not json", "application/json", 400, ["not valid JSON"]),
    ("/invocations", "[1, 2]", "application/json", 400, ["expected a JSON object"]),
    ("/invocations", {"dataframe_records": [GOOD], "instances": [GOOD]}, None, 400, ["exactly one"]),
    ("/invocations", {"records": [GOOD]}, None, 400, ["exactly one", "got 0"]),
    ("/invocations", {"dataframe_records": []}, None, 400, ["no rows"]),
    ("/invocations", {"dataframe_split": {"columns": INPUTS, "data": [[0.5, 1, "red"]]}}, None, 400,
     ["dataframe_split.data[0]", "3 values for 4 columns"]),
    ("/invocations", {"dataframe_records": [{"x": 1.0, "k": 1, "color": "red"}]}, None, 400,
     ["missing column", "'flag'"]),
    ("/invocations", {"dataframe_records": [{**GOOD, "x": "abc"}]}, None, 400, ["'x'", "expected a number"]),
    ("/invocations", {"dataframe_records": [{**GOOD, "x": True}]}, None, 400, ["'x'", "expected a number"]),
    ("/invocations", {"dataframe_records": [GOOD, {**GOOD, "k": 2.5}]}, None, 400,
     ["'k'", "expected an integer", "2.5", "row 1"]),
    ("/invocations", {"dataframe_records": [{**GOOD, "k": 2**70}]}, None, 400, ["'k'", "64-bit"]),
    ("/invocations", {"dataframe_records": [{**GOOD, "color": "purple"}]}, None, 400,
     ["'color'", "'purple'", "categories", "serve.unknown_categories"]),
    ("/invocations", {"dataframe_records": [{**GOOD, "color": 3}]}, None, 400, ["'color'", "expected a string"]),
    ("/invocations", {"dataframe_records": [{**GOOD, "flag": "yes"}]}, None, 400, ["'flag'", "true or false"]),
    ("/invocations", '{"dataframe_records": [{"x": Infinity, "k": 1, "color": "red", "flag": true}]}',
     "application/json", 400, ["'x'", "infinite"]),
    ("/invocations", "x,k,color,flag\nabc,1,red,true\n", "text/csv", 400, ["'x'", "'abc'"]),
    ("/invocations", "x,k,color,flag\n0.5,1,red\n", "text/csv", 400, ["line 2", "3 fields"]),
    ("/invocations", "x,k,color,flag\n0.5,1,red,maybe\n", "text/csv", 400, ["'flag'", "'maybe'"]),
    ("/invocations", b"PAR1 not parquet", "application/vnd.apache.parquet", 400, ["not a readable Parquet file"]),
    ("/invocations", "x=1", "application/x-www-form-urlencoded", 415, ["Content-Type"]),
    ("/invocations", '{"inputs": []}', "application/json; charset=latin-1", 415, ["charset", "UTF-8"]),
    ("/predict", "{oops", "application/json", 400, ["not valid JSON"]),
    ("/predict", {"rows": [GOOD]}, None, 400, ["records"]),
    ("/predict", {"records": []}, None, 400, ["no rows"]),
    ("/predict", {"records": [{"x": 1.0, "k": 1, "color": "red"}]}, None, 400, ["missing column", "'flag'"]),
    ("/predict", {"records": [{**GOOD, "x": "abc"}]}, None, 400, ["'x'", "expected a number"]),
    ("/predict", {"records": [{**GOOD, "k": 2.5}]}, None, 400, ["'k'", "expected an integer"]),
    ("/predict", {"records": [{**GOOD, "color": "purple"}]}, None, 400, ["'color'", "'purple'", "categories"]),
    ("/predict", '{"records": [{"x": 1, "k": 1, "color": "red", "flag": true}]}', "text/plain", 415,
     ["Content-Type", "application/json"]),
]


@pytest.mark.parametrize(("endpoint", "body", "content_type", "status", "words"), BAD_REQUESTS,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(BAD_REQUESTS)])
def test_bad_request_is_a_short_4xx_naming_the_problem(
    server: httpx.Client, endpoint: str, body: Any, content_type: str | None, status: int, words: list[str]
) -> None:
    if isinstance(body, str | bytes):
        response = server.post(endpoint, content=body, headers={"Content-Type": content_type})
    else:
        response = server.post(endpoint, json=body)
    assert response.status_code == status, response.text
    assert set(response.json()) == {"error_code", "message"}
    message = response.json()["message"]
    for word in words:
        assert word in message, message
    assert "\n" not in message and "Traceback" not in message and len(message) < 300
    assert "categories" not in message or "green" not in message  # a column's problem, never its whole schema


#: What MLflow's scoring server accepts, gitml accepts too, with the same predictions as the value it stands for.
ACCEPTED = [
    ({"dataframe_records": [{**GOOD, "id": 7, "label": "yes"}]}, GOOD),  # extra columns (an ID, the target)
    ({"dataframe_records": [{**GOOD, "x": "0.5", "k": "1"}]}, GOOD),  # numeric strings
    ({"dataframe_records": [{**GOOD, "x": None}]}, {**GOOD, "x": None}),  # null in a float column
    ('{"dataframe_records": [{"x": NaN, "k": 1, "color": "red", "flag": true}]}', {**GOOD, "x": None}),
    ({"dataframe_records": [GOOD], "params": {"alpha": 1}, "note": "x"}, GOOD),  # params and other keys ignored
    ({"dataframe_records": [{**GOOD, "k": 1.0}]}, GOOD),
]


@pytest.mark.parametrize(("body", "means"), ACCEPTED, ids=range(len(ACCEPTED)))
def test_what_mlflow_accepts_is_accepted(server: httpx.Client, model: Any, serve_kit: Any, body: Any,
                                         means: dict[str, Any]) -> None:
    sent = server.post("/invocations", content=body if isinstance(body, str) else json.dumps(body),
                       headers={"Content-Type": "application/json"})
    assert sent.status_code == 200, sent.text
    assert sent.json() == {"predictions": model.predict(serve_kit.as_frame([means])).tolist()}
    records = json.loads(body)["dataframe_records"] if isinstance(body, str) else body["dataframe_records"]
    typed = server.post("/predict", content=json.dumps({"records": records}).replace("null", "NaN")
                        if "NaN" in str(body) else json.dumps({"records": records}),
                        headers={"Content-Type": "application/json"})
    assert typed.status_code == 200, typed.text  # one rule for both endpoints
    assert [p["prediction"] for p in typed.json()["predictions"]] == sent.json()["predictions"]


def test_parquet_and_csv_with_an_index_column(server: httpx.Client, model: Any, rows: list[dict[str, Any]],
                                              serve_kit: Any) -> None:
    import io

    frame = serve_kit.as_frame(rows)
    expected = model.predict(frame).tolist()
    parquet = io.BytesIO()
    frame.assign(id=range(len(rows))).to_parquet(parquet)
    for content, kind in ((parquet.getvalue(), "application/vnd.apache.parquet"),
                          (frame.to_csv(), "text/csv")):  # to_csv() writes the index as an unnamed column
        response = server.post("/invocations", content=content, headers={"Content-Type": kind})
        assert response.status_code == 200, response.text
        assert response.json()["predictions"] == expected
    assert re.search(r"gitml_request_ignored_columns_total [1-9]", server.get("/metrics").text)


def test_probes_version_and_metrics(server: httpx.Client) -> None:
    assert server.get("/health").json() == {"status": "ok"}
    assert server.get("/ready").json()["status"] == "ready"
    version = server.get("/version").json()
    assert version["name"] == "model" and version["version"].startswith("sha256:")
    assert version["gitml_version"] and version["stage"] is None
    server.post("/invocations", json={"dataframe_records": [GOOD]})
    server.post("/invocations", json={"dataframe_records": [{**GOOD, "color": "purple"}]})
    response = server.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert re.search(r'gitml_requests_total\{endpoint="/invocations",status="200"\} [1-9]', text)
    assert re.search(r'gitml_request_errors_total\{code="INVALID_PARAMETER_VALUE",endpoint="/invocations"\} [1-9]',
                     text)
    assert server.get("/ping").text == "\n"
    assert re.search(r'gitml_predictions_total\{label="(yes|no)"\} [1-9]', text)
    assert 'gitml_request_duration_seconds_bucket{endpoint="/invocations",le="0.05"}' in text
    assert 'gitml_model_info{name="model",version="sha256:' in text


def test_openapi_documents_the_signature(server: httpx.Client) -> None:
    schema = server.get("/openapi.json").json()
    body = schema["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/PredictRequest"}
    record = schema["components"]["schemas"]["Record"]
    assert set(record["properties"]) == set(INPUTS)
    assert record["properties"]["color"]["anyOf"][0]["enum"] == ["red", "green", "blue"]  # null accepted too
    assert "text/csv" in schema["paths"]["/invocations"]["post"]["requestBody"]["content"]
    assert server.get("/docs").status_code == 200


def test_admin_is_disabled_without_a_token(server: httpx.Client) -> None:
    response = server.post("/admin/reload")
    assert response.status_code == 403
    assert "GITML_SERVE_TOKEN" in response.json()["message"]


def test_unknown_path_is_404_and_counted_as_other(server: httpx.Client) -> None:
    assert server.get("/nope").status_code == 404
    assert server.get("/nope/again").status_code == 404
    text = server.get("/metrics").text
    assert 'gitml_requests_total{endpoint="other",status="404"} 2.0' in text
    assert 'gitml_request_errors_total{code="ENDPOINT_NOT_FOUND",endpoint="other"} 2.0' in text
    assert "/nope" not in text


@pytest.fixture
def token(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(TOKEN_ENV, "s3cret-token")
    return "s3cret-token"


def test_bearer_auth_limits_and_range_policy(model_dir: Path, tmp_path: Path, token: str, serve_kit: Any) -> None:
    app = make_app(model_dir, tmp_path / "log", max_body_bytes=2000, max_batch_rows=3, out_of_range="reject",
                   auth={"token_env": TOKEN_ENV})
    with serve_kit.thread_server(app) as url:
        anonymous = httpx.Client(base_url=url)
        assert anonymous.get("/health").status_code == 200  # probes stay public
        for path in ("/metrics", "/version", "/openapi.json"):
            response = anonymous.get(path)
            assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
        wrong = anonymous.post("/invocations", json={"inputs": [GOOD]}, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and "invalid bearer token" in wrong.json()["message"]

        client = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"})
        assert client.post("/invocations", json={"inputs": [GOOD]}).status_code == 200
        too_many = client.post("/invocations", json={"inputs": [GOOD] * 4})
        assert too_many.status_code == 413 and "at most 3" in too_many.json()["message"]
        assert client.post("/predict", json={"records": [GOOD] * 4}).status_code == 413
        big = client.post("/invocations", content=b"x" * 3000, headers={"Content-Type": "text/csv"})
        assert big.status_code == 413 and "2000" in big.json()["message"]
        chunked = client.post("/invocations", content=iter([b"x" * 1500, b"x" * 1500]),
                              headers={"Content-Type": "text/csv"})
        assert chunked.status_code == 413
        above = client.post("/invocations", json={"inputs": [{**GOOD, "x": 7.5}]})
        assert above.status_code == 400 and "'x': 7.5 above max 5" in above.json()["message"]
        assert "securitySchemes" in client.get("/openapi.json").json()["components"]


def _predict_forever(url: str, token: str, rows: list[dict[str, Any]], stop: threading.Event, seen: list[str],
                     failures: list[str]) -> None:
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
        while not stop.is_set():
            response = client.post("/predict", json={"records": rows[:2]})
            if response.status_code != 200:
                failures.append(f"{response.status_code} {response.text}")
            else:
                seen.append(response.json()["model_version"])


def test_admin_reload_under_concurrent_requests_drops_nothing(tmp_path: Path, token: str, rows: list[dict[str, Any]],
                                                              serve_kit: Any) -> None:
    live = serve_kit.train_model(tmp_path / "live", version={"name": "model", "version": "v1.0.0", "stage": "prod",
                                                              "commit": "abc123",
                                                              "registered_at": "2026-01-01T00:00:00Z"})
    app = make_app(live, tmp_path / "log", auth={"token_env": TOKEN_ENV})
    stop, seen, failures = threading.Event(), [], []
    with serve_kit.thread_server(app) as url:
        admin = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60)
        assert admin.get("/version").json()["commit"] == "abc123"
        clients = [threading.Thread(target=_predict_forever, args=(url, token, rows, stop, seen, failures))
                   for _ in range(4)]
        for thread in clients:
            thread.start()
        try:
            new = serve_kit.train_model(tmp_path / "new", n_estimators=12, seed=3,
                                        version={"name": "model", "version": "v2.0.0"})
            for name in ("model.skops", "signature.json", "version.json"):
                (live / name).write_bytes((new / name).read_bytes())
            reloaded = admin.post("/admin/reload")
            assert reloaded.status_code == 200, reloaded.text
            assert reloaded.json() == {"status": "reloaded", "name": "model", "version": "v2.0.0",
                                       "previous": "v1.0.0"}
            (live / "model.skops").write_bytes(b"not a skops file")
            failed = admin.post("/admin/reload")
            assert failed.status_code == 409
            assert "still serving v2.0.0" in failed.json()["message"] and "model.skops" in failed.json()["message"]
            count = len(seen)
            while len(seen) < count + 20:
                threading.Event().wait(0.05)
        finally:
            stop.set()
            for thread in clients:
                thread.join(30)
        assert admin.get("/version").json()["version"] == "v2.0.0"
        assert 'gitml_model_reloads_total{outcome="failed"} 1.0' in admin.get("/metrics").text
    assert failures == []
    assert {"v1.0.0", "v2.0.0"} <= set(seen) and seen[-1] == "v2.0.0"


def test_prediction_log_is_written_and_readable(model_dir: Path, model: Any, tmp_path: Path, serve_kit: Any) -> None:
    log_dir = tmp_path / "inference"
    sent = serve_kit.records(30, seed=5)
    with serve_kit.thread_server(make_app(model_dir, log_dir)) as url, httpx.Client(base_url=url) as client:
        ids = []
        for i in range(0, 30, 10):
            response = client.post("/predict", json={"records": sent[i:i + 10]})
            ids.append(response.json()["request_id"])
        client.post("/invocations", content=_csv(sent[:3]), headers={"Content-Type": "text/csv",
                                                                     "X-Request-ID": "csv-1"})
        client.post("/invocations", json={"dataframe_records": [{**GOOD, "color": "purple"}]})  # refused: not logged
    # Shutting the server down flushed the buffer and renamed the file into place.
    files = sorted(log_dir.iterdir())
    assert len(files) == 1 and re.fullmatch(r"predictions-\d{8}T\d{6}-\d+-\d+\.parquet", files[0].name)
    logged = pd.read_parquet(files[0])
    assert list(logged.columns) == [*INPUTS, "prediction", "proba_no", "proba_yes", "model_version", "request_id",
                                    "timestamp"]
    types = {field.name: str(field.type) for field in pq.read_schema(files[0])}
    assert types == {"x": "double", "k": "int64", "color": "string", "flag": "bool", "prediction": "string",
                     "proba_no": "double", "proba_yes": "double", "model_version": "string", "request_id": "string",
                     "timestamp": "timestamp[us, tz=UTC]"}
    assert len(logged) == 33
    assert logged["request_id"].tolist() == [i for i in ids for _ in range(10)] + ["csv-1"] * 3
    expected = serve_kit.as_frame(sent + sent[:3])
    pd.testing.assert_frame_equal(logged[["x", "color"]], expected[["x", "color"]], check_dtype=False)
    assert logged["prediction"].tolist() == model.predict(expected).tolist()
    np.testing.assert_allclose(logged[["proba_no", "proba_yes"]].to_numpy(), model.predict_proba(expected))
    assert logged["k"].isna().tolist() == [r["k"] is None for r in sent + sent[:3]]


def test_regression_model(tmp_path: Path, rows: list[dict[str, Any]], serve_kit: Any) -> None:
    directory = serve_kit.train_model(tmp_path / "reg", task="regression")
    fitted = modelio.load_model(directory / "model.skops")
    with serve_kit.thread_server(make_app(directory, tmp_path / "log")) as url, httpx.Client(base_url=url) as client:
        body = client.post("/predict", json={"records": rows}).json()
        split = client.post("/invocations", json=_split(rows)).json()
    expected = fitted.predict(serve_kit.as_frame(rows))
    np.testing.assert_allclose([p["prediction"] for p in body["predictions"]], expected)
    np.testing.assert_allclose(split["predictions"], expected)
    assert "probabilities" not in json.dumps(body)
    logged = pd.read_parquet(next((tmp_path / "log").glob("*.parquet")))
    assert "proba_no" not in logged.columns and logged["prediction"].dtype == np.float64


def test_a_request_that_breaks_the_model_fails_alone(tmp_path: Path, serve_kit: Any) -> None:
    """No imputer before a logistic regression: a null `k` passes the signature but the model refuses it."""
    fragile = serve_kit.train_model(tmp_path / "fragile", numeric=[], complete=True,
                                    model={"_target_": "sklearn.linear_model.LogisticRegression"})
    results: dict[int, httpx.Response] = {}
    with serve_kit.thread_server(make_app(fragile, tmp_path / "log")) as url:
        def send(i: int) -> None:
            row = {**GOOD, "k": None} if i == 3 else GOOD
            results[i] = httpx.post(url + "/invocations", json={"dataframe_records": [row]}, timeout=30)

        threads = [threading.Thread(target=send, args=(i,)) for i in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert results[3].status_code == 400
    assert "the model could not predict on this input: ValueError" in results[3].json()["message"]
    assert all(results[i].status_code == 200 for i in results if i != 3)
