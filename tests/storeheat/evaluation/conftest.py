"""Shared helpers of the evaluation tests: where the real MOT data lives, perturbed copies."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from storeheat.evaluation.motchallenge import MotRows
from storeheat.paths import REPO_ROOT

# CI and every workstation have shared/ beside the repository (README of shared/realdata).
REALDATA = REPO_ROOT.parent / "shared" / "realdata"
MOT15 = REALDATA / "mot15-tud"
MOT17_MINI = REALDATA / "mot17-mini"
# Hold-outs (MOT17-09, MOT17-11) are never used to tune anything; tests use these only.
MOT17_TUNING = ("MOT17-02-FRCNN", "MOT17-04-FRCNN", "MOT17-05-FRCNN", "MOT17-10-FRCNN",
                "MOT17-13-FRCNN")


@pytest.fixture(scope="session")
def mot15_dir() -> Path:
    assert (MOT15 / "EXPECTED_METRICS.txt").is_file(), (
        f"real test data missing: {MOT15} (shared/ must sit beside the repository)"
    )
    return MOT15


@pytest.fixture(scope="session")
def mot17_mini_dir() -> Path:
    assert MOT17_MINI.is_dir(), f"real test data missing: {MOT17_MINI}"
    return MOT17_MINI


def copy_rows(rows: MotRows, *, mask: np.ndarray | None = None,
              track_id: np.ndarray | None = None, xywh: np.ndarray | None = None) -> MotRows:
    """A result-file-like copy of ground-truth rows, optionally filtered or altered."""
    keep = np.ones(len(rows), dtype=bool) if mask is None else mask
    ids = rows.track_id if track_id is None else track_id
    boxes = rows.xywh if xywh is None else xywh
    return MotRows.from_arrays(frame=rows.frame[keep], track_id=ids[keep], xywh=boxes[keep],
                               path="<perturbed>")
