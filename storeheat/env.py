"""Environment for third-party tools, so every run is offline and reproducible.

Ultralytics, matplotlib, onnxruntime, DVC, Spark and Great Expectations read settings from
environment variables and otherwise write into ``~/.config`` / ``~/.cache`` or try the
network. :func:`apply_tool_env` points them at the project's state directory. It only sets
variables the caller has not set, so a user's explicit choice wins.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from storeheat.paths import tool_config_dir


def tool_env() -> dict[str, str]:
    """The variables :func:`apply_tool_env` would set (without touching ``os.environ``)."""
    base = tool_config_dir()
    return {
        "YOLO_OFFLINE": "1",
        "YOLO_AUTOINSTALL": "False",
        "YOLO_VERBOSE": "False",
        "YOLO_CONFIG_DIR": str(base / "ultralytics"),
        "MPLCONFIGDIR": str(base / "matplotlib"),
        "XDG_CACHE_HOME": str(base / "cache"),
        "DVC_NO_ANALYTICS": "1",
        "GX_ANALYTICS_ENABLED": "False",
        "SPARK_LOCAL_IP": "127.0.0.1",
        "PYSPARK_PYTHON": os.environ.get("PYSPARK_PYTHON", _python()),
        "TOKENIZERS_PARALLELISM": "false",
        # numpy/scipy's OpenBLAS would start a thread per core for the tracker's tiny 4x4
        # Kalman solves; with the cores busy (inference, other workers, Spark) those threads
        # spin against each other: measured 308 ms instead of 12 ms per DeepSORT update
        # under load. Only effective before numpy is first imported.
        "OPENBLAS_NUM_THREADS": "1",
    }


def _python() -> str:
    import sys

    return sys.executable


def apply_tool_env() -> None:
    """Set the offline/tool-folder variables not already set, and create their folders.

    Ultralytics' dataset checks look for ``Arial.ttf`` in its config folder and otherwise try
    to download it; any TTF serves, so matplotlib's bundled DejaVuSans is copied there.
    """
    for key, value in tool_env().items():
        os.environ.setdefault(key, value)
    yolo_dir = Path(os.environ["YOLO_CONFIG_DIR"]) / "Ultralytics"
    font = yolo_dir / "Arial.ttf"
    if not font.exists():
        yolo_dir.mkdir(parents=True, exist_ok=True)
        try:
            import matplotlib

            src = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
            shutil.copyfile(src, font)
        except (ImportError, OSError):
            pass  # only dataset checks need it; they will say so if it is missing
    Path(os.environ["MPLCONFIGDIR"]).mkdir(parents=True, exist_ok=True)
