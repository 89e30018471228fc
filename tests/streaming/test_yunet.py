"""YuNet on onnxruntime finds exactly the faces OpenCV's FaceDetectorYN finds, at any size."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from streaming.exceptions import ModelLoadError
from streaming.yunet import YuNetOnnx
from tests.streaming.conftest import TUNING_SEQUENCES, YOLOX_NANO, YUNET, mot_frame

THRESHOLD = 0.2  # low, so that many faces (and near-threshold ones) are compared


def _reference(frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ref = cv2.FaceDetectorYN.create(str(YUNET), "", (frame.shape[1], frame.shape[0]),
                                    THRESHOLD, 0.3, 5000)
    _, found = ref.detect(frame)
    raw = np.zeros((0, 15), np.float32) if found is None else np.asarray(found)
    order = np.argsort(-raw[:, 14], kind="stable")
    raw = raw[order]
    xyxy = np.column_stack([raw[:, 0], raw[:, 1], raw[:, 0] + raw[:, 2], raw[:, 1] + raw[:, 3]])
    return xyxy, raw[:, 14]


@pytest.fixture(scope="module")
def frames(realdata: Path) -> list[np.ndarray]:
    out = []
    for seq in TUNING_SEQUENCES:
        full = mot_frame(seq, 1)
        out.append(full)  # 1920x1080 (or 640x480): not a multiple of 32, padded
        out.append(np.asarray(cv2.resize(full, (640, 360), interpolation=cv2.INTER_AREA)))
    return out


def test_same_faces_as_opencv(frames: list[np.ndarray]) -> None:
    yunet = YuNetOnnx(YUNET, score_threshold=THRESHOLD, nms_threshold=0.3)
    total = 0
    for i, frame in enumerate(frames):
        got_xyxy, got_score = yunet.detect(frame)
        want_xyxy, want_score = _reference(frame)
        assert len(got_xyxy) == len(want_xyxy), f"frame {i} {frame.shape}"
        np.testing.assert_allclose(got_xyxy, want_xyxy, atol=0.05, err_msg=f"frame {i}")
        np.testing.assert_allclose(got_score, want_score, atol=1e-4, err_msg=f"frame {i}")
        total += len(got_xyxy)
    assert total >= 30, f"only {total} faces compared"


def test_frame_without_faces_gives_empty_arrays(realdata: Path) -> None:
    xyxy, score = YuNetOnnx(YUNET).detect(np.full((100, 150, 3), 128, np.uint8))
    assert xyxy.shape == (0, 4) and score.shape == (0,)


def test_wrong_frame_is_a_value_error(realdata: Path) -> None:
    with pytest.raises(ValueError, match="H×W×3 uint8"):
        YuNetOnnx(YUNET).detect(np.zeros((64, 64, 4), np.uint8))


def test_a_model_that_is_not_yunet_is_refused(realdata: Path) -> None:
    with pytest.raises(ModelLoadError, match="cls_8") as info:
        YuNetOnnx(YOLOX_NANO)
    assert str(YOLOX_NANO) in str(info.value)
