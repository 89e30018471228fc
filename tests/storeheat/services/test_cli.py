"""``storeheat services``: the service registry and ``fetch``.

``up``/``down``/``status`` against a real broker are in test_kafka.py.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from storeheat.services import cli
from storeheat.services.cli import ServiceEntry


def test_fetch_caches_every_jar_group_and_the_label_studio_venv() -> None:
    result = subprocess.run([sys.executable, "-m", "storeheat.cli", "services", "fetch"],
                            capture_output=True, text=True, timeout=3600, check=False)
    assert result.returncode == 0, result.stderr
    lines = {line.split()[0]: line for line in result.stdout.splitlines()}
    for group in ("kafka-4.4.0", "spark"):
        assert group in lines, result.stdout
        folder = Path(lines[group].rsplit(" in ", 1)[1])
        count = int(lines[group].split()[1])
        assert count == len(list(folder.glob("*.jar"))) > 0
    assert "label-studio 1.23.2 installed" in lines["label-studio"]


def test_missing_service_module_is_reported_not_fatal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli, "SERVICES", (ServiceEntry("ghost", "storeheat.services.ghost"),))
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["services", "status"])
    assert args.func(args) == 0
    assert "ghost         not installed (storeheat.services.ghost" in capsys.readouterr().out


def test_down_walks_the_services_in_reverse_order(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    entries = tuple(ServiceEntry(n, f"storeheat.services.{n}") for n in ("aa", "bb", "cc"))
    monkeypatch.setattr(cli, "SERVICES", entries)
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["services", "down"])
    args.func(args)
    names = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert names == ["cc", "bb", "aa"]
