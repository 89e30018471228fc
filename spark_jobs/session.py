"""The one Spark session factory every storeheat job, test and shell uses.

A session is local Spark with Delta Lake and the Kafka source. Their jars are resolved once
from Maven Central into the project's jar cache (:func:`storeheat.services.jars.resolve`) and
handed to Spark through ``spark.jars``, so every later start is offline.

Tables live under a configurable lake root (a path or an ``s3a://`` URL) and are visible by
name in the ``storeheat`` database. Two catalogs are offered:

* ``"lake"`` (default): the lake is the catalog. Each session registers every Delta table
  found under the lake root, and the ``storeheat`` database's location *is* the lake root, so
  a table created by name in one session (by a job or an analyst) is visible in the next.
  Any number of processes can run at once (ingest, Airflow tasks, an analyst's shell).
* ``"hive"``: Spark's Hive metastore in an embedded Derby database under ``.state/spark``.
  Embedded Derby admits one JVM at a time, so only one session may be open; use it when a
  single process owns the lake (the lake tables are registered there too).
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from data_contracts.derive import spark_schema_of_columns
from data_contracts.tables import DATABASE, TABLES, Table
from spark_jobs.exceptions import SparkSessionError, TableError
from storeheat.paths import lake_dir, warehouse_dir

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

#: Delta's jar for Spark 4.2 / Scala 2.13. The Python package is 4.4.1, but 4.4.1 was a
#: Python-only release: Maven Central holds 4.4.0 as the newest jar for Spark 4.2.
DELTA_JAR = "io.delta:delta-spark_4.2_2.13:4.4.0"
#: Structured Streaming's Kafka source, at pyspark's version.
KAFKA_JAR = "org.apache.spark:spark-sql-kafka-0-10_2.13:4.2.0"
#: Dependencies pyspark's own ``jars/`` folder already ships (in newer versions); loading a
#: second, older copy would shadow them on the classpath.
PROVIDED_BY_PYSPARK = (
    "org.scala-lang:scala-library",
    "org.scala-lang.modules:scala-parallel-collections_2.13",
    "org.apache.spark:spark-tags_2.13",
    "org.apache.logging.log4j:log4j-api",
    "org.apache.logging.log4j:log4j-core",
    "org.apache.logging.log4j:log4j-slf4j2-impl",
    "org.slf4j:slf4j-api",
    "com.fasterxml.jackson.core:jackson-core",
    "com.fasterxml.jackson.core:jackson-databind",
    "com.fasterxml.jackson.core:jackson-annotations",
    "org.apache.hadoop:hadoop-client-api",
    "org.apache.hadoop:hadoop-client-runtime",
    "commons-logging:commons-logging",
    "org.apache.parquet:parquet-hadoop",
    "org.roaringbitmap:RoaringBitmap",
    "at.yawk.lz4:lz4-java",
    "org.xerial.snappy:snappy-java",
    "com.google.code.findbugs:jsr305",
)
#: Jar cache group (folder under ``.state/cache/jars``).
JAR_GROUP = "spark"

Catalog = Literal["lake", "hive"]

_LOG4J2 = """\
rootLogger.level = warn
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n
logger.kafka.name = org.apache.kafka
logger.kafka.level = error
logger.delta.name = org.apache.spark.sql.delta
logger.delta.level = warn
logger.native.name = org.apache.hadoop.util.NativeCodeLoader
logger.native.level = error
logger.hive.name = org.apache.hadoop.hive
logger.hive.level = error
logger.datanucleus.name = DataNucleus
logger.datanucleus.level = error
"""


def spark_jars(*, offline: bool = False) -> list[Path]:
    """The Delta and Kafka-connector jars, resolved once into the jar cache.

    Args:
        offline: Never contact Maven Central (only the cache and ``~/.m2`` serve).

    Returns:
        Jar files to put on ``spark.jars``.

    Raises:
        storeheat.services.exceptions.JarFetchError: not cached and not fetchable.
    """
    from storeheat.services.jars import resolve

    return resolve(JAR_GROUP, [DELTA_JAR, KAFKA_JAR], exclude=PROVIDED_BY_PYSPARK, offline=offline)


def lake_root(value: str | os.PathLike[str] | None = None) -> str:
    """The lake root: ``value``, else ``$STOREHEAT_LAKE_ROOT``, else ``.state/lake``.

    Local paths become absolute paths; URLs (``s3a://bucket/lake``) are kept as given.
    """
    raw = str(value) if value is not None else os.environ.get("STOREHEAT_LAKE_ROOT") or ""
    if not raw:
        return str(lake_dir())
    if "://" in raw:
        return raw.rstrip("/")
    return str(Path(raw).expanduser().resolve())


def table_location(table: Table, *, root: str | None = None) -> str:
    """Where ``table`` lives: ``<lake root>/<table name>``."""
    return f"{lake_root(root)}/{table.name}"


def _is_local(root: str) -> bool:
    return "://" not in root or root.startswith("file:")


def get_spark(
    *,
    app_name: str,
    master: str | None = None,
    lake_root_url: str | os.PathLike[str] | None = None,
    catalog: Catalog | None = None,
    state_dir: Path | None = None,
    driver_memory: str = "1g",
    shuffle_partitions: int = 4,
    extra_conf: Mapping[str, str] | None = None,
    register_tables: bool = True,
) -> SparkSession:
    """Build (or return the running) Spark session with Delta, the Kafka source and the catalog.

    Args:
        app_name: Spark application name (shows in logs).
        master: Spark master; default ``$STOREHEAT_SPARK_MASTER`` or ``local[2]``.
        lake_root_url: Lake root (path or URL); default ``$STOREHEAT_LAKE_ROOT`` or
            ``.state/lake``.
        catalog: ``"lake"`` or ``"hive"`` (see the module docstring); default
            ``$STOREHEAT_SPARK_CATALOG`` or ``"lake"``.
        state_dir: Folder for the warehouse, Derby metastore and log config; default
            ``.state/spark``.
        driver_memory: JVM heap of the driver (the whole of Spark in local mode).
        shuffle_partitions: ``spark.sql.shuffle.partitions`` (small: the data is small).
        extra_conf: More Spark settings (e.g. s3a credentials); they win over the defaults.
        register_tables: Register the lake's Delta tables in the ``storeheat`` database.

    Returns:
        The session. If one is already running in this process it is returned as is (Spark
        allows one per JVM); its lake root is kept in ``spark.storeheat.lakeRoot``.

    Raises:
        SparkSessionError: the JVM could not start or the catalog could not be opened.
        storeheat.services.exceptions.JarFetchError: the jars are neither cached nor fetchable.
    """
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active

    root = lake_root(lake_root_url)
    chosen = catalog or os.environ.get("STOREHEAT_SPARK_CATALOG") or "lake"
    if chosen not in ("lake", "hive"):
        raise SparkSessionError(
            f"catalog {chosen!r} (from STOREHEAT_SPARK_CATALOG?): expected 'lake' or 'hive'",
            app_name=app_name,
        )
    home = (state_dir or warehouse_dir()).resolve()
    home.mkdir(parents=True, exist_ok=True)
    log4j = home / "log4j2.properties"
    if not log4j.exists() or log4j.read_text() != _LOG4J2:
        log4j.write_text(_LOG4J2)
    if _is_local(root):
        Path(root.removeprefix("file:")).mkdir(parents=True, exist_ok=True)

    t0 = time.monotonic()
    jars = spark_jars()
    t_jars = time.monotonic() - t0
    java_opts = f"-Dlog4j2.configurationFile=file:{log4j} -Dderby.system.home={home}"
    conf: dict[str, str] = {
        "spark.master": master or os.environ.get("STOREHEAT_SPARK_MASTER") or "local[2]",
        "spark.app.name": app_name,
        "spark.jars": ",".join(str(j) for j in jars),
        "spark.driver.memory": driver_memory,
        "spark.driver.extraJavaOptions": java_opts,
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        # No web UI: it would take a port (4040+) on a machine shared by many test runs.
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.shuffle.partitions": str(shuffle_partitions),
        "spark.default.parallelism": str(shuffle_partitions),
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
        "spark.sql.warehouse.dir": str(home / "warehouse"),
        "spark.sql.catalogImplementation": "hive" if chosen == "hive" else "in-memory",
        "spark.sql.streaming.forceDeleteTempCheckpointLocation": "true",
        # Delta rebuilds a table's snapshot (file list, stats) in this many tasks; its default
        # of 50 made every read, write and commit of a small table pay 50 tasks, which was
        # most of a gold window's time on two cores (profiled: benchmarks/lake_rollup.py).
        "spark.databricks.delta.snapshotPartitions": "2",
        # Kafka source: fewer, larger tasks suit two cores.
        "spark.sql.streaming.kafka.useDeprecatedOffsetFetching": "false",
        "spark.storeheat.lakeRoot": root,
        "spark.storeheat.catalog": chosen,
    }
    if chosen == "hive":
        conf["spark.hadoop.javax.jdo.option.ConnectionURL"] = (
            f"jdbc:derby:;databaseName={home / 'metastore_db'};create=true"
        )
        conf["spark.hadoop.datanucleus.schema.autoCreateAll"] = "true"
        conf["spark.hadoop.hive.metastore.schema.verification"] = "false"
    conf.update(extra_conf or {})

    builder = SparkSession.builder
    for key, value in conf.items():
        builder = builder.config(key, value)
    t1 = time.monotonic()
    try:
        spark = builder.getOrCreate()
    except Exception as exc:  # py4j/JVM start-up errors have no common base class
        raise SparkSessionError(
            f"could not start Spark ({conf['spark.master']}): {exc}", app_name=app_name
        ) from exc
    spark.sparkContext.setLogLevel("WARN")
    log.info(
        "spark session %s up in %.1f s (jars %.1f s, %d jars), lake root %s, catalog %s",
        app_name, time.monotonic() - t1, t_jars, len(jars), root, chosen,
    )
    if register_tables:
        register_lake_tables(spark)
    return spark


def session_lake_root(spark: SparkSession) -> str:
    """The lake root the session was built with."""
    return str(spark.conf.get("spark.storeheat.lakeRoot", lake_root()))


def _sql_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _ensure_database(spark: SparkSession, root: str) -> None:
    # The database's location is the lake root, so a managed table created by name lands in
    # the lake and is found again by the next session's scan.
    if spark.catalog.databaseExists(DATABASE):
        return
    spark.sql(
        f"CREATE DATABASE IF NOT EXISTS {DATABASE} LOCATION {_sql_string(root)} "
        f"COMMENT 'storeheat lake: bronze, silver, quarantine and gold Delta tables'"
    )


# a commit or checkpoint in a _delta_log (anything else there is temporary)
_COMMIT_NAME = re.compile(r"^\d{20}\.(json|checkpoint(\..*)?\.(parquet|json))$|^_last_checkpoint$")


def _hadoop_fs(spark: SparkSession, location: str) -> tuple[Any, Any]:
    """The Hadoop ``(FileSystem, Path)`` of ``location``, as the session's jobs see it."""
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    hadoop_conf = spark.sparkContext._jsc.hadoopConfiguration()  # type: ignore[union-attr]
    path = jvm.org.apache.hadoop.fs.Path(location)
    return path.getFileSystem(hadoop_conf), path


def _has_commit(spark: SparkSession, location: str) -> bool:
    """Whether ``location/_delta_log`` holds a commit or checkpoint, read from the files.

    Read from storage rather than through Delta's cached log, which can outlive the files.
    """
    fs, log_path = _hadoop_fs(spark, f"{location.rstrip('/')}/_delta_log")
    return bool(fs.exists(log_path)) and any(
        _COMMIT_NAME.match(str(s.getPath().getName())) for s in fs.listStatus(log_path)
    )


def _delta_tables_under(spark: SparkSession, root: str) -> list[str]:
    """Names of the folders under ``root`` that hold a Delta table (a committed ``_delta_log``).

    A folder whose ``_delta_log`` has no commit yet (its writer was killed while creating the
    table) is left out: Delta refuses to register it, and :func:`ensure_tables` creates the
    table there.
    """
    fs, path = _hadoop_fs(spark, root)
    if not fs.exists(path):
        return []
    return sorted(
        str(status.getPath().getName())
        for status in fs.listStatus(path)
        if status.isDirectory() and _has_commit(spark, str(status.getPath().toString()))
    )


def _clear_uncommitted_log(spark: SparkSession, table: Table, location: str) -> None:
    """Remove a ``_delta_log`` that holds no commit, so the table can be created there.

    A process killed while creating a table leaves the folder and a ``_delta_log`` with no
    commit (at most a temporary file); Delta then refuses to create the table at that place.
    Nothing in such a log was ever part of a table. Files are deleted one by one and folders
    only when empty, so a commit that another process writes meanwhile makes the delete fail
    instead of being lost.
    """
    fs, log_path = _hadoop_fs(spark, f"{location.rstrip('/')}/_delta_log")
    if not fs.exists(log_path):
        return
    files, folders = [], [log_path]
    pending = [log_path]
    while pending:
        for status in fs.listStatus(pending.pop()):
            if status.isDirectory():
                pending.append(status.getPath())
                folders.append(status.getPath())
            else:
                files.append(status.getPath())
    if any(_COMMIT_NAME.match(str(f.getName())) for f in files):
        return  # another process committed the table meanwhile: create registers it
    log.warning("table %s: removing a _delta_log with no commit (%d temporary files) at %s, "
                "left by a process stopped while creating the table",
                table.qualified_name, len(files), location)
    for path in files:
        fs.delete(path, False)
    for path in reversed(folders):
        try:
            fs.delete(path, False)
        except Exception as exc:  # py4j wraps the IOException; no common base class
            # not empty: another process committed the table meanwhile (as above)
            log.info("table %s: kept %s (%s)", table.qualified_name, path.toString(), exc)
            return


def register_lake_tables(spark: SparkSession) -> list[str]:
    """Register every Delta table under the lake root as ``storeheat.<folder name>``.

    Returns:
        The qualified names registered (or already present).
    """
    root = session_lake_root(spark)
    _ensure_database(spark, root)
    existing = {t.name for t in spark.catalog.listTables(DATABASE)}
    names = []
    for name in _delta_tables_under(spark, root):
        if not name.replace("_", "").isalnum():
            continue  # not a table name Spark SQL can address unquoted; leave it alone
        if name not in existing:
            spark.sql(
                f"CREATE TABLE IF NOT EXISTS {DATABASE}.{name} USING delta "
                f"LOCATION {_sql_string(f'{root}/{name}')}"
            )
        names.append(f"{DATABASE}.{name}")
    return names


def _ddl_type(kind: str) -> str:
    return {"long": "BIGINT", "int": "INT", "double": "DOUBLE", "boolean": "BOOLEAN",
            "timestamp": "TIMESTAMP", "date": "DATE", "binary": "BINARY",
            "string": "STRING"}[kind]


def ensure_tables(spark: SparkSession, tables: Iterable[Table] | None = None) -> list[str]:
    """Create the ``storeheat`` database and each Delta table if missing; check the rest.

    Idempotent: an existing table is left alone if it has every column of its spec (extra
    columns are allowed, as additive evolution), and registered by name if only its folder
    existed.

    Args:
        spark: A session from :func:`get_spark`.
        tables: Table specs (default: every table in :data:`data_contracts.tables.TABLES`).

    Returns:
        The qualified names of the tables.

    Raises:
        TableError: an existing table lacks a column of its spec or has another type.
    """
    root = session_lake_root(spark)
    _ensure_database(spark, root)
    done = []
    for table in tables if tables is not None else TABLES.values():
        location = table_location(table, root=root)
        if _has_commit(spark, location):
            spark.sql(
                f"CREATE TABLE IF NOT EXISTS {table.qualified_name} USING delta "
                f"LOCATION {_sql_string(location)}"
            )
            _check_schema(spark, table, location)
        else:
            _clear_uncommitted_log(spark, table, location)
            cols = ",\n  ".join(
                f"`{c.name}` {_ddl_type(c.kind)}{'' if c.nullable else ' NOT NULL'} "
                f"COMMENT {_sql_string(c.description)}"
                for c in table.columns
            )
            parts = ", ".join(f"`{p}`" for p in table.partition_by)
            spark.sql(
                f"CREATE TABLE IF NOT EXISTS {table.qualified_name} (\n  {cols}\n) USING delta "
                f"PARTITIONED BY ({parts}) LOCATION {_sql_string(location)} "
                f"COMMENT {_sql_string(table.description)}"
            )
        done.append(table.qualified_name)
    return done


def _check_schema(spark: SparkSession, table: Table, location: str) -> None:
    actual = {f.name: f.dataType for f in spark.read.format("delta").load(location).schema}
    for field in spark_schema_of_columns(table.columns):
        if field.name not in actual:
            raise TableError(
                f"column {field.name!r} of the spec is missing (has {sorted(actual)})",
                table=table.qualified_name,
                location=location,
            )
        if actual[field.name] != field.dataType:
            raise TableError(
                f"column {field.name!r} is {actual[field.name].simpleString()}, "
                f"spec says {field.dataType.simpleString()}",
                table=table.qualified_name,
                location=location,
            )
