"""A local single-node Apache Kafka (KRaft) broker, and the project's topics on any Kafka.

The broker is the real Apache Kafka, run from its jars on Maven Central (resolved once into the
jar cache by :mod:`storeheat.services.jars`), with the broker and controller roles in one JVM
on loopback ports. Its data directory survives restarts. When ``KAFKA_BOOTSTRAP_SERVERS`` is
set, storeheat uses that cluster and starts nothing.

Examples:
    >>> kafka = LocalKafka.from_env()
    >>> kafka.start()                       # no-op if this broker already runs
    >>> ensure_topics(kafka.bootstrap, ALL_TOPICS)
    >>> kafka.stop()                        # data kept in kafka.data_dir
"""

from __future__ import annotations

import base64
import functools
import logging
import os
import signal
import subprocess
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from data_contracts.topics import ALL_TOPICS, TopicSpec
from storeheat.paths import kafka_data_dir, run_dir
from storeheat.services import jars
from storeheat.services.exceptions import ServiceStartError, ServiceUnreachableError, TopicError
from storeheat.services.process import (
    Launch,
    LocalService,
    ServiceStatus,
    accepts,
    cmdline,
    die_with_parent,
    env_port,
    tail,
)

log = logging.getLogger(__name__)

KAFKA_VERSION = "4.4.0"
# kafka_2.13's published POM names slf4j 1.7 with no binding; the Kafka distribution ships
# slf4j 2 routed to log4j2, which is what these two add (nearest declaration wins in Maven).
KAFKA_COORDINATES: tuple[str, ...] = (
    f"org.apache.kafka:kafka_2.13:{KAFKA_VERSION}",
    "org.slf4j:slf4j-api:2.0.17",
    "org.apache.logging.log4j:log4j-slf4j2-impl:2.25.5",
)
JAR_GROUP = f"kafka-{KAFKA_VERSION}"

DEFAULT_PORT = 39092
DEFAULT_CONTROLLER_PORT = 39093
PORT_ENV = "STOREHEAT_KAFKA_PORT"
CONTROLLER_PORT_ENV = "STOREHEAT_KAFKA_CONTROLLER_PORT"
BOOTSTRAP_ENV = "KAFKA_BOOTSTRAP_SERVERS"
HOST = "127.0.0.1"
_MAIN_CLASS = "kafka.Kafka"


def kafka_jars(*, cache_dir: Path | None = None, offline: bool = False) -> list[Path]:
    """The broker's jars, resolved from Maven Central on first use.

    Args:
        cache_dir: Jar cache root (default :func:`storeheat.paths.jar_cache_dir`).
        offline: Use only the cache and the local Maven repository.

    Returns:
        Jar paths for the broker's classpath.

    Raises:
        JarFetchError: Nothing cached and Maven Central unreachable.
    """
    return jars.resolve(JAR_GROUP, KAFKA_COORDINATES, cache_dir=cache_dir, offline=offline)


def external_bootstrap() -> str | None:
    """``KAFKA_BOOTSTRAP_SERVERS`` if set (storeheat then starts no broker), else None."""
    value = os.environ.get(BOOTSTRAP_ENV, "").strip()
    return value or None


def bootstrap_servers() -> str:
    """The Kafka that storeheat talks to: ``KAFKA_BOOTSTRAP_SERVERS`` or the local broker.

    Returns:
        A ``host:port[,host:port]`` bootstrap string.

    Raises:
        ConfigError: ``STOREHEAT_KAFKA_PORT`` is not a port number.
    """
    return external_bootstrap() or f"{HOST}:{env_port(PORT_ENV, DEFAULT_PORT)}"


def _cluster_id() -> str:
    # Kafka's Uuid text form: 16 random bytes, URL-safe base64 without padding.
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


_LOG4J2 = """\
# Written by storeheat: broker logs go to stdout, which storeheat sends to one log file per run.
status = warn
name = storeheat-kafka
appender.out.type = Console
appender.out.name = STDOUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = STDOUT
logger.statechange.name = state.change.logger
logger.statechange.level = WARN
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.authorizer.name = kafka.authorizer.logger
logger.authorizer.level = WARN
logger.cleaner.name = kafka.log.LogCleaner
logger.cleaner.level = WARN
"""


class LocalKafka(LocalService):
    """One single-node Kafka broker (KRaft, broker + controller) on loopback ports.

    Everything is explicit so tests can run a broker on free ports in a temporary folder;
    :meth:`from_env` builds the project's default one.

    Attributes:
        data_dir: KRaft log directory (topics and metadata), kept across restarts.
        state_dir: Where the pid file, the generated configs and the log file live.
        port: Client (PLAINTEXT) port.
        controller_port: KRaft controller port.
        heap: JVM ``-Xmx`` value.
        log_file: The broker's log of its current (or last) run.
    """

    name = "kafka"
    # SIGTERM runs Kafka's shutdown hook, which flushes and closes the logs cleanly.
    stop_signal = signal.SIGTERM
    poll_s = 0.25

    def __init__(
        self,
        *,
        data_dir: Path,
        state_dir: Path,
        port: int = DEFAULT_PORT,
        controller_port: int = DEFAULT_CONTROLLER_PORT,
        heap: str = "512m",
        jar_cache_dir: Path | None = None,
        auto_create_topics: bool = False,
        port_env: str = PORT_ENV,
        controller_port_env: str = CONTROLLER_PORT_ENV,
        die_with_parent: bool = False,
    ) -> None:
        """Describe a broker; nothing starts until :meth:`start`.

        Args:
            data_dir: KRaft log directory; formatted on first start.
            state_dir: Folder for ``kafka.pid``, ``kafka.log``, ``server.properties``.
            port: Client port on 127.0.0.1.
            controller_port: Controller port on 127.0.0.1.
            heap: Maximum JVM heap (``-Xmx``); a local broker needs little.
            jar_cache_dir: Jar cache root (default: the project's).
            auto_create_topics: Let producers create unknown topics. Off by default so a
                misspelt topic fails loudly instead of appearing with one partition.
            port_env: Variable named in errors as the way to choose ``port``.
            controller_port_env: Variable named in errors as the way to choose
                ``controller_port``.
            die_with_parent: Stop the broker when the process that started it exits (test
                sessions); off for ``services up``, whose broker outlives the command.

        Raises:
            ValueError: The two ports are equal.
        """
        if port == controller_port:
            raise ValueError(f"Kafka port and controller port must differ, both are {port}")
        self.data_dir = Path(data_dir)
        self.state_dir = Path(state_dir)
        self.port = port
        self.controller_port = controller_port
        self.heap = heap
        self.jar_cache_dir = jar_cache_dir
        self.auto_create_topics = auto_create_topics
        self._port_env = port_env
        self._controller_port_env = controller_port_env
        self._die_with_parent = die_with_parent

    @classmethod
    def from_env(cls) -> LocalKafka:
        """The project's local broker: ports from ``STOREHEAT_KAFKA_PORT`` /
        ``STOREHEAT_KAFKA_CONTROLLER_PORT`` (39092 / 39093), data under the state dir.

        Raises:
            ConfigError: A port variable is not a port number.
        """
        return cls(
            data_dir=kafka_data_dir(),
            state_dir=run_dir(),
            port=env_port(PORT_ENV, DEFAULT_PORT),
            controller_port=env_port(CONTROLLER_PORT_ENV, DEFAULT_CONTROLLER_PORT),
        )

    # -- files -------------------------------------------------------------------------

    @property
    def bootstrap(self) -> str:
        """``host:port`` clients use."""
        return f"{HOST}:{self.port}"

    @property
    def address(self) -> str:
        return self.bootstrap

    @property
    def data_note(self) -> str:
        return f"data {self.data_dir}"

    def ports(self) -> list[tuple[int, str]]:
        return [(self.port, self._port_env), (self.controller_port, self._controller_port_env)]

    @property
    def config_file(self) -> Path:
        return self.state_dir / "kafka-server.properties"

    @property
    def log4j_file(self) -> Path:
        return self.state_dir / "kafka-log4j2.properties"

    def server_properties(self) -> dict[str, str]:
        """The broker configuration written to :attr:`config_file`."""
        return {
            "process.roles": "broker,controller",
            "node.id": "1",
            # A static voter set keeps no endpoint in the metadata log, so the controller
            # port can change between runs without reformatting.
            "controller.quorum.voters": f"1@{HOST}:{self.controller_port}",
            "listeners": f"PLAINTEXT://{HOST}:{self.port},CONTROLLER://{HOST}:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://{HOST}:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "log.dirs": str(self.data_dir),
            "auto.create.topics.enable": str(self.auto_create_topics).lower(),
            "num.partitions": "1",
            "default.replication.factor": "1",
            "min.insync.replicas": "1",
            "offsets.topic.replication.factor": "1",
            # 50 partitions each by default: slow to create and pointless on one laptop broker.
            "offsets.topic.num.partitions": "10",
            "transaction.state.log.num.partitions": "10",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            "num.network.threads": "2",
            "num.io.threads": "4",
            "log.retention.hours": "168",
            "log.segment.bytes": str(64 * 1024 * 1024),
        }

    def _write_configs(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        body = "".join(f"{k}={v}\n" for k, v in self.server_properties().items())
        self.config_file.write_text("# Written by storeheat on each start; edits are lost.\n"
                                    + body)
        self.log4j_file.write_text(_LOG4J2)

    # -- process -----------------------------------------------------------------------

    def _owns(self, pid: int) -> bool:
        cmd = cmdline(pid)
        return _MAIN_CLASS in cmd and str(self.config_file) in cmd

    def _java_command(self, main: str, args: Sequence[str], classpath: str) -> list[str]:
        return [
            "java",
            f"-Xmx{self.heap}",
            "-Xms128m",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.log4j_file}",
            f"-Dkafka.logs.dir={self.state_dir}",
            "-cp",
            classpath,
            main,
            *args,
        ]

    def _format_storage(self, classpath: str) -> None:
        if (self.data_dir / "meta.properties").exists():
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        cmd = self._java_command(
            "kafka.tools.StorageTool",
            # "=" form: a random id may start with "-", which would read as an option.
            ["format", f"--cluster-id={_cluster_id()}", "--config", str(self.config_file),
             "--ignore-formatted"],
            classpath,
        )
        with open(self.log_file, "ab") as out:
            proc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, check=False, timeout=120)
        if proc.returncode != 0:
            raise ServiceStartError(
                f"formatting the KRaft storage in {self.data_dir} failed (exit "
                f"{proc.returncode})",
                service="kafka",
                log_file=self.log_file,
                exit_code=proc.returncode,
                log_tail=tail(self.log_file),
            )

    def start(self, *, timeout_s: float = 180.0, offline: bool = False) -> bool:
        """Start the broker unless it already runs, and wait until it serves requests.

        Args:
            timeout_s: How long to wait for the broker to answer.
            offline: Resolve jars from the cache / local Maven repository only.

        Returns:
            True if a broker was started, False if this broker was already running.

        Raises:
            PortInUseError: A port is held by another process (names the port and log file).
            ServiceStartError: The broker exited or did not answer in time (names the log
                file and quotes its last lines).
            JarFetchError: The jars are not cached and Maven Central is unreachable.
        """
        return self._start(timeout_s=timeout_s,
                           prepare=functools.partial(self._prepare, offline=offline))

    def _prepare(self, *, offline: bool) -> Launch:
        classpath = os.pathsep.join(
            str(p) for p in kafka_jars(cache_dir=self.jar_cache_dir, offline=offline)
        )
        self._write_configs()
        self._format_storage(classpath)
        return Launch(
            self._java_command(_MAIN_CLASS, [str(self.config_file)], classpath),
            preexec_fn=die_with_parent if self._die_with_parent else None,
            record={"port": self.port, "controller_port": self.controller_port,
                    "data_dir": str(self.data_dir)},
        )

    def _ready(self) -> bool:
        return accepts(HOST, self.port) and _metadata_ok(self.bootstrap, timeout_s=5.0)

    def _describe(self) -> str:
        return f"broker (port {self.port}, data {self.data_dir})"

    def _not_ready_message(self, timeout_s: float) -> str:
        return f"broker on port {self.port} did not answer within {timeout_s:.0f} s"

    def _port_in_log(self, log_tail: str) -> tuple[int, str] | None:
        if "Address already in use" not in log_tail and "BindException" not in log_tail:
            return None
        if f":{self.controller_port}" in log_tail:
            return self.controller_port, self._controller_port_env
        return self.port, self._port_env


def _admin(bootstrap: str, *, timeout_s: float) -> Any:
    from kafka.admin import KafkaAdminClient

    ms = int(timeout_s * 1000)
    return KafkaAdminClient(
        bootstrap_servers=bootstrap, client_id="storeheat-admin",
        request_timeout_ms=ms, bootstrap_timeout_ms=ms,
    )


def _metadata_ok(bootstrap: str, *, timeout_s: float) -> bool:
    from kafka.errors import KafkaError

    try:
        admin = _admin(bootstrap, timeout_s=timeout_s)
    except (KafkaError, OSError):
        return False
    try:
        admin.describe_cluster()
        return True
    except (KafkaError, OSError):
        return False
    finally:
        admin.close()


def ensure_topics(
    bootstrap: str,
    specs: Sequence[TopicSpec] = ALL_TOPICS,
    *,
    replication_factor: int | None = None,
    timeout_s: float = 60.0,
) -> dict[str, str]:
    """Create missing topics and bring existing ones to their spec (idempotent).

    An existing topic with fewer partitions gains partitions (never loses any: Kafka cannot
    shrink a topic, and keys would move); its retention is set to the spec's.

    Args:
        bootstrap: Kafka bootstrap servers.
        specs: The topics (default: every storeheat topic).
        replication_factor: Replicas per partition; None lets the cluster's default decide
            (1 on the local broker).
        timeout_s: Bootstrap and request timeout.

    Returns:
        Topic name → what was done: ``"created"``, ``"altered"`` or ``"ok"``.

    Raises:
        ServiceUnreachableError: No broker answered at ``bootstrap``.
        TopicError: A topic has more partitions than asked, or the broker refused a change.
    """
    from kafka.errors import (
        KafkaConnectionError,
        KafkaError,
        KafkaTimeoutError,
        TopicAlreadyExistsError,
    )

    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise ValueError(f"topic specs name a topic twice: {names}")
    for spec in specs:
        if spec.partitions < 1 or spec.retention_hours < 1:
            raise TopicError(
                f"expected partitions >= 1 and retention_hours >= 1, got {spec.partitions} "
                f"and {spec.retention_hours}", topic=spec.name)
    try:
        admin = _admin(bootstrap, timeout_s=timeout_s)
    except (KafkaTimeoutError, OSError) as exc:
        raise ServiceUnreachableError(
            f"no broker answered within {timeout_s:.0f} s ({exc}); start one with "
            f"`storeheat services up` or check {BOOTSTRAP_ENV}",
            service="kafka", address=bootstrap) from exc
    result: dict[str, str] = {}
    try:
        before = _existing_topics(admin, names)
        missing = [s for s in specs if s.name not in before]
        if missing:
            rf = -1 if replication_factor is None else replication_factor
            request = {
                s.name: {"num_partitions": s.partitions, "replication_factor": rf,
                         "configs": {"retention.ms": str(s.retention_hours * 3_600_000)}}
                for s in missing
            }
            try:
                admin.create_topics(request)
                result.update(dict.fromkeys(request, "created"))
                # Leaders for every partition can take many seconds on a busy machine; the
                # client's own wait gives up after 10 s.
                admin.wait_for_topics(list(request), timeout_ms=int(timeout_s * 1000))
            except TopicAlreadyExistsError:
                # Another process created some of them meanwhile: align all of them below.
                log.info("kafka topics created concurrently; re-checking %s", list(request))
        existing = _existing_topics(admin, names) if missing else before
        for spec in specs:
            if spec.name not in result:
                result[spec.name] = _align_topic(admin, spec, existing[spec.name])
    except (KafkaTimeoutError, KafkaConnectionError) as exc:
        raise ServiceUnreachableError(f"topic set-up timed out: {exc!r}", service="kafka",
                                      address=bootstrap) from exc
    except KafkaError as exc:
        raise TopicError(f"the broker at {bootstrap} refused the change: {exc!r}",
                         topic=",".join(names)) from exc
    finally:
        admin.close()
    for name, action in result.items():
        log.info("kafka topic %s: %s", name, action)
    return result


def _existing_topics(admin: Any, names: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Metadata of those of ``names`` that exist, by name."""
    described = admin.describe_topics(list(names))
    return {t.get("topic") or t.get("name"): t for t in described if not t.get("error_code")}


def _align_topic(admin: Any, spec: TopicSpec, info: dict[str, Any]) -> str:
    from kafka.admin import ConfigResource, ConfigResourceType

    partitions = info.get("partitions") or []
    have = len(partitions) if isinstance(partitions, list) else 0
    action = "ok"
    if have > spec.partitions:
        raise TopicError(
            f"has {have} partitions but the spec asks for {spec.partitions}; Kafka cannot "
            "remove partitions (delete the topic or raise the spec)", topic=spec.name)
    if have < spec.partitions:
        admin.create_partitions({spec.name: spec.partitions})
        action = "altered"
    want_ms = str(spec.retention_hours * 3_600_000)
    resource = ConfigResource(ConfigResourceType.TOPIC, spec.name, {"retention.ms": None})
    described = admin.describe_configs([resource], config_filter="all")
    current = described.get("topic", {}).get(spec.name, {}).get("retention.ms", {})
    if str(current.get("value")) != want_ms:
        admin.alter_configs(
            [ConfigResource(ConfigResourceType.TOPIC, spec.name, {"retention.ms": want_ms})])
        action = "altered"
    return action


def topic_layout(bootstrap: str, names: Sequence[str], *, timeout_s: float = 30.0
                 ) -> dict[str, tuple[int, int | None]]:
    """Partition count and retention (ms) of existing topics, as the broker reports them.

    Args:
        bootstrap: Kafka bootstrap servers.
        names: Topic names.
        timeout_s: Bootstrap and request timeout.

    Returns:
        Topic name → (partitions, retention.ms or None); absent topics are left out.
    """
    from kafka.admin import ConfigResource, ConfigResourceType

    admin = _admin(bootstrap, timeout_s=timeout_s)
    try:
        out: dict[str, tuple[int, int | None]] = {}
        for t in admin.describe_topics(list(names)):
            if t.get("error_code"):
                continue
            name = t.get("topic") or t.get("name")
            res = ConfigResource(ConfigResourceType.TOPIC, name, {"retention.ms": None})
            cfg = admin.describe_configs([res], config_filter="all")
            value = cfg.get("topic", {}).get(name, {}).get("retention.ms", {}).get("value")
            out[name] = (len(t.get("partitions") or []), int(value) if value else None)
        return out
    finally:
        admin.close()


# -- the services protocol used by `storeheat services` ------------------------------------


def project_kafka() -> tuple[str | None, list[TopicSpec]]:
    """The external cluster (if any) and the topics, from the store config.

    Reads ``$STOREHEAT_STORE_CONFIG`` (default ``configs/demo-store.yaml``): its
    ``kafka.bootstrap_servers`` (``KAFKA_BOOTSTRAP_SERVERS`` wins) and ``kafka.topics``
    overrides of partitions and retention.

    Returns:
        (bootstrap servers of an external cluster or None for the local broker, topic specs).

    Raises:
        ConfigError: The store config is missing or invalid (names the file and key).
    """
    from storeheat.config import default_store_config_path, load_store_config

    store = load_store_config(default_store_config_path())
    return store.kafka.resolved_bootstrap() or None, store.kafka.topic_specs()


def start(*, timeout_s: float = 180.0) -> ServiceStatus:
    """Start the project's broker (unless an external cluster is configured) and its topics.

    Returns:
        The broker's status after start.

    Raises:
        ConfigError: The store config is invalid.
        PortInUseError, ServiceStartError, JarFetchError: see :meth:`LocalKafka.start`.
        ServiceUnreachableError: The external cluster does not answer.
        TopicError: A topic cannot be brought to its spec.
    """
    external, specs = project_kafka()
    if external:
        ensure_topics(external, specs)
        return ServiceStatus("kafka", True, external, "external cluster, not started")
    kafka = LocalKafka.from_env()
    started = kafka.start(timeout_s=timeout_s)
    ensure_topics(kafka.bootstrap, specs)
    return kafka.started_status(started)


def stop() -> ServiceStatus:
    """Stop the project's local broker if it runs (an external cluster is left alone).

    Needs no store config, so a broken config never keeps a broker running.
    """
    kafka = LocalKafka.from_env()
    return kafka.stopped_status(kafka.stop())


def status() -> ServiceStatus:
    """Whether the project's Kafka answers: the external cluster if configured, else the
    local broker.

    Raises:
        ConfigError: The store config is invalid.
    """
    external, _ = project_kafka()
    if external:
        host, _, port = external.split(",")[0].rpartition(":")
        up = accepts(host or "localhost", int(port)) if port.isdigit() else False
        return ServiceStatus("kafka", up, external, "external cluster")
    return LocalKafka.from_env().status()
