"""``storeheat services up|down|status|fetch``: the local real services, in order.

Services plug in through :data:`SERVICES`, an ordered registry of modules. Each module
provides three functions taking no arguments:

- ``start()`` starts the service unless it already runs (or uses the external one configured)
  and returns its status;
- ``stop()`` stops it, keeping its data, and returns its status;
- ``status()`` returns its status without changing anything;

and optionally ``fetch()``, which downloads what later starts need so they run offline. A
status is any object with ``name``, ``running``, ``address`` and ``detail`` attributes (see
:class:`storeheat.services.process.ServiceStatus`); a plain string is printed as is. A module
that does not exist yet is reported as "not installed" and skipped.
"""

from __future__ import annotations

import argparse
import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from storeheat.exceptions import ConfigError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ServiceEntry:
    """One service in start order.

    Attributes:
        name: Name used on the command line (``storeheat services up kafka``).
        module: Module implementing ``start/stop/status`` (and optionally ``fetch``).
        default: Started by a bare ``services up``; others only when named.
    """

    name: str
    module: str
    default: bool = True


# Start order; `down` walks it backwards. Kafka first: the others publish to or read from it.
SERVICES: tuple[ServiceEntry, ...] = (
    ServiceEntry("kafka", "storeheat.services.kafka"),
    ServiceEntry("airflow", "storeheat.services.airflow"),
    ServiceEntry("label-studio", "storeheat.services.label_studio"),
)


def _load(entry: ServiceEntry) -> ModuleType | None:
    try:
        return importlib.import_module(entry.module)
    except ModuleNotFoundError as exc:
        if exc.name and entry.module.startswith(exc.name):
            return None  # that service's runner is not part of this checkout yet
        raise


def _format(status: Any, fallback_name: str) -> str:
    if isinstance(status, str):
        return f"{fallback_name:<13} {status}"
    name = getattr(status, "name", fallback_name)
    running = getattr(status, "running", None)
    state = {True: "running", False: "stopped", None: "?"}.get(running, str(running))
    address = getattr(status, "address", "") or "-"
    detail = getattr(status, "detail", "")
    line = f"{name:<13} {state:<8} {address:<28}"
    return f"{line} {detail}".rstrip()


def _selected(names: list[str], *, command: str) -> list[ServiceEntry]:
    if not names:
        return [e for e in SERVICES if e.default or command in ("down", "status")]
    by_name = {e.name: e for e in SERVICES}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise ConfigError(f"unknown service {', '.join(map(repr, unknown))}; expected one of "
                          f"{', '.join(by_name)}", key=f"services {command}")
    return [by_name[n] for n in dict.fromkeys(names)]


def _run(entries: list[ServiceEntry], action: str) -> int:
    for entry in entries:
        module = _load(entry)
        if module is None:
            print(f"{entry.name:<13} not installed ({entry.module} is not in this checkout)")
            continue
        func: Callable[[], Any] = getattr(module, action)
        print(_format(func(), entry.name), flush=True)
    return 0


def _up(args: argparse.Namespace) -> int:
    return _run(_selected(args.names, command="up"), "start")


def _down(args: argparse.Namespace) -> int:
    return _run(list(reversed(_selected(args.names, command="down"))), "stop")


def _status(args: argparse.Namespace) -> int:
    return _run(_selected(args.names, command="status"), "status")


def _describe_jars(group: str, jars: list[Path]) -> str:
    folder = jars[0].parent if jars else "-"
    return f"{group:<13} {len(jars)} jars in {folder}"


def fetch_all() -> list[str]:
    """Resolve every jar group the project needs, and run each service's ``fetch()``.

    Returns:
        One line per group or service describing what is now cached.

    Raises:
        JarFetchError: Something could not be fetched (names what).
    """
    from storeheat.services.kafka import JAR_GROUP, kafka_jars

    lines = [_describe_jars(JAR_GROUP, kafka_jars())]
    try:
        session = importlib.import_module("spark_jobs.session")
    except ModuleNotFoundError as exc:
        if not (exc.name and "spark_jobs.session".startswith(exc.name)):
            raise
        lines.append("spark         skipped (spark_jobs.session is not in this checkout)")
    else:
        spark_jars = getattr(session, "spark_jars", None)
        if spark_jars is None:
            lines.append("spark         skipped (spark_jobs.session has no spark_jars())")
        else:
            lines.append(_describe_jars("spark", list(spark_jars())))
    for entry in SERVICES:
        if entry.name == "kafka":
            continue
        module = _load(entry)
        fetch = getattr(module, "fetch", None) if module is not None else None
        if fetch is not None:
            lines.append(_format(fetch(), entry.name))
    return lines


def _fetch(args: argparse.Namespace) -> int:
    for line in fetch_all():
        print(line, flush=True)
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``services`` with ``up``, ``down``, ``status`` and ``fetch`` to the CLI."""
    names = [e.name for e in SERVICES]
    parser = subparsers.add_parser(
        "services",
        help="start/stop the local Kafka, Airflow and Label Studio",
        description="Local real services. With KAFKA_BOOTSTRAP_SERVERS set, Kafka is that "
        "cluster and no broker is started.",
    )
    sub = parser.add_subparsers(dest="services_command", metavar="ACTION", required=True)
    for action, func, text in (
        ("up", _up, "start services (in order) unless running; create the Kafka topics"),
        ("down", _down, "stop services (in reverse order); their data is kept"),
        ("status", _status, "print each service and its address"),
    ):
        p = sub.add_parser(action, help=text, description=text)
        # Checked in _selected: argparse rejects an empty nargs="*" list against choices.
        p.add_argument("names", nargs="*", metavar="SERVICE",
                       help=f"only these ({', '.join(names)}); default: all")
        p.set_defaults(func=_quiet(func))
    p = sub.add_parser("fetch", help="download every jar and package the services need, so "
                       "later runs work offline")
    p.set_defaults(func=_quiet(_fetch))


def _quiet(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Keep kafka-python's per-connection INFO lines out of the CLI's output unless -v."""

    def wrapper(args: argparse.Namespace) -> int:
        if not getattr(args, "verbose", False):
            logging.getLogger("kafka").setLevel(logging.WARNING)
        return func(args)

    return wrapper
