"""The data-quality gate in front of the hourly rollup.

Before a window of silver is rolled up into gold, the window's rows of
``storeheat.silver_detections`` (one store, ``[start, end)`` of ``capture_time``) are run
through the table's contract suite (Great Expectations, derived from the column specs in
:mod:`data_contracts`, via :func:`spark_jobs.silver.validate_with_gx`). If any expectation
fails, the gate fails with a readable report and the rollup of that window does not run, so
nothing is published downstream for it; other windows are unaffected.

Run by Airflow through ``spark-submit``::

    spark-submit storeheat/orchestration/quality_gate.py --store S --start T1 --end T2 \
        [--report gate.json]

Exit code 0: passed; 3: the suite failed (report printed and written); 2: bad input.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from data_contracts.tables import SILVER_DETECTIONS, Table

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)

#: Exit code of a gate that ran and failed (distinct from a crash).
EXIT_FAILED = 3


@dataclass(frozen=True, slots=True)
class GateResult:
    """Outcome of the gate for one store and window.

    Attributes:
        table: Qualified name of the checked table.
        store_id: The store.
        start: Window start (inclusive, UTC).
        end: Window end (exclusive, UTC).
        rows: Rows of the window that were checked.
        evaluated: Expectations run.
        failures: One line per failed expectation.
    """

    table: str
    store_id: str
    start: datetime
    end: datetime
    rows: int
    evaluated: int
    failures: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def text(self) -> str:
        """The readable report (what the Airflow task log and the failure message show)."""
        head = (f"quality gate {'PASSED' if self.passed else 'FAILED'}: {self.table} "
                f"store {self.store_id!r} window [{self.start.isoformat()}, "
                f"{self.end.isoformat()}): {self.rows} rows, {self.evaluated} expectations")
        if self.passed:
            return head
        lines = [head, f"{len(self.failures)} expectation(s) failed:"]
        lines += [f"  - {f}" for f in self.failures]
        lines.append("nothing is published to gold for this window; fix or quarantine the "
                     "rows in silver, then clear this run")
        return "\n".join(lines)

    def to_json(self) -> str:
        return json.dumps({
            "passed": self.passed, "text": self.text, "table": self.table,
            "store_id": self.store_id, "start": self.start.isoformat(),
            "end": self.end.isoformat(), "rows": self.rows, "evaluated": self.evaluated,
            "failures": list(self.failures),
        }, indent=2)


def _utc(value: datetime, name: str) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"{name} {value.isoformat()} has no time zone; expected UTC")
    return value.astimezone(UTC)


def window_rows(
    spark: SparkSession, *, store_id: str, start: datetime, end: datetime,
    table: Table = SILVER_DETECTIONS, time_column: str = "capture_time",
    date_column: str = "capture_date",
) -> DataFrame | None:
    """The rows of ``table`` for one store and ``[start, end)``, or None if it does not exist.

    Filters on the partition columns first (store, day) so only the window's days are read.
    """
    from delta.tables import DeltaTable
    from pyspark.sql import functions as F

    from spark_jobs.session import session_lake_root, table_location

    location = table_location(table, root=session_lake_root(spark))
    if not DeltaTable.isDeltaTable(spark, location):
        return None
    last = end - timedelta(microseconds=1)
    return (
        spark.read.format("delta").load(location)
        .where((F.col("store_id") == store_id)
               & F.col(date_column).between(start.date(), last.date())
               & (F.col(time_column) >= F.lit(start)) & (F.col(time_column) < F.lit(end)))
    )


def check_window(
    spark: SparkSession, *, store_id: str, start: datetime, end: datetime,
    table: Table = SILVER_DETECTIONS,
) -> GateResult:
    """Run ``table``'s contract suite on one store's rows in ``[start, end)``.

    Args:
        spark: A session from :func:`spark_jobs.session.get_spark`.
        store_id: The store whose window is about to be rolled up.
        start: Window start, timezone-aware.
        end: Window end (exclusive), timezone-aware, after ``start``.
        table: The checked table (silver detections).

    Returns:
        The result; an empty window (or a table not created yet) passes with 0 rows.

    Raises:
        ValueError: naive datetimes or an empty/negative window.
    """
    from spark_jobs.silver import validate_with_gx

    start, end = _utc(start, "start"), _utc(end, "end")
    if end <= start:
        raise ValueError(f"window [{start.isoformat()}, {end.isoformat()}) is empty")
    df = window_rows(spark, store_id=store_id, start=start, end=end, table=table)
    if df is None:
        return GateResult(table.qualified_name, store_id, start, end, 0, 0, ())
    df = df.cache()
    try:
        rows = df.count()
        report = validate_with_gx(df, table)
    finally:
        df.unpersist()
    return GateResult(table.qualified_name, store_id, start, end, rows, report.evaluated,
                      tuple(report.failures))


def _parse_time(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="storeheat.orchestration.quality_gate",
                                description="Contract suite on one window of silver detections.")
    p.add_argument("--store", required=True, help="store id")
    p.add_argument("--start", required=True, type=_parse_time, help="window start, ISO 8601")
    p.add_argument("--end", required=True, type=_parse_time, help="window end (exclusive)")
    p.add_argument("--lake-root", default=None, help="lake root (default $STOREHEAT_LAKE_ROOT)")
    p.add_argument("--report", type=Path, default=None, help="write the JSON report here")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """``spark-submit`` entry point; see the module docstring for exit codes."""
    from spark_jobs.session import get_spark
    from storeheat.env import apply_tool_env

    apply_tool_env()
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    spark = get_spark(app_name=f"storeheat-gate-{args.store}", lake_root_url=args.lake_root)
    try:
        result = check_window(spark, store_id=args.store, start=args.start, end=args.end)
    except ValueError as exc:
        print(f"quality gate: error: {exc}", file=sys.stderr)
        return 2
    if args.report is not None:
        args.report.write_text(result.to_json())
    # Last lines of the output: Airflow quotes them when the submit fails.
    print(result.text, flush=True)
    return 0 if result.passed else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
