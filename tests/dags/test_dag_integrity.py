"""Every DAG file loads without errors, does no work at import, and passes ruff's AIR rules."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.dags.conftest import DAGS_FOLDER

EXPECTED = {
    "storeheat_ingest": ["kafka_to_silver"],
    "storeheat_rollup_hourly": ["quality_gate", "rollup"],
    "storeheat_maintenance": ["optimize_and_vacuum"],
    "storeheat_video_tiering": ["hot_to_cold"],
}
#: Modules a DAG file must not import at parse time (the scheduler parses them every 30 s).
HEAVY = ("pyspark", "delta", "great_expectations", "torch", "cv2", "ultralytics", "pandas",
         "spark_jobs.session", "spark_jobs.gold", "spark_jobs.silver")


@pytest.fixture(scope="module")
def dagbag() -> Any:
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_FOLDER))


def test_every_dag_file_imports_without_errors(dagbag: Any) -> None:
    assert dagbag.import_errors == {}
    assert {d: sorted(t.task_id for t in dag.tasks) for d, dag in dagbag.dags.items()} == {
        d: sorted(tasks) for d, tasks in EXPECTED.items()
    }


def test_dag_files_hold_no_logic_and_import_nothing_heavy() -> None:
    # A fresh interpreter: this test process may have imported Spark for other tests.
    code = (
        "import importlib.util, sys, json\n"
        f"for path in {sorted(str(p) for p in DAGS_FOLDER.glob('*.py'))!r}:\n"
        "    spec = importlib.util.spec_from_file_location('dagfile', path)\n"
        "    module = importlib.util.module_from_spec(spec)\n"
        "    spec.loader.exec_module(module)\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r} "
        f"or m in {HEAVY!r})))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().splitlines()[-1] == "[]"


def test_dags_are_chained_by_assets(dagbag: Any) -> None:
    from storeheat.orchestration import assets

    ingest = dagbag.dags["storeheat_ingest"].get_task("kafka_to_silver")
    assert assets.SILVER_SEGMENTS in ingest.outlets
    assert assets.SILVER_DETECTIONS in ingest.outlets
    tiering = dagbag.dags["storeheat_video_tiering"]
    assert [a.uri for a in tiering.timetable.asset_condition.objects] == [
        assets.SILVER_SEGMENTS.uri
    ]
    rollup = dagbag.dags["storeheat_rollup_hourly"]
    assert set(rollup.get_task("rollup").outlets) == set(assets.GOLD)
    assert rollup.get_task("rollup").upstream_task_ids == {"quality_gate"}


def test_gold_assets_cover_every_gold_table() -> None:
    from data_contracts.tables import GOLD_TABLES
    from storeheat.orchestration import assets

    assert sorted(a.name for a in assets.GOLD) == sorted(t.name for t in GOLD_TABLES)


def test_spark_tasks_submit_through_the_spark_default_connection(dagbag: Any) -> None:
    from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

    tasks = [t for dag in dagbag.dags.values() for t in dag.tasks]
    assert tasks
    for task in tasks:
        assert isinstance(task, SparkSubmitOperator), task.task_id
        assert task._conn_id == "spark_default"


def test_windowed_dags_read_their_data_interval_not_the_clock(dagbag: Any) -> None:
    for dag_id in ("storeheat_rollup_hourly", "storeheat_maintenance"):
        dag = dagbag.dags[dag_id]
        # A data-interval timetable: each run owns a real interval (backfills name hours).
        assert type(dag.timetable).__name__ == "CronDataIntervalTimetable", dag_id
        for task in dag.tasks:
            assert any("data_interval_start" in str(a) for a in task.application_args)
    for path in DAGS_FOLDER.glob("*.py"):
        text = path.read_text()
        assert "now()" not in text and "utcnow" not in text, path.name


def test_dag_files_pass_ruff_with_the_airflow_rules() -> None:
    ruff = Path(sys.executable).parent / "ruff"
    proc = subprocess.run([str(ruff), "check", "--select", "AIR,E,F,W,I,B,UP",
                           str(DAGS_FOLDER), "storeheat/orchestration"],
                          capture_output=True, text=True, timeout=120, check=False,
                          cwd=DAGS_FOLDER.parent)
    assert proc.returncode == 0, proc.stdout + proc.stderr
