"""Where storeheat keeps its local state.

Everything a local run creates (virtualenvs, the JVM jar cache, Kafka's log directory, the
Delta lake, Airflow's home, Label Studio's data) lives under one git-ignored state directory,
``.state/`` at the repository root unless ``STOREHEAT_HOME`` points elsewhere. Nothing here
creates directories at import time; callers ask for a path and create it when they write.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def state_dir() -> Path:
    """The root of all local state (``$STOREHEAT_HOME`` or ``<repo>/.state``)."""
    env = os.environ.get("STOREHEAT_HOME")
    return Path(env).resolve() if env else REPO_ROOT / ".state"


def jar_cache_dir() -> Path:
    """JVM jars resolved once from Maven Central (Kafka broker, Delta, Spark-Kafka)."""
    return state_dir() / "cache" / "jars"


def run_dir() -> Path:
    """PID files and logs of the local services."""
    return state_dir() / "run"


def kafka_data_dir() -> Path:
    """The local broker's KRaft log directory (kept across restarts)."""
    return state_dir() / "kafka" / "data"


def lake_dir() -> Path:
    """Default lake root for local Delta tables."""
    return state_dir() / "lake"


def warehouse_dir() -> Path:
    """Spark SQL warehouse and the persistent (Derby) metastore live here."""
    return state_dir() / "spark"


def airflow_home() -> Path:
    """``AIRFLOW_HOME`` of the local standalone Airflow."""
    return state_dir() / "airflow"


def label_studio_dir() -> Path:
    """Label Studio's data directory (its own virtualenv is ``venvs/label-studio``)."""
    return state_dir() / "label-studio"


def tool_config_dir() -> Path:
    """Config/cache folders of third-party tools (Ultralytics, onnxruntime, matplotlib)."""
    return state_dir() / "tool-config"
