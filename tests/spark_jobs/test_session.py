"""The session factory: cached jars, tables from their specs, tables by name across sessions."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from data_contracts.derive import Column, spark_schema_of_columns
from data_contracts.tables import (
    BRONZE_RECORDS,
    QUARANTINE,
    SILVER_DETECTIONS,
    SILVER_FRAMES,
    SILVER_SEGMENTS,
    Table,
)
from data_contracts.topics import DETECTIONS
from spark_jobs.exceptions import TableError
from spark_jobs.session import (
    DELTA_JAR,
    KAFKA_JAR,
    ensure_tables,
    register_lake_tables,
    spark_jars,
    table_location,
)
from spark_jobs.silver import process_bronze_batch
from storeheat.paths import REPO_ROOT
from tests.spark_jobs.events import BRONZE_DDL, bronze_rows, frame

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

pytestmark = pytest.mark.integration


def test_jars_come_from_the_cache_offline_without_pyspark_duplicates() -> None:
    jars = {j.name for j in spark_jars(offline=True)}
    delta_artifact, delta_version = DELTA_JAR.split(":")[1:]
    kafka_artifact, kafka_version = KAFKA_JAR.split(":")[1:]
    assert f"{delta_artifact}-{delta_version}.jar" in jars
    assert f"{kafka_artifact}-{kafka_version}.jar" in jars
    assert any(j.startswith("kafka-clients-") for j in jars)
    import pyspark

    folder = Path(pyspark.__file__).parent / "jars"
    shipped = {p.name.rsplit("-", 1)[0] for p in folder.glob("*.jar")}
    assert not {j.rsplit("-", 1)[0] for j in jars} & shipped


def test_ensure_tables_creates_specs_and_is_idempotent(spark: SparkSession, clean_lake: str
                                                       ) -> None:
    mine = [BRONZE_RECORDS, SILVER_FRAMES, SILVER_DETECTIONS, SILVER_SEGMENTS, QUARANTINE]
    names = ensure_tables(spark, mine)
    assert names == [t.qualified_name for t in mine]
    assert ensure_tables(spark, mine) == names
    for table in mine:
        df = spark.table(table.qualified_name)
        expected = spark_schema_of_columns(table.columns)
        assert [(f.name, f.dataType) for f in df.schema] == [
            (f.name, f.dataType) for f in expected
        ]
        detail = spark.sql(f"DESCRIBE DETAIL {table.qualified_name}").first()
        assert detail is not None
        assert list(detail["partitionColumns"]) == list(table.partition_by)
        assert detail["location"].endswith(f"/{table.name}")


def test_a_table_that_breaks_its_spec_is_refused(spark: SparkSession, clean_lake: str) -> None:
    spec = Table(
        name="spec_check",
        columns=(Column("a", "long", False, "a"), Column("b", "string", True, "b")),
        partition_by=("a",),
        key=("a",),
        description="test table",
    )
    spark.createDataFrame([(1,)], "a long").write.format("delta").save(
        table_location(spec, root=clean_lake)
    )
    with pytest.raises(TableError, match="column 'b'"):
        ensure_tables(spark, [spec])


def test_tables_are_visible_by_name_from_a_new_session(spark: SparkSession, clean_lake: str
                                                       ) -> None:
    ensure_tables(spark, [BRONZE_RECORDS, SILVER_FRAMES, SILVER_DETECTIONS, QUARANTINE])
    batch = spark.createDataFrame(
        bronze_rows([frame(0, people=2).to_json(), frame(1, people=3).to_json()],
                    topic=DETECTIONS.name),
        BRONZE_DDL,
    )
    assert process_bronze_batch(spark, batch).detections == 5

    # a second JVM: the storeheat sql command, on the same lake
    out = subprocess.run(
        [sys.executable, "-m", "storeheat.cli", "sql", "--lake-root", clean_lake, "-e",
         "SELECT count(*) AS n FROM storeheat.silver_detections; "
         "CREATE TABLE storeheat.analyst_notes (note STRING) USING delta; "
         "INSERT INTO storeheat.analyst_notes VALUES ('made in another session')"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=600, env=dict(os.environ),
        check=False,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("|")]
    assert lines[0].split("|")[1].strip() == "n" and lines[1].split("|")[1].strip() == "5"

    # ...and what that session created by name is found again here
    assert "storeheat.analyst_notes" in register_lake_tables(spark)
    row = spark.sql("SELECT note FROM storeheat.analyst_notes").first()
    assert row is not None and row["note"] == "made in another session"
    assert spark.table(SILVER_DETECTIONS.qualified_name).count() == 5


def test_a_table_folder_left_without_a_commit_is_created_not_registered(
    spark: SparkSession, clean_lake: str
) -> None:
    """A process killed while creating a table leaves ``_delta_log`` with no commit in it.

    The next session must not try to register that folder (Delta refuses: no transaction log),
    and creating the tables must make it a real table at the same place.
    """
    location = Path(table_location(QUARANTINE, root=clean_lake))
    (location / "_delta_log").mkdir(parents=True)
    (location / "_delta_log" / "00000000000000000000.json.tmp").write_text("")

    assert QUARANTINE.qualified_name not in register_lake_tables(spark)
    assert ensure_tables(spark, [QUARANTINE]) == [QUARANTINE.qualified_name]
    assert spark.table(QUARANTINE.qualified_name).count() == 0
    assert QUARANTINE.qualified_name in register_lake_tables(spark)
    assert sorted(p.name for p in (location / "_delta_log").glob("*.json")) == [
        "00000000000000000000.json"
    ]
