"""Airflow for the DAG tests: a metadata database and home of its own, the repository's DAGs.

Airflow reads ``AIRFLOW_HOME`` and its database URL when it is first imported, so they are set
here, when pytest loads this file and before any test imports Airflow. ``airflow_db``
creates the SQLite database once per session (``airflow db migrate`` in a subprocess, as a
user would). ``spark_submit_env`` points the ``spark_default`` connection at local Spark and
the jobs at the test session's lake.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from storeheat.paths import REPO_ROOT

DAGS_FOLDER = REPO_ROOT / "dags"

if "airflow" in sys.modules and os.environ.get("AIRFLOW_HOME", "").find("storeheat-af-") < 0:
    raise pytest.UsageError(
        "Airflow was imported before tests/dags/conftest.py could point AIRFLOW_HOME at a "
        "temporary folder; import Airflow only inside tests"
    )
_HOME = Path(tempfile.mkdtemp(prefix="storeheat-af-"))
os.environ.update({
    "AIRFLOW_HOME": str(_HOME),
    "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{_HOME / 'airflow.db'}",
    "AIRFLOW__CORE__PARALLELISM": "2",
})


@pytest.fixture(scope="session")
def airflow_db() -> Iterator[Path]:
    """A migrated Airflow metadata database (SQLite) in the session's AIRFLOW_HOME."""
    airflow = Path(sys.executable).parent / "airflow"
    env = dict(os.environ)
    env["PATH"] = str(airflow.parent) + os.pathsep + env.get("PATH", "")
    proc = subprocess.run([str(airflow), "db", "migrate"], env=env, capture_output=True,
                          text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    yield _HOME
    shutil.rmtree(_HOME, ignore_errors=True)


@pytest.fixture
def spark_submit_env(monkeypatch: pytest.MonkeyPatch, lake_root: str) -> str:
    """``spark_default`` → ``local[*]``; jobs use the test session's lake. Yields the lake root."""
    from storeheat.services.airflow import LOCAL_SPARK_CONNECTION, SPARK_CONN_ENV

    monkeypatch.setenv(SPARK_CONN_ENV, LOCAL_SPARK_CONNECTION)
    monkeypatch.setenv("STOREHEAT_LAKE_ROOT", lake_root)
    return lake_root
