"""Publishing events to Kafka with an on-disk journal for when the broker is away.

:class:`Publisher` sends each contract event with kafka-python (``acks='all'``, idempotent
producer, retries within ``delivery_timeout_s``), keyed ``store_id/camera_id`` so a camera's
events stay in one partition. While the broker is unreachable, events go to the
:class:`~streaming.journal.Journal` instead; a background thread probes the broker, replays the
journal oldest first once it is back (removing each record only after Kafka acknowledged it),
and then returns to direct sending. Nothing acknowledged by :meth:`Publisher.publish` is lost:
every record is delivered, or kept in the journal (which the next run replays). A record may
be delivered twice around an outage; its deterministic event id makes that harmless downstream.

Order: a camera's events keep their order except around the moment the broker goes away,
when records that were in flight fail back into the journal after a few newer ones.

Examples:
    >>> journal = Journal(".state/journal/w1")                          # doctest: +SKIP
    >>> pub = Publisher(bootstrap="127.0.0.1:39092", journal=journal)   # doctest: +SKIP
    >>> pub.publish(event, capture_time=frame.capture_time)            # doctest: +SKIP
    >>> pub.close(timeout_s=10)                                         # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Protocol

from data_contracts.topics import record_key
from streaming.journal import Journal, JournalRecord
from streaming.metrics import WorkerMetrics
from streaming.runtime_exceptions import JournalError, JournalFullError, PublishError

log = logging.getLogger(__name__)


class ContractEvent(Protocol):
    """What :meth:`Publisher.publish` sends: a ``data_contracts.events`` model."""

    TOPIC: ClassVar[str]
    event_id: str
    store_id: str
    camera_id: str

    def to_json(self) -> bytes: ...


@dataclass(frozen=True, slots=True)
class Ack:
    """One record acknowledged by Kafka.

    Attributes:
        topic: Topic written.
        event_id: The event's id.
        latency_s: Capture → acknowledgement, seconds (None when the capture time is unknown).
        replayed: True when it came from the journal.
    """

    topic: str
    event_id: str
    latency_s: float | None
    replayed: bool


ProducerFactory = Callable[[], Any]


class Publisher:
    """Sends events to Kafka; journals them while the broker is unreachable.

    Thread-safe: the worker's loop calls :meth:`publish`; the replay thread and kafka-python's
    I/O thread run the callbacks.

    Attributes:
        journal: Where undelivered events wait.
        connected: True while events go straight to Kafka.
    """

    def __init__(
        self,
        *,
        bootstrap: str,
        journal: Journal,
        metrics: WorkerMetrics | None = None,
        client_id: str = "storeheat-worker",
        delivery_timeout_s: float = 10.0,
        bootstrap_timeout_s: float = 5.0,
        max_block_s: float = 2.0,
        linger_ms: int = 5,
        replay_interval_s: float = 1.0,
        replay_batch: int = 500,
        on_ack: Callable[[Ack], None] | None = None,
        producer_factory: ProducerFactory | None = None,
    ) -> None:
        """Connect (or start journaling if the broker is away) and start the replay thread.

        Args:
            bootstrap: Kafka bootstrap servers.
            journal: The on-disk journal (its leftovers from an earlier run are replayed).
            metrics: Where to count deliveries, errors and the journal's depth.
            client_id: Kafka client id (appears in broker logs).
            delivery_timeout_s: How long kafka-python retries a record before it is handed to
                the journal; also how fast an outage is noticed.
            bootstrap_timeout_s: How long connecting to the broker may take.
            max_block_s: Longest :meth:`publish` may block on Kafka (metadata, full buffer).
            linger_ms: Batching delay of the producer.
            replay_interval_s: Period of the broker probe while journaling.
            replay_batch: Records replayed per round trip.
            on_ack: Called for every acknowledged record (from a background thread).
            producer_factory: Builds the producer (default: kafka-python ``KafkaProducer``
                with the settings above); used by tests of pure logic.
        """
        self.journal = journal
        self.metrics = metrics
        self.bootstrap = bootstrap
        self.on_ack = on_ack
        self.replay_interval_s = replay_interval_s
        self.replay_batch = replay_batch
        self._delivery_timeout_s = delivery_timeout_s
        self._factory = producer_factory or self._kafka_factory(
            bootstrap=bootstrap, client_id=client_id, delivery_timeout_s=delivery_timeout_s,
            bootstrap_timeout_s=bootstrap_timeout_s, max_block_s=max_block_s,
            linger_ms=linger_ms,
        )
        self._lock = threading.RLock()
        self._inflight: dict[int, JournalRecord] = {}
        self._seq = itertools.count()
        self._producer: Any = None
        self._retired: Any = None
        self._down_since: float | None = None
        self._closed = False
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._last_full_log = 0.0
        self.lost = 0
        if self.journal.depth == 0:
            self._producer = self._connect()
        self._update_gauges()
        self._thread = threading.Thread(target=self._replay_loop, name="journal-replay",
                                        daemon=True)
        self._thread.start()

    # -- producer -------------------------------------------------------------------------

    @staticmethod
    def _kafka_factory(*, bootstrap: str, client_id: str, delivery_timeout_s: float,
                       bootstrap_timeout_s: float, max_block_s: float, linger_ms: int
                       ) -> ProducerFactory:
        def make() -> Any:
            from kafka import KafkaProducer

            request_timeout_ms = max(1000, int(delivery_timeout_s * 1000) - linger_ms - 500)
            return KafkaProducer(
                bootstrap_servers=bootstrap,
                client_id=client_id,
                acks="all",
                enable_idempotence=True,
                retries=2**31 - 1,  # bounded by delivery_timeout_ms, then the journal takes over
                delivery_timeout_ms=int(delivery_timeout_s * 1000),
                request_timeout_ms=min(request_timeout_ms, 30000),
                max_block_ms=int(max_block_s * 1000),
                bootstrap_timeout_ms=int(bootstrap_timeout_s * 1000),
                linger_ms=linger_ms,
                reconnect_backoff_max_ms=1000,
                allow_auto_create_topics=False,
            )

        return make

    def _connect(self) -> Any:
        try:
            producer = self._factory()
        except Exception as exc:  # kafka-python raises KafkaTimeoutError, or others per cause
            self._count_error(exc)
            # One warning per outage; the probes that follow are counted, not logged.
            level = logging.DEBUG if self._down_since is not None else logging.WARNING
            if self._down_since is None:
                self._down_since = time.monotonic()
            log.log(level, "kafka unreachable at %s (%s: %s); journaling events",
                    self.bootstrap, type(exc).__name__, exc)
            return None
        if self._down_since is not None:
            log.info("kafka reachable again at %s after %.0f s", self.bootstrap,
                     time.monotonic() - self._down_since)
            self._down_since = None
        else:
            log.info("kafka connected at %s", self.bootstrap)
        return producer

    @property
    def connected(self) -> bool:
        return self._producer is not None and self.journal.depth == 0

    def _count_error(self, exc: BaseException) -> None:
        if self.metrics is not None:
            self.metrics.kafka_errors.labels(kind=type(exc).__name__).inc()

    def _update_gauges(self) -> None:
        if self.metrics is not None:
            self.metrics.journal_depth.set(self.journal.depth)
            self.metrics.journal_bytes.set(self.journal.pending_bytes)
            self.metrics.kafka_connected.set(1 if self.connected else 0)

    # -- publishing -----------------------------------------------------------------------

    def publish(self, event: ContractEvent, *, capture_time: datetime | None = None) -> bool:
        """Send one event (or journal it while Kafka is away).

        Args:
            event: A contract model (``FrameDetections``, ``VideoSegment``).
            capture_time: Capture time of the frame, for the capture→ack latency.

        Returns:
            True if the event was handed to Kafka or stored in the journal; False if it was
            lost because the journal is full (counted in ``journal_full_total`` and logged).

        Raises:
            PublishError: the publisher is closed.
            JournalError: the journal failed for a reason other than space.
        """
        record = JournalRecord(
            topic=event.TOPIC,
            key=record_key(event.store_id, event.camera_id),
            value=event.to_json(),
            event_id=event.event_id,
            capture_ts=capture_time.timestamp() if capture_time is not None else None,
        )
        return self.publish_record(record)

    def publish_record(self, record: JournalRecord) -> bool:
        """Like :meth:`publish` for an already serialized record."""
        with self._lock:
            if self._closed:
                raise PublishError(record.topic, record.event_id, "publisher is closed")
            producer = self._producer
            if producer is None or self.journal.depth > 0:
                return self._to_journal(record)
            seq = next(self._seq)
            self._inflight[seq] = record
        try:
            future = producer.send(record.topic, value=record.value, key=record.key)
        except Exception as exc:  # KafkaTimeoutError (metadata, full buffer) and the like
            with self._lock:
                self._inflight.pop(seq, None)
            self._fail_over(producer, exc)
            return self._to_journal(record)
        future.add_callback(self._on_success, seq, record, False)
        future.add_errback(self._on_failure, seq, producer)
        return True

    def _to_journal(self, record: JournalRecord) -> bool:
        try:
            self.journal.append(record)
        except JournalFullError as exc:
            self.lost += 1
            if self.metrics is not None:
                self.metrics.journal_full.inc()
            now = time.monotonic()
            if now - self._last_full_log > 10.0:  # one line per 10 s, not one per frame
                self._last_full_log = now
                log.error("event lost: %s (lost so far: %d)", exc, self.lost)
            return False
        finally:
            self._update_gauges()
        return True

    def _on_success(self, seq: int, record: JournalRecord, replayed: bool, _meta: Any) -> None:
        with self._lock:
            if not replayed and self._inflight.pop(seq, None) is None:
                return  # already handed to the journal by a timed-out close
        self._acked(record, replayed=replayed)

    def _acked(self, record: JournalRecord, *, replayed: bool) -> None:
        latency = time.time() - record.capture_ts if record.capture_ts is not None else None
        if self.metrics is not None:
            self.metrics.events_published.labels(topic=record.topic).inc()
            if latency is not None:
                self.metrics.capture_to_ack.observe(max(latency, 0.0))
        if self.on_ack is not None:
            self.on_ack(Ack(record.topic, record.event_id, latency, replayed))

    def _on_failure(self, seq: int, producer: Any, exc: BaseException) -> None:
        with self._lock:
            record = self._inflight.pop(seq, None)
        if record is None:
            return
        self._fail_over(producer, exc)
        self._to_journal(record)

    def _fail_over(self, producer: Any, exc: BaseException) -> None:
        """Stop sending directly: later events go to the journal until the broker is back."""
        self._count_error(exc)
        with self._lock:
            if self._producer is not producer:
                return
            self._producer = None
            self._retired = producer
        log.warning("kafka delivery failed (%s: %s); journaling events until it is back",
                    type(exc).__name__, exc)
        self._update_gauges()
        self._wake.set()

    # -- replay ---------------------------------------------------------------------------

    def _retire(self, producer: Any, *, timeout_s: float) -> None:
        """Close a producer; whatever it still holds goes to the journal (never lost).

        Records still buffered after ``timeout_s`` are swept into the journal; if the broker
        acknowledges one of them later anyway, it arrives twice (same event id).
        """
        with contextlib.suppress(Exception):
            producer.flush(timeout=max(timeout_s, 0.01))
        _hard_close(producer)
        with self._lock:
            left = list(self._inflight.items())
            self._inflight.clear()
        for _, record in sorted(left, key=lambda kv: kv[0]):
            self._to_journal(record)

    def _replay_loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.replay_interval_s)
            self._wake.clear()
            if self._stop.is_set():
                return
            retired, self._retired = self._retired, None
            if retired is not None:
                # Let kafka-python finish its own retries first: every record ends acked or
                # failed (then journaled by the errback) within the delivery timeout.
                self._retire(retired, timeout_s=self._delivery_timeout_s + 2.0)
            if self._producer is not None and self.journal.depth == 0:
                continue
            try:
                self._replay_once()
            except JournalError as exc:
                log.error("journal replay stopped: %s", exc)
                self._stop.wait(self.replay_interval_s)

    def _replay_once(self) -> None:
        producer = self._producer
        if producer is None:
            producer = self._connect()
            if producer is None:
                return
        while not self._stop.is_set():
            entries = self.journal.peek(self.replay_batch)
            if not entries:
                with self._lock:
                    if self.journal.depth == 0:  # nothing slipped in: back to direct sending
                        self._producer = producer
                        self._update_gauges()
                        log.info("journal drained; sending to kafka directly again")
                        return
                continue
            acked = 0
            try:
                futures = [producer.send(e.record.topic, value=e.record.value, key=e.record.key)
                           for e in entries]
                producer.flush(timeout=self._delivery_timeout_s + 5.0)
                for f in futures:
                    f.get(timeout=0)
                    acked += 1
            except Exception as exc:  # delivery failed: keep the rest for the next probe
                self._count_error(exc)
                if acked:
                    self.journal.ack(entries[acked - 1].next_position, count=acked)
                for e in entries[:acked]:
                    self._acked(e.record, replayed=True)
                self._update_gauges()
                log.warning("journal replay interrupted after %d records (%s: %s)",
                            acked, type(exc).__name__, exc)
                with self._lock:
                    if self._producer is producer:
                        self._producer = None
                self._retire(producer, timeout_s=0.0)
                self._update_gauges()
                return
            self.journal.ack(entries[-1].next_position, count=len(entries))
            for e in entries:
                self._acked(e.record, replayed=True)
            self._update_gauges()

    # -- shutdown -------------------------------------------------------------------------

    def flush(self, *, timeout_s: float = 10.0) -> bool:
        """Wait until direct sends are acknowledged; True when nothing is in flight."""
        producer = self._producer
        if producer is not None:
            with contextlib.suppress(Exception):
                producer.flush(timeout=timeout_s)
        with self._lock:
            return not self._inflight

    def close(self, *, timeout_s: float = 10.0, drain_journal: bool = False) -> None:
        """Flush, then stop. Records not acknowledged in time are kept in the journal.

        Args:
            timeout_s: How long to wait for Kafka's acknowledgements.
            drain_journal: Also wait (up to ``timeout_s``) for the journal to drain.
        """
        deadline = time.monotonic() + timeout_s
        if drain_journal:
            while self.journal.depth and time.monotonic() < deadline:
                self._wake.set()
                time.sleep(0.1)
        with self._lock:
            self._closed = True
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=max(1.0, deadline - time.monotonic()) + 5.0)
        producer, self._producer = self._producer, None
        if producer is not None:
            self._retire(producer, timeout_s=max(0.0, deadline - time.monotonic()))
        self._update_gauges()
        self.journal.close()
        log.info("publisher closed; %d events wait in the journal %s", self.journal.depth,
                 self.journal.path)

    def stats(self) -> dict[str, Any]:
        """Facts for ``/healthz``: connection, journal depth, events lost."""
        return {"kafka_connected": self.connected, "journal_depth": self.journal.depth,
                "events_lost": self.lost}


def _hard_close(producer: Any) -> None:
    """Close a kafka-python producer now, failing (not sending) what it still buffers.

    ``KafkaProducer.close(timeout)`` first flushes and raises ``KafkaTimeoutError`` when that
    times out, leaving its I/O thread running; then the sender is force-closed, which fails
    the remaining batches (their errbacks run) and ends the thread.
    """
    try:
        producer.close(timeout=0.5)
        return
    except Exception:  # kafka-python's flush timeout; the producer is still open
        pass
    sender = getattr(producer, "_sender", None)
    if sender is not None:
        sender.force_close()
        sender.join(5.0)
    with contextlib.suppress(Exception):
        producer.close(timeout=0.5)


def event_ids(values: list[bytes]) -> list[str]:
    """The ``event_id`` of each raw record value (helper for consumers and tests)."""
    return [json.loads(v)["event_id"] for v in values]
