"""Ingest: Kafka topics → ``storeheat.bronze_records`` with Spark Structured Streaming.

Bronze keeps every record as it came (key, value bytes, topic, partition, offset, Kafka
timestamp). Exactly-once: the Kafka source records each micro-batch's offset range in the
checkpoint *before* running it, and the Delta sink commits a batch together with the query id
and batch id, skipping a batch it already committed. A process killed at any point and
restarted with the same checkpoint therefore neither loses nor duplicates a record.

Run it once over what is there (``available_now``) or continuously::

    python -m spark_jobs.ingest --available-now
    spark-submit spark_jobs/ingest.py --continuous --with-silver
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from data_contracts.tables import BRONZE_RECORDS
from data_contracts.topics import ALL_TOPICS
from spark_jobs.session import ensure_tables, session_lake_root, table_location

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)

#: Every storeheat topic (bronze keeps them all, the dead-letter topic included).
TOPIC_NAMES: tuple[str, ...] = tuple(spec.name for spec in ALL_TOPICS)

def default_bootstrap() -> str:
    """``$KAFKA_BOOTSTRAP_SERVERS``, else the local broker's address."""
    from storeheat.services.kafka import bootstrap_servers

    return bootstrap_servers()


def bronze_stream(
    spark: SparkSession,
    *,
    bootstrap: str,
    topics: Sequence[str] = TOPIC_NAMES,
    starting_offsets: str = "earliest",
    max_offsets_per_trigger: int | None = None,
    fail_on_data_loss: bool = True,
) -> DataFrame:
    """The Kafka records of ``topics`` as a streaming DataFrame in bronze's shape.

    Args:
        spark: A session from :func:`spark_jobs.session.get_spark`.
        bootstrap: Kafka bootstrap servers.
        topics: Topics to subscribe to.
        starting_offsets: Where a *new* checkpoint starts (``earliest`` or ``latest``); a
            restarted query always continues from its checkpoint.
        max_offsets_per_trigger: Bound a micro-batch (None: everything available).
        fail_on_data_loss: Fail when offsets vanished (retention) instead of skipping them.

    Returns:
        Columns of ``storeheat.bronze_records``.
    """
    from pyspark.sql import functions as F

    reader = (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", bootstrap)
        .option("subscribe", ",".join(topics))
        .option("startingOffsets", starting_offsets)
        .option("failOnDataLoss", str(fail_on_data_loss).lower())
        .option("includeHeaders", "false")
    )
    if max_offsets_per_trigger:
        reader = reader.option("maxOffsetsPerTrigger", str(max_offsets_per_trigger))
    return to_bronze(reader.load()).withColumn("ingest_date", F.current_date())


def to_bronze(kafka_rows: DataFrame) -> DataFrame:
    """Kafka source rows → bronze columns (without ``ingest_date``)."""
    from pyspark.sql import functions as F

    return kafka_rows.select(
        F.col("key"),
        F.col("value"),
        F.col("topic"),
        F.col("partition").cast("int").alias("partition"),
        F.col("offset").cast("long").alias("offset"),
        F.col("timestamp").alias("kafka_timestamp"),
    )


@dataclass(frozen=True)
class IngestResult:
    """What one ingest run did.

    Attributes:
        batches: Micro-batches committed by this run.
        records: Records written to bronze by this run.
        checkpoint: The query's checkpoint location.
    """

    batches: int
    records: int
    checkpoint: str


def run_ingest(
    spark: SparkSession,
    *,
    bootstrap: str | None = None,
    topics: Sequence[str] = TOPIC_NAMES,
    checkpoint_dir: str | None = None,
    available_now: bool = True,
    trigger_interval: str = "5 seconds",
    starting_offsets: str = "earliest",
    max_offsets_per_trigger: int | None = None,
    query_name: str = "storeheat_ingest",
    timeout_s: float | None = None,
) -> IngestResult:
    """Stream Kafka into bronze: once over what is there, or until stopped.

    Args:
        spark: A session from :func:`spark_jobs.session.get_spark`.
        bootstrap: Kafka bootstrap servers (default :func:`default_bootstrap`).
        topics: Topics to ingest.
        checkpoint_dir: The query's checkpoint (default
            ``<lake root>/_checkpoints/ingest``). Keep it: it is what makes restarts exact.
        available_now: Ingest everything available now (in bounded batches), then return.
        trigger_interval: Micro-batch interval when continuous.
        starting_offsets: See :func:`bronze_stream`.
        max_offsets_per_trigger: See :func:`bronze_stream`.
        query_name: Streaming query name.
        timeout_s: Stop a continuous run after this long (None: until interrupted).

    Returns:
        Batches and records committed by this run.

    Raises:
        StreamError: the query failed; rerun it (the checkpoint makes that safe).
    """
    from spark_jobs.silver import await_query

    ensure_tables(spark, [BRONZE_RECORDS])
    root = session_lake_root(spark)
    checkpoint = checkpoint_dir or f"{root}/_checkpoints/ingest"
    stream = bronze_stream(
        spark,
        bootstrap=bootstrap or default_bootstrap(),
        topics=topics,
        starting_offsets=starting_offsets,
        max_offsets_per_trigger=max_offsets_per_trigger,
    )
    writer = (
        stream.writeStream.format("delta")
        .queryName(query_name)
        .outputMode("append")
        .option("checkpointLocation", checkpoint)
        .partitionBy(*BRONZE_RECORDS.partition_by)
    )
    writer = (
        writer.trigger(availableNow=True)
        if available_now
        else writer.trigger(processingTime=trigger_interval)
    )
    query = writer.start(table_location(BRONZE_RECORDS, root=root))
    await_query(query, name=query_name, checkpoint=checkpoint, timeout_s=timeout_s)
    batches = records = 0
    for progress in query.recentProgress:
        if progress.get("numInputRows", 0):
            batches += 1
            records += int(progress["numInputRows"])
    log.info("ingest %s: %d records in %d batches", query_name, records, batches)
    return IngestResult(batches=batches, records=records, checkpoint=checkpoint)


def build_parser() -> argparse.ArgumentParser:
    """Arguments of the ingest job (shared by ``storeheat lake ingest`` and spark-submit)."""
    p = argparse.ArgumentParser(prog="spark_jobs.ingest", description=__doc__.splitlines()[0])
    add_arguments(p)
    return p


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Add the ingest options to ``p``."""
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--available-now", dest="available_now", action="store_true",
                      default=True, help="ingest what is there now, then stop (default)")
    mode.add_argument("--continuous", dest="available_now", action="store_false",
                      help="keep ingesting until interrupted")
    p.add_argument("--bootstrap", default=None, help="Kafka bootstrap servers "
                   "(default $KAFKA_BOOTSTRAP_SERVERS or the local broker)")
    p.add_argument("--topics", default=",".join(TOPIC_NAMES),
                   help="comma-separated topics (default: every storeheat topic)")
    p.add_argument("--checkpoint", default=None, help="checkpoint location "
                   "(default <lake root>/_checkpoints/ingest)")
    p.add_argument("--lake-root", default=None, help="lake root (default $STOREHEAT_LAKE_ROOT)")
    p.add_argument("--trigger", default="5 seconds", help="micro-batch interval (continuous)")
    p.add_argument("--max-offsets", type=int, default=None, help="records per micro-batch")
    p.add_argument("--with-silver", action="store_true",
                   help="also run silver from bronze in the same Spark application")
    p.add_argument("--silver-checkpoint", default=None, help="silver's checkpoint location")
    p.add_argument("--timeout", type=float, default=None,
                   help="stop a continuous run after this many seconds")


def run_from_args(args: argparse.Namespace) -> int:
    """Run ingest (and optionally silver) as parsed by :func:`add_arguments`."""
    from spark_jobs.session import get_spark
    from spark_jobs.silver import run_silver

    spark = get_spark(app_name="storeheat-ingest", lake_root_url=args.lake_root)
    topics = [t for t in args.topics.split(",") if t]
    if args.with_silver and not args.available_now:
        return _run_both_continuous(spark, args, topics)
    result = run_ingest(
        spark,
        bootstrap=args.bootstrap,
        topics=topics,
        checkpoint_dir=args.checkpoint,
        available_now=args.available_now,
        trigger_interval=args.trigger,
        max_offsets_per_trigger=args.max_offsets,
        timeout_s=args.timeout,
    )
    print(f"bronze: {result.records} records in {result.batches} batches")
    if args.with_silver:
        stats = run_silver(spark, checkpoint_dir=args.silver_checkpoint)
        print(
            f"silver: {stats.frames} frames, {stats.detections} detections, "
            f"{stats.segments} segments, {stats.quarantined} quarantined "
            f"{dict(stats.by_reason)}"
        )
    return 0


def _run_both_continuous(
    spark: SparkSession, args: argparse.Namespace, topics: Sequence[str]
) -> int:
    """Ingest and silver as two concurrent queries in one application."""
    import threading

    from spark_jobs.silver import run_silver

    errors: list[BaseException] = []

    def silver() -> None:
        try:
            run_silver(spark, checkpoint_dir=args.silver_checkpoint, available_now=False,
                       trigger_interval=args.trigger, timeout_s=args.timeout)
        except BaseException as exc:  # surfaced to the main thread below
            errors.append(exc)

    ensure_tables(spark)
    thread = threading.Thread(target=silver, name="silver", daemon=True)
    thread.start()
    try:
        run_ingest(spark, bootstrap=args.bootstrap, topics=topics,
                   checkpoint_dir=args.checkpoint, available_now=False,
                   trigger_interval=args.trigger, max_offsets_per_trigger=args.max_offsets,
                   timeout_s=args.timeout)
    finally:
        for q in spark.streams.active:
            q.stop()
        thread.join(timeout=60)
    if errors:
        raise errors[0]
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point for ``python -m spark_jobs.ingest`` and ``spark-submit``."""
    from storeheat.env import apply_tool_env
    from storeheat.exceptions import StoreheatError

    apply_tool_env()
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        return run_from_args(args)
    except StoreheatError as exc:
        print(f"spark_jobs.ingest: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
