"""Session fixtures: the real broker, both databases and Spark, started once per test session.

Tests isolate themselves with their own topic, checkpoint and patient ids instead of wiping
shared state, so the services start once.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest

from ecgdash.core.kafka import ensure_topics
from ecgdash.devstack.broker import start_broker
from ecgdash.devstack.manager import wait_db
from ecgdash.devstack.pglite import start_pglite, stop_process
from ecgdash.devstack.postgres import init_cluster, start_postgres
from ecgdash.devstack.procs import LOCALHOST, free_port, stop_pid, wait_port
from ecgdash.spark_jobs.session import make_spark
from ecgdash.timescale.migrate import migrate
from tests.helpers import Db, dsns


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> str:
    d = tmp_path_factory.mktemp("broker")
    port = free_port()
    proc = start_broker(port, d / "broker.log")
    yield f"{LOCALHOST}:{port}"
    stop_pid(proc.pid)


@pytest.fixture
def topic(broker: str) -> str:
    """A fresh topic (4 partitions) and its dead-letter topic."""
    name = f"ecg.test.{uuid.uuid4().hex[:8]}"
    ensure_topics(broker, {name: 4, name + ".dlq": 1})
    return name


@pytest.fixture(scope="session")
def pg_native(tmp_path_factory: pytest.TempPathFactory) -> Db:
    # not under pytest's temp root: another pytest session starting on the machine resets its
    # mode to 0700, and the server runs as its own system user, which then loses its data dir
    d = Path(tempfile.mkdtemp(prefix="ecgdash-test-pg-"))
    su, wpw, rpw = (secrets.token_hex(8) for _ in range(3))
    init_cluster(d / "data", su)
    port = free_port()
    proc = start_postgres(d / "data", port, d / "pg.log")
    admin, writer, reader = dsns(port, su, "disable", wpw, rpw)
    wait_db(admin)
    migrate(admin, writer_password=wpw, reader_password=rpw)
    yield Db("postgres", admin, writer, reader)
    stop_pid(proc.pid)
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_timescale(tmp_path_factory: pytest.TempPathFactory) -> Db:
    d = tmp_path_factory.mktemp("pglite")
    port = free_port()
    proc = start_pglite(d / "data", port, d / "pglite.log")
    admin, writer, reader = dsns(port, "x", "disable", "x", "x")
    wait_db(admin)
    res = migrate(admin)
    assert res.timescaledb, "the embedded database must have the TimescaleDB layer"
    yield Db("timescale", admin, writer, reader)
    stop_process(proc)


@pytest.fixture(params=["postgres", "timescale"])
def db(request: pytest.FixtureRequest) -> Db:
    """Each test using this runs on both database modes."""
    return request.getfixturevalue("pg_native" if request.param == "postgres" else "pg_timescale")


@pytest.fixture(scope="session")
def spark():
    session = make_spark("local[2]", "ecgdash-tests")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A local S3 (moto_server) on 127.0.0.1; boto3 finds it through AWS_ENDPOINT_URL."""
    d = tmp_path_factory.mktemp("s3")
    port = free_port()
    log = d / "moto.log"
    exe = Path(sys.executable).parent / "moto_server"
    with open(log, "ab") as out:
        proc = subprocess.Popen([str(exe), "-H", LOCALHOST, "-p", str(port)], stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    wait_port(LOCALHOST, port, 30, proc, log)
    url = f"http://{LOCALHOST}:{port}"
    old = {k: os.environ.get(k) for k in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID",
                                          "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")}
    os.environ.update(AWS_ENDPOINT_URL=url, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test",
                      AWS_DEFAULT_REGION="us-east-1")
    yield url
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    stop_pid(proc.pid)
