"""Privacy stage: faces found on real footage, made unrecognisable, remembered, fail closed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from streaming.detections import Detections
from streaming.exceptions import ModelLoadError, PrivacyError
from streaming.privacy import (
    BlurMemory,
    FaceDetector,
    Faces,
    _outermost,
    anonymise,
    blur_frame,
    head_regions,
    regions_union_mask,
)
from tests.streaming.conftest import YUNET, gif_frames, iou_matrix

# Frame 5 of face-demographics-walking.gif (not a hold-out) shows three frontal faces.
FACE_FRAME = 5


@pytest.fixture(scope="module")
def faces_frame(realdata: Path) -> np.ndarray:
    return gif_frames("face-demographics-walking.gif", limit=FACE_FRAME + 1)[FACE_FRAME]


@pytest.fixture(scope="module")
def yunet(realdata: Path) -> FaceDetector:
    return FaceDetector(YUNET)


def _sharpness(image: np.ndarray) -> float:
    return float(cv2.Laplacian(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.CV_64F).var())


def _texture(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


class _FixedFaces:
    """A face detector that reports given boxes per call (pure logic stand-in)."""

    model_version = "fixed@test"

    def __init__(self, per_call: list[list[Any]]):
        self.per_call = list(per_call)

    def detect(self, frame: np.ndarray) -> Faces:
        boxes = np.asarray(self.per_call.pop(0), dtype=np.float32).reshape(-1, 4)
        return Faces(xyxy=boxes, score=np.ones(len(boxes), np.float32))


class _BrokenFaces:
    model_version = "broken@test"

    def detect(self, frame: np.ndarray) -> Faces:
        raise PrivacyError("face model crashed", reason="face_detector_failed")


def test_yunet_finds_faces_on_real_footage(yunet: FaceDetector, faces_frame: np.ndarray) -> None:
    faces = yunet.detect(faces_frame)
    assert len(faces) >= 2
    w = faces.xyxy[:, 2] - faces.xyxy[:, 0]
    h = faces.xyxy[:, 3] - faces.xyxy[:, 1]
    assert ((w > 5) & (w < 80) & (h > 5) & (h < 100)).all(), faces.xyxy
    assert (faces.score >= yunet.score_threshold).all()
    assert yunet.backend == "yunet" and yunet.model_version.startswith("yunet_n_320_320.onnx@")


def test_downscaled_detection_maps_back_to_full_frame(
    yunet: FaceDetector, faces_frame: np.ndarray
) -> None:
    big = np.asarray(
        cv2.resize(faces_frame, None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC), np.uint8
    )
    small_faces = yunet.detect(faces_frame)
    big_faces = FaceDetector(YUNET, max_side=640).detect(big)
    assert len(big_faces) >= 1
    matched = iou_matrix(big_faces.xyxy / 3, small_faces.xyxy).max(axis=1)
    assert (matched > 0.3).all()


def test_blur_makes_real_faces_unrecognisable(yunet: FaceDetector, faces_frame: np.ndarray) -> None:
    original = faces_frame.copy()
    faces = yunet.detect(faces_frame)
    result = anonymise(faces_frame, Detections.empty(), face_detector=yunet, memory=None)
    assert result.frame is not faces_frame
    np.testing.assert_array_equal(faces_frame, original)  # input untouched
    assert result.faces == len(faces)
    for x1, y1, x2, y2 in faces.xyxy.astype(int):
        before = original[y1:y2, x1:x2]
        after = result.frame[y1:y2, x1:x2]
        assert _sharpness(after) < 0.1 * _sharpness(before)
    # The face detector itself no longer sees those faces.
    again = yunet.detect(result.frame)
    if len(again):
        assert iou_matrix(again.xyxy, faces.xyxy).max() < 0.3


def test_head_regions_are_blurred_without_any_face_detection() -> None:
    frame = _texture(200, 200)
    dets = Detections(xyxy=[[50, 40, 110, 190]], confidence=[0.9])
    [head] = head_regions(dets, frame.shape, head_fraction=0.3, pad=0.15)
    x1, y1, x2, y2 = head
    assert y2 == pytest.approx(40 + 0.3 * 150, abs=1) and x1 < 50 and x2 > 110
    # It reaches a fifth of the box height above the box: a box cut at the neck still
    # covers the head.
    assert y1 == pytest.approx(40 - 0.2 * 150, abs=1)
    result = anonymise(frame, dets, face_detector=None, memory=None)
    assert result.heads == 1 and result.faces == 0
    assert _sharpness(result.frame[y1:y2, x1:x2]) < 0.05 * _sharpness(frame[y1:y2, x1:x2])
    np.testing.assert_array_equal(result.frame[y2 + 1 :, :], frame[y2 + 1 :, :])


@pytest.mark.parametrize(
    ("box", "expected_rows"),
    [
        ([[-30, -20, 40, 100]], 1),  # partly outside: clipped
        ([[300, 300, 400, 400]], 0),  # fully outside: nothing to blur
        ([[10, 10, 10, 50]], 0),  # zero width
    ],
)
def test_head_regions_clip_to_frame(box: list[list[float]], expected_rows: int) -> None:
    regions = head_regions(Detections(xyxy=box, confidence=[0.5]), (200, 200, 3))
    assert len(regions) == expected_rows
    if expected_rows:
        assert (regions >= 0).all() and (regions[:, [0, 2]] <= 200).all()


@pytest.mark.parametrize("method", ["pixelate", "gaussian"])
def test_blur_frame_returns_new_array(method: str) -> None:
    frame = _texture(64, 64)
    out = blur_frame(frame, np.array([[8, 8, 40, 40]]), method=method)  # type: ignore[arg-type]
    assert out is not frame and out.shape == frame.shape and out.dtype == np.uint8
    assert _sharpness(out[8:40, 8:40]) < 0.1 * _sharpness(frame[8:40, 8:40])
    same = blur_frame(frame, np.zeros((0, 4)))
    assert same is not frame
    np.testing.assert_array_equal(same, frame)


def test_outermost_drops_regions_inside_others_and_keeps_one_of_equal_ones() -> None:
    regions = np.array(
        [
            [10, 10, 50, 50],  # outer
            [20, 20, 30, 30],  # inside the outer one
            [10, 10, 50, 50],  # equal to the outer one
            [40, 40, 80, 80],  # overlaps it only partly
            [0, 0, 5, 5],  # apart
        ],
        dtype=np.int32,
    )
    kept = _outermost(regions)
    assert kept.tolist() == [[10, 10, 50, 50], [40, 40, 80, 80], [0, 0, 5, 5]]


def test_blur_frame_skips_nested_regions_without_weakening_the_blur() -> None:
    frame = _texture(96, 96, seed=3)
    outer = np.array([[8, 8, 72, 72]])
    nested = np.array([[8, 8, 72, 72], [30, 30, 50, 50], [20, 24, 40, 44], [8, 8, 72, 72]])
    # Every pixel of the inner regions is averaged over the outer region's coarse cells.
    np.testing.assert_array_equal(blur_frame(frame, nested), blur_frame(frame, outer))
    assert _sharpness(blur_frame(frame, nested)[30:50, 30:50]) < 0.1 * _sharpness(
        frame[30:50, 30:50]
    )


def test_memory_carries_a_missed_face_along_its_track() -> None:
    frame = _texture(240, 320, seed=1)
    memory = BlurMemory(ttl_frames=3)
    # Frame 1: person (track 7) with a face detected in the top of its box.
    person_1 = Detections(xyxy=[[100, 60, 160, 220]], confidence=[0.9], track_id=[7])
    face = [118, 62, 142, 90]
    anonymise(frame, person_1, face_detector=_FixedFaces([[face]]), memory=memory)
    # Frame 2: the person moved 40 px right; the face detector misses the face, and the head
    # region is made deliberately tiny so only the memory can cover the face.
    person_2 = Detections(xyxy=[[140, 60, 200, 220]], confidence=[0.9], track_id=[7])
    result = anonymise(
        frame, person_2, face_detector=_FixedFaces([[]]), memory=memory, head_fraction=0.01
    )
    assert result.carried >= 1
    moved = regions_union_mask(frame.shape, result.regions)
    assert moved[62:90, 158:182].all(), "face not blurred at its track's new position"
    assert _sharpness(result.frame[62:90, 158:182]) < 0.1 * _sharpness(frame[62:90, 158:182])


def test_memory_keeps_a_face_in_place_when_its_tracks_box_jumps() -> None:
    # In a crowd the detector's box for a track can slide onto a neighbour: the face carried
    # with the box moves away from the face, so it also stays blurred where it was seen.
    frame = _texture(240, 320, seed=3)
    memory = BlurMemory(ttl_frames=3, grow_per_frame=0.15)
    person_1 = Detections(xyxy=[[100, 60, 160, 220]], confidence=[0.9], track_id=[7])
    face = [118, 62, 142, 90]
    anonymise(frame, person_1, face_detector=_FixedFaces([[face]]), memory=memory, face_pad=0.0)
    jumped = Detections(xyxy=[[100, 10, 160, 170]], confidence=[0.9], track_id=[7])
    result = anonymise(frame, jumped, face_detector=_FixedFaces([[]]), memory=memory,
                       head_fraction=0.01)
    mask = regions_union_mask(frame.shape, result.regions)
    assert mask[62:90, 118:142].all(), "face not kept where it was seen"
    assert mask[12:40, 118:142].all(), "face not carried with its track's box"


def test_memory_keeps_a_head_in_place_when_its_tracks_box_shrinks_to_the_chest() -> None:
    # The detector's box for a track can lose the head from one frame to the next (cut at
    # the chest); the previous head region stays where it was, then ages out.
    frame = _texture(240, 320, seed=4)
    memory = BlurMemory(ttl_frames=2, grow_per_frame=0.15)
    whole = Detections(xyxy=[[100, 60, 160, 220]], confidence=[0.9], track_id=[5])
    [head] = anonymise(frame, whole, face_detector=None, memory=memory).regions
    chest = Detections(xyxy=[[105, 130, 155, 220]], confidence=[0.9], track_id=[5])
    for _ in range(2):
        result = anonymise(frame, chest, face_detector=None, memory=memory)
        mask = regions_union_mask(frame.shape, result.regions)
        assert mask[head[1] : head[3], head[0] : head[2]].all(), "head left unblurred"
    later = anonymise(frame, chest, face_detector=None, memory=memory)
    mask = regions_union_mask(frame.shape, later.regions)
    assert not mask[head[1] : head[1] + 10, head[0] : head[2]].any(), "old head never forgotten"


def test_memory_keeps_regions_of_a_lost_track_then_forgets() -> None:
    frame = _texture(240, 320, seed=2)
    memory = BlurMemory(ttl_frames=2, grow_per_frame=0.1)
    person = Detections(xyxy=[[100, 60, 160, 220]], confidence=[0.9], track_id=[3])
    first = anonymise(frame, person, face_detector=None, memory=memory)
    [head] = first.regions
    # The detector misses the person for two frames: the head stays blurred, a bit larger.
    for _ in range(2):
        missed = anonymise(frame, Detections.empty(), face_detector=None, memory=memory)
        mask = regions_union_mask(frame.shape, missed.regions)
        assert mask[head[1] : head[3], head[0] : head[2]].all()
        assert mask.sum() > (head[2] - head[0]) * (head[3] - head[1])
    # After ttl_frames without the track, the memory is empty.
    gone = anonymise(frame, Detections.empty(), face_detector=None, memory=memory)
    assert gone.carried == 0 and len(memory) == 0


def test_fail_closed_when_face_detector_fails() -> None:
    frame = _texture(64, 64)
    with pytest.raises(PrivacyError) as info:
        anonymise(frame, Detections.empty(), face_detector=_BrokenFaces(), memory=BlurMemory())
    assert info.value.reason == "face_detector_failed"


def test_real_face_detector_failure_is_a_privacy_error(yunet: FaceDetector) -> None:
    # A 4-channel frame makes YuNet raise: that must surface as a drop, not a pass.
    with pytest.raises(PrivacyError) as info:
        yunet.detect(np.zeros((64, 64, 4), np.uint8))
    assert info.value.reason == "face_detector_failed"


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (np.zeros((64, 64, 3), np.float32), "blur_failed"),
        (np.zeros((64, 64), np.uint8), "blur_failed"),
    ],
)
def test_fail_closed_when_blur_impossible(frame: np.ndarray, reason: str) -> None:
    with pytest.raises(PrivacyError) as info:
        anonymise(
            frame,
            Detections(xyxy=[[0, 0, 10, 30]], confidence=[0.9]),
            face_detector=None,
            memory=None,
        )
    assert info.value.reason == reason


def test_missing_face_model_is_a_load_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.onnx"
    with pytest.raises(ModelLoadError, match="YuNet face model not found") as info:
        FaceDetector(missing)
    assert str(missing) in str(info.value)


def test_corrupt_face_model_is_a_load_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"garbage" * 100)
    with pytest.raises(ModelLoadError, match="cannot load it as a YuNet model"):
        FaceDetector(bad)


def test_no_leakage_on_real_walking_faces_from_head_regions_alone(yunet: FaceDetector) -> None:
    """Person boxes alone (no face detector) cover every face YuNet sees on real footage.

    Faces found by YuNet in the raw frames serve as the faces to protect; leakage is judged
    by ``storeheat.evaluation.leakage`` (detail kept and correlated with the original).
    """
    from storeheat.evaluation.leakage import combine_leakage, measure_leakage
    from streaming.detector import load_detector
    from tests.streaming.conftest import YOLOX_NANO

    detector = load_detector(YOLOX_NANO, conf=0.3)
    memory = BlurMemory()
    reports = []
    for frame in gif_frames("face-demographics-walking.gif", limit=20):
        [persons] = detector.detect_batch([frame])
        faces = yunet.detect(frame).xyxy
        out = anonymise(frame, persons, face_detector=None, memory=memory)
        xywh = np.column_stack([faces[:, :2], faces[:, 2:] - faces[:, :2]])
        reports.append(measure_leakage(frame, out.frame, xywh))
    total = combine_leakage(reports)
    assert total.visible >= 20
    assert total.leaked == 0, [f for f in total.faces if f.leaked]


def test_far_field_band_from_homography() -> None:
    from storeheat.geometry import Homography
    from streaming.privacy import far_field_regions

    # Overhead camera at 100 px per metre: a person is ~170 px everywhere, no band.
    overhead = Homography.fit(
        np.array([[0, 0], [1000, 0], [1000, 800], [0, 800]]),
        np.array([[0, 0], [10, 0], [10, 8], [0, 8]]),
    )
    assert len(far_field_regions(overhead, width=1000, height=800)) == 0
    assert len(far_field_regions(overhead, width=1000, height=800, min_person_px=200)) == 1
    # Perspective camera: rows near and above the horizon are far; the band grows with the
    # smallest person the detectors are trusted to see, and always starts at the top row.
    perspective = Homography.fit(
        np.array([[200, 400], [800, 400], [1000, 700], [0, 700]]),
        np.array([[0, 10], [10, 10], [10, 0], [0, 0]]),
    )
    bands = [
        far_field_regions(perspective, width=1000, height=800, min_person_px=px)
        for px in (20, 60, 120)
    ]
    bottoms = [int(b[0, 3]) for b in bands]
    assert bottoms == sorted(bottoms) and bottoms[0] < bottoms[-1]
    assert all(b[0, :3].tolist() == [0, 0, 1000] for b in bands)
    horizon_v = -perspective.image_to_floor_matrix[2, 2] / perspective.image_to_floor_matrix[2, 1]
    assert bottoms[0] > horizon_v
    # The band reaches a head height (0.25 m at its edge: 0.25 / 1.7 of 60 px) past the last
    # row where people are too small, so a face straddling the edge is blurred whole.
    bare = far_field_regions(perspective, width=1000, height=800, min_person_px=60, head_m=0.0)
    assert int(bands[1][0, 3]) - int(bare[0, 3]) == pytest.approx(60 * 0.25 / 1.7, abs=1.5)


def test_near_field_band_from_homography() -> None:
    from storeheat.geometry import Homography
    from streaming.privacy import near_field_regions

    # 100 px per metre across the bottom row: a 1.7 m person is 170 px tall there. Half a
    # person (85 px) plus a head (0.25 m, 25 px, so a face on the edge is covered whole):
    # the band is the bottom 110 rows, the full width.
    overhead = Homography.fit(
        np.array([[0, 0], [1000, 0], [1000, 800], [0, 800]]),
        np.array([[0, 0], [10, 0], [10, 8], [0, 8]]),
    )
    band = near_field_regions(overhead, width=1000, height=800, min_visible_fraction=0.5)
    assert band[0, [0, 2, 3]].tolist() == [0, 1000, 800]
    assert 800 - 111 <= band[0, 1] <= 800 - 110  # rounded outward
    assert len(near_field_regions(overhead, width=1000, height=800,
                                  min_visible_fraction=0.0)) == 0
    # A larger fraction of the person required in view: a taller band (136 + 25 px).
    taller = near_field_regions(overhead, width=1000, height=800, min_visible_fraction=0.8)
    assert 800 - 162 <= int(taller[0, 1]) <= 800 - 161
    with pytest.raises(ValueError, match="min_visible_fraction"):
        near_field_regions(overhead, width=1000, height=800, min_visible_fraction=1.5)
