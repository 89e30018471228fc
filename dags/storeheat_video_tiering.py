"""Video tiering: blurred segments older than ``storage.hot_retention_hours`` go hot → cold.

Scheduled on the ``silver_segments`` Asset: it runs after an ingest has landed segments.
:mod:`storeheat.orchestration.tiering` copies each due segment from the hot fsspec URL to the
cold one, verifies size and SHA-256, marks it ``tier = 'cold'`` in ``silver_segments`` and
only then deletes the hot file. "Due" is measured from the run's reference time (its data
interval end, or the time an Asset event triggered it), never the wall clock.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG

from storeheat.orchestration import assets
from storeheat.orchestration.runtime import MACROS
from storeheat.orchestration.spark import StoreheatSparkSubmitOperator

with DAG(
    dag_id="storeheat_video_tiering",
    description="move blurred segments older than the hot retention to the cold tier",
    schedule=[assets.SILVER_SEGMENTS],
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=5)},
    user_defined_macros=MACROS,
    tags=["storeheat", "video"],
    doc_md=__doc__,
):
    StoreheatSparkSubmitOperator(
        task_id="hot_to_cold",
        job="storeheat.orchestration.tiering",
        application_args=[
            "--reference", "{{ (dag_run.data_interval_end or dag_run.run_after).isoformat() }}",
        ],
        inlets=[assets.SILVER_SEGMENTS],
        outlets=[assets.COLD_VIDEO],
        execution_timeout=timedelta(hours=1),
    )
