"""Fixtures of the vision-stage tests: real third-party footage and weights in ../shared/realdata.

The material is read in place (never copied into the repository). Tests that need it skip with
a clear reason only when ``../shared`` is absent, as the realdata README asks.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from storeheat.paths import REPO_ROOT

REALDATA = REPO_ROOT.parent / "shared" / "realdata"
YOLOX_NANO = REALDATA / "weights" / "yolox_nano" / "yolox_nano.onnx"
YUNET = REALDATA / "weights" / "yunet" / "yunet_n_320_320.onnx"
MOT17 = REALDATA / "mot17-mini"
# Tuning and tests use only non-hold-out material (MOT17-09/-11 and the store aisle are hold-outs).
TUNING_SEQUENCES = ("MOT17-02-FRCNN", "MOT17-04-FRCNN", "MOT17-05-FRCNN")


@pytest.fixture(scope="session")
def realdata() -> Path:
    if not REALDATA.is_dir():
        # Outside CI a checkout without shared/ may skip; in CI the material must be there.
        if os.environ.get("CI"):
            pytest.fail(f"real test material missing at {REALDATA} (shared/ must sit beside "
                        "the repository in CI)")
        pytest.skip(f"real test material not present at {REALDATA} (see its README)")
    return REALDATA


def mot_frame(sequence: str, index: int = 1) -> np.ndarray:
    frame = cv2.imread(str(MOT17 / sequence / "img1" / f"{index:06d}.jpg"))
    assert frame is not None, f"cannot read frame {index} of {sequence}"
    return frame


def mot_gt_boxes(sequence: str, index: int = 1) -> np.ndarray:
    """Visible pedestrians (class 1, considered) of one frame, as ``xyxy``."""
    gt = np.loadtxt(MOT17 / sequence / "gt" / "gt.txt", delimiter=",", ndmin=2)
    rows = gt[(gt[:, 0] == index) & (gt[:, 6] == 1) & (gt[:, 7] == 1) & (gt[:, 8] > 0.3)]
    x, y, w, h = rows[:, 2], rows[:, 3], rows[:, 4], rows[:, 5]
    return np.column_stack([x, y, x + w, y + h])


def gif_frames(name: str, *, limit: int = 200) -> list[np.ndarray]:
    """Frames of one of the realdata GIFs, BGR."""
    cap = cv2.VideoCapture(str(REALDATA / "videos" / name))
    frames: list[np.ndarray] = []
    while len(frames) < limit:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    assert frames, f"cannot read {name}"
    return frames


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of two ``xyxy`` arrays."""
    a = a[:, None, :].astype(np.float64)
    b = b[None, :, :].astype(np.float64)
    iw = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    ih = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    inter = iw * ih
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    return np.asarray(inter / np.maximum(area_a + area_b - inter, 1e-9))
