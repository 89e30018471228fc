"""The Assets that chain the storeheat DAGs (one per lake table, plus the cold video tier).

A DAG that writes a table lists its Asset as an outlet; a DAG scheduled on that Asset runs
after each successful write. The URIs name tables, not paths, so they stay the same whether
the lake is a local folder or an ``s3a://`` bucket.
"""

from __future__ import annotations

from airflow.sdk import Asset

from data_contracts.tables import GOLD_TABLES

SCHEME = "storeheat"


def table_asset(table: str) -> Asset:
    """The Asset of lake table ``table`` (e.g. ``storeheat://silver_detections``)."""
    return Asset(uri=f"{SCHEME}://{table}", name=table, group="storeheat-lake")


BRONZE_RECORDS = table_asset("bronze_records")
SILVER_FRAMES = table_asset("silver_frames")
SILVER_DETECTIONS = table_asset("silver_detections")
SILVER_SEGMENTS = table_asset("silver_segments")
QUARANTINE = table_asset("quarantine")
#: Every gold table (written together by the hourly rollup).
GOLD = tuple(table_asset(t.name) for t in GOLD_TABLES)
#: The cold video tier, written by the tiering DAG.
COLD_VIDEO = Asset(uri=f"{SCHEME}://video_cold", name="video_cold", group="storeheat-video")
