"""AP50 (VOC all-point), recall and precision on hand-made frames and real MOT17 frames."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from storeheat.evaluation.detection import (
    DetectionFrames,
    average_precision,
    evaluate_detections,
)
from storeheat.evaluation.exceptions import InvalidInputError
from storeheat.evaluation.motchallenge import MotRows, read_sequence
from tests.storeheat.evaluation.conftest import MOT17_TUNING, copy_rows

GT = np.array([[0, 0, 10, 20], [50, 0, 10, 20]], dtype=float)
IGNORE = np.array([[100, 0, 10, 20]], dtype=float)


def _frames(dets: list[list[float]], conf: list[float], *, ignore: np.ndarray = IGNORE
            ) -> DetectionFrames:
    return DetectionFrames(gt=(GT,), ignore=(ignore,), detections=(np.array(dets, float),),
                           confidence=(np.array(conf, float),))


def test_duplicates_and_misses_follow_voc_all_point_ap() -> None:
    frames = _frames(
        [[0, 0, 10, 20], [1, 0, 10, 20], [50, 0, 10, 20], [300, 0, 10, 20]],
        [0.9, 0.8, 0.7, 0.6],
    )
    s = evaluate_detections({"a": frames}).pooled
    # Ranked: TP, FP (duplicate), TP, FP. Recall 0.5 at precision 1, then recall 1 at 2/3:
    # all-point AP = 0.5 * 1 + 0.5 * 2/3.
    assert s.ap50 == pytest.approx(0.5 + 0.5 * 2 / 3)
    assert (s.true_positives, s.false_positives, s.false_negatives) == (2, 2, 0)
    at = evaluate_detections({"a": frames}, min_confidence=0.75).pooled
    assert (at.recall, at.precision) == (0.5, 0.5)


def test_detections_on_ignored_boxes_are_neither_right_nor_wrong() -> None:
    with_ignored = _frames([[0, 0, 10, 20], [100, 0, 10, 20], [50, 0, 10, 20]], [0.9, 0.95, 0.5])
    s = evaluate_detections({"a": with_ignored}).pooled
    assert s.ap50 == 1.0 and s.false_positives == 0 and s.detections == 2
    without = _frames([[0, 0, 10, 20], [100, 0, 10, 20], [50, 0, 10, 20]], [0.9, 0.95, 0.5],
                      ignore=np.zeros((0, 4)))
    s2 = evaluate_detections({"a": without}).pooled
    # The same box is a false positive ranked first when nothing is ignored: precision 1/2 at
    # recall 1/2 and 2/3 at recall 1; the envelope lifts the first half to 2/3.
    assert s2.false_positives == 1 and s2.ap50 == pytest.approx(2 / 3)


def test_pooled_ap_ranks_all_sequences_together() -> None:
    good = _frames([[0, 0, 10, 20], [50, 0, 10, 20]], [0.5, 0.4])
    bad = _frames([[300, 0, 10, 20]], [0.99])
    report = evaluate_detections({"good": good, "bad": bad})
    assert report.sequences["good"].ap50 == 1.0 and report.sequences["bad"].ap50 == 0.0
    # Pooled ranking: FP, TP, TP over 4 gt boxes: recall 0.25 at 1/2, 0.5 at 2/3.
    assert report.pooled.ap50 == pytest.approx(0.25 * (2 / 3) + 0.25 * (2 / 3))
    assert report.pooled.gt_boxes == 4


def test_average_precision_envelope() -> None:
    rec = np.array([0.2, 0.4, 0.4, 0.6])
    prec = np.array([1.0, 1.0, 0.67, 0.75])
    # Envelope: 1 up to recall 0.4, then 0.75 up to 0.6, nothing beyond.
    assert average_precision(rec, prec) == pytest.approx(0.4 * 1.0 + 0.2 * 0.75)
    assert average_precision(np.zeros(0), np.zeros(0)) == 0.0


def test_no_ground_truth_gives_undefined_ap_and_recall() -> None:
    frames = DetectionFrames(gt=(np.zeros((0, 4)),), ignore=(np.zeros((0, 4)),),
                             detections=(np.array([[0, 0, 1, 1.0]]),), confidence=(np.ones(1),))
    s = evaluate_detections({"a": frames}).pooled
    assert math.isnan(s.ap50) and math.isnan(s.recall) and s.precision == 0.0
    assert s.to_dict()["ap50"] is None


def test_mot17_ground_truth_as_detections_is_perfect(mot17_mini_dir: Path) -> None:
    frames = {}
    for name in MOT17_TUNING:
        seq = read_sequence(mot17_mini_dir / name)
        assert seq.gt is not None
        counted = (seq.gt.cls == 1) & (seq.gt.score != 0)
        as_det = copy_rows(seq.gt, mask=counted)
        frames[name] = DetectionFrames.from_mot(seq.gt, as_det, num_frames=seq.num_frames)
    s = evaluate_detections(frames).pooled
    assert (s.ap50, s.recall, s.precision) == (1.0, 1.0, 1.0)


def test_public_detections_score_between_bounds(mot17_mini_dir: Path) -> None:
    frames = {}
    for name in MOT17_TUNING:
        seq = read_sequence(mot17_mini_dir / name)
        assert seq.gt is not None and seq.det is not None
        frames[name] = DetectionFrames.from_mot(seq.gt, seq.det, num_frames=seq.num_frames)
    all_dets = evaluate_detections(frames).pooled
    strict = evaluate_detections(frames, min_confidence=0.9).pooled
    assert 0.0 < all_dets.ap50 < 1.0
    assert strict.recall <= all_dets.recall and strict.true_positives <= all_dets.true_positives
    # AP is at most the area of the rectangle recall x best precision.
    assert all_dets.ap50 <= all_dets.recall + 1e-12


def test_mot17_distractors_are_ignored_and_other_classes_absent() -> None:
    gt = MotRows.from_arrays(frame=[1, 1, 1], track_id=[1, 2, 3],
                             xywh=[[0, 0, 10, 20], [100, 0, 10, 20], [200, 0, 10, 20]],
                             score=[1, 0, 0], classes=[1, 8, 3])
    det = MotRows.from_arrays(frame=[1, 1, 1], track_id=[-1, -1, -1],
                              xywh=[[0, 0, 10, 20], [100, 0, 10, 20], [200, 0, 10, 20]],
                              score=[0.9, 0.8, 0.7])
    s = evaluate_detections({"s": DetectionFrames.from_mot(gt, det, num_frames=1)}).pooled
    assert (s.true_positives, s.false_positives, s.gt_boxes, s.detections) == (1, 1, 1, 2)


def test_mismatched_frame_counts_name_the_argument() -> None:
    with pytest.raises(InvalidInputError) as info:
        DetectionFrames(gt=(GT, GT), ignore=(IGNORE,), detections=(GT, GT),
                        confidence=(np.ones(2), np.ones(2)))
    assert info.value.argument == "ignore"
    with pytest.raises(InvalidInputError) as info:
        evaluate_detections({"a": _frames([[0, 0, 1, 1]], [1.0])}, iou_threshold=0.0)
    assert info.value.argument == "iou_threshold"
