"""The on-disk journal: order, acknowledgement, capacity, restart and torn tails."""

from __future__ import annotations

from pathlib import Path

import pytest

from streaming.journal import Journal, JournalRecord
from streaming.runtime_exceptions import JournalCorruptError, JournalFullError


def _rec(i: int, size: int = 10) -> JournalRecord:
    value = f'{{"i":{i},"p":"{"x" * size}"}}'.encode()
    return JournalRecord("storeheat.detections.v1", b"demo/cam-1", value)


def _values(entries: list) -> list[int]:  # type: ignore[type-arg]
    import json

    return [json.loads(e.record.value)["i"] for e in entries]


def test_records_come_back_in_append_order_and_ack_removes_them(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j", file_bytes=200)  # small files: the journal rolls several times
    for i in range(30):
        j.append(_rec(i))
    assert j.depth == 30
    first = j.peek(12)
    assert _values(first) == list(range(12))
    j.ack(first[-1].next_position)
    assert j.depth == 18
    assert _values(j.peek(100)) == list(range(12, 30))
    rest = j.peek(100)
    j.ack(rest[-1].next_position)
    assert j.depth == 0 and j.peek(10) == []
    # acknowledged files are deleted, only the current file remains
    assert len(list((tmp_path / "j").glob("*.jnl"))) == 1


def test_journal_survives_restart_with_only_unacknowledged_records(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j", file_bytes=150)
    for i in range(10):
        j.append(_rec(i))
    j.ack(j.peek(4)[-1].next_position)
    j.close()
    again = Journal(tmp_path / "j", file_bytes=150)
    assert again.depth == 6
    assert _values(again.peek(100)) == list(range(4, 10))
    again.append(_rec(10))
    assert _values(again.peek(100)) == list(range(4, 11))


def test_capacity_limit_raises_a_clear_error_and_keeps_earlier_records(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j", max_bytes=400)
    stored = 0
    with pytest.raises(JournalFullError, match="full") as info:
        for i in range(100):
            j.append(_rec(i))
            stored += 1
    assert info.value.transient is True
    assert str(tmp_path / "j") in str(info.value)
    assert 0 < stored < 100 and j.depth == stored
    assert _values(j.peek(1000)) == list(range(stored))
    # draining frees space again
    j.ack(j.peek(1000)[-1].next_position)
    j.append(_rec(999))
    assert _values(j.peek(10)) == [999]


def test_torn_record_at_the_end_is_cut_on_open(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j")
    for i in range(3):
        j.append(_rec(i))
    j.close()
    [f] = list((tmp_path / "j").glob("*.jnl"))
    data = f.read_bytes()
    f.write_bytes(data[:-5])  # a crash in the middle of the last append
    again = Journal(tmp_path / "j")
    assert _values(again.peek(10)) == [0, 1]
    again.append(_rec(3))
    assert _values(again.peek(10)) == [0, 1, 3]


def test_damage_in_the_middle_is_reported_not_skipped(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j", file_bytes=100)
    for i in range(6):
        j.append(_rec(i))
    j.close()
    files = sorted((tmp_path / "j").glob("*.jnl"))
    assert len(files) >= 2
    raw = bytearray(files[0].read_bytes())
    raw[12] ^= 0xFF
    files[0].write_bytes(bytes(raw))
    with pytest.raises(JournalCorruptError, match="damaged record"):
        Journal(tmp_path / "j", file_bytes=100)


@pytest.mark.parametrize(
    ("max_bytes", "file_bytes", "error"),
    [(0, 10, ValueError), (10, 0, ValueError), (-1, -1, ValueError)],
)
def test_bad_limits_are_rejected(tmp_path: Path, max_bytes: int, file_bytes: int,
                                 error: type[Exception]) -> None:
    with pytest.raises(error, match="positive"):
        Journal(tmp_path / "j", max_bytes=max_bytes, file_bytes=file_bytes)


def test_ack_with_a_known_count_matches_a_counted_ack(tmp_path: Path) -> None:
    counted, told = Journal(tmp_path / "a", file_bytes=120), Journal(tmp_path / "b", file_bytes=120)
    for j in (counted, told):
        for i in range(9):
            j.append(_rec(i))
    batch = counted.peek(5)
    counted.ack(batch[-1].next_position)
    told.ack(told.peek(5)[-1].next_position, count=5)
    assert counted.depth == told.depth == 4
    assert _values(counted.peek(10)) == _values(told.peek(10)) == [5, 6, 7, 8]
    assert counted.peek(0) == []
