"""Silver: parse bronze records with the contract, validate, deduplicate; failures to quarantine.

The transforms are pure DataFrame → DataFrame functions; :func:`run_silver` is the thin
streaming job around them. Every rule comes from :mod:`data_contracts`:

* the Spark schema of a topic's value is :func:`data_contracts.derive.spark_schema` of its
  event model;
* the column rules (nullability, bounds, patterns, allowed values) are generated as Spark
  expressions from the same :class:`~data_contracts.derive.Column` specs the Great
  Expectations suites are generated from, so the two can never disagree;
* the model's cross-field rules (event id is the hash of what identifies the event, box
  corners in order, floor point consistent with ``on_floor``, box inside the frame, no unknown
  fields) are checked by the pydantic model itself (:meth:`from_json`) in a vectorised UDF.

A record that fails any of them goes to ``storeheat.quarantine`` with its raw bytes, an error
type (``parse``: not a JSON object; ``contract``: breaks a rule) and a reason naming the field
and the value. Nothing is dropped: each batch's counts (valid, quarantined per field) are
logged and returned.

Silver is fed incrementally from the bronze Delta table with its own checkpoint; each batch is
written insert-only on the table key (:func:`insert_new`), so a replayed batch (after a crash)
or a duplicate delivery (same event id) adds nothing.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from data_contracts import topics
from data_contracts.derive import Column, columns_of, expectation_suite, spark_schema
from data_contracts.events import Detection, FrameDetections, VideoSegment, _Contract
from data_contracts.exceptions import ContractError
from data_contracts.tables import (
    BRONZE_RECORDS,
    QUARANTINE,
    SILVER_DETECTIONS,
    SILVER_FRAMES,
    SILVER_SEGMENTS,
    Table,
)
from spark_jobs.exceptions import StreamError
from spark_jobs.session import ensure_tables, session_lake_root, table_location

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import Column as SparkColumn
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)

#: Name of the column holding the parsed value struct during validation.
PARSED = "parsed"
_CORRUPT = "_corrupt_record"

# --- rules from column specs --------------------------------------------------------------


def _fmt(value: float) -> str:
    return repr(int(value)) if float(value).is_integer() else repr(value)


def column_checks(
    columns: Sequence[Column], value_of: Callable[[str], SparkColumn], *, path: SparkColumn | str
) -> list[tuple[SparkColumn, SparkColumn]]:
    """Each rule of each column spec as (``broken``, ``reason``) Spark expressions.

    ``broken`` is a never-null boolean; ``reason`` is ``"<path><field>=<value>: <rule>"``.
    Keeping the two apart lets a batch test every row with cheap booleans and build reason
    strings only for the rows that break something.

    Args:
        columns: Column specs (from :func:`data_contracts.derive.columns_of` or a Table).
        value_of: Maps a column name to the Spark expression of its value (e.g. a struct field).
        path: Prefix of the field path in reasons (``""`` or an expression such as
            ``detections.3.``).

    Returns:
        One (broken, reason) pair per rule, in column order.
    """
    from pyspark.sql import functions as F

    prefix = F.lit(path) if isinstance(path, str) else path
    out: list[tuple[SparkColumn, SparkColumn]] = []
    for c in columns:
        v = value_of(c.name)
        shown = F.coalesce(v.cast("string"), F.lit("null"))

        def reason(text: str, _name: str = c.name, _shown: SparkColumn = shown) -> SparkColumn:
            return F.concat(prefix, F.lit(f"{_name}="), _shown, F.lit(f": {text}"))

        if not c.nullable:
            out.append((v.isNull(), reason("required, got null")))
        checks: list[tuple[SparkColumn, str]] = []
        if c.ge is not None:
            checks.append((v < F.lit(c.ge), f"must be >= {_fmt(c.ge)}"))
        if c.gt is not None:
            checks.append((v <= F.lit(c.gt), f"must be > {_fmt(c.gt)}"))
        if c.le is not None:
            checks.append((v > F.lit(c.le), f"must be <= {_fmt(c.le)}"))
        if c.lt is not None:
            checks.append((v >= F.lit(c.lt), f"must be < {_fmt(c.lt)}"))
        if c.pattern is not None:
            checks.append((~v.rlike(c.pattern), f"must match {c.pattern}"))
        if c.allowed is not None:
            checks.append((~v.isin(list(c.allowed)), f"must be one of {list(c.allowed)}"))
        # A null breaks no bound: nullability is its own rule above. The coalesce keeps the
        # flag a plain boolean (a comparison with null would be null, not false).
        out.extend(
            (v.isNotNull() & F.coalesce(broken, F.lit(False)), reason(text))
            for broken, text in checks
        )
    return out


def column_rules(
    columns: Sequence[Column], value_of: Callable[[str], SparkColumn], *, path: SparkColumn | str
) -> list[SparkColumn]:
    """Spark expressions, one per rule of each column spec, giving a reason or null.

    Args:
        columns: Column specs (from :func:`data_contracts.derive.columns_of` or a Table).
        value_of: Maps a column name to the Spark expression of its value (e.g. a struct field).
        path: Prefix of the field path in reasons (``""`` or an expression such as
            ``detections.3.``).

    Returns:
        String expressions: ``"<path><field>=<value>: <rule>"`` when the rule is broken, else
        null.
    """
    from pyspark.sql import functions as F

    return [F.when(broken, reason) for broken, reason in column_checks(columns, value_of,
                                                                       path=path)]


def _any(flags: Sequence[SparkColumn]) -> SparkColumn:
    from pyspark.sql import functions as F

    out = F.lit(False)
    for flag in flags:
        out = out | flag
    return out


def _join_reasons(reasons: Sequence[SparkColumn]) -> SparkColumn:
    from pyspark.sql import functions as F

    joined = F.concat_ws("; ", *reasons) if reasons else F.lit("")
    return F.when(joined != "", joined)


def _checks_reason(checks: Sequence[tuple[SparkColumn, SparkColumn]]) -> SparkColumn:
    """The joined reasons of the broken checks, or null; strings are built only when needed."""
    from pyspark.sql import functions as F

    if not checks:
        return F.lit(None).cast("string")
    joined = F.concat_ws("; ", *[F.when(broken, reason) for broken, reason in checks])
    return F.when(_any([broken for broken, _ in checks]), joined)


# --- the pydantic model as a vectorised check ----------------------------------------------


def _model_check(model: type[_Contract]) -> Callable[[SparkColumn], SparkColumn]:
    """A pandas UDF: ``struct<error_type, reason>`` from ``model.from_json``, null if valid."""
    import pandas as pd
    from pyspark.sql.functions import pandas_udf

    def check(values: pd.Series) -> pd.DataFrame:
        kinds: list[str | None] = []
        reasons: list[str | None] = []
        for raw in values:
            if raw is None:
                kinds.append("parse")
                reasons.append("value=null: record has no value")
                continue
            try:
                model.from_json(raw)
            except ContractError as exc:
                kinds.append("contract" if _is_json_object(raw) else "parse")
                reasons.append("; ".join(str(v) for v in exc.violations[:10]))
            else:
                kinds.append(None)
                reasons.append(None)
        return pd.DataFrame({"error_type": kinds, "reason": reasons})

    # Spark reads the UDF's kind from its hints; with postponed annotations they are strings
    # naming a module-local import, so hand it the real types.
    check.__annotations__ = {"values": pd.Series, "return": pd.DataFrame}
    udf = pandas_udf(check, "error_type string, reason string")  # type: ignore[call-overload]
    return udf  # type: ignore[no-any-return]


def _is_json_object(raw: bytes) -> bool:
    try:
        return isinstance(json.loads(raw), dict)
    except ValueError:  # includes UnicodeDecodeError and JSONDecodeError
        return False


# --- parse + validate -----------------------------------------------------------------------


def validate_records(
    records: DataFrame, model: type[_Contract], *, model_check: bool = True
) -> DataFrame:
    """Parse ``value`` with the model's Spark schema and attach ``error_type`` / ``reason``.

    Args:
        records: Bronze-shaped rows (``key``, ``value``, ``topic``, ``partition``, ``offset``,
            ``kafka_timestamp``).
        model: The event model of the records' topic.
        model_check: Also run the pydantic model (cross-field rules, unknown fields). Only
            turn off to measure its cost.

    Returns:
        ``records`` plus ``parsed`` (the value struct, null when unparseable), ``error_type``
        and ``reason`` (both null for a valid record).
    """
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    schema = spark_schema(model)
    with_corrupt = T.StructType([*schema.fields, T.StructField(_CORRUPT, T.StringType())])
    parsed = F.from_json(
        F.col("value").cast("string"),
        with_corrupt,
        {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": _CORRUPT},
    )
    df = records.withColumn("_p", parsed)
    p = F.col("_p")
    flat = [c for c in columns_of(model, exclude=_list_fields(model))]
    reasons = [_checks_reason(column_checks(flat, lambda n: p[n], path=""))]
    if model is FrameDetections:
        reasons.append(_detection_reasons(p["detections"]))
    not_json = F.col("value").isNull() | p.isNull() | p[_CORRUPT].isNotNull()
    spark_reason = F.when(
        F.col("value").isNull(), F.lit("value=null: record has no value")
    ).when(not_json, F.lit(f"value: not a valid {model.TOPIC} JSON record")).otherwise(
        _join_reasons(reasons)
    )
    df = df.withColumn("_sr", spark_reason)
    if model_check:
        df = df.withColumn("_m", _model_check(model)(F.col("value")))
        # The model knows whether unparseable bytes were JSON at all (a wrong type is a
        # contract break, not a parse failure), so its verdict on the kind wins.
        error_type = F.coalesce(
            F.col("_m.error_type"),
            F.when(not_json, "parse").when(F.col("_sr").isNotNull(), "contract"),
        )
        reason = F.coalesce(F.col("_sr"), F.col("_m.reason"))
        # A value Spark could not parse is best explained by pydantic (it names the field).
        reason = F.when(not_json & F.col("_m.reason").isNotNull(), F.col("_m.reason")).otherwise(
            reason
        )
    else:
        error_type = F.when(not_json, "parse").when(F.col("_sr").isNotNull(), "contract")
        reason = F.col("_sr")
    fields = [F.col("_p")[f.name].alias(f.name) for f in schema.fields]
    return (
        df.withColumn("error_type", error_type.cast("string"))
        .withColumn("reason", reason)
        .withColumn(PARSED, F.when(~not_json, F.struct(*fields)))
        .drop("_p", "_sr", "_m")
    )


def _list_fields(model: type[_Contract]) -> set[str]:
    import typing

    out = set()
    for name, info in model.model_fields.items():
        ann = info.annotation
        if typing.get_origin(ann) is list:
            out.add(name)
    return out


def _detection_reasons(detections: SparkColumn) -> SparkColumn:
    """Reasons for every broken rule of every detection, named ``detections.<i>.<field>``."""
    from pyspark.sql import functions as F

    det_cols = columns_of(Detection)

    def broken(d: SparkColumn) -> SparkColumn:
        return _any([b for b, _ in column_checks(det_cols, lambda n: d[n], path="")])

    def per_item(d: SparkColumn, i: SparkColumn) -> SparkColumn:
        path = F.concat(F.lit("detections."), i.cast("string"), F.lit("."))
        return _checks_reason(column_checks(det_cols, lambda n: d[n], path=path))

    # Higher-order functions run interpreted, so first ask the cheap question (does any
    # detection break a rule?) and build the per-detection reason strings only for the rows
    # where one does; that was most of the validation time of a valid batch.
    per = F.filter(F.transform(detections, per_item), lambda r: r.isNotNull())
    return F.when(
        F.coalesce(F.exists(detections, broken), F.lit(False)), F.array_join(per, "; ")
    )


def quarantine_rows(checked: DataFrame) -> DataFrame:
    """The failed records of :func:`validate_records`, shaped as ``storeheat.quarantine``."""
    from pyspark.sql import functions as F

    return (
        checked.where(F.col("reason").isNotNull())
        .withColumn("quarantined_at", F.current_timestamp())
        .withColumn("quarantine_date", F.to_date("quarantined_at"))
        .select(*[c.name for c in QUARANTINE.columns])
    )


def valid_rows(checked: DataFrame) -> DataFrame:
    """The parsed values of the records that passed, one struct column each, deduplicated.

    When the same event id arrives more than once the first record by (partition, offset)
    wins, so the choice is deterministic.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    valid = checked.where(F.col("reason").isNull()).select(
        f"{PARSED}.*", "topic", "partition", "offset", "kafka_timestamp"
    )
    first = Window.partitionBy("event_id").orderBy("partition", "offset")
    return (
        valid.withColumn("_rn", F.row_number().over(first)).where("_rn = 1").drop("_rn")
    )


def to_frames(valid: DataFrame) -> DataFrame:
    """One ``storeheat.silver_frames`` row per valid frame event."""
    from pyspark.sql import functions as F

    return (
        valid.withColumn("detection_count", F.size("detections").cast("long"))
        .withColumn("capture_date", F.to_date("capture_time"))
        .select(*[c.name for c in SILVER_FRAMES.columns])
    )


def to_detections(valid: DataFrame) -> DataFrame:
    """One ``storeheat.silver_detections`` row per detection of each valid frame event."""
    from pyspark.sql import functions as F

    det_names = [c.name for c in columns_of(Detection)]
    exploded = valid.select(
        "*", F.posexplode("detections").alias("detection_index", "_det")
    ).withColumn("detection_index", F.col("detection_index").cast("long"))
    for name in det_names:
        exploded = exploded.withColumn(name, F.col("_det")[name])
    return exploded.withColumn("capture_date", F.to_date("capture_time")).select(
        *[c.name for c in SILVER_DETECTIONS.columns]
    )


def to_segments(valid: DataFrame) -> DataFrame:
    """One ``storeheat.silver_segments`` row per valid segment, in the hot tier."""
    from pyspark.sql import functions as F

    return (
        valid.withColumn("tier", F.lit("hot"))
        .withColumn("tier_uri", F.col("uri"))
        # When the segment entered the hot tier: when its manifest reached Kafka.
        .withColumn("tier_changed_at", F.col("kafka_timestamp"))
        .withColumn("start_date", F.to_date("start_time"))
        .select(*[c.name for c in SILVER_SEGMENTS.columns])
    )


#: The topics silver reads, and their event models (the dead-letter topic stays in bronze).
DEFAULT_TOPIC_MODELS: dict[str, type[_Contract]] = {
    topics.DETECTIONS.name: FrameDetections,
    topics.SEGMENTS.name: VideoSegment,
}

# --- writing ---------------------------------------------------------------------------------


#: Per table: columns matched to the distinct values of a batch and timestamp columns bounded
#: by its min and max, to prune the target when looking for keys already there. A key always
#: comes with the same values of these (an event id is the hash of one frame's identity, which
#: has one capture time; a Kafka offset has one timestamp), so the bounds lose no match.
_LOOKUP_BOUNDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    SILVER_FRAMES.name: (("store_id", "capture_date"), ("capture_time",)),
    SILVER_DETECTIONS.name: (("store_id", "capture_date"), ("capture_time",)),
    SILVER_SEGMENTS.name: (("store_id", "start_date"), ("start_time",)),
    QUARANTINE.name: (("topic",), ("kafka_timestamp",)),
}


def _bounds_filter(
    df: DataFrame, equal: Sequence[str], between: Sequence[str]
) -> SparkColumn | None:
    """A literal filter on the target covering every row of ``df`` (None when df is empty).

    Literal values let Delta skip partitions (store, day) and files (min/max statistics of
    the time column), so the lookup reads about as much of the target as the batch covers,
    not the whole table.
    """
    from pyspark.sql import functions as F

    aggs = [F.collect_set(c).alias(f"e{i}") for i, c in enumerate(equal)]
    for i, c in enumerate(between):
        micros = F.unix_micros(F.col(c))
        aggs += [F.min(micros).alias(f"lo{i}"), F.max(micros).alias(f"hi{i}")]
    row = df.agg(*aggs).first()
    if row is None:
        return None
    cond = F.lit(True)
    for i, c in enumerate(equal):
        values = list(row[f"e{i}"])
        if not values:
            return None
        cond = cond & F.col(c).isin(values)
    for i, c in enumerate(between):
        lo, hi = row[f"lo{i}"], row[f"hi{i}"]
        if lo is None:
            return None
        cond = cond & F.col(c).between(F.timestamp_micros(F.lit(lo)),
                                       F.timestamp_micros(F.lit(hi)))
    return cond


def insert_new(spark: SparkSession, df: DataFrame, table: Table) -> None:
    """Append the rows of ``df`` whose key is not yet in ``table`` (idempotent on replay).

    The same insert-only semantics as a Delta ``MERGE ... WHEN NOT MATCHED INSERT`` on the
    table key, done as a left anti join against the part of the table the batch can touch
    (its stores, days and time range, see :data:`_LOOKUP_BOUNDS`) followed by a plain append.
    MERGE cost 5-10x a plain append per batch here (it materialises the source and runs more
    jobs) and, without literal bounds, scanned the whole growing target.

    Silver must have one writer at a time (one query on one checkpoint): two writers could
    both find a key missing and both append it.

    Args:
        spark: The session.
        df: Rows shaped like ``table``; read twice (bounds, then insert), so pass a cached
            frame when it is costly to compute.
        table: The target table (its folder under the session's lake root).
    """
    from pyspark.sql import functions as F

    location = table_location(table, root=session_lake_root(spark))
    keys = list(table.key)
    target = spark.read.format("delta").load(location)
    equal, between = _LOOKUP_BOUNDS.get(table.name, ((), ()))
    bounds = _bounds_filter(df, equal, between) if equal or between else F.lit(True)
    if bounds is None:
        return  # nothing to insert
    known = target.where(bounds).select(*keys)
    new = df.join(known, on=keys, how="left_anti").select(*df.columns)
    new.write.format("delta").mode("append").save(location)


@dataclass
class SilverStats:
    """What silver did: counts per table and quarantined records per error and field.

    Attributes:
        batches: Micro-batches processed.
        records: Bronze records of the silver topics read.
        frames: Valid frame records (offered to the MERGE, which skips known event ids).
        detections: Detection rows offered to silver_detections.
        segments: Valid segment manifests.
        quarantined: Records sent to quarantine.
        by_reason: Quarantined records per ``"<error_type>:<field>"``.
    """

    batches: int = 0
    records: int = 0
    frames: int = 0
    detections: int = 0
    segments: int = 0
    quarantined: int = 0
    by_reason: Counter[str] = field(default_factory=Counter)

    def add(self, other: SilverStats) -> None:
        self.batches += other.batches
        self.records += other.records
        self.frames += other.frames
        self.detections += other.detections
        self.segments += other.segments
        self.quarantined += other.quarantined
        self.by_reason.update(other.by_reason)


def process_bronze_batch(
    spark: SparkSession,
    batch: DataFrame,
    *,
    model_check: bool = True,
    topic_models: Mapping[str, type[_Contract]] | None = None,
) -> SilverStats:
    """Validate one batch of bronze records and insert what is new into silver and quarantine.

    Args:
        spark: The session.
        batch: Bronze rows (any topics; the dead-letter topic stays in bronze only).
        model_check: See :func:`validate_records`.
        topic_models: Which topics carry which event model (default: the project's
            detections and segments topics). Frame events feed silver_frames and
            silver_detections, segment manifests feed silver_segments.

    Returns:
        The batch's counts.
    """
    from pyspark.sql import functions as F

    stats = SilverStats(batches=1)
    batch = batch.persist()  # read by each topic's validation
    cached: list[DataFrame] = [batch]
    field_of = F.regexp_extract("reason", r"^([^=:;]+)", 1)
    try:
        bad_parts = []
        for topic, model in (topic_models or DEFAULT_TOPIC_MODELS).items():
            checked = validate_records(
                batch.where(F.col("topic") == topic), model, model_check=model_check
            ).persist()  # the model check (a Python UDF) then runs once per record
            cached.append(checked)
            people = (
                F.size(F.col(f"{PARSED}.detections")) if model is FrameDetections else F.lit(0)
            )
            # One job counts everything: valid records, their detections, failures per field.
            valid = detections = failed = 0
            for row in (
                checked.groupBy("error_type", field_of.alias("f"))
                .agg(F.count("*").alias("n"), F.sum(F.when(F.col("reason").isNull(), people))
                     .alias("people"))
                .collect()
            ):
                n = int(row["n"])
                stats.records += n
                if row["error_type"] is None:
                    valid += n
                    detections += int(row["people"] or 0)
                else:
                    stats.by_reason[f"{row['error_type']}:{row['f']}"] += n
                    stats.quarantined += n
                    failed += n
            if failed:
                bad_parts.append(quarantine_rows(checked))
            if valid and model is FrameDetections:
                # Deduplicated once and cached: frames and detections both read it twice.
                rows = valid_rows(checked).persist()
                cached.append(rows)
                stats.frames += valid
                stats.detections += detections
                insert_new(spark, to_frames(rows), SILVER_FRAMES)
                if detections:
                    insert_new(spark, to_detections(rows), SILVER_DETECTIONS)
            elif valid and model is VideoSegment:
                stats.segments += valid
                rows = valid_rows(checked).persist()
                cached.append(rows)
                insert_new(spark, to_segments(rows), SILVER_SEGMENTS)
        if bad_parts:
            bad = bad_parts[0]
            for part in bad_parts[1:]:
                bad = bad.unionByName(part)
            # quarantined_at is the time of this write; fix it once for both reads of ``bad``.
            bad = bad.persist()
            cached.append(bad)
            insert_new(spark, bad, QUARANTINE)
    finally:
        for df in cached:
            df.unpersist()
    log.info(
        "silver batch: %d records, %d frames, %d detections, %d segments, %d quarantined %s",
        stats.records, stats.frames, stats.detections, stats.segments, stats.quarantined,
        dict(stats.by_reason),
    )
    return stats


def silver_stream(spark: SparkSession, *, max_files_per_trigger: int = 1000) -> DataFrame:
    """The bronze Delta table as a stream (new commits only, after the checkpoint's)."""
    location = table_location(BRONZE_RECORDS, root=session_lake_root(spark))
    return (
        spark.readStream.format("delta")
        .option("maxFilesPerTrigger", max_files_per_trigger)
        .load(location)
    )


def run_silver(
    spark: SparkSession,
    *,
    checkpoint_dir: str | None = None,
    available_now: bool = True,
    trigger_interval: str = "10 seconds",
    model_check: bool = True,
    query_name: str = "storeheat_silver",
    timeout_s: float | None = None,
    topic_models: Mapping[str, type[_Contract]] | None = None,
) -> SilverStats:
    """Run silver from bronze: all new bronze records once (``available_now``) or continuously.

    Args:
        spark: A session from :func:`spark_jobs.session.get_spark`.
        checkpoint_dir: The query's checkpoint (default ``<lake root>/_checkpoints/silver``).
        available_now: Process what bronze holds now, then return; else run until stopped.
        trigger_interval: Micro-batch interval when continuous.
        model_check: See :func:`validate_records`.
        query_name: Streaming query name.
        timeout_s: Stop a continuous run after this long (None: until interrupted).
        topic_models: See :func:`process_bronze_batch`.

    Returns:
        Counts over every batch this run processed.

    Raises:
        StreamError: the query failed (restart it: the checkpoint makes that safe).
    """
    ensure_tables(spark, [BRONZE_RECORDS, SILVER_FRAMES, SILVER_DETECTIONS, SILVER_SEGMENTS,
                          QUARANTINE])
    checkpoint = checkpoint_dir or f"{session_lake_root(spark)}/_checkpoints/silver"
    total = SilverStats()
    lock = threading.Lock()

    def each(batch: DataFrame, batch_id: int) -> None:
        stats = process_bronze_batch(
            spark, batch, model_check=model_check, topic_models=topic_models
        )
        with lock:
            total.add(stats)

    writer = (
        silver_stream(spark)
        .writeStream.queryName(query_name)
        .option("checkpointLocation", checkpoint)
        .foreachBatch(each)
    )
    writer = (
        writer.trigger(availableNow=True)
        if available_now
        else writer.trigger(processingTime=trigger_interval)
    )
    await_query(writer.start(), name=query_name, checkpoint=checkpoint, timeout_s=timeout_s)
    return total


def await_query(q: Any, *, name: str, checkpoint: str, timeout_s: float | None = None) -> None:
    """Wait for a streaming query; stop it on timeout or Ctrl-C; raise its failure.

    Raises:
        StreamError: the query ended with an exception.
    """
    try:
        finished = q.awaitTermination(timeout_s) if timeout_s is not None else (
            q.awaitTermination()
        )
        if timeout_s is not None and not finished:
            q.stop()
    except KeyboardInterrupt:
        q.stop()
        raise
    except Exception as exc:  # StreamingQueryException from the JVM
        raise StreamError(str(exc).splitlines()[0][:2000], query=name,
                          checkpoint=checkpoint) from exc


# --- Great Expectations quality gate -----------------------------------------------------------


@dataclass(frozen=True)
class GxReport:
    """Result of a table's Great Expectations suite.

    Attributes:
        table: Qualified table name.
        success: Whether every expectation passed.
        evaluated: Expectations run.
        failures: One line per failed expectation (type, column, unexpected count/values).
    """

    table: str
    success: bool
    evaluated: int
    failures: tuple[str, ...]


def validate_with_gx(df: DataFrame, table: Table, *, raise_on_failure: bool = False) -> GxReport:
    """Run ``table``'s suite (generated from its column specs) on ``df`` with GX 1.x.

    Args:
        df: Rows shaped like ``table`` (e.g. a window of it about to be published).
        table: The table spec whose columns' rules make the suite.
        raise_on_failure: Raise :class:`QualityGateError` instead of returning a failed report.

    Returns:
        The report.

    Raises:
        QualityGateError: when ``raise_on_failure`` and an expectation failed.
    """
    import great_expectations as gx

    from spark_jobs.exceptions import QualityGateError

    context = gx.get_context(mode="ephemeral")
    source = context.data_sources.add_spark(name="storeheat")
    asset = source.add_dataframe_asset(name=table.name)
    batch_def = asset.add_batch_definition_whole_dataframe(f"{table.name}_all")
    suite = context.suites.add(expectation_suite(table.qualified_name, table.columns))
    batch = batch_def.get_batch(batch_parameters={"dataframe": df})
    result = batch.validate(suite)
    failures = []
    for r in result.results:
        if r.success:
            continue
        cfg = r.expectation_config
        kind = cfg.type if cfg is not None else "?"
        column = cfg.kwargs.get("column", "") if cfg is not None else ""
        res = r.result or {}
        detail = res.get("unexpected_count")
        sample = res.get("partial_unexpected_list") or res.get("details") or ""
        failures.append(f"{kind}({column}): unexpected {detail} e.g. {str(sample)[:120]}")
    report = GxReport(
        table=table.qualified_name,
        success=bool(result.success),
        evaluated=len(result.results),
        failures=tuple(failures),
    )
    if raise_on_failure and not report.success:
        raise QualityGateError(table.qualified_name, list(failures))
    return report
