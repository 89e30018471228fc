"""Video tiering: blurred segments older than the hot retention move from the hot tier to cold.

A segment is due when it is still ``tier = 'hot'`` in ``storeheat.silver_segments`` and its
``end_time`` is before ``reference - hot_retention_hours``. The reference time is the run's
(its data interval end, or for an asset-triggered run the time it was triggered), never the
wall clock, so a rerun moves the same set.

Each due segment is, in this order (so a crash at any step is repaired by the next run):

1. copied to the cold tier (same path relative to the hot root; a file outside the hot root
   keeps ``<store>/<camera>/<file name>``), unless an identical copy is already there;
2. verified: size and SHA-256 of the cold copy equal the contract's ``bytes`` / ``sha256``;
3. recorded: one MERGE sets ``tier``, ``tier_uri`` and ``tier_changed_at`` of all verified
   segments;
4. deleted from the hot tier.

A segment whose hot file is gone and whose cold copy does not verify is reported, not
recorded (the table keeps saying where the file was last known to be).

Run by Airflow through ``spark-submit``::

    spark-submit storeheat/orchestration/tiering.py --reference 2026-11-25T12:00:00Z
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from data_contracts.tables import SILVER_SEGMENTS
from storeheat.orchestration.exceptions import TieringError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

_CHUNK = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Segment:
    """A hot segment due for the cold tier (the columns tiering needs)."""

    event_id: str
    store_id: str
    camera_id: str
    tier_uri: str
    bytes: int
    sha256: str


@dataclass(frozen=True, slots=True)
class TieringResult:
    """What a tiering run did.

    Attributes:
        cutoff: Segments ending before this were due.
        moved: Segments now recorded in the cold tier (event id → cold URL).
        failures: ``(hot URL, reason)`` of segments left in the hot tier.
    """

    cutoff: datetime
    moved: dict[str, str]
    failures: tuple[tuple[str, str], ...]


def cutoff_for(reference: datetime, hot_retention_hours: float) -> datetime:
    """Segments that ended before this instant are due for the cold tier.

    Raises:
        ValueError: ``reference`` is naive or the retention is not positive.
    """
    if reference.tzinfo is None:
        raise ValueError(f"reference time {reference.isoformat()} has no time zone")
    if not hot_retention_hours > 0:
        raise ValueError(f"hot_retention_hours must be > 0, got {hot_retention_hours}")
    return reference.astimezone(UTC) - timedelta(hours=hot_retention_hours)


def cold_url_for(hot_url: str, *, hot_root: str, cold_root: str, store_id: str,
                 camera_id: str) -> str:
    """Where the cold copy of ``hot_url`` goes (pure; see the module docstring)."""
    hot_root = hot_root.rstrip("/")
    cold_root = cold_root.rstrip("/")
    if hot_url.startswith(hot_root + "/"):
        return cold_root + hot_url[len(hot_root):]
    return f"{cold_root}/{store_id}/{camera_id}/{hot_url.rstrip('/').rsplit('/', 1)[-1]}"


def _digest(url: str) -> tuple[int, str] | None:
    """(size, sha256) of the file at ``url``, or None if it does not exist."""
    import fsspec

    fs, path = fsspec.core.url_to_fs(url)
    if not fs.exists(path):
        return None
    h = hashlib.sha256()
    size = 0
    with fs.open(path, "rb") as src:
        while chunk := src.read(_CHUNK):
            h.update(chunk)
            size += len(chunk)
    return size, h.hexdigest()


def _copy(src_url: str, dst_url: str) -> None:
    import fsspec

    src_fs, src_path = fsspec.core.url_to_fs(src_url)
    dst_fs, dst_path = fsspec.core.url_to_fs(dst_url)
    parent = dst_path.rsplit("/", 1)[0]
    dst_fs.makedirs(parent, exist_ok=True)
    tmp = dst_path + ".partial"
    # Write beside, then rename: a half-copied file never looks like a finished cold copy.
    with src_fs.open(src_path, "rb") as src, dst_fs.open(tmp, "wb") as dst:
        while chunk := src.read(_CHUNK):
            dst.write(chunk)
    dst_fs.mv(tmp, dst_path)


def _delete(url: str) -> None:
    import fsspec

    fs, path = fsspec.core.url_to_fs(url)
    if fs.exists(path):
        fs.rm(path)


def move_segment(seg: Segment, *, hot_root: str, cold_root: str) -> str:
    """Copy one segment to the cold tier and verify it (steps 1–2); returns the cold URL.

    Idempotent: an existing verified cold copy is kept; the hot file is not touched.

    Raises:
        TieringError: the hot file is missing and no verified cold copy exists, or the
            copy does not match the recorded size/SHA-256 (terminal: the data is wrong).
    """
    dst = cold_url_for(seg.tier_uri, hot_root=hot_root, cold_root=cold_root,
                       store_id=seg.store_id, camera_id=seg.camera_id)
    expected = (seg.bytes, seg.sha256)
    if _digest(dst) == expected:
        return dst
    source = _digest(seg.tier_uri)
    if source is None:
        raise TieringError([(seg.tier_uri, f"hot file missing and no verified copy at {dst}")],
                           transient=False)
    if source != expected:
        raise TieringError([(seg.tier_uri, f"hot file has {source[0]} bytes sha256 "
                             f"{source[1][:12]}…, the segment record says {seg.bytes} bytes "
                             f"sha256 {seg.sha256[:12]}…")], transient=False)
    _copy(seg.tier_uri, dst)
    if _digest(dst) != expected:
        raise TieringError([(seg.tier_uri, f"copy at {dst} does not verify")], transient=True)
    return dst


def due_segments(spark: SparkSession, *, cutoff: datetime) -> list[Segment]:
    """Hot segments that ended before ``cutoff`` (empty if the table does not exist yet)."""
    from delta.tables import DeltaTable
    from pyspark.sql import functions as F

    from spark_jobs.session import session_lake_root, table_location

    location = table_location(SILVER_SEGMENTS, root=session_lake_root(spark))
    if not DeltaTable.isDeltaTable(spark, location):
        return []
    rows = (
        spark.read.format("delta").load(location)
        .where((F.col("start_date") <= F.lit(cutoff.date())) & (F.col("tier") == "hot")
               & (F.col("end_time") < F.lit(cutoff)))
        .select("event_id", "store_id", "camera_id", "tier_uri", "bytes", "sha256")
        .orderBy("start_time", "event_id")
        .collect()
    )
    return [Segment(r["event_id"], r["store_id"], r["camera_id"], r["tier_uri"],
                    int(r["bytes"]), r["sha256"]) for r in rows]


def record_cold(spark: SparkSession, moved: dict[str, str], *, changed_at: datetime) -> None:
    """Step 3: one MERGE marking the moved segments cold with their new URL."""
    from delta.tables import DeltaTable
    from pyspark.sql import functions as F

    from spark_jobs.session import session_lake_root, table_location

    if not moved:
        return
    location = table_location(SILVER_SEGMENTS, root=session_lake_root(spark))
    updates = spark.createDataFrame(sorted(moved.items()), "event_id string, cold_uri string")
    (
        DeltaTable.forPath(spark, location).alias("t")
        .merge(updates.alias("u"), "t.event_id = u.event_id")
        .whenMatchedUpdate(condition="t.tier = 'hot'", set={
            "tier": F.lit("cold"),
            "tier_uri": F.col("u.cold_uri"),
            "tier_changed_at": F.lit(changed_at),
        })
        .execute()
    )


def run_tiering(
    spark: SparkSession, *, reference: datetime, hot_retention_hours: float, hot_root: str,
    cold_root: str,
) -> TieringResult:
    """Move every due segment to the cold tier (steps 1–4 of the module docstring).

    Args:
        spark: A session from :func:`spark_jobs.session.get_spark`.
        reference: The run's reference time (data interval end / trigger time), aware.
        hot_retention_hours: ``storage.hot_retention_hours`` of the store config.
        hot_root: fsspec URL of the hot tier.
        cold_root: fsspec URL of the cold tier.

    Returns:
        What moved and what did not.

    Raises:
        ValueError: bad reference or retention.
    """
    cutoff = cutoff_for(reference, hot_retention_hours)
    due = due_segments(spark, cutoff=cutoff)
    moved: dict[str, str] = {}
    failures: list[tuple[str, str]] = []
    for seg in due:
        try:
            moved[seg.event_id] = move_segment(seg, hot_root=hot_root, cold_root=cold_root)
        except TieringError as exc:
            failures.extend(exc.failures)
        except OSError as exc:  # storage errors (network, permissions) may pass on a rerun
            failures.append((seg.tier_uri, f"{type(exc).__name__}: {exc}"))
    record_cold(spark, moved, changed_at=reference.astimezone(UTC))
    # Only now that the table points at the cold copy may the hot original go.
    hot_of = {seg.event_id: seg.tier_uri for seg in due}
    for event_id in moved:
        _delete(hot_of[event_id])
    for hot in _recent_cold_originals(spark, since=reference - timedelta(days=2)):
        _delete(hot)  # a previous run stopped between recording and deleting
    return TieringResult(cutoff=cutoff, moved=moved, failures=tuple(failures))


def _recent_cold_originals(spark: SparkSession, *, since: datetime) -> list[str]:
    """Original (hot) URLs of segments recorded cold since ``since`` whose hot file remains."""
    from delta.tables import DeltaTable
    from pyspark.sql import functions as F

    from spark_jobs.session import session_lake_root, table_location

    location = table_location(SILVER_SEGMENTS, root=session_lake_root(spark))
    if not DeltaTable.isDeltaTable(spark, location):
        return []
    rows = (
        spark.read.format("delta").load(location)
        .where((F.col("tier") == "cold") & (F.col("tier_changed_at") >= F.lit(since))
               & (F.col("uri") != F.col("tier_uri")))
        .select("uri").collect()
    )
    return [r["uri"] for r in rows if _digest_exists(r["uri"])]


def _digest_exists(url: str) -> bool:
    import fsspec

    fs, path = fsspec.core.url_to_fs(url)
    return bool(fs.exists(path))


def _parse_time(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="storeheat.orchestration.tiering",
                                description="Move old blurred segments from hot to cold.")
    p.add_argument("--reference", required=True, type=_parse_time,
                   help="the run's reference time, ISO 8601 (segments ending before "
                   "reference - retention move)")
    p.add_argument("--config", default=None,
                   help="store YAML (storage.*); default $STOREHEAT_STORE_CONFIG or the demo")
    p.add_argument("--retention-hours", type=float, default=None,
                   help="override storage.hot_retention_hours")
    p.add_argument("--lake-root", default=None, help="lake root (default $STOREHEAT_LAKE_ROOT)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """``spark-submit`` entry point. Exit 0: all due segments moved; 1: some were not."""
    from spark_jobs.session import get_spark
    from storeheat.config import default_store_config_path, load_store_config
    from storeheat.env import apply_tool_env

    apply_tool_env()
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    storage = load_store_config(args.config or default_store_config_path()).storage
    retention = args.retention_hours or storage.hot_retention_hours
    spark = get_spark(app_name="storeheat-tiering", lake_root_url=args.lake_root)
    result = run_tiering(
        spark, reference=args.reference, hot_retention_hours=retention,
        hot_root=storage.resolved_hot_video(), cold_root=storage.resolved_cold_video(),
    )
    print(f"tiering: cutoff {result.cutoff.isoformat()}: {len(result.moved)} segment(s) moved "
          f"to {storage.resolved_cold_video()}, {len(result.failures)} left hot", flush=True)
    if result.failures:
        print(TieringError(result.failures, transient=False), file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
