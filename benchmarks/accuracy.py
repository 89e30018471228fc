"""Accuracy of the worker's vision pipeline (issue 4, item 10): simulated store and real footage.

Simulated store: for each detector and each unseen seed, a ``storeheat sim`` run (scenario
``normal``, 3 cameras, 640×360 at 5 fps; no video written: frames are re-rendered in memory)
is replayed through the worker's ``FrameProcessor`` by
:func:`storeheat.evaluation.simrun.evaluate_pipeline_on_run` — detection AP50/recall/precision,
HOTA/MOTA/IDF1, floor projection error and blur leakage on every visible face. Seeds 101–105
train the simulated-store model, seeds 7, 11, 21, 22, 31, 32 and 33 tuned the blur settings,
41-43 (held out until a leak on 43 decided against cropping the face detector's input) and
61-66 (leaks inspected to set the face score threshold and the blur memory) are tuning seeds
too. 51-53 were held out when two faces leaked there; their frames were not inspected, but
the fixes were looked for because of them. 71-73 and then 91-93 were held out in turn and
retired once their leaks were looked at (seed 93's one flagged face turned out to be a seam
between two blur regions); the default seeds are now 111, 112 and 113 (121-123 were a
second fresh set, run once with the default settings).

Real footage: ``../shared/realdata/mot17-mini`` (the first 4–8 frames of seven MOT17
sequences, official ground truth) through the YOLOX-Nano detector the worker uses. AP50 uses
every detection down to confidence 0.01 (the full curve); recall and precision are reported
at the worker's threshold (0.3). Tuning sequences are pooled; the hold-outs (MOT17-09,
MOT17-11) are pooled separately and only reported — nothing is chosen by looking at them.
``store-aisle-detection.gif`` (also a hold-out) has no ground truth, so it is not scored.

Usage::

    python -m benchmarks.accuracy [--seeds 111 112 113] [--seconds 30] [--sim-model PATH]
        [--work DIR] [--out benchmarks/results/accuracy.json]

Prints a markdown table for the README and writes the figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from storeheat.evaluation.detection import DetectionFrames, evaluate_detections
from storeheat.evaluation.motchallenge import read_mot_file
from storeheat.evaluation.simrun import SimRunReport, evaluate_pipeline_on_run
from storeheat.paths import REPO_ROOT
from storeheat.sim.run import simulate
from streaming.config import DEFAULT_MODEL, WorkerConfig
from streaming.detector import load_detector
from streaming.worker import build_processor

REALDATA = REPO_ROOT.parent / "shared" / "realdata"
MOT17_MINI = REALDATA / "mot17-mini"
TUNING = ("MOT17-02-FRCNN", "MOT17-04-FRCNN", "MOT17-05-FRCNN", "MOT17-10-FRCNN",
          "MOT17-13-FRCNN")
HOLDOUTS = ("MOT17-09-FRCNN", "MOT17-11-FRCNN")
TRAINING_SEEDS = frozenset(range(101, 106))
#: Seeds whose results the blur settings were tuned on (face leaks inspected, settings
#: changed until none leaked) or chosen with (81-83: every frame vs every 2nd frame for the
#: face detector): reported figures come from other seeds.
TUNING_SEEDS = frozenset({7, 11, 21, 22, 31, 32, 33, 41, 42, 43, 51, 52, 53, 61, 62, 63, 64,
                          65, 66, 71, 72, 73, 81, 82, 83, 91, 92, 93})
SIM_MODEL = REPO_ROOT / "models" / "person-sim" / "model.onnx"
WORKER_CONF = 0.3


def _finite(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _finite(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_finite(x) for x in v]
    return v


def ensure_run(work: Path, *, seed: int, cameras: int, seconds: float) -> Path:
    """The simulated run of ``seed`` under ``work`` (rendered once, reused when it matches)."""
    out = work / f"normal-seed{seed}-cams{cameras}-{seconds:g}s"
    info = out / "run.json"
    if info.is_file():
        return out
    simulate(out=out, scenario="normal", cameras=cameras, seconds=seconds, seed=seed,
             write_video=False, force=True)
    return out


def sim_summary(reports: list[SimRunReport]) -> dict[str, Any]:
    """Counts summed over runs; AP50/HOTA/IDF1/MOTA as the mean of the per-run pooled values."""
    det = [r.detection.pooled for r in reports]
    trk = [r.tracking.pooled for r in reports]
    tp = sum(d.true_positives for d in det)
    fp = sum(d.false_positives for d in det)
    gt = sum(d.gt_boxes for d in det)
    floor = [r.floor_pooled for r in reports]
    medians = [f.median_m for f in floor if math.isfinite(f.median_m)]
    visible = sum(r.leakage.visible for r in reports)
    leaked = sum(r.leakage.leaked for r in reports)
    return {
        "runs": len(reports),
        "frames": sum(c.frames for r in reports for c in r.cameras.values()),
        "ap50_mean": float(np.mean([d.ap50 for d in det])),
        "recall": tp / gt if gt else math.nan,
        "precision": tp / (tp + fp) if tp + fp else math.nan,
        "hota_mean": float(np.mean([t.hota for t in trk])),
        "mota_mean": float(np.mean([t.mota for t in trk])),
        "idf1_mean": float(np.mean([t.idf1 for t in trk])),
        "id_switches": sum(t.id_switches for t in trk),
        "floor_median_m_mean": float(np.mean(medians)) if medians else math.nan,
        "floor_matched": sum(f.matched for f in floor),
        "faces_visible": visible,
        "faces_leaked": leaked,
        "leakage": leaked / visible if visible else 0.0,
        "dropped_frames": sum(c.dropped for r in reports for c in r.cameras.values()),
    }


def face_height_summary(per_seed: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Visible and leaked faces per face-height band, summed over the seeds' reports."""
    out: dict[str, dict[str, Any]] = {}
    for report in per_seed.values():
        for band, v in report["leakage"]["by_face_height"].items():
            t = out.setdefault(band, {"visible": 0, "leaked": 0})
            t["visible"] += v["visible"]
            t["leaked"] += v["leaked"]
    for t in out.values():
        t["leakage"] = t["leaked"] / t["visible"] if t["visible"] else 0.0
    return out


def run_sim(model: Path, *, imgsz: int, seeds: list[int], cameras: int, seconds: float,
            work: Path, threads: int, face_every: int = 1,
            face_max_side: int = 640, detect_every: int = 2) -> dict[str, Any]:
    processor = build_processor(WorkerConfig(model=str(model), imgsz=imgsz, conf=WORKER_CONF,
                                             threads=threads, face_every=face_every,
                                             face_max_side=face_max_side,
                                             detect_every=detect_every))
    reports: list[SimRunReport] = []
    per_seed: dict[str, Any] = {}
    for seed in seeds:
        run = ensure_run(work, seed=seed, cameras=cameras, seconds=seconds)
        t0 = time.perf_counter()
        report = evaluate_pipeline_on_run(run, processor=processor)
        wall = time.perf_counter() - t0
        reports.append(report)
        d = report.to_dict()
        d["wall_s"] = wall
        d["rows"] = report.rows()
        per_seed[str(seed)] = d
        pooled = report.rows()["POOLED"]
        print(f"  {model.name} seed {seed}: AP50 {pooled['ap50']:.3f} recall "
              f"{pooled['recall']:.3f} HOTA {pooled['hota']:.3f} leakage "
              f"{pooled['leakage']:.3f} ({wall:.0f} s)", file=sys.stderr)
    summary = sim_summary(reports)
    summary["leakage_by_face_height"] = face_height_summary(per_seed)
    return {"model": str(model), "model_version": reports[0].model_version, "imgsz": imgsz,
            "conf": WORKER_CONF, "summary": summary, "seeds": per_seed}


def _detections_rows(detector: Any, images: list[Path]) -> Any:
    from storeheat.evaluation.motchallenge import MotRows

    frames, boxes, conf = [], [], []
    for i, path in enumerate(images, start=1):
        img = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if img is None:
            raise RuntimeError(f"cannot read {path}")
        [d] = detector.detect_batch([img])
        xyxy = np.asarray(d.xyxy, dtype=np.float64).reshape(-1, 4)
        frames.extend([i] * len(xyxy))
        boxes.append(np.stack([xyxy[:, 0], xyxy[:, 1], xyxy[:, 2] - xyxy[:, 0],
                               xyxy[:, 3] - xyxy[:, 1]], axis=1))
        conf.append(np.asarray(d.confidence, dtype=np.float64))
    return MotRows.from_arrays(frame=np.asarray(frames, dtype=np.int64),
                               track_id=np.full(len(frames), -1),
                               xywh=np.concatenate(boxes or [np.zeros((0, 4))]),
                               score=np.concatenate(conf or [np.zeros(0)]))


def run_real(model: Path, *, threads: int) -> dict[str, Any]:
    # Low threshold for the full precision-recall curve (AP50); recall/precision at the
    # worker's own threshold.
    detector = load_detector(model, conf=0.01, threads=threads)
    frames: dict[str, DetectionFrames] = {}
    for name in (*TUNING, *HOLDOUTS):
        seq = MOT17_MINI / name
        images = sorted((seq / "img1").glob("*.jpg"))  # seqinfo's seqLength is the original
        gt = read_mot_file(seq / "gt" / "gt.txt", kind="gt")
        gt = gt.select(gt.frame <= len(images))
        frames[name] = DetectionFrames.from_mot(gt, _detections_rows(detector, images),
                                                num_frames=len(images), rules="MOT17")
    out: dict[str, Any] = {"model": str(model), "model_version": detector.model_version,
                           "ap_conf_floor": 0.01, "conf": WORKER_CONF}
    for group, names in (("tuning", TUNING), ("holdout", HOLDOUTS)):
        rep = evaluate_detections({n: frames[n] for n in names}, min_confidence=WORKER_CONF)
        out[group] = rep.to_dict()
    return out


def markdown(result: dict[str, Any]) -> str:
    lines = ["| input | model | frames | AP50 | recall | precision | HOTA | MOTA | IDF1 | "
             "floor p50 m | faces | leaked |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]

    def f(v: Any) -> str:
        return "–" if v is None or (isinstance(v, float) and not math.isfinite(v)) else (
            f"{v:.3f}" if isinstance(v, float) else str(v))

    for name, m in result["sim"].items():
        s = m["summary"]
        seeds = ", ".join(m["seeds"])
        lines.append(f"| sim normal, seeds {seeds}, {result['cameras']} cams × "
                     f"{result['seconds']:g} s | {name} | {s['frames']} | "
                     f"{f(s['ap50_mean'])} | {f(s['recall'])} | {f(s['precision'])} | "
                     f"{f(s['hota_mean'])} | {f(s['mota_mean'])} | {f(s['idf1_mean'])} | "
                     f"{f(s['floor_median_m_mean'])} | {s['faces_visible']} | "
                     f"{s['faces_leaked']} ({f(s['leakage'])}) |")
    real = result.get("real")
    if real:
        for group in ("tuning", "holdout"):
            rep = real[group]
            for seq, d in [*rep["sequences"].items(), ("POOLED " + group, rep["pooled"])]:
                lines.append(f"| {seq} | yolox_nano | – | {f(d['ap50'])} | {f(d['recall'])} | "
                             f"{f(d['precision'])} | – | – | – | – | – | – |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[111, 112, 113])
    p.add_argument("--cameras", type=int, default=3)
    p.add_argument("--seconds", type=float, default=30.0)
    p.add_argument("--yolox", type=Path, default=Path(DEFAULT_MODEL))
    p.add_argument("--sim-model", type=Path, default=SIM_MODEL)
    p.add_argument("--sim-imgsz", type=int, default=320)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--detect-every", type=int, default=2,
                   help="person detector on every n-th frame (the worker's --detect-every)")
    p.add_argument("--face-every", type=int, default=1,
                   help="face detector on every n-th frame (the worker's --face-every)")
    p.add_argument("--face-max-side", type=int, default=640,
                   help="face detector input long side (the worker's --face-max-side)")
    p.add_argument("--work", type=Path, default=Path("/tmp/storeheat-accuracy"))
    p.add_argument("--skip-real", action="store_true")
    p.add_argument("--sim-model-only", action="store_true",
                   help="score only the simulated-store model and merge it into --out")
    p.add_argument("--out", type=Path, default=REPO_ROOT / "benchmarks/results/accuracy.json")
    args = p.parse_args(argv)
    used = sorted(set(args.seeds) & TRAINING_SEEDS)
    if used:
        p.error(f"--seeds: {used} train the simulated-store model; evaluate on other seeds")
    tuned = sorted(set(args.seeds) & TUNING_SEEDS)
    if tuned:
        print(f"note: seeds {tuned} were used to tune the blur; their figures are not "
              "held-out figures", file=sys.stderr)
    args.work.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count(),
                    "load_avg_1m": __import__("os").getloadavg()[0]},
        "face_every": args.face_every, "face_max_side": args.face_max_side,
        "detect_every": args.detect_every,
        "scenario": "normal", "seeds": args.seeds, "cameras": args.cameras,
        "seconds": args.seconds, "resolution": [640, 360], "fps": 5.0,
        "training_seeds_excluded": sorted(TRAINING_SEEDS),
        "tuning_seeds": sorted(TUNING_SEEDS), "sim": {},
    }
    models = [] if args.sim_model_only else [("yolox_nano", args.yolox, 640)]
    if args.sim_model_only:
        if not args.sim_model.is_file():
            p.error(f"--sim-model: {args.sim_model} does not exist")
        if args.out.is_file():  # keep the figures already measured (YOLOX, real footage)
            old = json.loads(args.out.read_text(encoding="utf-8"))
            result["sim"] = old.get("sim", {})
            if "real" in old:
                result["real"] = old["real"]
        args.skip_real = True
    if args.sim_model.is_file():
        models.append(("person-sim", args.sim_model, args.sim_imgsz))
    else:
        print(f"no simulated-store model at {args.sim_model}: YOLOX only", file=sys.stderr)
        result["sim_model_missing"] = str(args.sim_model)
    for name, path, imgsz in models:
        result["sim"][name] = run_sim(path, imgsz=imgsz, seeds=args.seeds,
                                      cameras=args.cameras, seconds=args.seconds,
                                      work=args.work, threads=args.threads,
                                      face_every=args.face_every,
                                      face_max_side=args.face_max_side,
                                      detect_every=args.detect_every)
    if not args.skip_real:
        result["real"] = run_real(args.yolox, threads=args.threads)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(_finite(result), indent=2) + "\n", encoding="utf-8")
    print(markdown(_finite(result)))
    print(f"\nwrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
