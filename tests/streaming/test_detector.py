"""Person detectors on real frames, and clear errors for missing or wrong model files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from streaming.detections import Detections
from streaming.detector import (
    Detector,
    UltralyticsDetector,
    YoloxOnnxDetector,
    load_detector,
)
from streaming.exceptions import InferenceError, ModelLoadError
from tests.streaming.conftest import YOLOX_NANO, YUNET, iou_matrix, mot_frame, mot_gt_boxes


@pytest.fixture(scope="module")
def yolox(realdata: Path) -> YoloxOnnxDetector:
    det = load_detector(YOLOX_NANO, conf=0.3)
    assert isinstance(det, YoloxOnnxDetector)
    return det


@pytest.fixture(scope="module")
def untrained_yolo() -> Detector:
    # yolo11n.yaml builds an untrained model offline; its scores are tiny, hence the threshold.
    return load_detector("yolo11n.yaml", imgsz=320, conf=1e-6)


@pytest.mark.parametrize("sequence", ["MOT17-02-FRCNN", "MOT17-04-FRCNN"])
def test_yolox_finds_persons_on_real_frames(yolox: YoloxOnnxDetector, sequence: str) -> None:
    frame = mot_frame(sequence)
    [dets] = yolox.detect_batch([frame])
    gt = mot_gt_boxes(sequence)
    assert len(dets) >= 5, f"{sequence}: only {len(dets)} persons found, {len(gt)} in ground truth"
    h, w = frame.shape[:2]
    assert (dets.xyxy[:, [0, 2]] >= 0).all() and (dets.xyxy[:, [0, 2]] <= w).all()
    assert (dets.xyxy[:, [1, 3]] >= 0).all() and (dets.xyxy[:, [1, 3]] <= h).all()
    assert (dets.class_id == 0).all() and (dets.confidence >= 0.3).all()
    heights = dets.xyxy[:, 3] - dets.xyxy[:, 1]
    widths = dets.xyxy[:, 2] - dets.xyxy[:, 0]
    assert np.median(heights / widths) > 1.5, "person boxes should be upright"
    matched = iou_matrix(dets.xyxy, gt).max(axis=1) >= 0.5
    assert matched.mean() >= 0.6, f"precision {matched.mean():.2f} against ground truth"


def test_yolox_batch_equals_single_frames(yolox: YoloxOnnxDetector) -> None:
    a, b = mot_frame("MOT17-02-FRCNN"), mot_frame("MOT17-05-FRCNN")
    batch = yolox.detect_batch([a, b])
    singles = [yolox.detect_batch([a])[0], yolox.detect_batch([b])[0]]
    assert len(batch) == 2
    for got, want in zip(batch, singles, strict=True):
        np.testing.assert_allclose(got.xyxy, want.xyxy, atol=1e-3)
    assert yolox.detect_batch([]) == []


def test_model_version_names_file_and_hash(yolox: YoloxOnnxDetector) -> None:
    name, digest = yolox.model_version.split("@")
    assert name == "yolox_nano.onnx" and len(digest) == 12
    int(digest, 16)


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        (np.zeros((10, 10), dtype=np.uint8), "expected an H×W×3"),
        (np.zeros((10, 10, 3), dtype=np.float32), "expected dtype uint8"),
    ],
)
def test_bad_frames_raise(yolox: YoloxOnnxDetector, frame: np.ndarray, expected: str) -> None:
    with pytest.raises(InferenceError, match=expected):
        yolox.detect_batch([frame])


def test_ultralytics_untrained_model_returns_valid_detections(untrained_yolo: Detector) -> None:
    assert isinstance(untrained_yolo, UltralyticsDetector)
    frames = [np.full((240, 320, 3), 90, dtype=np.uint8), np.zeros((480, 640, 3), np.uint8)]
    frames[1][100:400, 200:300] = 200
    results = untrained_yolo.detect_batch(frames)
    assert len(results) == 2
    for frame, dets in zip(frames, results, strict=True):
        assert isinstance(dets, Detections)
        assert len(dets) > 0
        assert (dets.class_id == 0).all()
        assert (dets.xyxy[:, 2] <= frame.shape[1] + 1e-3).all()
        assert (dets.xyxy[:, 3] <= frame.shape[0] + 1e-3).all()
    assert untrained_yolo.model_version == "yolo11n.yaml@untrained"


def test_ultralytics_onnx_export_loads(
    untrained_yolo: Detector, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert isinstance(untrained_yolo, UltralyticsDetector)
    monkeypatch.chdir(tmp_path)  # exports of a .yaml model land in the working directory
    exported = Path(
        untrained_yolo._model.export(format="onnx", imgsz=320, dynamic=True, verbose=False)
    )
    det = load_detector(tmp_path / exported.name, imgsz=320, conf=1e-6)
    assert isinstance(det, UltralyticsDetector)
    assert det.model_version.startswith("yolo11n.onnx@")
    frame = np.full((240, 320, 3), 90, dtype=np.uint8)
    [a, b] = det.detect_batch([frame, frame])
    assert len(a) > 0 and len(a) == len(b)


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda d: d / "missing.onnx", "file not found"),
        (lambda d: d / "missing.pt", "file not found"),
        (lambda d: _write(d / "empty.onnx", b""), "file is empty"),
        (lambda d: _write(d / "junk.onnx", b"\x00not a model" * 50), "not a readable ONNX"),
        (lambda d: _write(d / "junk.pt", b"plain text, not torch"), "not a PyTorch checkpoint"),
        (lambda d: _write(d / "weights.bin", b"\x01\x02"), "unsupported model file type"),
        (lambda d: d, "directory holds no OpenVINO model"),
    ],
)
def test_wrong_model_files_raise_naming_the_path(make, expected: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = make(tmp_path)
    with pytest.raises(ModelLoadError, match=expected) as info:
        load_detector(path)
    assert str(path) in str(info.value)
    assert info.value.transient is False


def test_face_model_is_rejected_as_person_detector(realdata: Path) -> None:
    # A real ONNX model of the wrong kind (YuNet has 12 outputs): rejected at start.
    with pytest.raises(ModelLoadError, match="neither an Ultralytics export") as info:
        load_detector(YUNET)
    assert str(YUNET) in str(info.value)
