"""The Delta tables of the lake, their columns derived from the event models.

Bronze keeps raw Kafka records; silver holds parsed, contract-checked, deduplicated rows;
quarantine keeps what failed, with the raw bytes and the reason. Gold tables are defined by
the rollup jobs next to their transforms and registered here too, so every table a user can
query by name is listed in :data:`TABLES`.
"""

from __future__ import annotations

from dataclasses import dataclass

from data_contracts.derive import Column, columns_of
from data_contracts.events import Detection, FrameDetections, VideoSegment

#: Spark SQL database (schema) that holds every storeheat table.
DATABASE = "storeheat"


@dataclass(frozen=True, slots=True)
class Table:
    """A Delta table: name, columns, partitioning and what a row is.

    Attributes:
        name: Table name inside :data:`DATABASE` (also its folder under the lake root).
        columns: Column specs, in order.
        partition_by: Partition columns (store and day, so windows can be replaced).
        key: Columns that identify a row (used to deduplicate and to MERGE).
        description: What one row is.
    """

    name: str
    columns: tuple[Column, ...]
    partition_by: tuple[str, ...]
    key: tuple[str, ...]
    description: str

    @property
    def qualified_name(self) -> str:
        return f"{DATABASE}.{self.name}"

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.qualified_name} has no column {name!r}")


_BRONZE_COLUMNS = (
    Column("key", "binary", True, "Kafka record key (store_id/camera_id)."),
    Column("value", "binary", True, "Kafka record value, untouched."),
    Column("topic", "string", False, "Kafka topic."),
    Column("partition", "int", False, "Kafka partition.", ge=0),
    Column("offset", "long", False, "Kafka offset within the partition.", ge=0),
    Column("kafka_timestamp", "timestamp", False, "Kafka record timestamp."),
    Column("ingest_date", "date", False, "Day the record was ingested (partition)."),
)

BRONZE_RECORDS = Table(
    name="bronze_records",
    columns=_BRONZE_COLUMNS,
    partition_by=("topic", "ingest_date"),
    key=("topic", "partition", "offset"),
    description="One raw Kafka record of any storeheat topic, exactly once per offset.",
)

_FRAME_COLUMNS = tuple(columns_of(FrameDetections, exclude={"detections"}))
_CAPTURE_DATE = Column("capture_date", "date", False, "UTC day of capture_time (partition).")

SILVER_FRAMES = Table(
    name="silver_frames",
    columns=_FRAME_COLUMNS
    + (
        Column("detection_count", "long", False, "People detected in the frame.", ge=0),
        _CAPTURE_DATE,
    ),
    partition_by=("store_id", "capture_date"),
    key=("event_id",),
    description="One processed frame of one camera (also frames with nobody in view).",
)

SILVER_DETECTIONS = Table(
    name="silver_detections",
    columns=_FRAME_COLUMNS
    + (Column("detection_index", "long", False, "Position in the frame's list.", ge=0),)
    + tuple(columns_of(Detection))
    + (_CAPTURE_DATE,),
    partition_by=("store_id", "capture_date"),
    key=("event_id", "detection_index"),
    description="One person detected in one frame of one camera.",
)

SILVER_SEGMENTS = Table(
    name="silver_segments",
    columns=tuple(columns_of(VideoSegment))
    + (
        Column("tier", "string", False, "Where the file is now.", allowed=("hot", "cold")),
        Column("tier_uri", "string", False, "URL of the file in its current tier."),
        Column("tier_changed_at", "timestamp", False, "When the file entered its tier."),
        Column("start_date", "date", False, "UTC day of start_time (partition)."),
    ),
    partition_by=("store_id", "start_date"),
    key=("event_id",),
    description="One finished blurred video segment, with its current storage tier.",
)

QUARANTINE = Table(
    name="quarantine",
    columns=_BRONZE_COLUMNS[:6]
    + (
        Column("error_type", "string", False, "parse | contract", allowed=("parse", "contract")),
        Column("reason", "string", False, "Why the record was rejected (field and value)."),
        Column("quarantined_at", "timestamp", False, "When it was quarantined."),
        Column("quarantine_date", "date", False, "UTC day of quarantined_at (partition)."),
    ),
    partition_by=("topic", "quarantine_date"),
    key=("topic", "partition", "offset"),
    description="A Kafka record that broke its contract, kept whole with the reason.",
)

TABLES: dict[str, Table] = {
    t.name: t for t in (BRONZE_RECORDS, SILVER_FRAMES, SILVER_DETECTIONS, SILVER_SEGMENTS, QUARANTINE)
}
