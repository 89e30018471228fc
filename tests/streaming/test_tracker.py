"""Tracking: stable ids for moving objects, ids unique per camera and epoch, cheap embedders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from streaming.detections import UNTRACKED, Detections
from streaming.exceptions import ModelLoadError
from streaming.tracker import (
    CameraTracker,
    HistogramEmbedder,
    MobileNetEmbedder,
    NoAppearance,
)
from tests.streaming.conftest import mot_frame


def _scene(step: int, *, size: tuple[int, int] = (240, 320)) -> tuple[np.ndarray, Detections]:
    """Two coloured 'people' walking towards each other on a grey floor."""
    frame = np.full((*size, 3), 120, dtype=np.uint8)
    boxes = []
    for x0, dx, colour in ((20, 8, (0, 0, 220)), (260, -8, (220, 60, 0))):
        x = x0 + dx * step
        frame[60:200, x : x + 40] = colour
        frame[60:130, x : x + 40] = (colour[2], colour[1], colour[0])  # distinct top and legs
        boxes.append([x, 60, x + 40, 200])
    return frame, Detections(xyxy=boxes, confidence=[0.9, 0.8])


@pytest.mark.parametrize("embedder", [HistogramEmbedder(), NoAppearance()], ids=lambda e: e.name)
def test_ids_stable_for_moving_objects(embedder: object) -> None:
    tracker = CameraTracker(camera_id="cam-1", epoch=1, embedder=embedder, n_init=2)  # type: ignore[arg-type]
    history = []
    for step in range(12):
        frame, dets = _scene(step)
        out = tracker.update(dets, frame=frame)
        assert len(out) == 2 and out is not dets
        np.testing.assert_array_equal(out.xyxy, dets.xyxy)
        history.append(out.track_id.tolist())
    assert history[0] == [UNTRACKED, UNTRACKED]  # not confirmed on first sight
    confirmed = history[2:]
    assert all(UNTRACKED not in ids for ids in confirmed)
    assert all(ids == confirmed[0] for ids in confirmed), history
    assert len(set(confirmed[0])) == 2


def test_ids_are_per_camera_and_epoch() -> None:
    def run(tracker: CameraTracker) -> set[int]:
        ids: set[int] = set()
        for step in range(5):
            frame, dets = _scene(step)
            ids.update(int(t) for t in tracker.update(dets, frame=frame).track_id if t >= 0)
        return ids

    a1 = CameraTracker(camera_id="a", epoch=1, n_init=2)
    b1 = CameraTracker(camera_id="b", epoch=1, n_init=2)
    a2 = CameraTracker(camera_id="a", epoch=2, n_init=2)
    ids_a1, ids_b1, ids_a2 = run(a1), run(b1), run(a2)
    # Each (camera, epoch) numbers its own tracks from 1; uniqueness is within the pair.
    assert ids_a1 == ids_b1 == ids_a2 == {1, 2}
    assert (a1.camera_id, a1.epoch) != (a2.camera_id, a2.epoch)
    assert a1.live_tracks == 2


def test_person_leaving_and_new_person_get_new_id() -> None:
    tracker = CameraTracker(camera_id="c", epoch=1, n_init=1, max_age=2)
    frame, dets = _scene(0)
    one = dets.filter(np.array([0]))
    # DeepSORT creates tracks tentative: with n_init=1 they are confirmed on the second frame.
    assert tracker.update(one, frame=frame).track_id.tolist() == [UNTRACKED]
    first = tracker.update(one, frame=frame).track_id.tolist()
    for _ in range(4):  # nobody for longer than max_age
        tracker.update(Detections.empty(), frame=frame)
    tracker.update(one, frame=frame)
    again = tracker.update(one, frame=frame).track_id.tolist()
    assert first == [1] and again == [2]


def test_zero_size_boxes_do_not_shift_features() -> None:
    tracker = CameraTracker(camera_id="c", epoch=1, n_init=1)
    frame, dets = _scene(0)
    flat = Detections(xyxy=np.vstack([[50, 50, 50, 80], dets.xyxy]), confidence=[0.5, 0.9, 0.8])
    tracker.update(flat, frame=frame)
    out = tracker.update(flat, frame=frame)
    assert out.track_id[0] == UNTRACKED and (out.track_id[1:] > 0).all()


def test_update_needs_frame_or_matching_features() -> None:
    tracker = CameraTracker(camera_id="cam-9", epoch=1)
    _, dets = _scene(0)
    with pytest.raises(ValueError, match="cam-9: update needs a frame or features"):
        tracker.update(dets)
    with pytest.raises(ValueError, match="expected 2 feature rows"):
        tracker.update(dets, features=np.ones((3, 4), np.float32))


def test_embedders_batch_across_frames(realdata: Path) -> None:
    frame = mot_frame("MOT17-04-FRCNN")
    boxes = np.array([[374, 400, 451, 643], [1348, 574, 1445, 805]], dtype=np.float32)
    other = mot_frame("MOT17-02-FRCNN")
    for embedder in (HistogramEmbedder(), MobileNetEmbedder(input_size=(64, 128))):
        feats = embedder.embed_batch([(frame, boxes), (other, boxes[:1]), (frame, boxes[:0])])
        assert [f.shape[0] for f in feats] == [2, 1, 0]
        assert np.allclose(np.linalg.norm(feats[0], axis=1), 1.0, atol=1e-5)
        single = embedder.embed_batch([(frame, boxes)])[0]
        np.testing.assert_allclose(feats[0], single, atol=1e-4)
        # The same person is closer to itself than to someone else.
        assert float(feats[0][0] @ single[0]) > float(feats[0][0] @ feats[0][1])


def test_missing_embedder_weights(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="embedder weights not found"):
        MobileNetEmbedder(weights=tmp_path / "nope.pt")


def test_coast_moves_the_last_seen_tracks_without_changing_the_tracker() -> None:
    # The two 'people' move 8 px a step; tracked on every 2nd step, the frame between is
    # half a tracker step on: boxes moved along the way they walk (by the Kalman velocity,
    # which is still catching up after four updates), ids kept, and the next update matches
    # as if nothing had come between.
    tracker = CameraTracker(camera_id="c", epoch=1, n_init=2)
    assert len(tracker.coast(0.5)) == 0  # nothing seen yet
    for step in (0, 2, 4, 6):
        frame, dets = _scene(step)
        out = tracker.update(dets, frame=frame)
    ids = out.track_id.tolist()
    assert UNTRACKED not in ids
    coasted = tracker.coast(0.5)
    assert coasted.track_id.tolist() == ids
    np.testing.assert_allclose(coasted.confidence, [0.9, 0.8], atol=1e-6)
    moved = coasted.xyxy[:, 0] - out.xyxy[:, 0]
    assert 1.0 < moved[0] <= 8.5 and -8.5 <= moved[1] < -1.0, moved  # right, left; < a step
    np.testing.assert_allclose(coasted.xyxy[:, [1, 3]], out.xyxy[:, [1, 3]], atol=1.0)
    np.testing.assert_allclose(coasted.xyxy[:, 2] - coasted.xyxy[:, 0], 40.0, atol=1.0)
    np.testing.assert_array_equal(tracker.coast(0.5).xyxy, coasted.xyxy)  # no state change
    frame, dets = _scene(8)
    assert tracker.update(dets, frame=frame).track_id.tolist() == ids
    with pytest.raises(ValueError, match="fraction: expected 0..1"):
        tracker.coast(1.5)


def test_coast_gives_tentative_tracks_without_an_id() -> None:
    tracker = CameraTracker(camera_id="c", epoch=1, n_init=3)
    frame, dets = _scene(0)
    tracker.update(dets, frame=frame)
    coasted = tracker.coast(0.5)
    assert len(coasted) == 2 and coasted.track_id.tolist() == [UNTRACKED, UNTRACKED]


def test_updates_frames_apart_widen_the_motion_model_not_the_measurement() -> None:
    # With the detector on every 2nd frame a person walks twice as far between updates:
    # the motion noise of a step doubles (std), what a box measurement is trusted does not.
    def kf(step: int) -> object:
        tracker = CameraTracker(camera_id="c", epoch=1, step_frames=step)
        return tracker._deepsort.tracker.kf

    box = np.array([100.0, 100.0, 0.4, 150.0])
    one, two = kf(1), kf(2)
    m1, c1 = one.initiate(box)  # type: ignore[attr-defined]
    m2, c2 = two.initiate(box)  # type: ignore[attr-defined]
    np.testing.assert_allclose(np.diag(c2)[:4], np.diag(c1)[:4])
    moving = [4, 5, 7]  # velocities of x, y and height (the aspect ratio's is a constant)
    np.testing.assert_allclose(np.sqrt(np.diag(c2)[moving]), 2 * np.sqrt(np.diag(c1)[moving]))
    # The noise a prediction adds (from a certain state): x, y, height and their velocities.
    q1 = np.diag(one.predict(m1, np.zeros((8, 8)))[1])  # type: ignore[attr-defined]
    q2 = np.diag(two.predict(m1, np.zeros((8, 8)))[1])  # type: ignore[attr-defined]
    scaled = [0, 1, 3, 4, 5, 7]
    np.testing.assert_allclose(q2[scaled], 4 * q1[scaled])
    np.testing.assert_allclose(two.project(m1, c1)[1], one.project(m1, c1)[1])  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="step_frames"):
        CameraTracker(camera_id="c", epoch=1, step_frames=0)
