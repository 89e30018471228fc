"""The ``storeheat`` command: thin subcommands over library functions.

Each subcommand lives next to the code it drives, in a ``cli`` module exposing
``register(subparsers)``; that function adds its parser and sets ``func`` to a callable taking
the parsed arguments and returning an exit code. Modules are imported lazily so that
``storeheat --help`` stays fast and heavy dependencies (Spark, torch) load only when used.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from storeheat.env import apply_tool_env
from storeheat.exceptions import StoreheatError

# subcommand name -> module providing register(subparsers)
SUBCOMMANDS: dict[str, str] = {
    "services": "storeheat.services.cli",
    "sql": "spark_jobs.cli",
    "lake": "spark_jobs.cli",
    "heatmap": "spark_jobs.heatmap_cli",
    "sim": "storeheat.sim.cli",
    "eval": "storeheat.evaluation.cli",
    "worker": "streaming.cli",
    "config": "storeheat.config_cli",
    "demo": "storeheat.demo",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="storeheat",
        description="Privacy-safe shopper-movement data from store cameras.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    registered: set[str] = set()
    for module_name in dict.fromkeys(SUBCOMMANDS.values()):
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                continue  # that part of storeheat is not built yet
            raise
        if module_name not in registered:
            module.register(subparsers)
            registered.add(module_name)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    apply_tool_env()
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args) or 0)
    except StoreheatError as exc:
        print(f"storeheat {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
