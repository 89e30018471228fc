"""How long the local Kafka broker takes to become usable, and to stop.

Starts :class:`storeheat.services.kafka.LocalKafka` on free loopback ports in a temporary
folder, with the project's jar cache (run ``storeheat services fetch`` first so jar resolution
is not timed), and prints:

- cold start: format the KRaft storage + start the JVM until it answers a metadata request;
- topic set-up: create the project's topics;
- stop: SIGTERM until the process is gone;
- warm start: start again on the same (formatted, non-empty) data directory.

Usage: ``python -m benchmarks.kafka_startup [--runs 3]``
"""

from __future__ import annotations

import argparse
import logging
import socket
import statistics
import tempfile
import time
from pathlib import Path

from data_contracts.topics import ALL_TOPICS
from storeheat.services.kafka import KAFKA_VERSION, LocalKafka, ensure_topics, kafka_jars


def _free_ports(count: int) -> list[int]:
    socks = [socket.socket() for _ in range(count)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def run_once(root: Path) -> dict[str, float]:
    """One cold start, topic set-up, stop and warm start in ``root``; seconds per phase."""
    port, controller_port = _free_ports(2)
    broker = LocalKafka(data_dir=root / "data", state_dir=root / "run", port=port,
                        controller_port=controller_port)
    out: dict[str, float] = {}
    t0 = time.perf_counter()
    broker.start()
    out["cold start"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    ensure_topics(broker.bootstrap, ALL_TOPICS)
    out["create topics"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    broker.stop()
    out["stop"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    broker.start()
    out["warm start"] = time.perf_counter() - t0
    broker.stop()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    logging.getLogger("kafka").setLevel(logging.WARNING)
    kafka_jars()  # resolution is a one-off; not part of what is measured
    results: dict[str, list[float]] = {}
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="storeheat-kafka-bench-") as tmp:
            for phase, seconds in run_once(Path(tmp)).items():
                results.setdefault(phase, []).append(seconds)
    print(f"Kafka {KAFKA_VERSION} single-node KRaft, -Xmx512m, {args.runs} runs")
    for phase, values in results.items():
        print(f"  {phase:<14} median {statistics.median(values):6.2f} s   "
              f"min {min(values):6.2f} s   max {max(values):6.2f} s")


if __name__ == "__main__":
    main()
