"""The composed vision pipeline on real footage from two cameras, and its fail-closed paths."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import pytest

from storeheat.geometry import Homography
from streaming.detections import Detections
from streaming.detector import YoloxOnnxDetector, load_detector
from streaming.exceptions import InferenceError, PrivacyError
from streaming.pipeline import FrameProcessor, PrivacyOptions, TrackerOptions
from streaming.privacy import FaceDetector, Faces, head_regions
from streaming.projection import FloorProjector
from tests.streaming.conftest import YOLOX_NANO, YUNET, gif_frames


@pytest.fixture(scope="module")
def detector(realdata: Path) -> YoloxOnnxDetector:
    det = load_detector(YOLOX_NANO, conf=0.3)
    assert isinstance(det, YoloxOnnxDetector)
    return det


@pytest.fixture(scope="module")
def clips(realdata: Path) -> dict[str, list[np.ndarray]]:
    return {
        "cam-faces": gif_frames("face-demographics-walking.gif", limit=8),
        "cam-people": gif_frames("people-detection.gif", limit=8),
    }


def _projector() -> FloorProjector:
    # 480×270 image onto a 12 m × 6.75 m floor, 1 px = 2.5 cm; two zones left and right.
    floor = np.array([[0, 0], [12, 0], [12, 6.75], [0, 6.75]])
    hom = Homography.fit(np.array([[0, 0], [480, 0], [480, 270], [0, 270]]), floor)
    return FloorProjector(
        hom,
        floor_polygon=floor,
        zones={
            "left": np.array([[0, 0], [6, 0], [6, 6.75], [0, 6.75]]),
            "right": np.array([[6, 0], [12, 0], [12, 6.75], [6, 6.75]]),
        },
    )


def _sharpness(image: np.ndarray) -> float:
    return float(cv2.Laplacian(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.CV_64F).var())


def test_two_cameras_end_to_end(
    detector: YoloxOnnxDetector, clips: dict[str, list[np.ndarray]]
) -> None:
    processor = FrameProcessor(
        detector=detector,
        face_detector=FaceDetector(YUNET),
        tracker_options=TrackerOptions(n_init=2),
    )
    processor.start_camera("cam-faces", epoch=1, projector=_projector())
    processor.start_camera("cam-people", epoch=7, projector=None)
    seen_tracks: dict[str, set[int]] = {"cam-faces": set(), "cam-people": set()}
    blurred_heads = 0
    for i in range(8):
        batch = [(cam, clips[cam][i]) for cam in ("cam-faces", "cam-people")]
        originals = [f.copy() for _, f in batch]
        results = processor.process(batch)
        assert [r.camera_id for r in results] == ["cam-faces", "cam-people"]
        for (cam, raw), original, res in zip(batch, originals, results, strict=True):
            np.testing.assert_array_equal(raw, original)  # input not modified
            assert not res.dropped and res.image is not None and res.image is not raw
            assert res.model_version == detector.model_version
            assert res.frame_size == (480, 270)
            assert {"detect", "embed", "track", "privacy", "project", "total"} <= set(
                res.timings_ms
            )
            seen_tracks[cam].update(int(t) for t in res.detections.track_id if t >= 0)
            for x1, y1, x2, y2 in head_regions(res.detections, raw.shape):
                if (x2 - x1) * (y2 - y1) >= 100 and _sharpness(raw[y1:y2, x1:x2]) > 20:
                    assert _sharpness(res.image[y1:y2, x1:x2]) < 0.25 * _sharpness(
                        raw[y1:y2, x1:x2]
                    )
                    blurred_heads += 1
        faces_res, people_res = results
        dets = faces_res.detections
        assert (np.isfinite(dets.floor_xy[dets.on_floor])).all()
        assert set(z for z, on in zip(dets.zone_id, dets.on_floor, strict=True) if on) <= {
            "left",
            "right",
        }
        assert not people_res.detections.on_floor.any()  # uncalibrated camera: nothing invented
    assert blurred_heads > 0
    assert seen_tracks["cam-faces"] and seen_tracks["cam-people"]
    assert processor.cameras["cam-people"].epoch == 7


def test_new_epoch_restarts_track_ids(
    detector: YoloxOnnxDetector, clips: dict[str, list[np.ndarray]]
) -> None:
    processor = FrameProcessor(
        detector=detector, face_detector=None, tracker_options=TrackerOptions(n_init=1)
    )
    processor.start_camera("c", epoch=1, projector=None)

    def ids_over(frames: Sequence[np.ndarray]) -> set[int]:
        out: set[int] = set()
        for f in frames:
            [r] = processor.process([("c", f)])
            out.update(int(t) for t in r.detections.track_id if t >= 0)
        return out

    first = ids_over(clips["cam-faces"][:5])
    processor.start_camera("c", epoch=2, projector=None)
    second = ids_over(clips["cam-faces"][:5])
    # Same frames in a fresh epoch: the same ids again, counted from the start.
    assert first and second == first


class _Broken:
    model_version = "broken@test"

    def detect(self, frame: np.ndarray) -> Faces:
        raise PrivacyError("face model crashed", reason="face_detector_failed")


class _FailingDetector:
    model_version = "failing@test"

    def detect_batch(self, frames: Sequence[np.ndarray]) -> list[Detections]:
        raise InferenceError("model crashed")


def test_face_detector_failure_drops_that_frame(
    detector: YoloxOnnxDetector, clips: dict[str, list[np.ndarray]]
) -> None:
    processor = FrameProcessor(detector=detector, face_detector=_Broken())
    processor.start_camera("c", epoch=1, projector=None)
    [res] = processor.process([("c", clips["cam-faces"][0])])
    assert res.dropped and res.drop_reason == "face_detector_failed"
    assert res.image is None and len(res.detections) == 0


def test_detector_failure_drops_the_whole_batch(clips: dict[str, list[np.ndarray]]) -> None:
    processor = FrameProcessor(detector=_FailingDetector(), face_detector=None)
    processor.start_camera("a", epoch=1, projector=None)
    processor.start_camera("b", epoch=1, projector=None)
    results = processor.process([("a", clips["cam-faces"][0]), ("b", clips["cam-people"][0])])
    assert [(r.dropped, r.drop_reason, r.image) for r in results] == [
        (True, "detector_failed", None)
    ] * 2


def test_batch_errors(detector: YoloxOnnxDetector) -> None:
    processor = FrameProcessor(detector=detector, face_detector=None)
    processor.start_camera("a", epoch=1, projector=None)
    frame = np.zeros((64, 64, 3), np.uint8)
    with pytest.raises(KeyError, match="camera 'zz' not started"):
        processor.process([("zz", frame)])
    with pytest.raises(ValueError, match="one frame per camera"):
        processor.process([("a", frame), ("a", frame)])
    assert processor.process([]) == []
    processor.stop_camera("a")
    assert "a" not in processor.cameras


class _CountingFaces:
    model_version = "counting@test"

    def __init__(self) -> None:
        self.calls = 0

    def detect(self, frame: np.ndarray) -> Faces:
        self.calls += 1
        return Faces.empty()


def test_face_detector_every_nth_frame_per_camera(
    detector: YoloxOnnxDetector, clips: dict[str, list[np.ndarray]]
) -> None:
    faces = _CountingFaces()
    processor = FrameProcessor(
        detector=detector, face_detector=faces, privacy_options=PrivacyOptions(face_every=2)
    )
    processor.start_camera("a", epoch=1, projector=None)
    processor.start_camera("b", epoch=1, projector=None)
    per_batch = []
    for i in range(4):
        before = faces.calls
        results = processor.process([("a", clips["cam-faces"][i]), ("b", clips["cam-people"][i])])
        assert not any(r.dropped for r in results)
        per_batch.append(faces.calls - before)
    # Every 2nd frame of each camera, the cameras taking turns: one face pass per batch
    # (a: frames 0 and 2, b: frames 1 and 3) rather than both in every other batch.
    assert faces.calls == 4 and per_batch == [1, 1, 1, 1]


def test_results_come_one_camera_at_a_time(
    detector: YoloxOnnxDetector, clips: dict[str, list[np.ndarray]]
) -> None:
    # process_each hands out a camera's frame as soon as it is blurred (the worker publishes
    # it then), before the next camera's blur runs; errors in the batch still come first.
    faces = _CountingFaces()
    processor = FrameProcessor(detector=detector, face_detector=faces)
    processor.start_camera("a", epoch=1, projector=None)
    processor.start_camera("b", epoch=1, projector=None)
    batch = [("a", clips["cam-faces"][0]), ("b", clips["cam-people"][0])]
    results = processor.process_each(batch)
    assert faces.calls == 0  # nothing runs before the first result is asked for
    first = next(results)
    assert first.camera_id == "a" and faces.calls == 1
    second = next(results)
    assert second.camera_id == "b" and faces.calls == 2
    assert next(results, None) is None
    with pytest.raises(KeyError, match="not started"):
        processor.process_each([("c", clips["cam-faces"][0])])


class _ThreadNoting:
    """A real face detector that notes the threads it was called from."""

    def __init__(self, inner: FaceDetector) -> None:
        self.inner = inner
        self.model_version = inner.model_version
        self.threads: set[str] = set()

    def detect(self, frame: np.ndarray) -> Faces:
        self.threads.add(threading.current_thread().name)
        return self.inner.detect(frame)


def test_frame_threads_give_the_same_results_as_one_thread(
    detector: YoloxOnnxDetector, clips: dict[str, list[np.ndarray]]
) -> None:
    # Each camera's frame of a batch on its own thread: the same tracks, blur and floor
    # points as on one thread, handed out in batch order.
    faces = _ThreadNoting(FaceDetector(YUNET))
    runs = []
    for threads in (1, 2):
        processor = FrameProcessor(detector=detector, face_detector=faces, detect_every=2,
                                   tracker_options=TrackerOptions(n_init=1),
                                   frame_threads=threads)
        cams = ["a", "b", "c"]
        for cam in cams:
            processor.start_camera(cam, epoch=1, projector=_projector())
        out = []
        for i in range(8):
            batch = [(cam, clips["cam-faces" if cam != "b" else "cam-people"][(i + k) % 8])
                     for k, cam in enumerate(cams)]
            results = processor.process(batch)
            assert [r.camera_id for r in results] == cams
            out.append(results)
        processor.close()
        processor.close()  # twice is fine
        runs.append(out)
    assert any(name.startswith("frame") for name in faces.threads)
    tracked = 0
    for one, two in zip(*runs, strict=True):
        for r1, r2 in zip(one, two, strict=True):
            assert not r1.dropped and not r2.dropped
            assert r1.image is not None and r2.image is not None
            np.testing.assert_array_equal(r1.image, r2.image)
            np.testing.assert_array_equal(r1.detections.xyxy, r2.detections.xyxy)
            np.testing.assert_array_equal(r1.detections.track_id, r2.detections.track_id)
            np.testing.assert_array_equal(r1.detections.floor_xy, r2.detections.floor_xy)
            tracked += int((r1.detections.track_id >= 0).sum())
    assert tracked > 0


@pytest.mark.parametrize("threads", [0, 17])
def test_frame_threads_are_checked(detector: YoloxOnnxDetector, threads: int) -> None:
    with pytest.raises(ValueError, match="frame_threads: expected 1..16"):
        FrameProcessor(detector=detector, face_detector=None, frame_threads=threads)


@pytest.mark.parametrize("face_every", [0, 6])
def test_face_every_must_stay_within_memory(face_every: int) -> None:
    with pytest.raises(ValueError, match="face_every: expected 1..memory_frames"):
        PrivacyOptions(face_every=face_every, memory_frames=5)


def test_privacy_mask_is_blurred_in_every_frame(clips: dict[str, list[np.ndarray]]) -> None:
    class _Nobody:
        model_version = "nobody@test"

        def detect_batch(self, frames: Sequence[np.ndarray]) -> list[Detections]:
            return [Detections.empty() for _ in frames]

    processor = FrameProcessor(detector=_Nobody(), face_detector=None)
    processor.start_camera("far", epoch=1, projector=None, privacy_mask=[[0, 0, 480, 60]])
    for frame in clips["cam-faces"][:2]:
        [res] = processor.process([("far", frame)])
        assert res.image is not None
        band, rest = res.image[:60], res.image[60:]
        assert _sharpness(band) < 0.1 * _sharpness(frame[:60])
        np.testing.assert_array_equal(rest, frame[60:])
    with pytest.raises(ValueError, match="privacy_mask: expected"):
        processor.start_camera("bad", epoch=1, projector=None, privacy_mask=[[1, 2, 3]])


def test_near_field_band_of_a_calibrated_camera_is_blurred(detector: YoloxOnnxDetector) -> None:
    # 640x360 image onto a 6.4 m x 3.6 m floor: 100 px per metre, so a 1.7 m person is 170 px;
    # half of one (85 px) plus a head (25 px) at the bottom is always blurred (someone cut off
    # by the bottom edge is not detected), the rest of a frame without people is left as is.
    floor = np.array([[0, 0], [6.4, 0], [6.4, 3.6], [0, 3.6]])
    hom = Homography.fit(np.array([[0, 0], [640, 0], [640, 360], [0, 360]]), floor)
    processor = FrameProcessor(
        detector=detector, face_detector=None,
        privacy_options=PrivacyOptions(far_field_min_person_px=0.0,
                                       near_field_visible_fraction=0.5),
    )
    processor.start_camera("cam", epoch=1, projector=FloorProjector(hom, floor_polygon=floor))
    frame = np.random.default_rng(3).integers(0, 256, size=(360, 640, 3), dtype=np.uint8)
    [out] = processor.process([("cam", frame)])
    assert out.image is not None and not out.dropped and len(out.detections) == 0
    changed = np.flatnonzero((out.image != frame).any(axis=(1, 2)))
    assert changed.max() == 359 and 360 - 111 <= changed.min() <= 360 - 110  # rounded out
    with pytest.raises(ValueError, match="near_field_visible_fraction"):
        PrivacyOptions(near_field_visible_fraction=2.0)


def test_faint_boxes_are_blurred_but_not_tracked_or_published(
    clips: dict[str, list[np.ndarray]],
) -> None:
    # The detector keeps everything down to 0.05; only boxes at or above track_conf are
    # tracked and published, the fainter ones still get their heads blurred.
    faint_detector = load_detector(YOLOX_NANO, conf=0.05)
    frame = clips["cam-people"][0]
    boxes = faint_detector.detect_batch([frame])[0]
    assert len(boxes) > 0
    processor = FrameProcessor(detector=faint_detector, face_detector=None,
                               track_conf=float(boxes.confidence.max()) + 0.01)
    processor.start_camera("cam", epoch=1, projector=None)
    [out] = processor.process([("cam", frame)])
    assert not out.dropped and out.image is not None
    assert len(out.detections) == 0  # none is confident enough to be published
    for x1, y1, x2, y2 in head_regions(boxes, frame.shape):
        assert not np.array_equal(out.image[y1:y2, x1:x2], frame[y1:y2, x1:x2])


class _CountingDetector:
    """The real detector, counting the frames it is given."""

    def __init__(self, inner: YoloxOnnxDetector) -> None:
        self.inner = inner
        self.model_version = inner.model_version
        self.frames = 0

    def detect_batch(self, frames: Sequence[np.ndarray]) -> list[Detections]:
        self.frames += len(frames)
        return self.inner.detect_batch(frames)


def test_person_detector_every_nth_frame_coasts_the_tracks_between(
    detector: YoloxOnnxDetector, clips: dict[str, list[np.ndarray]]
) -> None:
    counting = _CountingDetector(detector)
    processor = FrameProcessor(detector=counting, face_detector=None, detect_every=2,
                               tracker_options=TrackerOptions(n_init=1))
    processor.start_camera("a", epoch=1, projector=None)
    processor.start_camera("b", epoch=1, projector=_projector())
    per_batch, coasted, with_ids = [], 0, 0
    last_ids: dict[str, set[int]] = {"a": set(), "b": set()}
    last_count = {"a": 0, "b": 0}
    for i in range(6):
        before = counting.frames
        batch = [("a", clips["cam-people"][i]), ("b", clips["cam-faces"][i])]
        for (cam, frame), res in zip(batch, processor.process(batch), strict=True):
            assert not res.dropped and res.image is not None
            ids = {int(t) for t in res.detections.track_id if t >= 0}
            if "detect" not in res.timings_ms:  # a frame the detector skipped
                coasted += 1
                # The people of the camera's last detector frame, moved on: same ids (none
                # yet for tracks seen once), published with floor points, heads blurred as
                # on any frame.
                assert len(res.detections) == last_count[cam] and ids <= last_ids[cam]
                with_ids += bool(ids)
                if cam == "b":
                    assert res.detections.on_floor.all()
            else:
                last_count[cam] = len(res.detections)
                for x1, y1, x2, y2 in head_regions(res.detections, frame.shape):
                    assert not np.array_equal(res.image[y1:y2, x1:x2], frame[y1:y2, x1:x2])
            last_ids[cam] = ids
        per_batch.append(counting.frames - before)
    # Both cameras on their first frame, then they take turns: one detector frame a batch.
    assert per_batch == [2, 1, 1, 1, 1, 1] and coasted == 5 and with_ids >= 2


@pytest.mark.parametrize("every", [0, 6])
def test_detect_every_must_stay_within_memory(detector: YoloxOnnxDetector, every: int) -> None:
    with pytest.raises(ValueError, match="detect_every: expected 1..memory_frames"):
        FrameProcessor(detector=detector, face_detector=None, detect_every=every)


def test_detector_failure_drops_only_the_frames_it_was_given(
    detector: YoloxOnnxDetector, clips: dict[str, list[np.ndarray]]
) -> None:
    # With the detector on every 2nd frame, a batch mixes detector frames and coasted ones:
    # when the detector fails, its frames are dropped (fail closed), the coasted ones are not.
    processor = FrameProcessor(detector=detector, face_detector=None, detect_every=2)
    processor.start_camera("a", epoch=1, projector=None)
    processor.start_camera("b", epoch=1, projector=None)
    first = processor.process([("a", clips["cam-people"][0]), ("b", clips["cam-faces"][0])])
    assert not any(r.dropped for r in first)
    processor.detector = _FailingDetector()
    a, b = processor.process([("a", clips["cam-people"][1]), ("b", clips["cam-faces"][1])])
    assert not a.dropped and a.image is not None  # a coasts on its 2nd frame
    assert b.dropped and b.drop_reason == "detector_failed" and b.image is None


def test_face_and_person_detectors_on_alternate_frames_take_turns(
    detector: YoloxOnnxDetector, clips: dict[str, list[np.ndarray]]
) -> None:
    # Both every 2nd frame: after the first frame (both run), each frame gets one of them, so
    # no frame goes without a fresh source of blur regions.
    faces = _CountingFaces()
    counting = _CountingDetector(detector)
    processor = FrameProcessor(detector=counting, face_detector=faces, detect_every=2,
                               privacy_options=PrivacyOptions(face_every=2))
    processor.start_camera("a", epoch=1, projector=None)
    ran = []
    for i in range(5):
        f0, d0 = faces.calls, counting.frames
        [res] = processor.process([("a", clips["cam-faces"][i])])
        assert not res.dropped
        ran.append((faces.calls - f0, counting.frames - d0))
    assert ran == [(1, 1), (0, 1), (1, 0), (0, 1), (1, 0)]
