"""Hourly gold rollup behind a data-quality gate.

For each hour ``[data_interval_start, data_interval_end)`` of one store:

1. ``quality_gate``: the ``silver_detections`` contract suite (Great Expectations) on the
   hour's rows (:mod:`storeheat.orchestration.quality_gate`). A failure ends the run with a
   readable report (the task's error message) and no retry.
2. ``rollup``: :mod:`spark_jobs.gold` replaces that hour in every gold table. It runs only
   if the gate passed, so a bad hour publishes nothing, and other hours are unaffected.

Rollups replace their window, so retries and backfills are safe. Backfill any range with
Airflow's own backfill (the scheduler runs it)::

    airflow backfill create --dag-id storeheat_rollup_hourly \\
        --from-date 2026-11-01T00:00:00+00:00 --to-date 2026-11-02T00:00:00+00:00 \\
        --reprocess-behavior completed

Trigger with ``{"store_id": "..."}`` to roll up another store than the configured one.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, CronDataIntervalTimetable, Param

from storeheat.orchestration import assets
from storeheat.orchestration.runtime import MACROS
from storeheat.orchestration.spark import StoreheatSparkSubmitOperator

STORE = "{{ params.store_id or storeheat_store_id() }}"
WINDOW = ["--start", "{{ data_interval_start.isoformat() }}",
          "--end", "{{ data_interval_end.isoformat() }}"]

with DAG(
    dag_id="storeheat_rollup_hourly",
    description="silver → gold for each hour, behind the silver_detections quality gate",
    # A data-interval timetable: each run owns the hour before it (and backfills can name
    # hours), unlike a trigger timetable whose interval is a single instant.
    schedule=CronDataIntervalTimetable("0 * * * *", timezone="UTC"),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=2,
    params={"store_id": Param(None, type=["null", "string"],
                              description="store to roll up (default: the configured store)")},
    default_args={"retries": 2, "retry_delay": timedelta(minutes=2)},
    user_defined_macros=MACROS,
    tags=["storeheat", "lake", "gold"],
    doc_md=__doc__,
):
    gate = StoreheatSparkSubmitOperator(
        task_id="quality_gate",
        job="storeheat.orchestration.quality_gate",
        application_args=["--store", STORE, *WINDOW],
        report=True,
        inlets=[assets.SILVER_DETECTIONS],
        execution_timeout=timedelta(minutes=20),
    )
    rollup = StoreheatSparkSubmitOperator(
        task_id="rollup",
        job="spark_jobs.gold",
        application_args=["--store", STORE, *WINDOW],
        inlets=[assets.SILVER_DETECTIONS, assets.SILVER_FRAMES],
        outlets=list(assets.GOLD),
        execution_timeout=timedelta(minutes=30),
    )
    gate >> rollup
