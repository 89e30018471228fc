"""Pure logic of the orchestration tasks: windows, cutoffs, tier paths, retention, reports.

The Spark side of these tasks runs in ``tests/dags/test_dags_run.py`` through ``dag.test()``.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from data_contracts.tables import (
    BRONZE_RECORDS,
    GOLD_HEATMAP_CELLS,
    QUARANTINE,
    SILVER_DETECTIONS,
    SILVER_SEGMENTS,
    Table,
)
from storeheat.orchestration.exceptions import MaintenanceSettingError, TieringError
from storeheat.orchestration.maintenance import MIN_RETENTION_HOURS, check_retention, date_partition
from storeheat.orchestration.quality_gate import GateResult
from storeheat.orchestration.spark import _failed_report, job_application, submit_env
from storeheat.orchestration.tiering import Segment, cold_url_for, cutoff_for, move_segment

T = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("reference", "hours", "expected"),
    [
        (T, 24.0, T - timedelta(hours=24)),
        (T, 0.5, T - timedelta(minutes=30)),
        (T.astimezone(ZoneInfo("Europe/Paris")), 1.0, T - timedelta(hours=1)),
        (T.replace(tzinfo=None), 24.0, ValueError),
        (T, 0.0, ValueError),
        (T, -3.0, ValueError),
    ],
)
def test_cutoff_is_reference_minus_retention(
    reference: datetime, hours: float, expected: datetime | type[Exception]
) -> None:
    if isinstance(expected, type):
        with pytest.raises(expected):
            cutoff_for(reference, hours)
    else:
        got = cutoff_for(reference, hours)
        assert got == expected and got.tzinfo is not None


@pytest.mark.parametrize(
    ("hot_url", "expected"),
    [
        ("file:///v/hot/s1/cam1/0001.mp4", "file:///v/cold/s1/cam1/0001.mp4"),
        ("file:///v/hot/deep/er/x.mp4", "file:///v/cold/deep/er/x.mp4"),
        # Outside the hot root (e.g. the root moved): store/camera/file name.
        ("s3://elsewhere/a/b/seg.mp4", "file:///v/cold/s1/cam1/seg.mp4"),
        # A sibling folder whose name merely starts like the root is not inside it.
        ("file:///v/hotter/seg.mp4", "file:///v/cold/s1/cam1/seg.mp4"),
    ],
)
def test_cold_url_keeps_the_path_under_the_hot_root(hot_url: str, expected: str) -> None:
    assert cold_url_for(hot_url, hot_root="file:///v/hot/", cold_root="file:///v/cold",
                        store_id="s1", camera_id="cam1") == expected


def _segment(hot: Path, payload: bytes, *, sha: str | None = None) -> Segment:
    path = hot / "s1" / "cam1" / "0001.mp4"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(payload)
    return Segment("e1", "s1", "cam1", path.as_uri(), len(payload),
                   sha or hashlib.sha256(payload).hexdigest())


def test_move_segment_copies_verifies_and_is_idempotent(tmp_path: Path) -> None:
    payload = b"blurred mp4 bytes" * 1000
    seg = _segment(tmp_path / "hot", payload)
    roots = {"hot_root": (tmp_path / "hot").as_uri(), "cold_root": (tmp_path / "cold").as_uri()}
    dst = move_segment(seg, **roots)
    cold = tmp_path / "cold" / "s1" / "cam1" / "0001.mp4"
    assert dst == cold.as_uri() and cold.read_bytes() == payload
    assert not list(cold.parent.glob("*.partial"))
    # The hot file stays until the table records the move (the caller deletes it).
    assert Path(seg.tier_uri.removeprefix("file://")).exists()
    # Again, and after the hot file is gone: the verified cold copy is enough.
    assert move_segment(seg, **roots) == dst
    Path(seg.tier_uri.removeprefix("file://")).unlink()
    assert move_segment(seg, **roots) == dst


def test_move_segment_refuses_a_file_that_does_not_match_its_record(tmp_path: Path) -> None:
    seg = _segment(tmp_path / "hot", b"tampered", sha="0" * 64)
    roots = {"hot_root": (tmp_path / "hot").as_uri(), "cold_root": (tmp_path / "cold").as_uri()}
    with pytest.raises(TieringError) as excinfo:
        move_segment(seg, **roots)
    assert excinfo.value.transient is False
    assert "the segment record says" in str(excinfo.value) and seg.tier_uri in str(excinfo.value)
    assert not (tmp_path / "cold").exists()


def test_move_segment_reports_a_missing_hot_file(tmp_path: Path) -> None:
    seg = Segment("e1", "s1", "cam1", (tmp_path / "hot" / "gone.mp4").as_uri(), 10, "a" * 64)
    with pytest.raises(TieringError, match="hot file missing"):
        move_segment(seg, hot_root=(tmp_path / "hot").as_uri(),
                     cold_root=(tmp_path / "cold").as_uri())


@pytest.mark.parametrize(
    ("table", "expected"),
    [(BRONZE_RECORDS, "ingest_date"), (SILVER_DETECTIONS, "capture_date"),
     (SILVER_SEGMENTS, "start_date"), (QUARANTINE, "quarantine_date"),
     (GOLD_HEATMAP_CELLS, "bucket_date"),
     (Table("t", SILVER_DETECTIONS.columns, ("store_id",), ("event_id",), "x"), None)],
)
def test_date_partition_of_each_table(table: Table, expected: str | None) -> None:
    assert date_partition(table) == expected


@pytest.mark.parametrize(("hours", "ok"), [(168.0, True), (720.0, True), (167.9, False),
                                            (0.0, False), (float("nan"), False)])
def test_vacuum_retention_below_seven_days_is_refused(hours: float, ok: bool) -> None:
    if ok:
        assert check_retention(hours) == hours
    else:
        with pytest.raises(MaintenanceSettingError, match=f"{MIN_RETENTION_HOURS:.0f} h"):
            check_retention(hours)


def test_gate_report_is_readable_and_round_trips() -> None:
    failed = GateResult("storeheat.silver_detections", "s1", T, T + timedelta(hours=1), 80, 31,
                        ("expect_column_values_to_be_between(confidence): unexpected 1",))
    text = failed.text
    assert not failed.passed
    assert text.splitlines()[0] == (
        "quality gate FAILED: storeheat.silver_detections store 's1' window "
        "[2026-11-25T12:00:00+00:00, 2026-11-25T13:00:00+00:00): 80 rows, 31 expectations")
    assert "  - expect_column_values_to_be_between(confidence): unexpected 1" in text
    assert "nothing is published to gold for this window" in text
    data = json.loads(failed.to_json())
    assert data["passed"] is False and data["text"] == text and data["rows"] == 80
    passed = GateResult("storeheat.silver_detections", "s1", T, T + timedelta(hours=1), 0, 0, ())
    assert passed.passed and "PASSED" in passed.text and "\n" not in passed.text


def test_failed_report_becomes_the_message_only_when_the_job_said_it_failed(
    tmp_path: Path,
) -> None:
    report = tmp_path / "r.json"
    assert _failed_report(None) is None
    assert _failed_report(report) is None  # the job never wrote one (crashed early)
    report.write_text(json.dumps({"passed": True, "text": "ok"}))
    assert _failed_report(report) is None
    report.write_text(json.dumps({"passed": False, "text": "quality gate FAILED: x"}))
    assert _failed_report(report) == "quality gate FAILED: x"
    report.write_text("{not json")
    assert _failed_report(report) is None


def test_job_application_finds_the_job_file_without_running_it() -> None:
    path = job_application("storeheat.orchestration.quality_gate")
    assert path.endswith(os.path.join("storeheat", "orchestration", "quality_gate.py"))
    with pytest.raises(ModuleNotFoundError):
        job_application("storeheat.orchestration.no_such_job")


def test_submit_env_uses_this_interpreter_and_passes_the_master(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PYSPARK_PYTHON", raising=False)
    monkeypatch.delenv("PYSPARK_DRIVER_PYTHON", raising=False)
    env = submit_env("spark://cluster:7077", {"EXTRA": "1"})
    assert env["PYSPARK_PYTHON"] == sys.executable == env["PYSPARK_DRIVER_PYTHON"]
    assert env["PATH"].split(os.pathsep)[0] == str(Path(sys.executable).parent)
    assert env["STOREHEAT_SPARK_MASTER"] == "spark://cluster:7077"
    assert env["EXTRA"] == "1"
