"""Ingest: Kafka → bronze → silver, over whatever is in Kafka now, every five minutes.

One ``spark-submit`` of :mod:`spark_jobs.ingest` with ``availableNow``: it drains every
storeheat topic up to the offsets present at start into ``bronze_records`` and parses bronze
into the silver tables (bad records into ``quarantine``), then stops. Its streaming
checkpoints make each run pick up exactly where the previous one ended, so overlapping
schedules, retries and restarts neither lose nor duplicate records. On success it updates
the silver Assets, which schedule the video tiering DAG.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, CronTriggerTimetable

from storeheat.orchestration import assets
from storeheat.orchestration.runtime import MACROS
from storeheat.orchestration.spark import StoreheatSparkSubmitOperator

with DAG(
    dag_id="storeheat_ingest",
    description="Kafka → bronze → silver (availableNow), every 5 minutes",
    schedule=CronTriggerTimetable("*/5 * * * *", timezone="UTC"),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    # One run at a time: both streaming queries own their checkpoint.
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=1)},
    dagrun_timeout=timedelta(minutes=30),
    user_defined_macros=MACROS,
    tags=["storeheat", "lake"],
    doc_md=__doc__,
):
    StoreheatSparkSubmitOperator(
        task_id="kafka_to_silver",
        job="spark_jobs.ingest",
        application_args=["--available-now", "--with-silver"],
        outlets=[assets.BRONZE_RECORDS, assets.SILVER_FRAMES, assets.SILVER_DETECTIONS,
                 assets.SILVER_SEGMENTS, assets.QUARANTINE],
        execution_timeout=timedelta(minutes=25),
    )
