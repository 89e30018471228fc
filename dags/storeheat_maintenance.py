"""Daily Delta maintenance: OPTIMIZE the day's partitions, VACUUM keeping 7 days.

:mod:`storeheat.orchestration.maintenance` compacts the partitions of the day that just
ended (``data_interval_start``) in every storeheat table, then VACUUMs with a retention of
168 hours (Delta's safe default; shorter is refused), so readers and time travel within a
week keep working. Runs after midnight UTC, when that day's ingest and rollups are done.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, CronDataIntervalTimetable

from storeheat.orchestration import assets
from storeheat.orchestration.runtime import MACROS
from storeheat.orchestration.spark import StoreheatSparkSubmitOperator

with DAG(
    dag_id="storeheat_maintenance",
    description="OPTIMIZE yesterday's partitions and VACUUM (168 h) every lake table",
    schedule=CronDataIntervalTimetable("30 0 * * *", timezone="UTC"),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 1, "retry_delay": timedelta(minutes=10)},
    user_defined_macros=MACROS,
    tags=["storeheat", "lake", "maintenance"],
    doc_md=__doc__,
):
    StoreheatSparkSubmitOperator(
        task_id="optimize_and_vacuum",
        job="storeheat.orchestration.maintenance",
        application_args=["--day", "{{ data_interval_start.strftime('%Y-%m-%d') }}",
                          "--retain-hours", "168"],
        inlets=[assets.BRONZE_RECORDS, assets.SILVER_FRAMES, assets.SILVER_DETECTIONS,
                assets.SILVER_SEGMENTS, assets.QUARANTINE, *assets.GOLD],
        execution_timeout=timedelta(hours=2),
    )
