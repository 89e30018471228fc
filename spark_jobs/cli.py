"""``storeheat sql`` (Spark SQL shell) and ``storeheat lake`` (init, ingest, silver, gold, status).

Spark is imported only when a command runs, so ``storeheat --help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, TextIO

from spark_jobs.heatmap_cli import iso_time

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``sql`` and ``lake`` subcommands."""
    sql = subparsers.add_parser(
        "sql",
        help="Spark SQL on the lake (tables as storeheat.<name>)",
        description="Spark SQL shell on the lake. Statements end with ';'. "
        "Example: storeheat sql -e \"SELECT count(*) FROM storeheat.silver_detections\"",
    )
    sql.add_argument("-e", "--execute", metavar="SQL",
                     help="run this statement (or ';'-separated statements) and exit")
    sql.add_argument("-f", "--file", type=argparse.FileType("r"), help="run the statements "
                     "of this file and exit")
    sql.add_argument("--max-rows", type=int, default=100, help="rows shown per result")
    sql.add_argument("--lake-root", default=None, help="lake root (default $STOREHEAT_LAKE_ROOT)")
    sql.set_defaults(func=_sql)

    lake = subparsers.add_parser("lake",
                                 help="Delta lake jobs: init, ingest, silver, gold, status")
    sub = lake.add_subparsers(dest="lake_command", metavar="ACTION", required=True)

    init = sub.add_parser("init", help="create the storeheat database and every table")
    init.add_argument("--lake-root", default=None)
    init.set_defaults(func=_init)

    from spark_jobs.ingest import add_arguments

    ingest = sub.add_parser("ingest", help="Kafka → bronze (and --with-silver: → silver)")
    add_arguments(ingest)
    ingest.set_defaults(func=_ingest)

    silver = sub.add_parser("silver", help="bronze → silver + quarantine")
    mode = silver.add_mutually_exclusive_group()
    mode.add_argument("--available-now", dest="available_now", action="store_true",
                      default=True, help="process what bronze holds now, then stop (default)")
    mode.add_argument("--continuous", dest="available_now", action="store_false")
    silver.add_argument("--checkpoint", default=None,
                        help="checkpoint (default <lake root>/_checkpoints/silver)")
    silver.add_argument("--trigger", default="10 seconds", help="micro-batch interval")
    silver.add_argument("--timeout", type=float, default=None)
    silver.add_argument("--lake-root", default=None)
    silver.set_defaults(func=_silver)

    gold = sub.add_parser(
        "gold",
        help="silver → gold for a store and time range (each window replaced)",
        description="Roll silver up into the gold tables window by window (as the hourly "
        "Airflow rollup does); each window is replaced, so reruns and backfills are safe. "
        "Prints the rows written per table and the time.",
    )
    gold.add_argument("--store", required=True, help="store id")
    gold.add_argument("--from", dest="start", required=True, type=iso_time,
                      help="range start, ISO 8601 (UTC if no offset), on a bucket boundary")
    gold.add_argument("--to", dest="end", required=True, type=iso_time,
                      help="range end (exclusive), on a bucket boundary")
    gold.add_argument("--window-minutes", type=int, default=60,
                      help="window length, a multiple of the bucket (default 60)")
    gold.add_argument("--config", default=None,
                      help="store YAML (zones, grid, fps); default $STOREHEAT_STORE_CONFIG "
                      "or configs/demo-store.yaml when its store_id matches")
    gold.add_argument("--lake-root", default=None)
    gold.add_argument("--driver-memory", default="1g",
                      help="Spark driver heap (all of Spark in local mode); a backfill of "
                      "long windows of a large store needs more, e.g. 8g (default 1g)")
    gold.set_defaults(func=_gold)

    status = sub.add_parser("status", help="row counts of every lake table")
    status.add_argument("--lake-root", default=None)
    status.set_defaults(func=_status)




def _session(
    args: argparse.Namespace,
    app: str,
    *,
    driver_memory: str = "1g",
    extra_conf: dict[str, str] | None = None,
) -> SparkSession:
    from spark_jobs.session import get_spark

    return get_spark(app_name=app, lake_root_url=args.lake_root, driver_memory=driver_memory,
                     extra_conf=extra_conf)


def _sql(args: argparse.Namespace) -> int:
    spark = _session(args, "storeheat-sql")
    if args.execute:
        return run_statements(spark, split_statements(args.execute), max_rows=args.max_rows)
    if args.file:
        return run_statements(spark, split_statements(args.file.read()), max_rows=args.max_rows)
    return repl(spark, max_rows=args.max_rows)


def split_statements(text: str) -> list[str]:
    """The statements of ``text``, split at ``;`` outside quotes; ``--`` comments dropped."""
    out: list[str] = []
    buf: list[str] = []
    quote: str | None = None
    i = 0
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == quote:
                quote = None
        elif ch in ("'", '"', "`"):
            quote = ch
        elif text.startswith("--", i):
            end = text.find("\n", i)
            i = len(text) if end < 0 else end
            continue
        elif ch == ";":
            out.append("".join(buf).strip())
            buf = []
            i += 1
            continue
        buf.append(ch)
        i += 1
    out.append("".join(buf).strip())
    return [stmt for stmt in out if stmt]


def run_statements(spark: SparkSession, statements: Iterable[str], *,
                   max_rows: int = 100, out: TextIO | None = None) -> int:
    """Run statements, printing each result as a table; stop at the first error.

    Returns:
        0 when all ran, 1 after a failed statement (the error is printed).
    """
    from pyspark.errors import PySparkException

    target = out or sys.stdout
    for stmt in statements:
        try:
            df = spark.sql(stmt)
            if df.columns:
                target.write(format_table(df, max_rows=max_rows))
        except PySparkException as exc:
            print(f"error: {str(exc).splitlines()[0]}", file=sys.stderr)
            return 1
    return 0


def format_table(df: object, *, max_rows: int = 100) -> str:
    """A result as an aligned text table, with a row count line."""
    rows = df.limit(max_rows + 1).collect()  # type: ignore[attr-defined]
    cols: list[str] = list(df.columns)  # type: ignore[attr-defined]
    shown = [["NULL" if v is None else str(v) for v in r] for r in rows[:max_rows]]
    widths = [max([len(c)] + [len(r[i]) for r in shown]) for i, c in enumerate(cols)]
    line = "+" + "+".join("-" * (w + 2) for w in widths) + "+\n"
    head = "|" + "|".join(f" {c:<{w}} " for c, w in zip(cols, widths, strict=True)) + "|\n"
    body = "".join(
        "|" + "|".join(f" {v:<{w}} " for v, w in zip(r, widths, strict=True)) + "|\n"
        for r in shown
    )
    more = " (more not shown)" if len(rows) > max_rows else ""
    return line + head + line + body + line + f"{len(shown)} row(s){more}\n"


def repl(spark: SparkSession, *, max_rows: int = 100) -> int:
    """Interactive shell: statements end with ';'; ``quit;`` or end of input leaves."""
    print("storeheat sql: statements end with ';'. Tables: SHOW TABLES IN storeheat; "
          "quit; to leave.")
    buf: list[str] = []
    while True:
        try:
            line = input("sql> " if not buf else "  -> ")
        except EOFError:
            print()
            return 0
        except KeyboardInterrupt:
            print()
            buf = []
            continue
        buf.append(line)
        text = "\n".join(buf)
        if ";" not in line:
            continue
        buf = []
        for stmt in split_statements(text):
            if stmt.lower() in ("quit", "exit"):
                return 0
            run_statements(spark, [stmt], max_rows=max_rows)


def _init(args: argparse.Namespace) -> int:
    from spark_jobs.session import ensure_tables

    for name in ensure_tables(_session(args, "storeheat-lake-init")):
        print(name)
    return 0


def _ingest(args: argparse.Namespace) -> int:
    from spark_jobs.ingest import run_from_args

    return run_from_args(args)


def _silver(args: argparse.Namespace) -> int:
    from spark_jobs.silver import run_silver

    stats = run_silver(
        _session(args, "storeheat-silver"),
        checkpoint_dir=args.checkpoint,
        available_now=args.available_now,
        trigger_interval=args.trigger,
        timeout_s=args.timeout,
    )
    print(
        f"silver: {stats.batches} batches, {stats.records} bronze records, {stats.frames} "
        f"frames, {stats.detections} detections, {stats.segments} segments, "
        f"{stats.quarantined} quarantined {dict(stats.by_reason)}"
    )
    return 0


def _gold(args: argparse.Namespace) -> int:
    import time

    from spark_jobs.gold import (
        RollupResult,
        check_store,
        range_windows,
        rollup_range,
        settings_for,
    )

    settings, zones = settings_for(args.store, config_path=args.config)
    # A bad range fails here, before a JVM starts.
    range_windows(store_id=args.store, start=args.start, end=args.end,
                  window_minutes=args.window_minutes, bucket_minutes=settings.bucket_minutes)
    t0 = time.monotonic()
    spark = _session(args, f"storeheat-gold-{args.store}", driver_memory=args.driver_memory)
    check_store(spark, store_id=args.store, configured=bool(zones), start=args.start,
                end=args.end)
    totals: dict[str, int] = {}

    def report(res: RollupResult) -> None:
        for name, n in res.rows.items():
            totals[name] = totals.get(name, 0) + n
        print(f"{res.store_id} [{res.start.isoformat()}, {res.end.isoformat()}): "
              + ", ".join(f"{k}={v}" for k, v in res.rows.items())
              + f" ({res.seconds:.1f} s)", flush=True)

    results = rollup_range(
        spark, store_id=args.store, start=args.start, end=args.end,
        window_minutes=args.window_minutes, settings=settings, zone_ids=zones, on_window=report,
    )
    print(f"gold: {len(results)} window(s) of store {args.store}, rows written "
          + ", ".join(f"{k}={v}" for k, v in totals.items())
          + f"; {time.monotonic() - t0:.1f} s (rollups {sum(r.seconds for r in results):.1f} s)")
    return 0


def _status(args: argparse.Namespace) -> int:
    from data_contracts.tables import DATABASE

    spark = _session(args, "storeheat-lake-status")
    for t in sorted(spark.catalog.listTables(DATABASE), key=lambda t: t.name):
        n = spark.table(f"{DATABASE}.{t.name}").count()
        print(f"{DATABASE}.{t.name}\t{n}")
    return 0
