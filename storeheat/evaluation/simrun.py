"""Score the worker's vision pipeline on a simulated run: detection, tracking, floor, blur.

:func:`evaluate_pipeline_on_run` replays a run written by ``storeheat sim`` through the same
:class:`streaming.pipeline.FrameProcessor` the worker uses (detect → track → blur → project),
one frame per camera per batch as the worker batches its cameras, and scores what comes out
against the run's ground truth:

* **detection** — AP50, recall, precision of the pipeline's person boxes against
  ``mot/<cam>/gt/gt.txt`` (MOT17 rules: rows with ``consider = 1``, i.e. visibility ≥ 0.1).
  Ground-truth boxes are clipped to the frame first (the simulator's box is the full silhouette
  and may reach past the edge; a detector can only box what is in the picture). The pipeline
  keeps detections above the detector's confidence threshold only, so AP50 is the area under
  the curve *down to that threshold* (a lower bound of the model's full-curve AP).
* **tracking** — HOTA, MOTA, IDF1 (trackeval, IoU 0.5) of the confirmed tracks (detections
  with a track id) against the same ground truth.
* **floor** — each detection matched to a ground-truth box (Hungarian, IoU ≥ 0.5) has its
  projected foot point compared with the person's true floor position at that instant
  (``trajectories.csv``, 0.1 s steps): error in metres (mean, median, p90) and the share of
  matched detections the projection put off the floor.
* **blur leakage** — every ground-truth face with ``face_visible = 1``
  (``heads/<cam>.csv``) is compared between the pipeline's blurred frame and the unblurred
  render (:func:`storeheat.evaluation.leakage.measure_leakage`); must be 0. A dropped frame
  (fail closed) publishes no pixels, so its faces cannot leak; dropped frames are counted.

Frames are re-rendered in memory by :class:`storeheat.sim.source.SimulatedCameraSource`
from the run's ``store.yaml`` (same store, scenario and seed), each checked against the
SHA-256 in ``frames.csv`` so the pixels are exactly those the ground truth describes. The
unblurred frames exist only in memory: nothing here writes or logs pixels.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from storeheat.evaluation.boxes import iou_xywh
from storeheat.evaluation.detection import DetectionFrames, DetectionReport, evaluate_detections
from storeheat.evaluation.exceptions import InputMismatchError, InvalidInputError
from storeheat.evaluation.leakage import (
    LeakageCriterion,
    LeakageReport,
    combine_leakage,
    measure_leakage,
)
from storeheat.evaluation.motchallenge import MotRows, read_mot_file
from storeheat.evaluation.tracking import TrackingReport, evaluate_tracking, prepare_frames

#: World step of the simulator's trajectories (seconds).
_TRAJ_STEP_S = 0.1
#: How many leaked faces the report lists in detail (the counts are always complete).
_MAX_LEAK_DETAILS = 20
#: Face-height bands (pixels) of the leakage breakdown: how small the leaked faces are.
FACE_HEIGHT_BANDS = ((0.0, 4.0), (4.0, 8.0), (8.0, 16.0), (16.0, math.inf))


def leakage_by_face_height(report: LeakageReport) -> dict[str, dict[str, Any]]:
    """Visible and leaked faces per face-height band (clipped box height in pixels)."""
    out: dict[str, dict[str, Any]] = {}
    for lo, hi in FACE_HEIGHT_BANDS:
        faces = [f for f in report.faces if f.visible and lo <= f.box[3] < hi]
        leaked = sum(1 for f in faces if f.leaked)
        name = f"{lo:g}-{hi:g}px" if math.isfinite(hi) else f">={lo:g}px"
        out[name] = {"visible": len(faces), "leaked": leaked,
                     "leakage": leaked / len(faces) if faces else 0.0}
    return out

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class FloorErrors:
    """Floor-projection error of detections matched to ground-truth people.

    Attributes:
        matched: Detections matched to a ground-truth box (IoU ≥ 0.5).
        on_floor: Of those, how many the projection put on the calibrated floor.
        mean_m, median_m, p90_m, max_m: Error statistics in metres over the on-floor ones
            (NaN without any).
    """

    matched: int
    on_floor: int
    mean_m: float
    median_m: float
    p90_m: float
    max_m: float

    @classmethod
    def from_errors(cls, errors: Sequence[float], *, matched: int) -> FloorErrors:
        e = np.asarray(errors, dtype=np.float64)
        if e.size == 0:
            nan = float("nan")
            return cls(matched, 0, nan, nan, nan, nan)
        return cls(matched, int(e.size), float(e.mean()), float(np.median(e)),
                   float(np.percentile(e, 90)), float(e.max()))

    @property
    def off_floor_share(self) -> float:
        """Matched detections the projection could not place on the floor / matched."""
        return (self.matched - self.on_floor) / self.matched if self.matched else float("nan")

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"matched": self.matched, "on_floor": self.on_floor,
                             "off_floor_share": self.off_floor_share, "mean_m": self.mean_m,
                             "median_m": self.median_m, "p90_m": self.p90_m,
                             "max_m": self.max_m}
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                for k, v in d.items()}


@dataclass(frozen=True)
class CameraRun:
    """What the pipeline did on one camera (inputs to the scores, plus counts)."""

    camera_id: str
    frames: int
    dropped: int
    drop_reasons: dict[str, int]
    mean_frame_ms: float


@dataclass(frozen=True)
class SimRunReport:
    """Scores of the pipeline on one simulated run.

    Attributes:
        run_dir: The run.
        seed: The run's seed.
        scenario: The run's scenario name.
        seconds: Simulated seconds replayed per camera.
        model_version: The detector's version string.
        cameras: Per camera counts (frames, dropped frames, mean pipeline time).
        detection: AP50/recall/precision per camera and pooled.
        tracking: HOTA/MOTA/IDF1 per camera and pooled.
        floor: Floor projection error per camera and pooled.
        leakage: Blur leakage over every visible face of every processed frame.
        leakage_by_camera: The same per camera.
        min_visibility: Ground truth below this visibility was ignored (None: the gt's own
            ``consider`` flag only).
    """

    run_dir: Path
    seed: int | None
    scenario: str | None
    seconds: float
    model_version: str
    cameras: dict[str, CameraRun]
    detection: DetectionReport
    tracking: TrackingReport
    floor: dict[str, FloorErrors]
    floor_pooled: FloorErrors
    leakage: LeakageReport
    leakage_by_camera: dict[str, LeakageReport]
    min_visibility: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def rows(self) -> dict[str, dict[str, Any]]:
        """One row per camera plus ``POOLED``: the table of ``storeheat eval sim``."""
        out: dict[str, dict[str, Any]] = {}
        names = [*self.cameras, "POOLED"]
        for name in names:
            det = (self.detection.pooled if name == "POOLED"
                   else self.detection.sequences[name])
            trk = self.tracking.pooled if name == "POOLED" else self.tracking.sequences[name]
            flo = self.floor_pooled if name == "POOLED" else self.floor[name]
            leak = self.leakage if name == "POOLED" else self.leakage_by_camera[name]
            frames = (sum(c.frames for c in self.cameras.values()) if name == "POOLED"
                      else self.cameras[name].frames)
            out[name] = {
                "frames": frames, "ap50": det.ap50, "recall": det.recall,
                "precision": det.precision, "hota": trk.hota, "mota": trk.mota,
                "idf1": trk.idf1, "id_switches": trk.id_switches,
                "floor_median_m": flo.median_m, "floor_p90_m": flo.p90_m,
                "faces": leak.visible, "leaked": leak.leaked, "leakage": leak.leakage,
            }
        return out

    def to_dict(self) -> dict[str, Any]:
        leaked_faces = [f.to_dict() for f in self.leakage.faces if f.leaked][:_MAX_LEAK_DETAILS]
        return {
            "run_dir": str(self.run_dir),
            "seed": self.seed,
            "scenario": self.scenario,
            "seconds": self.seconds,
            "model_version": self.model_version,
            "min_visibility": self.min_visibility,
            "cameras": {k: {"frames": c.frames, "dropped": c.dropped,
                            "drop_reasons": c.drop_reasons,
                            "mean_frame_ms": c.mean_frame_ms}
                        for k, c in self.cameras.items()},
            "detection": self.detection.to_dict(),
            "tracking": self.tracking.to_dict(),
            "floor": {"cameras": {k: v.to_dict() for k, v in self.floor.items()},
                      "pooled": self.floor_pooled.to_dict()},
            "leakage": {"leakage": self.leakage.leakage, "visible": self.leakage.visible,
                        "leaked": self.leakage.leaked,
                        "cameras": {k: {"leakage": v.leakage, "visible": v.visible,
                                        "leaked": v.leaked}
                                    for k, v in self.leakage_by_camera.items()},
                        "by_face_height": leakage_by_face_height(self.leakage),
                        "leaked_faces": leaked_faces},
            **self.extra,
        }


@dataclass
class _CameraTruth:
    width: int
    height: int
    fps: float
    gt: MotRows
    faces: dict[int, tuple[np.ndarray, np.ndarray]]  # frame -> (boxes xywh, visible flags)
    sha256: dict[int, str]


@dataclass
class _CameraCollect:
    frames: list[int] = field(default_factory=list)
    xyxy: list[np.ndarray] = field(default_factory=list)
    conf: list[np.ndarray] = field(default_factory=list)
    track: list[np.ndarray] = field(default_factory=list)
    floor_xy: list[np.ndarray] = field(default_factory=list)
    on_floor: list[np.ndarray] = field(default_factory=list)
    leakage: list[LeakageReport] = field(default_factory=list)
    dropped: dict[str, int] = field(default_factory=dict)
    ms: list[float] = field(default_factory=list)


def _check_run_dir(run_dir: Path) -> dict[str, Any]:
    if not run_dir.is_dir():
        raise InvalidInputError(f"{run_dir} is not a directory (expected a `storeheat sim` "
                                "run)", argument="run_dir")
    missing = [n for n in ("store.yaml", "run.json", "frames.csv", "trajectories.csv", "mot",
                           "heads") if not (run_dir / n).exists()]
    if missing:
        raise InvalidInputError(f"{run_dir} is not a complete `storeheat sim` run: missing "
                                f"{', '.join(missing)}", argument="run_dir")
    try:
        info: dict[str, Any] = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInputError(f"cannot read {run_dir / 'run.json'}: {exc}",
                                argument="run_dir") from exc
    return info


def _read_faces(path: Path) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    rows: dict[int, list[tuple[float, float, float, float, bool]]] = {}
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            for rec in csv.DictReader(fh):
                rows.setdefault(int(rec["frame"]), []).append(
                    (float(rec["face_x"]), float(rec["face_y"]), float(rec["face_w"]),
                     float(rec["face_h"]), rec["face_visible"].strip() == "1"))
    except (OSError, KeyError, ValueError) as exc:
        raise InvalidInputError(f"cannot read face ground truth {path}: {exc}",
                                argument="run_dir") from exc
    return {f: (np.array([r[:4] for r in rs], dtype=np.float64),
                np.array([r[4] for r in rs], dtype=bool)) for f, rs in rows.items()}


def _read_hashes(path: Path) -> dict[str, dict[int, str]]:
    out: dict[str, dict[int, str]] = {}
    with path.open(newline="", encoding="utf-8") as fh:
        for rec in csv.DictReader(fh):
            out.setdefault(rec["camera_id"], {})[int(rec["frame"])] = rec["sha256"]
    return out


def _read_trajectories(path: Path) -> dict[int, dict[int, tuple[float, float]]]:
    """Step index -> person id -> (x, y)."""
    out: dict[int, dict[int, tuple[float, float]]] = {}
    with path.open(newline="", encoding="utf-8") as fh:
        for rec in csv.DictReader(fh):
            step = int(round(float(rec["t"]) / _TRAJ_STEP_S))
            out.setdefault(step, {})[int(rec["person_id"])] = (float(rec["x"]), float(rec["y"]))
    return out


def _clip_gt(gt: MotRows, width: int, height: int) -> MotRows:
    """Ground-truth boxes clipped to the frame (rows fully outside keep a zero-size box)."""
    x0 = np.clip(gt.xywh[:, 0], 0, width)
    y0 = np.clip(gt.xywh[:, 1], 0, height)
    x1 = np.clip(gt.xywh[:, 0] + gt.xywh[:, 2], 0, width)
    y1 = np.clip(gt.xywh[:, 1] + gt.xywh[:, 3], 0, height)
    return MotRows.from_arrays(
        frame=gt.frame, track_id=gt.track_id, xywh=np.stack([x0, y0, x1 - x0, y1 - y0], axis=1),
        score=gt.score, classes=gt.cls, visibility=gt.visibility, path=gt.path,
    )


def _xyxy_to_xywh(b: np.ndarray) -> np.ndarray:
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    return np.stack([b[:, 0], b[:, 1], b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]], axis=1)


def _frames_of(source: Any, n: int) -> Iterator[Any]:
    for i, item in enumerate(source):
        if i >= n:
            return
        yield item


def evaluate_pipeline_on_run(
    run_dir: Path | str,
    *,
    processor: Any,
    cameras: Sequence[str] | None = None,
    seconds: float | None = None,
    iou_threshold: float = 0.5,
    min_visibility: float | None = None,
    criterion: LeakageCriterion | None = None,
    verify_frames: bool = True,
    progress: Progress | None = None,
) -> SimRunReport:
    """Run the worker's pipeline over a simulated run's cameras and score it.

    Args:
        run_dir: Directory written by ``storeheat sim`` (with ``store.yaml``, ``mot/``,
            ``heads/``, ``frames.csv``, ``trajectories.csv``, ``run.json``).
        processor: A :class:`streaming.pipeline.FrameProcessor` (e.g. from
            :func:`streaming.worker.build_processor`); its cameras are (re)started here.
        cameras: Camera ids to evaluate (default: all cameras of the run).
        seconds: Replay only the first ``seconds`` of each camera (default: the whole run).
        iou_threshold: Box match IoU for detection and CLEAR/Identity (0.5: AP50).
        min_visibility: Ground truth below this visibility is ignored (neither a miss nor a
            false positive when detected); default: the ground truth's own ``consider`` flag.
        criterion: Thresholds of the leak decision (default: :class:`LeakageCriterion`).
        verify_frames: Check each re-rendered frame against ``frames.csv`` (SHA-256).
        progress: Called with (frames done, frames total).

    Returns:
        The :class:`SimRunReport`.

    Raises:
        InvalidInputError: ``run_dir`` is not a complete run, ``seconds`` is not positive or
            longer than the run, a threshold is out of range (names the argument).
        InputMismatchError: an unknown camera id (``cameras``), a camera that is not a
            ``sim://`` source, or a re-rendered frame that differs from ``frames.csv``
            (``run_dir``: the simulator changed since the run was written).
    """
    from storeheat.config import load_store_config
    from storeheat.sim.source import SimulatedCameraSource
    from streaming.worker import projector_for

    run_dir = Path(run_dir)
    criterion = criterion or LeakageCriterion()
    info = _check_run_dir(run_dir)
    if not 0.0 < iou_threshold <= 1.0:
        raise InvalidInputError(f"must be in (0, 1], got {iou_threshold}",
                                argument="iou_threshold")
    if min_visibility is not None and not 0.0 <= min_visibility <= 1.0:
        raise InvalidInputError(f"must be in [0, 1], got {min_visibility}",
                                argument="min_visibility")
    run_seconds = float(info.get("seconds", 0.0))
    if seconds is None:
        seconds = run_seconds
    elif not 0.0 < seconds <= run_seconds + 1e-9:
        raise InvalidInputError(f"must be in (0, {run_seconds:g}] (the run's length), got "
                                f"{seconds}", argument="seconds")
    store = load_store_config(run_dir / "store.yaml")
    all_ids = [c.id for c in store.cameras]
    ids = list(cameras) if cameras else all_ids
    unknown = [c for c in ids if c not in all_ids]
    if unknown:
        raise InputMismatchError(f"no camera {', '.join(unknown)} in {run_dir} (cameras: "
                                 f"{', '.join(all_ids)})", argument="cameras")
    if len(set(ids)) != len(ids):
        raise InvalidInputError(f"a camera is listed twice: {ids}", argument="cameras")

    hashes = _read_hashes(run_dir / "frames.csv")
    truths: dict[str, _CameraTruth] = {}
    sources: dict[str, Iterator[Any]] = {}
    n_frames: dict[str, int] = {}
    for cid in ids:
        cam = store.camera(cid)
        if not str(cam.source).startswith("sim://"):
            raise InputMismatchError(f"camera {cid} of {run_dir / 'store.yaml'} reads "
                                     f"{cam.source!r}, not a sim:// source", argument="cameras")
        gt_path = run_dir / "mot" / cid / "gt" / "gt.txt"
        width, height = int(cam.resolution[0]), int(cam.resolution[1])
        truths[cid] = _CameraTruth(
            width=width, height=height, fps=float(cam.fps),
            gt=_clip_gt(read_mot_file(gt_path, kind="gt"), width, height),
            faces=_read_faces(run_dir / "heads" / f"{cid}.csv"),
            sha256=hashes.get(cid, {}),
        )
        n_frames[cid] = min(int(math.floor(seconds * cam.fps + 1e-9)),
                            len(truths[cid].sha256) or 1 << 30)
        source = SimulatedCameraSource.from_url(str(cam.source), store, realtime=False)
        sources[cid] = _frames_of(source, n_frames[cid])
        processor.start_camera(cid, epoch=1, projector=projector_for(store, cam))

    collect = {cid: _CameraCollect() for cid in ids}
    total = sum(n_frames.values())
    done = 0
    active = list(ids)
    while active:
        batch: list[tuple[str, np.ndarray]] = []
        indices: dict[str, int] = {}
        for cid in list(active):
            item = next(sources[cid], None)
            if item is None:
                active.remove(cid)
                continue
            frame_no = int(item.index) + 1
            if verify_frames:
                want = truths[cid].sha256.get(frame_no)
                got = hashlib.sha256(item.frame.tobytes()).hexdigest()
                if want is not None and got != want:
                    raise InputMismatchError(
                        f"camera {cid} frame {frame_no}: the re-rendered frame differs from "
                        f"frames.csv (was the run written by another simulator version?)",
                        argument="run_dir")
            batch.append((cid, item.frame))
            indices[cid] = frame_no
        if not batch:
            break
        t0 = time.perf_counter()
        results = processor.process(batch)
        per_frame_ms = (time.perf_counter() - t0) * 1000 / len(batch)
        for (cid, raw), res in zip(batch, results, strict=True):
            frame_no = indices[cid]
            col = collect[cid]
            col.ms.append(per_frame_ms)
            if res.dropped or res.image is None:
                # Fail closed: nothing of this frame is published, so nothing can leak.
                reason = res.drop_reason or "dropped"
                col.dropped[reason] = col.dropped.get(reason, 0) + 1
            else:
                boxes, visible = truths[cid].faces.get(
                    frame_no, (np.zeros((0, 4)), np.zeros(0, dtype=bool)))
                col.leakage.append(measure_leakage(raw, res.image, boxes, visible=visible,
                                                   criterion=criterion))
            d = res.detections
            col.frames.append(frame_no)
            col.xyxy.append(np.asarray(d.xyxy, dtype=np.float64).reshape(-1, 4))
            col.conf.append(np.asarray(d.confidence, dtype=np.float64).reshape(-1))
            col.track.append(np.asarray(d.track_id, dtype=np.int64).reshape(-1))
            col.floor_xy.append(np.asarray(d.floor_xy, dtype=np.float64).reshape(-1, 2))
            col.on_floor.append(np.asarray(d.on_floor, dtype=bool).reshape(-1))
        done += len(batch)
        if progress is not None:
            progress(done, total)
    for cid in ids:
        processor.stop_camera(cid)

    trajectories = _read_trajectories(run_dir / "trajectories.csv")
    det_frames: dict[str, DetectionFrames] = {}
    trk_frames = {}
    floor: dict[str, FloorErrors] = {}
    all_errors: list[float] = []
    all_matched = 0
    cam_runs: dict[str, CameraRun] = {}
    for cid in ids:
        tr, col = truths[cid], collect[cid]
        n = n_frames[cid]
        gt = tr.gt.select(tr.gt.frame <= n)
        frames_arr = np.concatenate([np.full(len(c), f, dtype=np.int64)
                                     for f, c in zip(col.frames, col.conf, strict=True)]
                                    or [np.zeros(0, np.int64)])
        xywh = _xyxy_to_xywh(np.concatenate(col.xyxy or [np.zeros((0, 4))]))
        conf = np.concatenate(col.conf or [np.zeros(0)])
        track = np.concatenate(col.track or [np.zeros(0, np.int64)])
        dets = MotRows.from_arrays(frame=frames_arr, track_id=np.full(len(conf), -1),
                                   xywh=xywh, score=conf, path=f"<pipeline {cid}>")
        det_frames[cid] = DetectionFrames.from_mot(gt, dets, num_frames=n, rules="MOT17",
                                                   min_visibility=min_visibility)
        tracked = track >= 0
        res_rows = MotRows.from_arrays(frame=frames_arr[tracked], track_id=track[tracked],
                                       xywh=xywh[tracked], score=conf[tracked],
                                       path=f"<tracks {cid}>")
        trk_frames[cid] = prepare_frames(gt, res_rows, num_frames=n, rules="MOT17",
                                         min_visibility=min_visibility)
        errors, matched = _floor_errors(gt, col, fps=tr.fps, trajectories=trajectories,
                                        iou_threshold=iou_threshold,
                                        min_visibility=min_visibility)
        floor[cid] = FloorErrors.from_errors(errors, matched=matched)
        all_errors.extend(errors)
        all_matched += matched
        cam_runs[cid] = CameraRun(
            camera_id=cid, frames=len(col.frames), dropped=sum(col.dropped.values()),
            drop_reasons=dict(col.dropped),
            mean_frame_ms=float(np.mean(col.ms)) if col.ms else float("nan"))
    leak_by_cam = {cid: combine_leakage(collect[cid].leakage) for cid in ids}
    scenario = info.get("scenario")
    return SimRunReport(
        run_dir=run_dir,
        seed=info.get("seed"),
        scenario=scenario.get("name") if isinstance(scenario, Mapping) else scenario,
        seconds=float(seconds),
        model_version=str(getattr(getattr(processor, "detector", None), "model_version", "")),
        cameras=cam_runs,
        detection=evaluate_detections(det_frames, iou_threshold=iou_threshold),
        tracking=evaluate_tracking(trk_frames, iou_threshold=iou_threshold),
        floor=floor,
        floor_pooled=FloorErrors.from_errors(all_errors, matched=all_matched),
        leakage=combine_leakage(leak_by_cam.values()),
        leakage_by_camera=leak_by_cam,
        min_visibility=min_visibility,
    )


def _floor_errors(
    gt: MotRows,
    col: _CameraCollect,
    *,
    fps: float,
    trajectories: Mapping[int, Mapping[int, tuple[float, float]]],
    iou_threshold: float,
    min_visibility: float | None,
) -> tuple[list[float], int]:
    """Metres between projected foot points and true positions of matched detections."""
    counted = (gt.score != 0) & (gt.cls == 1)
    if min_visibility is not None:
        counted &= gt.visibility >= min_visibility
    errors: list[float] = []
    matched = 0
    for frame_no, xyxy, floor_xy, on_floor in zip(col.frames, col.xyxy, col.floor_xy,
                                                  col.on_floor, strict=True):
        rows = (gt.frame == frame_no) & counted
        if not rows.any() or len(xyxy) == 0:
            continue
        sim = iou_xywh(gt.xywh[rows], _xyxy_to_xywh(xyxy))
        r, c = linear_sum_assignment(-sim)
        ok = sim[r, c] >= iou_threshold
        step = int(round((frame_no - 1) / fps / _TRAJ_STEP_S))
        where = trajectories.get(step, {})
        ids = gt.track_id[rows]
        for gi, di in zip(r[ok], c[ok], strict=True):
            pos = where.get(int(ids[gi]))
            if pos is None:
                continue
            matched += 1
            if on_floor[di] and np.all(np.isfinite(floor_xy[di])):
                errors.append(float(np.hypot(floor_xy[di][0] - pos[0],
                                             floor_xy[di][1] - pos[1])))
    return errors, matched


__all__ = ["FloorErrors", "CameraRun", "SimRunReport", "evaluate_pipeline_on_run",
           "leakage_by_face_height"]
