"""Person detectors on real frames, and clear errors for missing or wrong model files."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import onnx
import pytest
from scipy.optimize import linear_sum_assignment

from storeheat.config import load_store_config
from storeheat.paths import REPO_ROOT
from storeheat.sim.source import SimulatedCameraSource
from streaming.config import WorkerConfig
from streaming.detections import Detections
from streaming.detector import (
    Detector,
    UltralyticsDetector,
    UltralyticsOnnxDetector,
    YoloxOnnxDetector,
    _letterbox,
    load_detector,
)
from streaming.exceptions import InferenceError, ModelLoadError
from tests.streaming.conftest import (
    REALDATA,
    YOLOX_NANO,
    YUNET,
    iou_matrix,
    mot_frame,
    mot_gt_boxes,
)

# The shipped simulated-store model: YOLO11n, fixed 1×3×320×320 input, one class "person".
PERSON_SIM = REPO_ROOT / "models" / "person-sim" / "model.onnx"


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


def _export_untrained(folder: Path, *, imgsz: int, dynamic: bool) -> Path:
    """yolo11n.yaml (untrained, offline) exported to ONNX in ``folder``."""
    from ultralytics import YOLO

    cwd = Path.cwd()
    os.chdir(folder)  # exports of a .yaml model land in the working directory
    try:
        exported = Path(YOLO("yolo11n.yaml").export(format="onnx", imgsz=imgsz, dynamic=dynamic,
                                                    simplify=False, verbose=False))
    finally:
        os.chdir(cwd)
    target = folder / f"yolo11n-{imgsz}{'-dynamic' if dynamic else ''}.onnx"
    (exported if exported.is_absolute() else folder / exported).rename(target)
    return target


@pytest.fixture(scope="module")
def dynamic_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _export_untrained(tmp_path_factory.mktemp("dyn"), imgsz=320, dynamic=True)


@pytest.fixture(scope="module")
def static_export_256(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _export_untrained(tmp_path_factory.mktemp("static"), imgsz=256, dynamic=False)


def test_ultralytics_onnx_export_loads(dynamic_export: Path) -> None:
    det = load_detector(dynamic_export, imgsz=320, conf=1e-6)
    assert isinstance(det, UltralyticsOnnxDetector)
    assert det.dynamic_shape and det.input_size == (320, 320)
    assert det.model_version.startswith(f"{dynamic_export.name}@")
    frame = np.full((240, 320, 3), 90, dtype=np.uint8)
    [a, b] = det.detect_batch([frame, frame])
    assert len(a) > 0 and len(a) == len(b)
    np.testing.assert_allclose(a.xyxy, b.xyxy, atol=1e-3)


def test_dynamic_export_matches_ultralytics_detector_built_explicitly(
    dynamic_export: Path, sim_frames: list[np.ndarray]
) -> None:
    # A dynamic-shape export takes the minimum rectangle (640×360 → 320×192), as in Ultralytics.
    reference = UltralyticsDetector(dynamic_export, imgsz=320, conf=1e-6)
    lean = load_detector(dynamic_export, imgsz=320, conf=1e-6)
    assert isinstance(lean, UltralyticsOnnxDetector)
    assert lean._blob(sim_frames)[0].shape == (len(sim_frames), 3, 192, 320)
    want = reference.detect_batch(sim_frames)
    for i, (got, w) in enumerate(zip(lean.detect_batch(sim_frames), want, strict=True)):
        _assert_same_detections(got, w, f"sim frame {i}")
    assert all(len(w) > 0 and (w.class_id == 0).all() for w in want)


def test_untrained_export_at_another_size_runs_at_its_own_size(static_export_256: Path) -> None:
    # A fixed-shape export only takes its own input size, whatever imgsz is asked (as in
    # Ultralytics); frames of any shape are letterboxed into it.
    det = load_detector(static_export_256, imgsz=640, conf=1e-6, min_box_height=4.0)
    assert isinstance(det, UltralyticsOnnxDetector)
    assert not det.dynamic_shape and det.input_size == (256, 256)
    assert det.person_class == 0 and det.nc == 80  # yolo11n.yaml: the 80 COCO classes
    frames = [np.full((360, 640, 3), 90, dtype=np.uint8), np.zeros((480, 200, 3), np.uint8)]
    frames[1][100:400, 50:150] = 200
    results = det.detect_batch(frames)
    assert len(results) == 2
    for frame, dets in zip(frames, results, strict=True):
        assert len(dets) > 0 and (dets.class_id == 0).all()
        assert (dets.xyxy >= 0).all()
        assert (dets.xyxy[:, [0, 2]] <= frame.shape[1]).all()
        assert (dets.xyxy[:, [1, 3]] <= frame.shape[0]).all()
        assert (dets.xyxy[:, 3] - dets.xyxy[:, 1] >= 4.0).all()
        assert (dets.confidence > 1e-6).all()


@pytest.mark.parametrize("shape", [(360, 640), (480, 640), (1080, 1920), (270, 480), (640, 360),
                                   (101, 37), (320, 320)])
@pytest.mark.parametrize(("new_shape", "auto"), [((320, 320), False), ((320, 320), True),
                                                 ((256, 256), False), ((640, 640), True)])
def test_letterbox_gives_ultralytics_pixels(
    shape: tuple[int, int], new_shape: tuple[int, int], auto: bool
) -> None:
    from ultralytics.data.augment import LetterBox
    from ultralytics.utils.ops import scale_boxes

    frame = np.random.default_rng(0).integers(0, 256, (*shape, 3), dtype=np.uint8)
    want = LetterBox(new_shape, auto=auto, stride=32)(image=frame.copy())
    got, (gx, gy), (left, top) = _letterbox(frame, new_shape, auto=auto, stride=32)
    np.testing.assert_array_equal(got, want)
    # Boxes mapped into the model input with (gain, pad) come back where Ultralytics puts them.
    box = np.array([[0.0, 0.0, shape[1], shape[0]], [5.0, 7.0, 20.0, 30.0]])
    in_model = box * [gx, gy, gx, gy] + [left, top, left, top]
    back = np.asarray(scale_boxes((got.shape[0], got.shape[1]), in_model, shape))
    np.testing.assert_allclose(back, box, atol=1e-6)


def _sim_frames() -> list[np.ndarray]:
    """A few frames of two simulated cameras (640×360), seed not used to train the model."""
    store = load_store_config(REPO_ROOT / "configs" / "demo-store.yaml")
    frames = []
    for camera in ("cam-entrance", "cam-aisles"):
        source = SimulatedCameraSource(store, camera, scenario="peak", seed=9001, seconds=12.0,
                                       realtime=False)
        frames += [f.frame for f in source if f.index in (30, 59)]
    return frames


@pytest.fixture(scope="module")
def sim_frames() -> list[np.ndarray]:
    return _sim_frames()


@pytest.fixture(scope="module")
def comparison_frames(realdata: Path, sim_frames: list[np.ndarray]) -> list[np.ndarray]:
    clip = cv2.VideoCapture(str(REALDATA / "videos" / "one-by-one-person-detection.mp4"))
    clip.set(cv2.CAP_PROP_POS_FRAMES, 120)
    ok, real = clip.read()
    clip.release()
    assert ok, "cannot read the real clip"
    # 640×360 simulated frames, and real footage of other shapes (768×432, 640×480).
    return [*sim_frames, real, mot_frame("MOT17-05-FRCNN")]


def _assert_same_detections(got: Detections, want: Detections, label: str) -> None:
    assert len(got) == len(want), f"{label}: {len(got)} boxes vs {len(want)} from Ultralytics"
    if not len(want):
        return
    ious = iou_matrix(got.xyxy, want.xyxy)
    rows, cols = linear_sum_assignment(-ious)
    assert ious[rows, cols].min() >= 0.95, f"{label}: IoU {ious[rows, cols].min():.3f}"
    dconf = np.abs(got.confidence[rows] - want.confidence[cols]).max()
    assert dconf <= 0.02, f"{label}: confidence differs by {dconf:.3f}"


@pytest.mark.parametrize("batched", [True, False])
def test_onnx_detector_gives_ultralytics_detections(
    comparison_frames: list[np.ndarray], batched: bool
) -> None:
    lean = load_detector(PERSON_SIM, imgsz=320, conf=0.25)
    assert isinstance(lean, UltralyticsOnnxDetector)
    assert lean.input_size == (320, 320) and lean.person_class == 0 and lean.nc == 1
    reference = UltralyticsDetector(PERSON_SIM, imgsz=320, conf=0.25)
    assert lean.model_version == reference.model_version
    if batched:
        got, want = lean.detect_batch(comparison_frames), reference.detect_batch(comparison_frames)
    else:
        got = [lean.detect_batch([f])[0] for f in comparison_frames]
        want = [reference.detect_batch([f])[0] for f in comparison_frames]
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        _assert_same_detections(g, w, f"frame {i} {comparison_frames[i].shape}")
    assert sum(len(w) for w in want) >= 4, "too few persons found to compare anything"


def test_detector_runs_at_the_models_own_size_by_default() -> None:
    # The simulated-store model was trained and exported at 320: the worker's default must
    # not run it at 640 (four times the cost, at a scale it never saw).
    det = load_detector(PERSON_SIM, conf=0.25)
    assert isinstance(det, UltralyticsOnnxDetector)
    assert det.input_size == (320, 320)
    assert load_detector(PERSON_SIM, imgsz=640, conf=0.25).input_size == (640, 640)
    config = WorkerConfig(model=str(PERSON_SIM))
    assert config.imgsz is None


def _with_metadata(src: Path, dst: Path, **changes: str) -> Path:
    model = onnx.load(str(src))
    meta = {p.key: p.value for p in model.metadata_props} | changes
    del model.metadata_props[:]
    onnx.helper.set_model_props(model, meta)
    onnx.save(model, str(dst))
    return dst


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"task": "segment"}, "expected a detection export, got task 'segment'"),
        ({"end2end": "True"}, "NMS inside"),
        ({"names": "{0: 'person'"}, "metadata 'names' is not a Python literal"),
        ({"names": "{0: 'person', 1: 'cart'}"}, r"expected a detection head output \(B, 4 \+ 2"),
    ],
)
def test_onnx_detector_rejects_exports_it_cannot_decode(
    tmp_path: Path, changes: dict[str, str], expected: str
) -> None:
    path = _with_metadata(PERSON_SIM, tmp_path / "model.onnx", **changes)
    with pytest.raises(ModelLoadError, match=expected) as info:
        UltralyticsOnnxDetector(path)
    assert str(path) in str(info.value) and info.value.transient is False


def test_onnx_detector_rejects_onnx_without_ultralytics_metadata(realdata: Path) -> None:
    with pytest.raises(ModelLoadError, match="no Ultralytics export metadata"):
        UltralyticsOnnxDetector(YOLOX_NANO)


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
