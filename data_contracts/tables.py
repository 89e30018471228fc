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
    t.name: t
    for t in (BRONZE_RECORDS, SILVER_FRAMES, SILVER_DETECTIONS, SILVER_SEGMENTS, QUARANTINE)
}


# --- gold ----------------------------------------------------------------------------------
# Owned by the gold rollups (spark_jobs/gold.py). Every gold table is partitioned by store and
# UTC day and carries the start of its time bucket, so a rollup window (whole buckets) is
# replaced with one ``replaceWhere`` on (store_id, bucket_start) and reruns give the same rows.

_STORE_ID = Column("store_id", "string", False, "Store the rows belong to.")
_BUCKET_START = Column(
    "bucket_start", "timestamp", False, "Start of the time bucket (UTC, aligned to its length)."
)
_BUCKET_MINUTES = Column("bucket_minutes", "int", False, "Length of the time bucket.", gt=0)
_BUCKET_DATE = Column("bucket_date", "date", False, "UTC day of bucket_start (partition).")
_TRACK_KEY = (
    Column("camera_id", "string", False, "Camera whose tracker produced the track."),
    Column("stream_epoch", "long", False, "Stream session of that camera (track ids reset)."),
    Column("track_id", "long", False, "Tracker id within (camera_id, stream_epoch).", ge=0),
)

GOLD_HEATMAP_CELLS = Table(
    name="gold_heatmap_cells",
    columns=(
        _STORE_ID,
        _BUCKET_START,
        _BUCKET_MINUTES,
        Column("cell_m", "double", False, "Grid cell size, metres.", gt=0),
        Column("cell_x", "long", False, "Cell column: floor(floor_x / cell_m)."),
        Column("cell_y", "long", False, "Cell row: floor(floor_y / cell_m)."),
        Column(
            "person_seconds", "double", False,
            "Seconds spent in the cell by all people (cameras fused: a person counts once).",
            ge=0,
        ),
        Column(
            "distinct_tracks", "long", False,
            "Distinct camera tracks seen in the cell (unconfirmed detections excluded).", ge=0,
        ),
        Column("detections", "long", False, "Fused detections that fell in the cell.", ge=0),
        _BUCKET_DATE,
    ),
    partition_by=("store_id", "bucket_date"),
    key=("store_id", "bucket_start", "cell_m", "cell_x", "cell_y"),
    description="Occupancy of one floor grid cell during one time bucket (only non-empty cells).",
)

GOLD_ZONE_VISITS = Table(
    name="gold_zone_visits",
    columns=(
        _STORE_ID,
        Column("zone_id", "string", False, "Zone visited."),
        *_TRACK_KEY,
        Column("enter_time", "timestamp", False, "First detection of the visit."),
        Column("exit_time", "timestamp", False, "Last detection of the visit plus its frame "
               "interval."),
        Column("dwell_s", "double", False, "exit_time - enter_time, seconds.", ge=0),
        Column("detections", "long", False, "Detections in the visit.", gt=0),
        Column(
            "duplicate_share", "double", False,
            "Share of the visit's detections also seen by a higher-priority camera.", ge=0, le=1,
        ),
        Column(
            "counted", "boolean", False,
            "False when the visit duplicates another camera's (duplicate_share >= threshold).",
        ),
        _BUCKET_START,
        _BUCKET_MINUTES,
        _BUCKET_DATE,
    ),
    partition_by=("store_id", "bucket_date"),
    key=("store_id", "camera_id", "stream_epoch", "track_id", "enter_time"),
    description="One visit of one camera track to one zone, in the bucket where it began.",
)

GOLD_ZONE_METRICS = Table(
    name="gold_zone_metrics",
    columns=(
        _STORE_ID,
        Column("zone_id", "string", False, "Zone."),
        _BUCKET_START,
        _BUCKET_MINUTES,
        Column("visits", "long", False, "Counted visits that began in the bucket.", ge=0),
        Column("distinct_visitors", "long", False, "Distinct tracks among those visits.", ge=0),
        Column("dwell_p50_s", "double", True, "Median dwell of those visits, seconds.", ge=0),
        Column("dwell_p90_s", "double", True, "90th percentile dwell, seconds.", ge=0),
        Column("person_seconds", "double", False, "Seconds spent in the zone by all people.",
               ge=0),
        Column("avg_occupancy", "double", False, "person_seconds / bucket length: mean people.",
               ge=0),
        Column("peak_occupancy", "long", False, "Most people in the zone at one instant.", ge=0),
        _BUCKET_DATE,
    ),
    partition_by=("store_id", "bucket_date"),
    key=("store_id", "zone_id", "bucket_start"),
    description="Traffic of one zone during one time bucket (a row for every zone of the "
    "store in every bucket where its cameras sent frames, zeros included).",
)

GOLD_TRACKS = Table(
    name="gold_tracks",
    columns=(
        _STORE_ID,
        *_TRACK_KEY,
        Column("start_time", "timestamp", False, "First detection of the track."),
        Column("end_time", "timestamp", False, "Last detection of the track."),
        Column("duration_s", "double", False, "end_time - start_time, seconds.", ge=0),
        Column("path_length_m", "double", False, "Floor distance walked (sum of steps).", ge=0),
        Column("detections", "long", False, "Detections of the track.", gt=0),
        Column("zone_sequence", "string", False,
               "Zones visited in order, joined by '>' (empty when none)."),
        _BUCKET_START,
        _BUCKET_MINUTES,
        _BUCKET_DATE,
    ),
    partition_by=("store_id", "bucket_date"),
    key=("store_id", "camera_id", "stream_epoch", "track_id"),
    description="One camera track, in the bucket where it began.",
)

GOLD_BUSY_PERIODS = Table(
    name="gold_busy_periods",
    columns=(
        _STORE_ID,
        Column("zone_id", "string", False, "Zone."),
        Column("period_start", "timestamp", False, "Start of the first busy bucket."),
        Column("period_end", "timestamp", False, "End of the last busy bucket."),
        Column("buckets", "long", False, "Busy buckets in the period.", gt=0),
        Column("max_avg_occupancy", "double", False, "Highest bucket mean occupancy.", ge=0),
        Column("max_peak_occupancy", "long", False, "Highest instantaneous occupancy.", ge=0),
        Column("baseline_mean", "double", False, "Zone's usual mean occupancy per bucket.", ge=0),
        Column("baseline_std", "double", False, "Its standard deviation.", ge=0),
        Column("threshold", "double", False, "baseline_mean + k * baseline_std.", ge=0),
        Column("baseline_buckets", "long", False, "Buckets the baseline was computed from.",
               gt=0),
        Column("bucket_start", "timestamp", False, "Same as period_start (window key)."),
        _BUCKET_MINUTES,
        _BUCKET_DATE,
    ),
    partition_by=("store_id", "bucket_date"),
    key=("store_id", "zone_id", "period_start"),
    description="A run of consecutive buckets in which a zone was far busier than usual.",
)

GOLD_TABLES: tuple[Table, ...] = (
    GOLD_HEATMAP_CELLS,
    GOLD_ZONE_VISITS,
    GOLD_ZONE_METRICS,
    GOLD_TRACKS,
    GOLD_BUSY_PERIODS,
)
TABLES.update({t.name: t for t in GOLD_TABLES})
