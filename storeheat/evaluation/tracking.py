"""Multi-object tracking metrics: HOTA, MOTA (CLEAR) and IDF1 (Identity) through trackeval.

The metric arithmetic is trackeval's own (``trackeval.metrics.HOTA``, ``CLEAR``,
``Identity``), driven directly on in-memory per-frame data rather than through trackeval's
file-layout ``Evaluator``, so the same path scores the simulated store and MOTChallenge files:

1. :func:`prepare_frames` turns ground-truth and tracker boxes into :class:`TrackingFrames`
   (per frame: ground-truth ids, tracker ids, IoU matrix), applying the MOTChallenge row rules
   exactly as trackeval's ``MotChallenge2DBox`` does (see :data:`~.motchallenge.Rules`).
2. :func:`evaluate_tracking` scores each sequence and pools them with trackeval's
   ``combine_sequences`` (sums of TP/FN/FP/IDSW/IDTP…, not an average of per-sequence scores).

Checked against the published numbers: TUD-Campus + TUD-Stadtmitte (MOT15) with the results in
``shared/realdata/mot15-tud`` score IDF1 0.624, IDP 0.799, MOTA 0.555, 14 ID switches and
HOTA 0.400 pooled, the figures mmtracking's test expects and motmetrics 1.4.0 reproduces.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment

from storeheat.evaluation.boxes import iou_xywh
from storeheat.evaluation.compat import tracking_metric_classes
from storeheat.evaluation.exceptions import InputMismatchError, InvalidInputError, MotFormatError
from storeheat.evaluation.motchallenge import (
    DISTRACTOR_CLASSES,
    PEDESTRIAN_CLASS,
    MotRows,
    Rules,
    read_mot_file,
    read_sequence,
    resolve_sequences,
)

_EPS = float(np.finfo("float").eps)


@dataclass(frozen=True)
class TrackingFrames:
    """One sequence in the form trackeval's metric classes consume.

    Attributes:
        gt_ids: Per frame, ground-truth ids relabelled to ``0 … num_gt_ids-1`` (int arrays).
        tracker_ids: Per frame, tracker ids relabelled to ``0 … num_tracker_ids-1``.
        similarity: Per frame, (len(gt_ids[t]), len(tracker_ids[t])) similarity in [0, 1]
            (box IoU for camera boxes).
    """

    gt_ids: tuple[np.ndarray, ...]
    tracker_ids: tuple[np.ndarray, ...]
    similarity: tuple[np.ndarray, ...]

    def __post_init__(self) -> None:
        if not (len(self.gt_ids) == len(self.tracker_ids) == len(self.similarity)):
            raise InvalidInputError(
                f"gt_ids, tracker_ids and similarity must have one entry per frame, got "
                f"{len(self.gt_ids)}, {len(self.tracker_ids)}, {len(self.similarity)}",
                argument="frames",
            )
        for t, (g, r, s) in enumerate(zip(self.gt_ids, self.tracker_ids, self.similarity,
                                          strict=True)):
            if s.shape != (len(g), len(r)):
                raise InvalidInputError(
                    f"frame index {t}: similarity has shape {s.shape}, expected "
                    f"({len(g)}, {len(r)})",
                    argument="similarity",
                )

    @property
    def num_frames(self) -> int:
        return len(self.gt_ids)

    def as_trackeval(self) -> dict[str, Any]:
        """The ``data`` dict trackeval's ``eval_sequence`` expects."""
        gt_all = np.concatenate(self.gt_ids) if self.gt_ids else np.zeros(0, int)
        tr_all = np.concatenate(self.tracker_ids) if self.tracker_ids else np.zeros(0, int)
        return {
            "gt_ids": list(self.gt_ids),
            "tracker_ids": list(self.tracker_ids),
            "similarity_scores": list(self.similarity),
            "num_timesteps": self.num_frames,
            "num_gt_ids": int(gt_all.max()) + 1 if gt_all.size else 0,
            "num_tracker_ids": int(tr_all.max()) + 1 if tr_all.size else 0,
            "num_gt_dets": int(gt_all.size),
            "num_tracker_dets": int(tr_all.size),
        }

    @classmethod
    def from_ids(
        cls,
        *,
        gt_ids: Sequence[Sequence[int]],
        tracker_ids: Sequence[Sequence[int]],
        similarity: Sequence[np.ndarray],
    ) -> TrackingFrames:
        """Build frames from arbitrary (non-contiguous) ids, relabelling them.

        Use this for non-box similarities, e.g. floor-plane distance turned into a score.
        """
        return cls(
            gt_ids=_relabel([np.asarray(g, dtype=np.int64) for g in gt_ids]),
            tracker_ids=_relabel([np.asarray(r, dtype=np.int64) for r in tracker_ids]),
            similarity=tuple(np.asarray(s, dtype=np.float64) for s in similarity),
        )


def distance_similarity(
    truth_xy: npt.ArrayLike, predicted_xy: npt.ArrayLike, *, zero_at: float = 2.0
) -> np.ndarray:
    """Similarity of floor positions for :meth:`TrackingFrames.from_ids`.

    ``max(0, 1 - distance / zero_at)``: 1 at the same spot, 0 from ``zero_at`` metres on. With
    the CLEAR/Identity threshold 0.5 a match needs a distance of at most ``zero_at / 2``.

    Args:
        truth_xy: (N, 2) true floor positions in metres.
        predicted_xy: (M, 2) measured positions in metres.
        zero_at: Distance (metres) at which the similarity reaches 0.

    Returns:
        (N, M) similarity matrix.

    Raises:
        InvalidInputError: positions not (N, 2), or ``zero_at`` not positive.
    """
    if not zero_at > 0:
        raise InvalidInputError(f"must be > 0 metres, got {zero_at}", argument="zero_at")
    a = np.asarray(truth_xy, dtype=np.float64)
    b = np.asarray(predicted_xy, dtype=np.float64)
    for name, arr in (("truth_xy", a), ("predicted_xy", b)):
        if arr.size and (arr.ndim != 2 or arr.shape[1] != 2):
            raise InvalidInputError(f"expected (N, 2) positions, got shape {arr.shape}",
                                    argument=name)
    a = a.reshape(-1, 2)
    b = b.reshape(-1, 2)
    dist = np.linalg.norm(a[:, None, :] - b[None, :, :], axis=2)
    return np.clip(1.0 - dist / zero_at, 0.0, 1.0)


def _relabel(ids: list[np.ndarray]) -> tuple[np.ndarray, ...]:
    nonempty = [i for i in ids if i.size]
    if not nonempty:
        return tuple(np.zeros(0, dtype=int) for _ in ids)
    unique = np.unique(np.concatenate(nonempty))
    return tuple(np.searchsorted(unique, i).astype(int) for i in ids)


def prepare_frames(
    gt: MotRows,
    results: MotRows,
    *,
    num_frames: int,
    rules: Rules | None = None,
    min_visibility: float | None = None,
) -> TrackingFrames:
    """Apply the MOTChallenge row rules and build the per-frame data of one sequence.

    Args:
        gt: Ground-truth rows.
        results: Tracker rows (every row counts; confidence is ignored, as in MOTChallenge).
        num_frames: Frames of the sequence (frames without rows count as empty frames).
        rules: ``"MOT15"`` or ``"MOT17"``; default the ground-truth file's layout.
        min_visibility: Drop ground-truth rows below this visibility (MOT17 layout only);
            default keep all (as MOTChallenge and mmtracking's ``visibility_thr=-1``).

    Returns:
        The sequence as :class:`TrackingFrames`.

    Raises:
        MotFormatError: a tracker row lies beyond ``num_frames`` (names file and line).
    """
    rules = rules or gt.rules
    if len(results) and results.frame.max() > num_frames:
        i = int(np.argmax(results.frame > num_frames))
        raise MotFormatError(
            f"frame {results.frame[i]} is beyond the sequence's {num_frames} frames",
            path=results.path,
            line=int(results.line[i]),
        )
    gt_by_frame = _group(gt.frame, num_frames)
    tr_by_frame = _group(results.frame, num_frames)
    gt_ids: list[np.ndarray] = []
    tr_ids: list[np.ndarray] = []
    sims: list[np.ndarray] = []
    for t in range(num_frames):
        gi = gt_by_frame[t]
        ti = tr_by_frame[t]
        sim = iou_xywh(gt.xywh[gi], results.xywh[ti])
        keep_tr = np.ones(len(ti), dtype=bool)
        if rules == "MOT17" and len(gi) and len(ti):
            # trackeval: tracker boxes matched (IoU >= 0.5, Hungarian) to a distractor are
            # neither TP nor FP.
            scores = np.where(sim < 0.5 - _EPS, 0.0, sim)
            rows, cols = linear_sum_assignment(-scores)
            ok = scores[rows, cols] > _EPS
            rows, cols = rows[ok], cols[ok]
            keep_tr[cols[np.isin(gt.cls[gi][rows], DISTRACTOR_CLASSES)]] = False
        keep_gt = gt.score[gi] != 0
        if rules == "MOT17":
            keep_gt &= gt.cls[gi] == PEDESTRIAN_CLASS
        if min_visibility is not None:
            keep_gt &= gt.visibility[gi] >= min_visibility
        gt_ids.append(gt.track_id[gi][keep_gt])
        tr_ids.append(results.track_id[ti][keep_tr])
        sims.append(sim[np.ix_(keep_gt, keep_tr)])
    return TrackingFrames(
        gt_ids=_relabel(gt_ids), tracker_ids=_relabel(tr_ids), similarity=tuple(sims)
    )


def _group(frames: np.ndarray, num_frames: int) -> list[np.ndarray]:
    """Row indices per 0-based frame index, rows kept in file order."""
    order = np.argsort(frames, kind="stable")
    bounds = np.searchsorted(frames[order], np.arange(1, num_frames + 2))
    return [order[bounds[t]:bounds[t + 1]] for t in range(num_frames)]


@dataclass(frozen=True)
class TrackingScores:
    """Tracking scores of one sequence or of several pooled.

    HOTA, DetA, AssA and LocA are averaged over trackeval's 19 thresholds alpha = 0.05 … 0.95;
    the CLEAR and Identity figures use one IoU threshold (0.5 by default). See docs/metrics.md.
    """

    hota: float
    deta: float
    assa: float
    loca: float
    mota: float
    motp: float
    idf1: float
    idp: float
    idr: float
    id_switches: int
    recall: float
    precision: float
    true_positives: int
    false_negatives: int
    false_positives: int
    fragmentations: int
    mostly_tracked: int
    mostly_lost: int
    gt_boxes: int
    tracker_boxes: int
    frames: int

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


@dataclass(frozen=True)
class TrackingReport:
    """Per-sequence scores and their pooled combination.

    Attributes:
        sequences: Scores by sequence name, in evaluation order.
        pooled: All sequences combined (counts summed, then ratios computed).
        iou_threshold: Match threshold of CLEAR and Identity.
    """

    sequences: dict[str, TrackingScores]
    pooled: TrackingScores
    iou_threshold: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "iou_threshold": self.iou_threshold,
            "sequences": {k: v.to_dict() for k, v in self.sequences.items()},
            "pooled": self.pooled.to_dict(),
        }


def _scores(hota: Mapping[str, Any], clear: Mapping[str, Any], ident: Mapping[str, Any],
            frames: int) -> TrackingScores:
    return TrackingScores(
        hota=float(np.mean(hota["HOTA"])),
        deta=float(np.mean(hota["DetA"])),
        assa=float(np.mean(hota["AssA"])),
        loca=float(np.mean(hota["LocA"])),
        mota=float(clear["MOTA"]),
        motp=float(clear["MOTP"]),
        idf1=float(ident["IDF1"]),
        idp=float(ident["IDP"]),
        idr=float(ident["IDR"]),
        id_switches=int(clear["IDSW"]),
        recall=float(clear["CLR_Re"]),
        precision=float(clear["CLR_Pr"]),
        true_positives=int(clear["CLR_TP"]),
        false_negatives=int(clear["CLR_FN"]),
        false_positives=int(clear["CLR_FP"]),
        fragmentations=int(clear["Frag"]),
        mostly_tracked=int(clear["MT"]),
        mostly_lost=int(clear["ML"]),
        gt_boxes=int(ident["IDTP"] + ident["IDFN"]),
        tracker_boxes=int(ident["IDTP"] + ident["IDFP"]),
        frames=frames,
    )


def evaluate_tracking(
    sequences: Mapping[str, TrackingFrames], *, iou_threshold: float = 0.5
) -> TrackingReport:
    """Score tracking with trackeval's HOTA, CLEAR and Identity, per sequence and pooled.

    Args:
        sequences: Prepared frames by sequence name (see :func:`prepare_frames`).
        iou_threshold: Similarity a box pair needs to count as a match in CLEAR/Identity.

    Returns:
        The :class:`TrackingReport`.

    Raises:
        InvalidInputError: no sequences, or a threshold outside (0, 1].
    """
    if not sequences:
        raise InvalidInputError("no sequences to evaluate", argument="sequences")
    if not 0.0 < iou_threshold <= 1.0:
        raise InvalidInputError(f"must be in (0, 1], got {iou_threshold}",
                                argument="iou_threshold")
    hota_m, clear_m, ident_m = tracking_metric_classes(iou_threshold=iou_threshold)
    raw: dict[str, dict[str, dict[str, Any]]] = {"HOTA": {}, "CLEAR": {}, "Identity": {}}
    per_seq: dict[str, TrackingScores] = {}
    total_frames = 0
    for name, frames in sequences.items():
        data = frames.as_trackeval()
        raw["HOTA"][name] = hota_m.eval_sequence(data)
        raw["CLEAR"][name] = clear_m.eval_sequence(data)
        raw["Identity"][name] = ident_m.eval_sequence(data)
        per_seq[name] = _scores(raw["HOTA"][name], raw["CLEAR"][name], raw["Identity"][name],
                                frames.num_frames)
        total_frames += frames.num_frames
    pooled = _scores(
        hota_m.combine_sequences(raw["HOTA"]),
        clear_m.combine_sequences(raw["CLEAR"]),
        ident_m.combine_sequences(raw["Identity"]),
        total_frames,
    )
    return TrackingReport(sequences=per_seq, pooled=pooled, iou_threshold=iou_threshold)


def evaluate_mot(
    gt_dir: Path | str,
    results_dir: Path | str,
    *,
    seqs: Sequence[str] | None = None,
    rules: Rules | None = None,
    iou_threshold: float = 0.5,
    min_visibility: float | None = None,
) -> TrackingReport:
    """Score a directory of MOTChallenge result files against a directory of sequences.

    Args:
        gt_dir: Directory of sequences (``<seq>/gt/gt.txt``, ``<seq>/seqinfo.ini``).
        results_dir: Directory of ``<seq>.txt`` tracker files.
        seqs: Sequences to score (default all in ``gt_dir``).
        rules: Row rules; default from each ground-truth file's layout.
        iou_threshold: CLEAR/Identity match threshold.
        min_visibility: See :func:`prepare_frames`.

    Raises:
        InputMismatchError, InvalidInputError, MotFormatError: see
            :func:`~.motchallenge.resolve_sequences` and :func:`prepare_frames`.
    """
    names = resolve_sequences(gt_dir, results_dir, seqs=seqs)
    prepared: dict[str, TrackingFrames] = {}
    for name in names:
        seq = read_sequence(Path(gt_dir) / name)
        if seq.gt is None:  # resolve_sequences only lists directories with gt.txt
            raise InputMismatchError(f"{name} has no gt/gt.txt", argument="gt_dir")
        res = read_mot_file(Path(results_dir) / f"{name}.txt", kind="result")
        prepared[name] = prepare_frames(seq.gt, res, num_frames=seq.num_frames, rules=rules,
                                        min_visibility=min_visibility)
    return evaluate_tracking(prepared, iou_threshold=iou_threshold)
