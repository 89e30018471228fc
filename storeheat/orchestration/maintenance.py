"""Delta maintenance of the lake: OPTIMIZE the day just finished, VACUUM with a safe retention.

For every storeheat table that exists under the lake root:

- ``OPTIMIZE`` compacts the small files the streaming ingest and the hourly rollups leave,
  restricted to the partition of the run's day (each table's date partition column), so a
  run touches only its interval and a rerun is a no-op;
- ``VACUUM`` (LITE: from the Delta log, without listing the directory; FULL when LITE
  cannot) removes files no longer referenced by the table, keeping at least
  :data:`MIN_RETENTION_HOURS` (Delta's own safety default, 7 days): readers running
  long queries and time travel within a week keep working. Delta 4 ignores VACUUM's
  ``RETAIN`` clause (other than 0) and reads the retention from the table property
  ``delta.deletedFileRetentionDuration``, so the retention is set there (only when it
  differs, so a rerun commits nothing) and VACUUM runs without ``RETAIN``.

Run by Airflow through ``spark-submit``::

    spark-submit storeheat/orchestration/maintenance.py --day 2026-11-24
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from data_contracts.tables import TABLES, Table
from storeheat.orchestration.exceptions import MaintenanceSettingError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

#: Delta's default and the floor here: a shorter VACUUM retention can break running readers.
MIN_RETENTION_HOURS = 168.0


@dataclass(frozen=True, slots=True)
class TableMaintenance:
    """What maintenance did to one table.

    Attributes:
        table: Qualified table name.
        optimized_files_removed: Small files compacted away by OPTIMIZE.
        optimized_files_added: Files written by OPTIMIZE.
        vacuumed: Whether VACUUM ran.
    """

    table: str
    optimized_files_removed: int
    optimized_files_added: int
    vacuumed: bool


def date_partition(table: Table) -> str | None:
    """The table's date partition column (``capture_date``, ``bucket_date`` …), if any."""
    for name in table.partition_by:
        for column in table.columns:
            if column.name == name and column.kind == "date":
                return name
    return None


def check_retention(hours: float) -> float:
    """``hours`` if it is a safe VACUUM retention.

    Raises:
        MaintenanceSettingError: below :data:`MIN_RETENTION_HOURS`.
    """
    if not hours >= MIN_RETENTION_HOURS:
        raise MaintenanceSettingError(
            f"{hours} h is below the safe minimum of {MIN_RETENTION_HOURS:.0f} h (files a "
            "running reader or time travel may still need would be deleted)",
            setting="retain_hours",
        )
    return hours


def _sql_path(location: str) -> str:
    return "delta.`" + location.replace("`", "``") + "`"


RETENTION_PROPERTY = "delta.deletedFileRetentionDuration"


def retention_interval(hours: float) -> str:
    """The table-property value for a retention of ``hours`` (``interval 168 hours``)."""
    return f"interval {hours:g} hours"


def _ensure_retention(spark: SparkSession, location: str, hours: float) -> None:
    wanted = retention_interval(hours)
    props = {
        r["key"]: r["value"]
        for r in spark.sql(f"SHOW TBLPROPERTIES {_sql_path(location)}").collect()
    }
    if props.get(RETENTION_PROPERTY) != wanted:
        spark.sql(f"ALTER TABLE {_sql_path(location)} SET TBLPROPERTIES "
                  f"('{RETENTION_PROPERTY}' = '{wanted}')")


def _vacuum(spark: SparkSession, location: str) -> None:
    """VACUUM LITE (files found from the Delta log, no directory listing), else FULL.

    LITE refuses when the log no longer covers the retention window or stray files exist
    (``DELTA_CANNOT_VACUUM_LITE``); FULL lists the table's directory and handles both.
    """
    try:
        spark.sql(f"VACUUM {_sql_path(location)} LITE").collect()
    except Exception as exc:  # py4j wraps the JVM error; only this one is expected
        if "DELTA_CANNOT_VACUUM_LITE" not in str(exc):
            raise
        log.info("VACUUM LITE not possible for %s; running FULL", location)
        spark.sql(f"VACUUM {_sql_path(location)} FULL").collect()


def maintain(
    spark: SparkSession, *, day: date, retain_hours: float = MIN_RETENTION_HOURS,
    tables: Iterable[Table] | None = None, vacuum: bool = True,
) -> list[TableMaintenance]:
    """OPTIMIZE ``day``'s partitions and VACUUM every existing storeheat table.

    Args:
        spark: A session from :func:`spark_jobs.session.get_spark`.
        day: The UTC day whose partitions are compacted (the run's data interval).
        retain_hours: VACUUM retention, at least :data:`MIN_RETENTION_HOURS`.
        tables: Table specs (default every table in :data:`data_contracts.tables.TABLES`);
            those without a Delta table under the lake root are skipped.
        vacuum: Also VACUUM.

    Returns:
        One entry per table maintained.

    Raises:
        MaintenanceSettingError: unsafe ``retain_hours``.
    """
    from delta.tables import DeltaTable

    from spark_jobs.session import session_lake_root, table_location

    retain = check_retention(retain_hours)
    root = session_lake_root(spark)
    done = []
    for table in tables if tables is not None else TABLES.values():
        location = table_location(table, root=root)
        if not DeltaTable.isDeltaTable(spark, location):
            continue
        part = date_partition(table)
        where = f" WHERE `{part}` = DATE'{day.isoformat()}'" if part else ""
        metrics = spark.sql(f"OPTIMIZE {_sql_path(location)}{where}").collect()
        removed = added = 0
        if metrics:
            m = metrics[0]["metrics"]
            removed, added = int(m["numFilesRemoved"]), int(m["numFilesAdded"])
        if vacuum:
            _ensure_retention(spark, location, retain)
            _vacuum(spark, location)
        log.info("maintained %s: OPTIMIZE%s -%d/+%d files, VACUUM %s", table.qualified_name,
                 where, removed, added, f"{retain:g} h" if vacuum else "skipped")
        done.append(TableMaintenance(table.qualified_name, removed, added, vacuum))
    return done


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="storeheat.orchestration.maintenance",
                                description="OPTIMIZE one day's partitions and VACUUM the lake.")
    p.add_argument("--day", required=True, type=date.fromisoformat, help="UTC day, YYYY-MM-DD")
    p.add_argument("--retain-hours", type=float, default=MIN_RETENTION_HOURS,
                   help=f"VACUUM retention (>= {MIN_RETENTION_HOURS:.0f})")
    p.add_argument("--no-vacuum", dest="vacuum", action="store_false", help="only OPTIMIZE")
    p.add_argument("--lake-root", default=None, help="lake root (default $STOREHEAT_LAKE_ROOT)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """``spark-submit`` entry point. Exit 2 on an unsafe setting."""
    from spark_jobs.session import get_spark
    from storeheat.env import apply_tool_env

    apply_tool_env()
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        check_retention(args.retain_hours)
    except MaintenanceSettingError as exc:
        print(f"maintenance: error: {exc}", file=sys.stderr)
        return 2
    spark = get_spark(app_name="storeheat-maintenance", lake_root_url=args.lake_root)
    for entry in maintain(spark, day=args.day, retain_hours=args.retain_hours,
                          vacuum=args.vacuum):
        print(f"{entry.table}: OPTIMIZE -{entry.optimized_files_removed}/"
              f"+{entry.optimized_files_added} files, VACUUM {'done' if entry.vacuumed else 'no'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
