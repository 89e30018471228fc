"""Shared test set-up: offline tool environment, and the fixture modules in tests/fixtures/.

Fixtures that start real services (a Kafka broker, a Spark session, Airflow, Label Studio)
live one module per service in ``tests/fixtures/``; every module there is loaded as a pytest
plugin, so tests anywhere can use them.
"""

from __future__ import annotations

from pathlib import Path

from storeheat.env import apply_tool_env

apply_tool_env()

_FIXTURES = Path(__file__).parent / "fixtures"
pytest_plugins = sorted(
    f"tests.fixtures.{p.stem}" for p in _FIXTURES.glob("*.py") if p.stem != "__init__"
)
