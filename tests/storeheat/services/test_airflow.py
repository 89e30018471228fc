"""The local Airflow runner against a real ``airflow standalone`` on a free port."""

from __future__ import annotations

import json
import socket
import time
import urllib.request
from pathlib import Path

import pytest

from storeheat.services.airflow import (
    LOCAL_SPARK_CONNECTION,
    SPARK_CONN_ENV,
    LocalAirflow,
    group_members,
)
from storeheat.services.exceptions import PortInUseError
from tests.fixtures.kafka import free_tcp_ports

pytestmark = pytest.mark.integration

EXPECTED_DAGS = {"storeheat_ingest", "storeheat_rollup_hourly", "storeheat_maintenance",
                 "storeheat_video_tiering"}


def _get_json(url: str, *, token: str | None = None) -> object:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def _token(base_url: str, user: str, password: str) -> str:
    request = urllib.request.Request(
        f"{base_url}/auth/token", data=json.dumps({"username": user, "password": password})
        .encode(), headers={"Content-Type": "application/json"}, method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(json.loads(response.read())["access_token"])


def test_standalone_starts_serves_the_project_dags_and_stops_without_orphans(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(SPARK_CONN_ENV, raising=False)
    airflow = LocalAirflow(home=tmp_path / "home", state_dir=tmp_path / "run",
                           port=free_tcp_ports(1)[0])
    assert airflow.status().running is False
    assert airflow.start() is True
    pgid = airflow.pid()
    assert pgid is not None
    try:
        assert airflow.healthy()
        health = _get_json(airflow.health_url)
        assert isinstance(health, dict)
        assert health["metadatabase"]["status"] == "healthy"

        login = airflow.admin_login()
        assert login is not None and login[0] == "admin" and login[1]
        status = airflow.status()
        assert status.running and status.address == airflow.url
        assert login[1] in status.detail and airflow.url in status.detail

        # A second start finds it running and changes nothing.
        assert airflow.start() is False
        assert airflow.pid() == pgid

        # The login works against the REST API, and Airflow serves this repository's DAGs.
        token = _token(airflow.url, *login)
        deadline = time.monotonic() + 300  # the DAG processor parses the folder after start
        dag_ids: set[str] = set()
        while time.monotonic() < deadline and not EXPECTED_DAGS <= dag_ids:
            time.sleep(2)
            dags = _get_json(f"{airflow.url}/api/v2/dags?limit=100", token=token)
            assert isinstance(dags, dict)
            dag_ids = {d["dag_id"] for d in dags["dags"]}
        assert EXPECTED_DAGS <= dag_ids
        errors = _get_json(f"{airflow.url}/api/v2/importErrors", token=token)
        assert isinstance(errors, dict) and errors["total_entries"] == 0, errors
        env = airflow.env()
        assert env[SPARK_CONN_ENV] == LOCAL_SPARK_CONNECTION
        assert env["AIRFLOW__CORE__PARALLELISM"] == "4"
    finally:
        stopped = airflow.stop()
    assert stopped is True
    # Scheduler, LocalExecutor workers, API server, triggerer, DAG processor: all gone.
    assert group_members(pgid) == []
    assert airflow.pid() is None
    assert airflow.status().running is False
    assert airflow.stop() is False


def test_start_refuses_a_port_held_by_another_process(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        airflow = LocalAirflow(home=tmp_path / "home", state_dir=tmp_path / "run", port=port)
        with pytest.raises(PortInUseError) as excinfo:
            airflow.start()
    assert excinfo.value.port == port
    assert "STOREHEAT_AIRFLOW_PORT" in str(excinfo.value)
    assert airflow.pid() is None
