"""The prediction log at an fsspec URL: closed parts uploaded to S3 (moto on 127.0.0.1), read back by monitoring.

The log writes to its local spool as always; `gitml.serve.logsink` uploads each closed part
whole and deletes it locally, and a part the store refused stays in the spool until a retry
gets it there. `gitml monitor` reads `monitor.current` from the same URL.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from gitml.config import PredictionLog as LogConfig
from gitml.core.errors import ConfigError
from gitml.serve import logsink, model
from gitml.serve.predlog import Entry, PredictionLog


@pytest.fixture
def s3(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A boto3 client of the moto server, with the store's usual environment set for fsspec (s3fs) too."""
    import boto3
    import s3fs

    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": s3_endpoint}.items():
        monkeypatch.setenv(name, value)
    s3fs.S3FileSystem.clear_instance_cache()  # s3fs keeps filesystems built before this environment
    yield boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    s3fs.S3FileSystem.clear_instance_cache()


@pytest.fixture(scope="module")
def classifier(tmp_path_factory: pytest.TempPathFactory, serve_kit: Any) -> model.Bundle:
    return model.load_dir(serve_kit.train_model(tmp_path_factory.mktemp("models") / "c"))


def _entry(serve_kit: Any, bundle: model.Bundle, n: int, seed: int) -> Entry:
    validated = bundle.validator.from_records(serve_kit.records(n, seed), "records")
    return Entry(bundle, validated, bundle.predict(validated), [f"r{seed}"], [time.time()], [n])


def _logged(config: LogConfig, entries: list[Entry]) -> None:
    """Serve's wiring: the log writes to the spool and hands each closed part to the uploader."""
    uploads = logsink.uploader(config)
    assert uploads is not None
    predlog = PredictionLog(config, directory=logsink.local_dir(config), on_closed=uploads.put)
    uploads.start()
    predlog.start()
    for item in entries:
        predlog.append(item)
        time.sleep(0.15)  # past rotate_s: usually one closed part per entry (a busy machine may merge them)
    predlog.close()
    uploads.close(timeout=20)


def _wait(condition: Callable[[], bool], seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.1)
    return condition()


def test_closed_parts_reach_s3_whole_and_gitml_monitor_reads_them_back(
        s3: Any, tmp_path: Path, serve_kit: Any, classifier: model.Bundle, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    import yaml

    from gitml import config
    from gitml.cli import main as cli

    s3.create_bucket(Bucket="preds")
    config_ = LogConfig(dir="s3://preds/prod/log", spool=str(tmp_path / "spool"), flush_s=0.05,
                        rotate_s=0.1)
    logsink.check(config_)  # start-up's probe of the URL leaves nothing behind
    sizes = (40, 50, 40)
    _logged(config_, [_entry(serve_kit, classifier, n, seed) for seed, n in enumerate(sizes)])

    keys = sorted(item["Key"] for item in s3.list_objects_v2(Bucket="preds").get("Contents", []))
    assert keys and all(k.startswith("prod/log/predictions-") and k.endswith(".parquet") for k in keys)
    assert list((tmp_path / "spool").iterdir()) == [], "uploaded parts are deleted locally"
    logged = pd.concat([pd.read_parquet(f"s3://preds/{key}") for key in keys])
    assert sorted(logged["x"]) == sorted(x for seed, n in enumerate(sizes)
                                         for x in serve_kit.as_frame(serve_kit.records(n, seed))["x"])

    # `gitml monitor` with monitor.current at the URL, against the training table the model was fitted on.
    monkeypatch.chdir(tmp_path)
    serve_kit.frame(400, seed=0).to_parquet(tmp_path / "train.parquet")
    contract = {**serve_kit.CONTRACT, "label": {"dtype": "str", "role": "categorical", "categories": ["no", "yes"]}}
    params = config.validate({
        "data": {"source": {"kind": "synthetic", "n_rows": 100}, "task": "classification", "target": "label",
                 "contract": {"columns": contract}},
        "model": {"_target_": "sklearn.linear_model.LogisticRegression"},
        "monitor": {"current": "s3://preds/prod/log", "reference": "train.parquet"}})
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params.model_dump(mode="json")))
    code = cli.main(["monitor", "--params", "params.yaml", "--json", "drift.json", "--html", "drift.html"])
    report = json.loads((tmp_path / "drift.json").read_text())
    assert code in (0, 1) and report["status"] in {"no_drift", "drift"}, report
    assert report["current"]["path"] == "s3://preds/prod/log" and report["current"]["rows"] == sum(sizes)


def test_a_part_the_store_refuses_stays_in_the_spool_until_a_retry_gets_it_there(
        s3: Any, tmp_path: Path, serve_kit: Any, classifier: model.Bundle) -> None:
    spool = tmp_path / "spool"
    config = LogConfig(dir="s3://late/log", spool=str(spool), flush_s=0.05, rotate_s=0.1)
    with pytest.raises(ConfigError, match=r"^serve\.log\.dir: cannot write s3://late/log: "):
        logsink.check(config)
    uploads = logsink.uploader(config)
    predlog = PredictionLog(config, directory=spool, on_closed=uploads.put)
    uploads.start()
    predlog.start()
    predlog.append(_entry(serve_kit, classifier, 4, 0))
    assert _wait(lambda: uploads.error is not None), "the upload to a missing bucket fails"
    assert "cannot upload predictions-" in uploads.error and len(list(spool.glob("predictions-*.parquet"))) == 1
    s3.create_bucket(Bucket="late")  # the store comes back: the retry uploads the part, nothing is lost
    assert _wait(lambda: uploads.uploaded == 1), uploads.error
    predlog.close()
    uploads.close(timeout=20)
    assert [item["Key"].split("/")[0] for item in s3.list_objects_v2(Bucket="late")["Contents"]] == ["log"]
    assert list(spool.glob("predictions-*.parquet")) == []
