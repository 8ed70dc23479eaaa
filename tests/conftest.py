"""Shared fixtures: an S3-compatible server on 127.0.0.1 (moto's standalone server) for DVC remotes.

Use `s3_remote(project)` to point a project's DVC remote at a fresh bucket, exactly as
the README documents (`dvc remote add` + `dvc remote modify ... endpointurl`); the
credentials go to `.dvc/config.local`, as they would for a real team bucket.
"""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

#: moto accepts any credentials; these never leave 127.0.0.1.
S3_CREDENTIALS = {"access_key_id": "testing", "secret_access_key": "testing"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """The URL of a moto S3 server on 127.0.0.1, for the whole test session."""
    moto_server = pytest.importorskip("moto.server")
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_remote(s3_endpoint: str) -> Callable[[Path], str]:
    """A function making a new bucket and setting it as `project`'s default DVC remote; returns its URL."""
    import boto3

    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    counter = itertools.count()

    def configure(project: Path, name: str = "team") -> str:
        bucket = f"gitml-test-{os.getpid()}-{next(counter)}"
        client.create_bucket(Bucket=bucket)
        url = f"s3://{bucket}/dvcstore"
        dvc = [str(Path(sys.executable).parent / "dvc")]
        for args in (
            ["remote", "add", "--force", "--default", name, url],
            ["remote", "modify", name, "endpointurl", s3_endpoint],
            *(["remote", "modify", "--local", name, key, value] for key, value in S3_CREDENTIALS.items()),
        ):
            subprocess.run([*dvc, *args], cwd=project, check=True, capture_output=True)
        return url

    return configure
