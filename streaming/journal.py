"""A bounded, append-only on-disk journal of events waiting for Kafka.

When the broker is unreachable the publisher appends each serialized event here and a replay
loop sends them, oldest first, once the broker is back; a record is removed only after Kafka
acknowledged it. The journal survives a restart of the worker: whatever was not acknowledged is
replayed by the next run. It holds contract JSON only (topic, key, value) and never pixels.

Layout of the folder::

    00000000000000000001.jnl   records, appended
    00000000000000000002.jnl   next file once the previous reached ``file_bytes``
    cursor.json                 {"file": 1, "offset": 1234}: everything before is acknowledged

Each record is ``length (4 bytes, big endian) | crc32 (4) | payload``; the payload is the JSON
``{"t": topic, "k": key, "v": value}``. A torn record at the very end of the newest file (a
crash mid-write) is cut off on open; a bad record anywhere else is a
:class:`~streaming.runtime_exceptions.JournalCorruptError`.

Examples:
    >>> j = Journal(tmp / "journal", max_bytes=1 << 20)             # doctest: +SKIP
    >>> j.append(JournalRecord("storeheat.detections.v1", b"s/c", b"{...}"))  # doctest: +SKIP
    >>> batch = j.peek(100)                                          # doctest: +SKIP
    >>> j.ack(batch[-1].next_position)                               # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import struct
import threading
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from streaming.runtime_exceptions import JournalCorruptError, JournalError, JournalFullError

_HEADER = struct.Struct(">II")
_SUFFIX = ".jnl"
_CURSOR = "cursor.json"
#: Largest record accepted (Kafka's default max message size).
MAX_RECORD_BYTES = 1 << 20

FsyncPolicy = Literal["always", "interval", "never"]


@dataclass(frozen=True, slots=True)
class JournalRecord:
    """One event as it will be sent to Kafka.

    Attributes:
        topic: Destination topic.
        key: Record key (``store_id/camera_id``).
        value: The event's contract JSON.
        event_id: The event's id (for acknowledgement listeners and logs).
        capture_ts: Capture time of the frame, seconds since 1970 (for capture→ack latency).
    """

    topic: str
    key: bytes
    value: bytes
    event_id: str = ""
    capture_ts: float | None = None

    def encode(self) -> bytes:
        return json.dumps(
            {"t": self.topic, "k": self.key.decode(), "v": self.value.decode(),
             "i": self.event_id, "c": self.capture_ts},
            separators=(",", ":"),
        ).encode()

    @classmethod
    def decode(cls, raw: bytes) -> JournalRecord:
        data = json.loads(raw)
        return cls(topic=data["t"], key=data["k"].encode(), value=data["v"].encode(),
                   event_id=data.get("i", ""), capture_ts=data.get("c"))


@dataclass(frozen=True, slots=True, order=True)
class Position:
    """A place in the journal: file number and byte offset in it."""

    file: int
    offset: int


@dataclass(frozen=True, slots=True)
class Entry:
    """A record read back by :meth:`Journal.peek`, with the position just after it."""

    record: JournalRecord
    next_position: Position


def _file_name(number: int) -> str:
    return f"{number:020d}{_SUFFIX}"


class Journal:
    """Append-only record log with a capacity limit, in-order reads and truncation after ack.

    Thread-safe: one thread may append while another peeks and acknowledges.

    Attributes:
        path: The journal folder.
        max_bytes: Capacity: bytes of unacknowledged records (plus framing) it will hold.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        max_bytes: int = 512 * 1024 * 1024,
        file_bytes: int = 16 * 1024 * 1024,
        fsync: FsyncPolicy = "always",
        fsync_interval_s: float = 1.0,
    ) -> None:
        """Open (or create) the journal in ``path`` and recover its state.

        Args:
            path: Folder of the journal; created if missing.
            max_bytes: Capacity limit; an append beyond it raises :class:`JournalFullError`.
            file_bytes: A new file is started once the current one is this large, so
                acknowledged data can be deleted file by file.
            fsync: ``always``: every append reaches the disk before it returns (no loss on
                power failure); ``interval``: at most every ``fsync_interval_s``; ``never``:
                left to the OS (a process crash loses nothing, a power cut may).
            fsync_interval_s: Period of the ``interval`` policy.

        Raises:
            JournalError: the folder cannot be created or read.
            JournalCorruptError: a record in the middle of the journal is damaged.
        """
        if max_bytes <= 0 or file_bytes <= 0:
            raise ValueError(
                f"max_bytes and file_bytes must be positive: {max_bytes}, {file_bytes}"
            )
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.file_bytes = file_bytes
        self.fsync = fsync
        self.fsync_interval_s = fsync_interval_s
        self._lock = threading.Lock()
        self._last_sync = 0.0
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise JournalError(str(self.path), f"cannot create the folder: {exc}") from exc
        self._cursor = self._read_cursor()
        self._files = self._list_files()
        self._recover_tail()
        if not self._files:
            self._files = [max(self._cursor.file, 1)]
        self._write_file = self._files[-1]
        self._write_handle = self._open_for_append(self._write_file)
        self._count = self._count_pending()

    # -- state ----------------------------------------------------------------------------

    def _list_files(self) -> list[int]:
        try:
            numbers = sorted(
                int(p.name[: -len(_SUFFIX)]) for p in self.path.glob(f"*{_SUFFIX}")
                if p.name[: -len(_SUFFIX)].isdigit()
            )
        except OSError as exc:
            raise JournalError(str(self.path), f"cannot list the folder: {exc}") from exc
        # Files wholly before the cursor are acknowledged leftovers of an interrupted truncation.
        for n in [n for n in numbers if n < self._cursor.file]:
            with contextlib.suppress(OSError):
                (self.path / _file_name(n)).unlink()
        return [n for n in numbers if n >= self._cursor.file]

    def _read_cursor(self) -> Position:
        p = self.path / _CURSOR
        if not p.exists():
            return Position(0, 0)
        try:
            data = json.loads(p.read_text())
            return Position(int(data["file"]), int(data["offset"]))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise JournalCorruptError(str(p), f"unreadable cursor: {exc}") from exc

    def _write_cursor(self, pos: Position) -> None:
        p = self.path / _CURSOR
        tmp = p.with_suffix(".tmp")
        try:
            with open(tmp, "w") as fh:
                json.dump({"file": pos.file, "offset": pos.offset}, fh)
                fh.flush()
                if self.fsync != "never":
                    os.fsync(fh.fileno())
            os.replace(tmp, p)
        except OSError as exc:
            raise JournalError(str(p), f"cannot write the cursor: {exc}") from exc

    def _scan(self, number: int, start: int, limit: int | None = None
              ) -> tuple[list[tuple[bytes, int]], int, bool]:
        """Records of one file from ``start`` (at most ``limit``): (payload, end offset) list,
        last good end, torn."""
        path = self.path / _file_name(number)
        out: list[tuple[bytes, int]] = []
        try:
            with open(path, "rb") as fh:
                fh.seek(start)
                pos = start
                while True:
                    head = fh.read(_HEADER.size)
                    if not head:
                        return out, pos, False
                    if len(head) < _HEADER.size:
                        return out, pos, True
                    length, crc = _HEADER.unpack(head)
                    payload = fh.read(length)
                    if len(payload) < length or zlib.crc32(payload) != crc:
                        return out, pos, True
                    pos += _HEADER.size + length
                    out.append((payload, pos))
                    if limit is not None and len(out) >= limit:
                        return out, pos, False
        except FileNotFoundError:
            return out, start, False
        except OSError as exc:
            raise JournalError(str(path), f"cannot read: {exc}") from exc

    def _recover_tail(self) -> None:
        for i, number in enumerate(self._files):
            start = self._cursor.offset if number == self._cursor.file else 0
            _, good_end, torn = self._scan(number, start)
            if not torn:
                continue
            if i != len(self._files) - 1:
                raise JournalCorruptError(
                    str(self.path / _file_name(number)),
                    f"damaged record at byte {good_end} (not at the end of the journal)",
                )
            # A crash mid-append leaves a partial record at the very end: drop it.
            with open(self.path / _file_name(number), "r+b") as fh:
                fh.truncate(good_end)

    def _open_for_append(self, number: int):  # type: ignore[no-untyped-def]
        path = self.path / _file_name(number)
        try:
            return open(path, "ab")
        except OSError as exc:
            raise JournalError(str(path), f"cannot open for appending: {exc}") from exc

    def _count_pending(self) -> int:
        total = 0
        for number in self._files:
            start = self._cursor.offset if number == self._cursor.file else 0
            total += len(self._scan(number, start)[0])
        return total

    def _pending_bytes(self) -> int:
        total = 0
        for number in self._files:
            try:
                size = (self.path / _file_name(number)).stat().st_size
            except FileNotFoundError:
                continue
            total += size - (self._cursor.offset if number == self._cursor.file else 0)
        return total

    # -- public -------------------------------------------------------------------------

    @property
    def depth(self) -> int:
        """Records appended and not yet acknowledged."""
        return self._count

    @property
    def pending_bytes(self) -> int:
        """Bytes of unacknowledged records, framing included."""
        with self._lock:
            return self._pending_bytes()

    def __len__(self) -> int:
        return self._count

    def append(self, record: JournalRecord) -> None:
        """Append one record (durable per the fsync policy when this returns).

        Raises:
            JournalFullError: the journal holds ``max_bytes`` already, or the disk is full;
                the record was not stored.
            JournalError: any other write failure.
        """
        payload = record.encode()
        if len(payload) > MAX_RECORD_BYTES:
            raise JournalError(
                str(self.path), f"record of {len(payload)} bytes exceeds {MAX_RECORD_BYTES}"
            )
        frame = _HEADER.pack(len(payload), zlib.crc32(payload)) + payload
        with self._lock:
            if self._pending_bytes() + len(frame) > self.max_bytes:
                raise JournalFullError(
                    str(self.path),
                    f"full: {self._count} records waiting, limit {self.max_bytes} bytes "
                    "(Kafka has been unreachable for long; events are being lost)",
                )
            if self._write_handle.tell() >= self.file_bytes:
                self._roll()
            start = self._write_handle.tell()
            try:
                self._write_handle.write(frame)
                self._write_handle.flush()
                self._maybe_sync()
            except OSError as exc:
                self._undo(start)
                if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
                    raise JournalFullError(
                        str(self.path), f"disk full ({exc.strerror}); record not stored"
                    ) from exc
                raise JournalError(str(self.path), f"write failed: {exc}") from exc
            self._count += 1

    def _undo(self, start: int) -> None:
        """Cut a partly written record so the file stays a clean sequence of records."""
        with contextlib.suppress(OSError):
            self._write_handle.close()
        path = self.path / _file_name(self._write_file)
        with contextlib.suppress(OSError), open(path, "r+b") as fh:
            fh.truncate(start)
        self._write_handle = self._open_for_append(self._write_file)

    def _maybe_sync(self) -> None:
        if self.fsync == "always" or (
            self.fsync == "interval" and time.monotonic() - self._last_sync >= self.fsync_interval_s
        ):
            os.fsync(self._write_handle.fileno())
            self._last_sync = time.monotonic()

    def _roll(self) -> None:
        self._write_handle.close()
        self._write_file += 1
        self._files.append(self._write_file)
        self._write_handle = self._open_for_append(self._write_file)

    def peek(self, max_records: int = 500) -> list[Entry]:
        """Up to ``max_records`` oldest unacknowledged records, in append order."""
        out: list[Entry] = []
        if max_records <= 0:
            return out
        with self._lock:
            self._write_handle.flush()
            for number in list(self._files):
                start = self._cursor.offset if number == self._cursor.file else 0
                records, _, _ = self._scan(number, start, max_records - len(out))
                for payload, end in records:
                    out.append(Entry(JournalRecord.decode(payload), Position(number, end)))
                    if len(out) >= max_records:
                        return out
        return out

    def ack(self, position: Position, *, count: int | None = None) -> None:
        """Everything before ``position`` reached Kafka: forget it (files are deleted whole).

        Args:
            position: ``next_position`` of the last acknowledged entry.
            count: How many records that is, when the caller knows (saves a re-read).

        Raises:
            JournalError: the cursor cannot be written.
        """
        with self._lock:
            if position <= self._cursor:
                return
            acked = 0
            for number in self._files if count is None else ():
                if number > position.file:
                    break
                start = self._cursor.offset if number == self._cursor.file else 0
                stop = position.offset if number == position.file else None
                for _, end in self._scan(number, start)[0]:
                    if stop is not None and end > stop:
                        break
                    acked += 1
            self._write_cursor(position)
            self._cursor = position
            self._count = max(0, self._count - (acked if count is None else count))
            for number in [n for n in self._files if n < position.file]:
                with contextlib.suppress(OSError):
                    (self.path / _file_name(number)).unlink()
            self._files = [n for n in self._files if n >= position.file]
            drained = self._count == 0 and position.file == self._write_file
            if drained and self._write_handle.tell() > 0:
                # Fully drained: start a fresh file so the drained one can be deleted.
                self._roll()
                self._write_cursor(Position(self._write_file, 0))
                self._cursor = Position(self._write_file, 0)
                old = [n for n in self._files if n < self._write_file]
                for number in old:
                    with contextlib.suppress(OSError):
                        (self.path / _file_name(number)).unlink()
                self._files = [self._write_file]

    def close(self) -> None:
        """Flush and close the file being appended to."""
        with self._lock:
            with contextlib.suppress(OSError):
                self._write_handle.flush()
                if self.fsync != "never":
                    os.fsync(self._write_handle.fileno())
            self._write_handle.close()
