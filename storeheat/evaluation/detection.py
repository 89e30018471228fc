"""Person-detection metrics: AP50 and recall/precision at a confidence threshold.

Matching (PASCAL VOC 2010+ rules, IoU threshold 0.5 by default): within each frame,
detections are taken in decreasing confidence; each is compared with every ground-truth box of
the frame (counted and ignored ones). If its best IoU is below the threshold it is a false
positive. If the best box is an *ignored* box it is dropped (neither TP nor FP). If the best
box is a counted box not yet matched it is a true positive and the box becomes matched;
otherwise (already matched) it is a false positive.

AP is the all-point interpolated average precision (VOC 2010+): the area under the
precision-recall curve after making precision monotonically non-increasing in recall. Pooling
over sequences concatenates all detections before sorting, so the pooled AP is not the mean of
per-sequence APs. AP and recall are undefined (NaN) when there is no counted ground truth.

Which ground-truth rows count: MOT15 rules, rows with ``consider != 0``; MOT17 rules, those of
class 1 (pedestrian); boxes of the distractor classes (2, 7, 8, 12) and zero-marked pedestrian
rows are ignored; other classes (vehicles, occluders) do not exist for the matcher.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from storeheat.evaluation.boxes import iou_xywh
from storeheat.evaluation.exceptions import InvalidInputError
from storeheat.evaluation.motchallenge import (
    DISTRACTOR_CLASSES,
    PEDESTRIAN_CLASS,
    MotRows,
    Rules,
)


@dataclass(frozen=True)
class DetectionFrames:
    """Ground truth and detections of one sequence, frame by frame.

    Attributes:
        gt: Per frame, (G, 4) counted ground-truth boxes ``x, y, w, h``.
        ignore: Per frame, (I, 4) boxes whose detections are neither right nor wrong.
        detections: Per frame, (D, 4) detected boxes.
        confidence: Per frame, (D,) detection confidences.
    """

    gt: tuple[np.ndarray, ...]
    ignore: tuple[np.ndarray, ...]
    detections: tuple[np.ndarray, ...]
    confidence: tuple[np.ndarray, ...]

    def __post_init__(self) -> None:
        n = len(self.gt)
        for name in ("ignore", "detections", "confidence"):
            if len(getattr(self, name)) != n:
                raise InvalidInputError(
                    f"has {len(getattr(self, name))} frames, gt has {n}", argument=name
                )
        for t, (d, c) in enumerate(zip(self.detections, self.confidence, strict=True)):
            if d.shape[0] != c.shape[0]:
                raise InvalidInputError(
                    f"frame index {t}: {d.shape[0]} boxes but {c.shape[0]} confidences",
                    argument="confidence",
                )

    @classmethod
    def from_mot(
        cls,
        gt: MotRows,
        detections: MotRows,
        *,
        num_frames: int,
        rules: Rules | None = None,
        min_visibility: float | None = None,
    ) -> DetectionFrames:
        """Split MOTChallenge rows into counted/ignored ground truth and detections per frame.

        Args:
            gt: Ground-truth rows.
            detections: Detection rows (``det.txt`` layout; column 7 is the confidence).
            num_frames: Frames of the sequence; detections beyond it are dropped.
            rules: ``"MOT15"``/``"MOT17"``; default from the ground-truth layout.
            min_visibility: Counted boxes below this visibility become ignored ones.
        """
        rules = rules or gt.rules
        counted = gt.score != 0
        if rules == "MOT17":
            ped = gt.cls == PEDESTRIAN_CLASS
            ignored = np.isin(gt.cls, DISTRACTOR_CLASSES) | (ped & ~counted)
            counted = counted & ped
        else:
            ignored = ~counted
        if min_visibility is not None:
            low = counted & (gt.visibility < min_visibility)
            counted &= ~low
            ignored |= low
        out: dict[str, list[np.ndarray]] = {"gt": [], "ignore": [], "det": [], "conf": []}
        for f in range(1, num_frames + 1):
            in_gt = gt.frame == f
            in_det = detections.frame == f
            out["gt"].append(gt.xywh[in_gt & counted])
            out["ignore"].append(gt.xywh[in_gt & ignored])
            out["det"].append(detections.xywh[in_det])
            out["conf"].append(detections.score[in_det])
        return cls(
            gt=tuple(out["gt"]),
            ignore=tuple(out["ignore"]),
            detections=tuple(out["det"]),
            confidence=tuple(out["conf"]),
        )


@dataclass(frozen=True)
class _Matched:
    confidence: np.ndarray  # (K,) kept detections (not ignored)
    is_tp: np.ndarray  # (K,) bool
    num_gt: int


def _match(frames: DetectionFrames, iou_threshold: float) -> _Matched:
    confs: list[np.ndarray] = []
    tps: list[np.ndarray] = []
    num_gt = 0
    for gt, ign, det, conf in zip(frames.gt, frames.ignore, frames.detections,
                                  frames.confidence, strict=True):
        num_gt += gt.shape[0]
        if det.shape[0] == 0:
            continue
        order = np.argsort(-conf, kind="stable")
        boxes = np.concatenate([gt.reshape(-1, 4), ign.reshape(-1, 4)])
        iou = iou_xywh(det[order], boxes)
        taken = np.zeros(boxes.shape[0], dtype=bool)
        keep = np.ones(order.shape[0], dtype=bool)
        tp = np.zeros(order.shape[0], dtype=bool)
        for k in range(order.shape[0]):
            if boxes.shape[0] == 0:
                break
            best = int(np.argmax(iou[k]))
            if iou[k, best] < iou_threshold:
                continue  # false positive
            if best >= gt.shape[0]:
                keep[k] = False  # on an ignored box
            elif not taken[best]:
                taken[best] = True
                tp[k] = True
        confs.append(conf[order][keep])
        tps.append(tp[keep])
    return _Matched(
        confidence=np.concatenate(confs) if confs else np.zeros(0),
        is_tp=np.concatenate(tps) if tps else np.zeros(0, dtype=bool),
        num_gt=num_gt,
    )


def average_precision(recall: np.ndarray, precision: np.ndarray) -> float:
    """All-point interpolated AP (VOC 2010+) of a precision-recall curve.

    Args:
        recall: Recall after each detection, in decreasing-confidence order (non-decreasing).
        precision: Precision after each detection, same order.

    Returns:
        Area under the monotone precision envelope; 0.0 for an empty curve.
    """
    if recall.size == 0:
        return 0.0
    mrec = np.concatenate([[0.0], recall, [1.0]])
    mpre = np.concatenate([[0.0], precision, [0.0]])
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    step = np.flatnonzero(mrec[1:] != mrec[:-1])
    return float(np.sum((mrec[step + 1] - mrec[step]) * mpre[step + 1]))


@dataclass(frozen=True)
class DetectionScores:
    """Detection scores of one sequence or pooled.

    Attributes:
        ap50: All-point AP at the IoU threshold (NaN without counted ground truth).
        recall: Recall of detections with confidence >= ``min_confidence``.
        precision: Precision of those detections (NaN when there are none).
        true_positives, false_positives, false_negatives: Counts at ``min_confidence``.
        gt_boxes: Counted ground-truth boxes.
        detections: Detections considered for AP (ignored ones excluded).
    """

    ap50: float
    recall: float
    precision: float
    true_positives: int
    false_positives: int
    false_negatives: int
    gt_boxes: int
    detections: int

    def to_dict(self) -> dict[str, float | int | None]:
        return {k: (None if isinstance(v, float) and np.isnan(v) else v)
                for k, v in asdict(self).items()}


def _score(m: _Matched, min_confidence: float) -> DetectionScores:
    order = np.argsort(-m.confidence, kind="stable")
    tp = m.is_tp[order].astype(np.float64)
    ctp = np.cumsum(tp)
    cfp = np.cumsum(1.0 - tp)
    if m.num_gt:
        ap = average_precision(ctp / m.num_gt, ctp / np.maximum(ctp + cfp, 1e-300))
    else:
        ap = float("nan")
    above = m.confidence >= min_confidence
    n_tp = int(np.sum(m.is_tp & above))
    n_fp = int(np.sum(~m.is_tp & above))
    return DetectionScores(
        ap50=ap,
        recall=n_tp / m.num_gt if m.num_gt else float("nan"),
        precision=n_tp / (n_tp + n_fp) if n_tp + n_fp else float("nan"),
        true_positives=n_tp,
        false_positives=n_fp,
        false_negatives=m.num_gt - n_tp,
        gt_boxes=m.num_gt,
        detections=int(m.confidence.size),
    )


@dataclass(frozen=True)
class DetectionReport:
    """Per-sequence and pooled detection scores."""

    sequences: dict[str, DetectionScores]
    pooled: DetectionScores
    iou_threshold: float
    min_confidence: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "iou_threshold": self.iou_threshold,
            "min_confidence": self.min_confidence,
            "sequences": {k: v.to_dict() for k, v in self.sequences.items()},
            "pooled": self.pooled.to_dict(),
        }


def evaluate_detections(
    sequences: Mapping[str, DetectionFrames],
    *,
    iou_threshold: float = 0.5,
    min_confidence: float = float("-inf"),
) -> DetectionReport:
    """AP (at ``iou_threshold``) and recall/precision at ``min_confidence``.

    Args:
        sequences: Per-sequence frames (see :meth:`DetectionFrames.from_mot`).
        iou_threshold: IoU a detection needs with a ground-truth box (0.5 gives AP50).
        min_confidence: Confidence at which recall and precision are reported (default: all
            detections). AP always uses every detection.

    Raises:
        InvalidInputError: no sequences, or a threshold outside (0, 1].
    """
    if not sequences:
        raise InvalidInputError("no sequences to evaluate", argument="sequences")
    if not 0.0 < iou_threshold <= 1.0:
        raise InvalidInputError(f"must be in (0, 1], got {iou_threshold}",
                                argument="iou_threshold")
    matched = {name: _match(f, iou_threshold) for name, f in sequences.items()}
    pooled = _Matched(
        confidence=np.concatenate([m.confidence for m in matched.values()]),
        is_tp=np.concatenate([m.is_tp for m in matched.values()]),
        num_gt=sum(m.num_gt for m in matched.values()),
    )
    return DetectionReport(
        sequences={k: _score(m, min_confidence) for k, m in matched.items()},
        pooled=_score(pooled, min_confidence),
        iou_threshold=iou_threshold,
        min_confidence=min_confidence,
    )
