"""The local Kafka broker, topic set-up and the ``services`` CLI, against real brokers.

Brokers here run the Apache Kafka jars on free loopback ports in temporary folders; the shared
session broker comes from ``tests/fixtures/kafka.py``.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from kafka import KafkaConsumer, KafkaProducer

from data_contracts.topics import ALL_TOPICS, DETECTIONS, TopicSpec, record_key
from storeheat.exceptions import ConfigError, DependencyFetchError
from storeheat.services import jars
from storeheat.services.exceptions import (
    JarFetchError,
    PortInUseError,
    ServiceStartError,
    ServiceUnreachableError,
    TopicError,
)
from storeheat.services.kafka import (
    KAFKA_COORDINATES,
    LocalKafka,
    bootstrap_servers,
    ensure_topics,
    topic_layout,
)
from tests.fixtures.kafka import free_tcp_ports

pytestmark = pytest.mark.integration

HOUR_MS = 3_600_000
ROOT = Path(__file__).resolve().parents[3]


def _broker(root: Path) -> LocalKafka:
    port, controller_port = free_tcp_ports(2)
    return LocalKafka(data_dir=root / "data", state_dir=root / "run", port=port,
                      controller_port=controller_port)


def _brokers_using(config_file: Path) -> list[int]:
    """Pids of every java process started with this broker's config file."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"kafka.Kafka" in cmd and str(config_file).encode() in cmd:
            pids.append(int(entry.name))
    return pids


def _produce(bootstrap: str, topic: str, records: list[tuple[bytes, bytes]]) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True,
                             linger_ms=5)
    try:
        for key, value in records:
            producer.send(topic, key=key, value=value)
        producer.flush(timeout=30)
    finally:
        producer.close()


def _consume(bootstrap: str, topic: str, expected: int) -> list[tuple[bytes, bytes, int]]:
    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                             enable_auto_commit=False, group_id=None,
                             consumer_timeout_ms=15_000)
    got: list[tuple[bytes, bytes, int]] = []
    try:
        for msg in consumer:
            got.append((msg.key, msg.value, msg.partition))
            if len(got) >= expected:
                break
    finally:
        consumer.close()
    return got


# -- the session broker -----------------------------------------------------------------


def test_session_broker_has_every_topic_as_specified(kafka_bootstrap: str) -> None:
    layout = topic_layout(kafka_bootstrap, [s.name for s in ALL_TOPICS])
    assert layout == {s.name: (s.partitions, s.retention_hours * HOUR_MS) for s in ALL_TOPICS}


def test_keyed_records_round_trip_in_order_per_camera(
    kafka_bootstrap: str, kafka_topic: Callable[..., str]
) -> None:
    topic = kafka_topic(partitions=3)
    cams = [("store-1", f"cam-{i}") for i in range(4)]
    records = [(record_key(s, c), json.dumps({"camera": c, "n": n}).encode())
               for n in range(10) for s, c in cams]
    _produce(kafka_bootstrap, topic, records)

    got = _consume(kafka_bootstrap, topic, len(records))

    assert sorted((k, v) for k, v, _ in got) == sorted(records)
    for s, c in cams:
        key = record_key(s, c)
        mine = [(json.loads(v)["n"], p) for k, v, p in got if k == key]
        assert [n for n, _ in mine] == list(range(10))  # per-key order kept
        assert len({p for _, p in mine}) == 1  # one camera -> one partition


def test_ensure_topics_is_idempotent_and_only_grows(kafka_bootstrap: str) -> None:
    name = f"test.ensure.{os.getpid()}"
    assert ensure_topics(kafka_bootstrap, [TopicSpec(name, 1, 1)]) == {name: "created"}
    assert ensure_topics(kafka_bootstrap, [TopicSpec(name, 1, 1)]) == {name: "ok"}
    assert ensure_topics(kafka_bootstrap, [TopicSpec(name, 4, 48)]) == {name: "altered"}
    assert topic_layout(kafka_bootstrap, [name]) == {name: (4, 48 * HOUR_MS)}

    with pytest.raises(TopicError, match=rf"{name}.*4 partitions.*asks for 2"):
        ensure_topics(kafka_bootstrap, [TopicSpec(name, 2, 48)])


@pytest.mark.parametrize(
    ("spec", "error"),
    [
        (TopicSpec("test.bad", 0, 1), TopicError),
        (TopicSpec("test.bad", 1, 0), TopicError),
    ],
)
def test_ensure_topics_rejects_bad_specs(
    kafka_bootstrap: str, spec: TopicSpec, error: type[Exception]
) -> None:
    with pytest.raises(error, match="test.bad"):
        ensure_topics(kafka_bootstrap, [spec])


def test_ensure_topics_on_a_dead_address_says_so() -> None:
    (port,) = free_tcp_ports(1)
    with pytest.raises(ServiceUnreachableError, match=f"127.0.0.1:{port}") as info:
        ensure_topics(f"127.0.0.1:{port}", ALL_TOPICS, timeout_s=2)
    assert info.value.transient


# -- a broker of our own: start, stop, restart, faults ------------------------------------


@pytest.fixture(scope="module")
def own_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKafka]:
    broker = _broker(tmp_path_factory.mktemp("own-kafka"))
    yield broker
    broker.stop()


def test_start_twice_runs_one_broker(own_broker: LocalKafka) -> None:
    assert own_broker.start() is True
    pid = own_broker.pid()

    assert own_broker.start() is False

    assert own_broker.pid() == pid
    assert _brokers_using(own_broker.config_file) == [pid]
    assert own_broker.status().running


def test_records_survive_a_restart(own_broker: LocalKafka) -> None:
    own_broker.start()
    spec = TopicSpec("test.restart", 2, 1)
    ensure_topics(own_broker.bootstrap, [spec])
    records = [(record_key("s1", f"c{i % 2}"), f"event-{i}".encode()) for i in range(20)]
    _produce(own_broker.bootstrap, spec.name, records)

    assert own_broker.stop() is True
    assert not own_broker.is_running()
    assert not _brokers_using(own_broker.config_file)
    assert own_broker.stop() is False
    assert own_broker.start() is True

    got = _consume(own_broker.bootstrap, spec.name, len(records))
    assert sorted((k, v) for k, v, _ in got) == sorted(records)
    assert topic_layout(own_broker.bootstrap, [spec.name]) == {spec.name: (2, HOUR_MS)}


@pytest.mark.parametrize("which", ["port", "controller_port"])
def test_taken_port_is_named_with_the_log_file(tmp_path: Path, which: str) -> None:
    broker = _broker(tmp_path)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", getattr(broker, which)))
        squatter.listen()
        with pytest.raises(PortInUseError) as info:
            broker.start(timeout_s=60)
    message = str(info.value)
    assert str(getattr(broker, which)) in message
    assert str(broker.log_file) in message
    assert info.value.port == getattr(broker, which)
    assert not info.value.transient
    assert not broker.is_running()


def test_broker_that_fails_to_start_names_its_log(tmp_path: Path) -> None:
    broker = _broker(tmp_path)
    # Storage formatted for another node: the real broker refuses to start on it.
    broker.data_dir.mkdir(parents=True)
    (broker.data_dir / "meta.properties").write_text(
        "version=1\ncluster.id=AAAAAAAAAAAAAAAAAAAAAA\nnode.id=7\n"
        "directory.id=AAAAAAAAAAAAAAAAAAAAAQ\n"
    )
    with pytest.raises(ServiceStartError) as info:
        broker.start(timeout_s=120)
    assert str(broker.log_file) in str(info.value)
    assert info.value.exit_code not in (None, 0)
    assert not broker.is_running()
    assert not broker.pid_file.exists()


def test_empty_jar_cache_without_registry_names_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(JarFetchError) as info:
        jars.resolve("kafka-offline", KAFKA_COORDINATES, cache_dir=tmp_path / "jars",
                     offline=True, maven_repo=tmp_path / "empty-m2")
    message = str(info.value)
    assert "org.apache.kafka:kafka_2.13" in message
    assert str(tmp_path / "jars" / "kafka-offline") in message
    assert isinstance(info.value, DependencyFetchError) and info.value.transient


@pytest.mark.parametrize(
    ("coordinates", "exclude"),
    [(["org.apache.kafka:kafka_2.13"], ()), (["a:b:c"], ["a-b"]), ([], ())],
)
def test_resolve_rejects_malformed_coordinates(
    tmp_path: Path, coordinates: list[str], exclude: tuple[str, ...]
) -> None:
    with pytest.raises(ValueError, match="jar"):
        jars.resolve("g", coordinates, exclude=exclude, cache_dir=tmp_path)


# -- configuration ------------------------------------------------------------------------


def test_bootstrap_servers_prefers_the_external_cluster(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.setenv("STOREHEAT_KAFKA_PORT", "40001")
    assert bootstrap_servers() == "127.0.0.1:40001"
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka-a:9092,kafka-b:9092")
    assert bootstrap_servers() == "kafka-a:9092,kafka-b:9092"


@pytest.mark.parametrize("value", ["abc", "0", "70000"])
def test_bad_port_variable_is_named(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.setenv("STOREHEAT_KAFKA_PORT", value)
    with pytest.raises(ConfigError, match=f"STOREHEAT_KAFKA_PORT.*{value}"):
        bootstrap_servers()


def test_server_properties_bind_loopback_ports(tmp_path: Path) -> None:
    broker = LocalKafka(data_dir=tmp_path / "d", state_dir=tmp_path / "r", port=41000,
                        controller_port=41001)
    props = broker.server_properties()
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:41000,CONTROLLER://127.0.0.1:41001"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:41001"
    assert props["log.dirs"] == str(tmp_path / "d")
    assert props["auto.create.topics.enable"] == "false"
    with pytest.raises(ValueError, match="differ"):
        LocalKafka(data_dir=tmp_path, state_dir=tmp_path, port=41000, controller_port=41000)


# -- the CLI ------------------------------------------------------------------------------


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "storeheat.cli", "services", *args],
                          env=env, capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture
def cli_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    port, controller_port = free_tcp_ports(2)
    env = {k: v for k, v in os.environ.items() if k != "KAFKA_BOOTSTRAP_SERVERS"}
    env.update(STOREHEAT_HOME=str(tmp_path / "state"), STOREHEAT_KAFKA_PORT=str(port),
               STOREHEAT_KAFKA_CONTROLLER_PORT=str(controller_port))
    # Share the project's jar cache so the CLI does not resolve Kafka again.
    jar_root = ROOT / ".state" / "cache" / "jars"
    (tmp_path / "state" / "cache").mkdir(parents=True)
    if jar_root.exists():
        (tmp_path / "state" / "cache" / "jars").symlink_to(jar_root)
    yield env
    _cli(env, "down", "kafka")


def test_cli_up_twice_status_down(cli_env: dict[str, str]) -> None:
    port = cli_env["STOREHEAT_KAFKA_PORT"]
    first = _cli(cli_env, "up", "kafka")
    assert first.returncode == 0, first.stderr
    assert f"kafka         running  127.0.0.1:{port}" in first.stdout
    assert "started" in first.stdout

    second = _cli(cli_env, "up", "kafka")
    assert second.returncode == 0, second.stderr
    assert "already running" in second.stdout
    config = Path(cli_env["STOREHEAT_HOME"]) / "run" / "kafka-server.properties"
    assert len(_brokers_using(config)) == 1

    status = _cli(cli_env, "status")
    assert f"running  127.0.0.1:{port}" in status.stdout
    layout = topic_layout(f"127.0.0.1:{port}", [s.name for s in ALL_TOPICS])
    assert {n: p for n, (p, _) in layout.items()} == {s.name: s.partitions for s in ALL_TOPICS}

    down = _cli(cli_env, "down", "kafka")
    assert down.returncode == 0, down.stderr
    assert "stopped" in down.stdout
    assert not _brokers_using(config)
    assert (Path(cli_env["STOREHEAT_HOME"]) / "kafka" / "data" / "meta.properties").exists()


def test_cli_port_taken_exits_2_naming_port_and_log(cli_env: dict[str, str]) -> None:
    port = int(cli_env["STOREHEAT_KAFKA_PORT"])
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        result = _cli(cli_env, "up", "kafka")
    assert result.returncode == 2
    assert f"port {port}" in result.stderr
    assert "STOREHEAT_KAFKA_PORT" in result.stderr
    assert str(Path(cli_env["STOREHEAT_HOME"]) / "run" / "kafka.log") in result.stderr


def test_cli_with_external_cluster_starts_nothing(
    cli_env: dict[str, str], kafka_bootstrap: str
) -> None:
    env = dict(cli_env, KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap)
    up = _cli(env, "up", "kafka")
    assert up.returncode == 0, up.stderr
    assert f"running  {kafka_bootstrap}" in up.stdout and "external" in up.stdout
    assert not (Path(env["STOREHEAT_HOME"]) / "run" / "kafka.pid").exists()
    assert not (Path(env["STOREHEAT_HOME"]) / "kafka").exists()


def test_cli_up_applies_the_store_configs_topic_overrides(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    store = yaml.safe_load((ROOT / "configs" / "demo-store.yaml").read_text())
    store["kafka"]["topics"] = {"storeheat.segments.v1": {"partitions": 5, "retention_hours": 2}}
    config = tmp_path / "store.yaml"
    config.write_text(yaml.safe_dump(store))
    env = dict(cli_env, STOREHEAT_STORE_CONFIG=str(config))

    up = _cli(env, "up", "kafka")

    assert up.returncode == 0, up.stderr
    layout = topic_layout(f"127.0.0.1:{env['STOREHEAT_KAFKA_PORT']}",
                          [s.name for s in ALL_TOPICS])
    assert layout["storeheat.segments.v1"] == (5, 2 * HOUR_MS)
    assert layout["storeheat.detections.v1"] == (DETECTIONS.partitions,
                                                 DETECTIONS.retention_hours * HOUR_MS)


def test_cli_up_with_a_broken_store_config_names_it(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    config = tmp_path / "store.yaml"
    config.write_text("kafka: [\n")
    result = _cli(dict(cli_env, STOREHEAT_STORE_CONFIG=str(config)), "up", "kafka")
    assert result.returncode == 2
    assert str(config) in result.stderr
    assert not (Path(cli_env["STOREHEAT_HOME"]) / "run" / "kafka.pid").exists()


def test_cli_rejects_unknown_service(cli_env: dict[str, str]) -> None:
    result = _cli(cli_env, "up", "zookeeper")
    assert result.returncode == 2
    assert "unknown service 'zookeeper'" in result.stderr

