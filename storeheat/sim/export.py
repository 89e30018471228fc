"""A YOLO-format person dataset rendered by the simulator, for training on its domain.

Layout (what Ultralytics reads)::

    OUT/data.yaml                       path, train, val, names {0: person}
    OUT/images/{train,val}/<scenario>-s<seed>-<camera>-<frame>.jpg
    OUT/labels/{train,val}/<same>.txt   one "0 cx cy w h" line per person (normalised)
    OUT/split.json                      which seeds and cameras went where

The split keeps seeds and cameras apart: validation uses only the validation seeds *and* the
validation cameras, training only the others, and the mixed pairs are left out, so no
validation image shares a world (seed) or a viewpoint (camera) with a training image.
Heads are blurred in the images, as in every training image of the project (the worker's
frames are blurred before they are stored). Boxes are clipped to the frame; people less
than ``min_visibility`` visible are left out (a detector should not be taught to find
people hidden behind shelves).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from storeheat.sim.camera import PinholeCamera
from storeheat.sim.exceptions import SimulationError
from storeheat.sim.render import CameraRenderer, FrameTruth
from storeheat.sim.run import build_store, frame_steps, prepare_output
from storeheat.sim.scenario import get_scenario
from storeheat.sim.world import World


@dataclass(frozen=True)
class YoloExport:
    """What :func:`export_yolo` wrote.

    Attributes:
        out: Dataset directory.
        data_yaml: The ``data.yaml`` to train with.
        images: Images per split.
        boxes: Labelled boxes per split.
        train_seeds, val_seeds, train_cameras, val_cameras: The split.
    """

    out: Path
    data_yaml: Path
    images: dict[str, int]
    boxes: dict[str, int]
    train_seeds: list[int]
    val_seeds: list[int]
    train_cameras: list[str]
    val_cameras: list[str]


def yolo_lines(truth: FrameTruth, *, width: int, height: int,
               min_visibility: float = 0.2) -> list[str]:
    """Label lines ``0 cx cy w h`` (normalised, clipped to the frame) for one frame."""
    lines = []
    for (x, y, w, h), v in zip(truth.boxes, truth.visibility, strict=True):
        if v < min_visibility:
            continue
        x0, y0 = max(0.0, x), max(0.0, y)
        x1, y1 = min(float(width), x + w), min(float(height), y + h)
        if x1 - x0 < 2 or y1 - y0 < 2:
            continue
        lines.append(f"0 {(x0 + x1) / 2 / width:.6f} {(y0 + y1) / 2 / height:.6f} "
                     f"{(x1 - x0) / width:.6f} {(y1 - y0) / height:.6f}")
    return lines


def export_yolo(*, out: Path, scenario: str = "normal", seeds: Sequence[int] = (1, 2, 3),
                cameras: int = 3, seconds: float = 30.0, every: int = 5,
                val_seeds: int = 1, val_cameras: int = 1,
                resolution: tuple[int, int] | None = None, min_visibility: float = 0.2,
                force: bool = False, progress: Callable[[int, int], None] | None = None
                ) -> YoloExport:
    """Render ``scenario`` for each seed and camera and write a YOLO dataset.

    Args:
        out: Dataset directory (must be empty unless ``force``).
        scenario: Scenario name.
        seeds: Seeds to render (at least 2: seeds are split between train and val).
        cameras: Cameras (at least 2: cameras are split too).
        seconds: Simulated seconds per seed.
        every: Keep every n-th frame (consecutive frames are near duplicates).
        val_seeds: How many of the last seeds go to validation.
        val_cameras: How many of the last cameras go to validation.
        resolution: Override the cameras' (width, height).
        min_visibility: Leave out people less visible than this.
        force: Overwrite the exporter's files in a non-empty ``out``.
        progress: Called with (jobs done, jobs total); a job is one seed × camera.

    Raises:
        SimulationError: fewer than 2 seeds or cameras, bad split sizes (names the argument),
            or any error of :func:`~storeheat.sim.run.simulate`'s arguments.
    """
    sc = get_scenario(scenario)
    seed_list = [int(s) for s in seeds]
    if len(set(seed_list)) != len(seed_list) or len(seed_list) < 2:
        raise SimulationError(f"need at least 2 distinct seeds to keep train and val apart, "
                              f"got {seed_list}", argument="--seeds")
    if not 1 <= val_seeds < len(seed_list):
        raise SimulationError(f"must be between 1 and {len(seed_list) - 1}, got {val_seeds}",
                              argument="--val-seeds")
    if cameras < 2:
        raise SimulationError(f"need at least 2 cameras to keep train and val apart, got "
                              f"{cameras}", argument="--cameras")
    if not 1 <= val_cameras < cameras:
        raise SimulationError(f"must be between 1 and {cameras - 1}, got {val_cameras}",
                              argument="--val-cameras")
    if every < 1:
        raise SimulationError(f"must be at least 1, got {every}", argument="--every")
    if seconds <= 0:
        raise SimulationError(f"must be positive, got {seconds}", argument="--seconds")
    store = build_store(scenario=scenario, seed=seed_list[0], cameras=cameras,
                        resolution=resolution)
    cam_ids = [c.id for c in store.cameras]
    split_seeds = {"train": seed_list[:-val_seeds], "val": seed_list[-val_seeds:]}
    split_cams = {"train": cam_ids[:-val_cameras], "val": cam_ids[-val_cameras:]}
    _prepare(out, force=force)
    jobs = [(split, seed, cam) for split in ("train", "val") for seed in split_seeds[split]
            for cam in split_cams[split]]
    images = {"train": 0, "val": 0}
    boxes = {"train": 0, "val": 0}
    for j, (split, seed, cam_id) in enumerate(jobs):
        cam = store.camera(cam_id)
        world = World(store, sc, seed=seed)
        renderer = CameraRenderer(store, PinholeCamera.from_config(cam), sc, seed=seed)
        crowd = world.crowd()
        for i, step in enumerate(frame_steps(fps=cam.fps, seconds=seconds)):
            while world.step_index < step:
                crowd = world.step()
            if i % every:
                continue
            img, truth = renderer.render(crowd, frame=i + 1)
            stem = f"{scenario}-s{seed}-{cam_id}-{i + 1:06d}"
            lines = yolo_lines(truth, width=cam.resolution[0], height=cam.resolution[1],
                               min_visibility=min_visibility)
            # the project's training images are blurred frames: blur heads here too
            ok, buf = cv2.imencode(".jpg", blur_heads(img, truth), [cv2.IMWRITE_JPEG_QUALITY, 90])
            if not ok:
                raise SimulationError("JPEG encoding failed", argument="--out")
            (out / "images" / split / f"{stem}.jpg").write_bytes(buf.tobytes())
            (out / "labels" / split / f"{stem}.txt").write_text(
                "".join(line + "\n" for line in lines))
            images[split] += 1
            boxes[split] += len(lines)
        if progress is not None:
            progress(j + 1, len(jobs))
    data_yaml = out / "data.yaml"
    data_yaml.write_text(
        f"# Simulated store persons ({scenario}); written by `storeheat sim export-yolo`.\n"
        f"path: {out.resolve()}\ntrain: images/train\nval: images/val\nnames:\n  0: person\n")
    split_info = {"scenario": scenario, "seconds": seconds, "every": every,
             "min_visibility": min_visibility,
             "train": {"seeds": split_seeds["train"], "cameras": split_cams["train"],
                       "images": images["train"], "boxes": boxes["train"]},
             "val": {"seeds": split_seeds["val"], "cameras": split_cams["val"],
                     "images": images["val"], "boxes": boxes["val"]}}
    (out / "split.json").write_text(json.dumps(split_info, indent=2, sort_keys=True) + "\n")
    return YoloExport(out=out, data_yaml=data_yaml, images=images, boxes=boxes,
                      train_seeds=split_seeds["train"], val_seeds=split_seeds["val"],
                      train_cameras=split_cams["train"], val_cameras=split_cams["val"])


def _prepare(out: Path, *, force: bool) -> None:
    if out.is_dir() and any(out.iterdir()) and force:
        for name in ("images", "labels", "data.yaml", "split.json"):
            p = out / name
            if p.is_dir():
                shutil.rmtree(p)
            elif p.exists():
                p.unlink()
    prepare_output(out, force=force)
    for split in ("train", "val"):
        (out / "images" / split).mkdir(parents=True, exist_ok=True)
        (out / "labels" / split).mkdir(parents=True, exist_ok=True)


def blur_heads(img: NDArray[np.uint8], truth: FrameTruth) -> NDArray[np.uint8]:
    """A copy of ``img`` with every head box blurred (as the worker's frames are)."""
    out = img.copy()
    h, w = out.shape[:2]
    for x, y, bw, bh in truth.head_boxes:
        pad = 0.25 * max(bw, bh)
        x0, y0 = max(0, int(x - pad)), max(0, int(y - pad))
        x1, y1 = min(w, int(np.ceil(x + bw + pad))), min(h, int(np.ceil(y + bh + pad)))
        if x1 - x0 < 2 or y1 - y0 < 2:
            continue
        k = max(3, int(max(x1 - x0, y1 - y0) / 2) | 1)
        out[y0:y1, x0:x1] = cv2.GaussianBlur(out[y0:y1, x0:x1], (k, k), 0)
    return out
