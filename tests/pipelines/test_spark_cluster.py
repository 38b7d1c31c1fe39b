"""`spark://HOST:PORT`: the ingestion as the driver of a Spark standalone cluster (issue 20). A master and a worker
(pyspark's own `spark-class`, on loopback) take the work; the same landed files give the lake what the local
session gives DuckDB, and the master reports the application's tasks run by its executor."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from devtools.ports import free_port
from pipelines.runs import ingest_landing_files
from tests.conftest import ROOT
from tests.pipelines.lakes import first_corpus, lake_url, land, outcome, stores

pytestmark = pytest.mark.slow

INGEST = """
import json, sys
from dataclasses import asdict
from pathlib import Path
from pipelines.runs import RunStores, ingest_landing_files
where = RunStores(warehouse=sys.argv[1], dead_letter_dir=Path(sys.argv[2]), landing_dir=Path(sys.argv[3]),
                  oltp_dsn="postgresql://unused/landing-files-only")
audit = asdict(ingest_landing_files(where, sys.argv[4], workers=1))
from pyspark.sql import SparkSession
conf = SparkSession.getActiveSession().conf
settings = {key: conf.get(key) for key in ("spark.sql.shuffle.partitions", "spark.executor.memory")}
print(json.dumps({"audit": audit, "settings": settings}, default=str))
"""


def spark_class() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent / "bin" / "spark-class"


@contextmanager
def standalone_cluster(folder: Path) -> Iterator[tuple[str, str]]:
    """A master and one worker (1 core, 1 GiB) on loopback: yields the master's URL and its web UI's."""
    folder.mkdir(parents=True)
    port, ui, worker_ui = free_port(), free_port(), free_port()
    env = {
        **os.environ,
        "SPARK_LOCAL_IP": "127.0.0.1",
        "SPARK_LOG_DIR": str(folder / "logs"),
        "SPARK_WORKER_DIR": str(folder / "work"),
        "PYSPARK_PYTHON": sys.executable,
    }
    master = f"spark://127.0.0.1:{port}"
    commands = [
        ["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port), "--webui-port", str(ui)],
        [
            *("org.apache.spark.deploy.worker.Worker", master, "--cores", "1", "--memory", "1g"),
            *("--webui-port", str(worker_ui), "--work-dir", str(folder / "work")),
        ],
    ]
    started: list[subprocess.Popen[bytes]] = []
    try:
        for n, command in enumerate(commands):
            with (folder / f"daemon-{n}.log").open("wb") as log:
                started.append(subprocess.Popen([str(spark_class()), *command], env=env, stdout=log, stderr=log))
        deadline = time.monotonic() + 90
        while True:  # the worker has registered with the master
            try:
                if httpx.get(f"http://127.0.0.1:{ui}/json/").json().get("aliveworkers", 0) >= 1:
                    break
            except (httpx.TransportError, ValueError):
                pass
            assert time.monotonic() < deadline, (folder / "daemon-1.log").read_text()[-3000:]
            time.sleep(0.5)
        yield master, f"http://127.0.0.1:{ui}"
    finally:
        for process in started:
            process.terminate()
        for process in started:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:  # a JVM slow to run its shutdown hooks on a busy machine (seen in CI)
                process.kill()
                process.wait()


def test_a_cluster_ingests_as_the_local_session_does(spark_session: None, tmp_path: Path) -> None:
    """One run (a driver start costs 20 s): the local tests cover reruns and dedupe against earlier runs."""
    first, second = first_corpus()
    with standalone_cluster(tmp_path / "cluster") as (master, ui):
        cluster_url = lake_url(tmp_path / "cluster_run").replace("spark://local?", f"{master}?")
        on_cluster = stores(tmp_path / "cluster_run", cluster_url)
        land(on_cluster, "first.ndjson", first)
        land(on_cluster, "nested/second.ndjson.gz", second)
        arguments = [cluster_url, str(on_cluster.dead_letter_dir), str(on_cluster.landing_dir), "run-1"]
        # The cluster's own settings, as an operator keeps them: Spark's configuration file, not the URL.
        (tmp_path / "conf").mkdir()
        (tmp_path / "conf" / "spark-defaults.conf").write_text(
            "spark.sql.shuffle.partitions 3\nspark.executor.memory 768m\n"
        )
        ran = subprocess.run(
            [sys.executable, "-c", INGEST, *arguments],
            env={**os.environ, "PYSPARK_PYTHON": sys.executable, "SPARK_CONF_DIR": str(tmp_path / "conf")},
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert ran.returncode == 0, ran.stderr[-3000:]
        reported = json.loads(ran.stdout.strip().splitlines()[-1])
        audit = reported["audit"]
        applications = httpx.get(f"{ui}/json/").json()["completedapps"]
    assert (audit["received"], audit["accepted"], audit["duplicates"], audit["dead_lettered"]) == (17, 10, 2, 5)
    assert [app["name"] for app in applications] == ["patronage"]
    assert applications[0]["cores"] >= 1  # its executor ran the tasks
    # One machine's 2 shuffle partitions are for a local session only; a cluster keeps its operator's settings.
    assert reported["settings"] == {"spark.sql.shuffle.partitions": "3", "spark.executor.memory": "768m"}

    # The same files through DuckDB (this process, no Spark): the lake the cluster wrote holds the same.
    local = stores(tmp_path / "duckdb_run", tmp_path / "duckdb_run" / "warehouse.duckdb")
    land(local, "first.ndjson", first)
    land(local, "nested/second.ndjson.gz", second)
    ingest_landing_files(local, "run-1", workers=1)
    read_here = dataclasses.replace(on_cluster, warehouse=lake_url(tmp_path / "cluster_run"))  # the local session
    assert outcome(read_here) == outcome(local)
