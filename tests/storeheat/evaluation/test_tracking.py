"""Tracking metrics: the published MOT15 figures, perfect self-scores, and perturbed copies.

Expected values of the perturbations are derived in each test from the metric definitions
(docs/metrics.md); motmetrics, a second implementation, cross-checks MOTA/IDF1/ID switches.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from storeheat.evaluation.compat import import_motmetrics
from storeheat.evaluation.exceptions import InvalidInputError, MotFormatError
from storeheat.evaluation.motchallenge import MotRows, MotSequence, read_sequence
from storeheat.evaluation.tracking import (
    TrackingFrames,
    TrackingReport,
    evaluate_mot,
    evaluate_tracking,
    prepare_frames,
)
from tests.storeheat.evaluation.conftest import MOT17_TUNING, copy_rows

SEQS = ("TUD-Campus", "TUD-Stadtmitte")


def _expected(mot15: Path) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    text = (mot15 / "EXPECTED_METRICS.txt").read_text()
    pooled_line = next(line for line in text.splitlines() if "HOTA=" in line)
    pooled = {k: float(v) for k, v in re.findall(r"(\w+)=([\d.]+)", pooled_line)}
    per_seq = {
        m[0]: {"IDF1": float(m[1]), "IDP": float(m[2]), "MOTA": float(m[3]), "IDs": float(m[4])}
        for m in re.findall(r"(TUD-\w+) idf1 ([\d.]+) idp ([\d.]+) mota ([\d.]+) IDs (\d+)",
                            text)
    }
    return pooled, per_seq


def test_reproduces_mot15_expected_metrics(mot15_dir: Path) -> None:
    pooled, per_seq = _expected(mot15_dir)
    assert set(pooled) == {"IDF1", "IDP", "MOTA", "IDs", "HOTA"} and set(per_seq) == set(SEQS)
    report = evaluate_mot(mot15_dir, mot15_dir / "results")
    p = report.pooled
    assert round(p.idf1, 3) == pooled["IDF1"]
    assert round(p.idp, 3) == pooled["IDP"]
    assert round(p.mota, 3) == pooled["MOTA"]
    assert p.id_switches == pooled["IDs"]
    assert round(p.hota, 3) == pooled["HOTA"]
    for name, exp in per_seq.items():
        s = report.sequences[name]
        assert (round(s.idf1, 3), round(s.idp, 3), round(s.mota, 3), s.id_switches) == (
            exp["IDF1"], exp["IDP"], exp["MOTA"], exp["IDs"])
    assert p.frames == 71 + 179 and p.gt_boxes == 359 + 1156


def _load(mot15: Path, name: str) -> tuple[MotSequence, MotRows]:
    seq = read_sequence(mot15 / name)
    assert seq.gt is not None
    return seq, seq.gt


def _score(pairs: dict[str, tuple[MotSequence, MotRows, MotRows]]) -> TrackingReport:
    frames = {n: prepare_frames(gt, res, num_frames=seq.num_frames)
              for n, (seq, gt, res) in pairs.items()}
    return evaluate_tracking(frames)


def _motmetrics(gt: MotRows, res: MotRows) -> dict[str, float]:
    """MOTA, IDF1, switches from motmetrics: an independent implementation of the same rules."""
    mm = import_motmetrics()
    acc = mm.MOTAccumulator(auto_id=False)
    for f in range(1, int(max(gt.frame.max(), res.frame.max())) + 1):
        g, r = gt.frame == f, res.frame == f
        dist = mm.distances.iou_matrix(gt.xywh[g], res.xywh[r], max_iou=0.5)
        acc.update(gt.track_id[g].tolist(), res.track_id[r].tolist(), dist, frameid=f)
    summary = mm.metrics.create().compute(acc, metrics=["mota", "idf1", "num_switches"])
    return {k: float(summary[k].iloc[0]) for k in ("mota", "idf1", "num_switches")}


def test_ground_truth_against_itself_is_perfect(mot15_dir: Path) -> None:
    pairs = {}
    for name in SEQS:
        seq, gt = _load(mot15_dir, name)
        pairs[name] = (seq, gt, copy_rows(gt))
    report = _score(pairs)
    for s in [*report.sequences.values(), report.pooled]:
        assert (s.mota, s.idf1, s.idp, s.idr, s.recall, s.precision) == (1, 1, 1, 1, 1, 1)
        assert s.hota == pytest.approx(1.0) and s.loca == pytest.approx(1.0)
        assert s.id_switches == 0 and s.false_positives == 0 and s.false_negatives == 0


def test_mot17_ground_truth_against_itself_is_perfect(mot17_mini_dir: Path) -> None:
    frames = {}
    for name in MOT17_TUNING:
        seq = read_sequence(mot17_mini_dir / name)
        assert seq.gt is not None and seq.rules == "MOT17"
        # The full gt as a tracker output: pedestrians match themselves; boxes on distractor
        # classes are removed by the MOT17 rules; other classes (vehicles, occluders) stay FPs.
        counted = (seq.gt.cls == 1) & (seq.gt.score != 0)
        frames[name] = prepare_frames(seq.gt, copy_rows(seq.gt, mask=counted),
                                      num_frames=seq.num_frames)
    report = evaluate_tracking(frames)
    assert report.pooled.mota == 1.0 and report.pooled.idf1 == 1.0
    assert report.pooled.hota == pytest.approx(1.0)


def test_mot17_rules_drop_tracker_boxes_on_distractors() -> None:
    gt = MotRows.from_arrays(frame=[1, 1, 1], track_id=[1, 2, 3],
                             xywh=[[0, 0, 10, 20], [100, 0, 10, 20], [200, 0, 10, 20]],
                             score=[1, 0, 0], classes=[1, 7, 3])  # pedestrian, static, car
    res = MotRows.from_arrays(frame=[1, 1, 1], track_id=[5, 6, 7],
                              xywh=[[0, 0, 10, 20], [100, 0, 10, 20], [200, 0, 10, 20]])
    s = evaluate_tracking({"s": prepare_frames(gt, res, num_frames=1)}).pooled
    # The static person's box vanishes; the car's box is a false positive.
    assert (s.true_positives, s.false_positives, s.false_negatives) == (1, 1, 0)
    s15 = evaluate_tracking({"s": prepare_frames(gt, res, num_frames=1, rules="MOT15")}).pooled
    # MOT15 rules know no classes: only the consider flag counts, nothing is removed.
    assert (s15.true_positives, s15.false_positives) == (1, 2)


def test_dropping_ten_percent_of_boxes_lowers_mota_by_the_dropped_fraction(
    mot15_dir: Path,
) -> None:
    rng = np.random.default_rng(7)
    pairs = {}
    dropped = total = 0
    for name in SEQS:
        seq, gt = _load(mot15_dir, name)
        keep = rng.random(len(gt)) >= 0.10
        dropped += int((~keep).sum())
        total += len(gt)
        pairs[name] = (seq, gt, copy_rows(gt, mask=keep))
    p = _score(pairs).pooled
    # MOTA = 1 - (FN + FP + IDSW) / GT with FN = dropped, FP = IDSW = 0.
    assert p.mota == pytest.approx(1 - dropped / total)
    assert 0.07 < dropped / total < 0.13
    # IDF1 = 2 IDTP / (2 IDTP + IDFP + IDFN), IDTP = GT - dropped, IDFN = dropped, IDFP = 0.
    assert p.idf1 == pytest.approx(2 * (total - dropped) / (2 * total - dropped))
    assert p.id_switches == 0 and p.precision == 1.0


def test_shifted_boxes_lower_hota_by_the_iou_thresholds_they_fail(mot15_dir: Path) -> None:
    f = 0.2  # shift every box right by 20 % of its width
    iou = (1 - f) / (1 + f)  # overlap (w - fw) h over union (w + fw) h = 2/3
    alphas = np.arange(0.05, 0.99, 0.05)  # HOTA's 19 localisation thresholds
    pairs = {}
    for name in SEQS:
        seq, gt = _load(mot15_dir, name)
        boxes = gt.xywh.copy()
        boxes[:, 0] += f * boxes[:, 2]
        pairs[name] = (seq, gt, copy_rows(gt, xywh=boxes))
    p = _score(pairs).pooled
    # Every pair matches at alpha <= 2/3 (DetA = AssA = 1) and none above (DetA = 0).
    assert p.hota == pytest.approx(np.mean(alphas <= iou))  # 13/19
    # trackeval's LocA is the mean over alphas of the mean IoU of the matches, and counts a
    # threshold without matches as 1.
    passed = np.mean(alphas <= iou)
    assert p.loca == pytest.approx(passed * iou + (1 - passed) * 1.0)
    assert p.mota == 1.0 and p.idf1 == 1.0  # still above the 0.5 IoU of CLEAR/Identity
    assert p.motp == pytest.approx(iou)


def test_renamed_tracks_add_one_switch_each(mot15_dir: Path) -> None:
    pairs = {}
    renamed = split_loss = total = 0
    for name in SEQS:
        seq, gt = _load(mot15_dir, name)
        ids = gt.track_id.copy()
        for k, tid in enumerate(np.unique(gt.track_id)[::3]):  # every third track
            frames = np.sort(gt.frame[gt.track_id == tid])
            if len(frames) < 4:
                continue
            cut = frames[len(frames) // 3]
            after = (gt.track_id == tid) & (gt.frame >= cut)
            ids[after] = 10_000 + k  # a new id from a third of the way on
            renamed += 1
            split_loss += min(int(after.sum()), len(frames) - int(after.sum()))
        total += len(gt)
        pairs[name] = (seq, gt, copy_rows(gt, track_id=ids))
    report = _score(pairs)
    p = report.pooled
    assert renamed >= 5
    assert p.id_switches == renamed
    assert p.mota == pytest.approx(1 - renamed / total)  # only the switches cost
    # Each gt track keeps its longer fragment: IDTP = GT - sum(shorter fragments).
    assert p.idf1 == pytest.approx((total - split_loss) / total)
    for name, (_, gt, res) in pairs.items():
        mm = _motmetrics(gt, res)
        s = report.sequences[name]
        assert (s.mota, s.idf1, s.id_switches) == pytest.approx(
            (mm["mota"], mm["idf1"], mm["num_switches"]))


def test_swapped_ids_add_two_switches_per_swap(mot15_dir: Path) -> None:
    seq, gt = _load(mot15_dir, "TUD-Stadtmitte")
    tids = np.unique(gt.track_id)
    ids = gt.track_id.copy()
    swaps = 0
    used: set[int] = set()
    for a in tids:
        for b in tids:
            if a >= b or a in used or b in used:
                continue
            common = np.intersect1d(gt.frame[gt.track_id == a], gt.frame[gt.track_id == b])
            if len(common) < 10:
                continue
            # From the middle of their common frames on, a and b exchange ids: each of the
            # two ground-truth tracks changes tracker id once, two switches per swap.
            cut = common[len(common) // 2]
            later = gt.frame >= cut
            ids[later & (gt.track_id == a)] = b
            ids[later & (gt.track_id == b)] = a
            used |= {int(a), int(b)}
            swaps += 1
            break
    assert swaps >= 2
    res = copy_rows(gt, track_id=ids)
    report = _score({"s": (seq, gt, res)})
    base = _score({"s": (seq, gt, copy_rows(gt))})
    assert report.pooled.id_switches - base.pooled.id_switches == 2 * swaps
    assert report.pooled.idf1 < base.pooled.idf1 and report.pooled.hota < base.pooled.hota
    assert report.pooled.mota == pytest.approx(1 - 2 * swaps / len(gt))
    mm = _motmetrics(gt, res)
    assert report.pooled.id_switches == mm["num_switches"]
    assert report.pooled.idf1 == pytest.approx(mm["idf1"])


def test_result_frame_beyond_the_sequence_names_file_and_line(tmp_path: Path) -> None:
    gt = MotRows.from_arrays(frame=[1, 2], track_id=[1, 1], xywh=[[0, 0, 5, 5]] * 2)
    path = tmp_path / "S.txt"
    path.write_text("1,1,0,0,5,5,1\n3,1,0,0,5,5,1\n")
    from storeheat.evaluation.motchallenge import read_mot_file

    res = read_mot_file(path, kind="result")
    with pytest.raises(MotFormatError) as info:
        prepare_frames(gt, res, num_frames=2)
    assert f"{path}:2" in str(info.value)


def test_frames_validate_their_shapes() -> None:
    with pytest.raises(InvalidInputError) as info:
        TrackingFrames.from_ids(gt_ids=[[1, 2]], tracker_ids=[[7]], similarity=[np.ones((1, 1))])
    assert info.value.argument == "similarity"
    with pytest.raises(InvalidInputError) as info:
        evaluate_tracking({})
    assert info.value.argument == "sequences"


def test_non_box_similarity_through_from_ids() -> None:
    # Floor-plane tracks: similarity from distance, ids arbitrary integers.
    frames = TrackingFrames.from_ids(
        gt_ids=[[101, 202], [101, 202], [101]],
        tracker_ids=[[9, 4], [4, 9], [9]],
        similarity=[np.array([[0.9, 0.0], [0.0, 0.8]]), np.array([[0.0, 0.9], [0.8, 0.0]]),
                    np.array([[0.95]])],
    )
    s = evaluate_tracking({"floor": frames}).pooled
    assert s.mota == 1.0 and s.id_switches == 0 and s.gt_boxes == 5
