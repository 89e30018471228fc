"""One simulation run: simulate, render every camera, write video and ground truth.

:func:`simulate` is what ``storeheat sim`` calls. Frames are rendered at each camera's fps
from the world step nearest the frame's instant (the world runs at
:data:`~storeheat.sim.world.STEP_S`), so truth and pixels always describe the same instant.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from storeheat.config import StoreConfig
from storeheat.sim.camera import PinholeCamera
from storeheat.sim.exceptions import OutputExistsError, SimulationError
from storeheat.sim.groundtruth import CameraTruthWriter, FloorTruth, iso
from storeheat.sim.render import CameraRenderer
from storeheat.sim.scenario import Scenario, get_scenario
from storeheat.sim.stores import calibrated_store, load_layout, store_yaml, with_resolution
from storeheat.sim.world import STEP_S, World

#: Entries a run writes into its directory (``force`` removes only these).
RUN_ENTRIES = ("store.yaml", "store-video.yaml", "run.json", "frames.csv", "trajectories.csv",
               "zone_visits.csv", "persons.csv", "occupancy.csv", "occupancy.npz", "video",
               "mot", "heads")
MAX_SECONDS = 24 * 3600.0

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class RunSummary:
    """What a run wrote.

    Attributes:
        out: The run directory.
        files: Files written (relative to ``out``), sorted.
        frames: Frames rendered per camera.
        persons: Distinct people simulated.
        max_in_view: Most people (visibility > 0) in one frame, per camera.
    """

    out: Path
    files: list[str]
    frames: dict[str, int]
    persons: int
    max_in_view: dict[str, int] = field(default_factory=dict)


def frame_steps(*, fps: float, seconds: float) -> list[int]:
    """World step index of each frame (frame ``i`` at ``(i - 1) / fps`` seconds)."""
    n = int(np.floor(seconds * fps + 1e-9))
    return [int(round(i / fps / STEP_S)) for i in range(n)]


def prepare_output(out: Path, *, force: bool) -> None:
    """Create ``out``; refuse a non-empty one unless ``force`` (then remove old run files).

    Raises:
        OutputExistsError: ``out`` exists and is not empty, and ``force`` is False.
        SimulationError: ``out`` exists and is not a directory.
    """
    if out.exists() and not out.is_dir():
        raise SimulationError(f"{out} exists and is not a directory", argument="--out")
    if out.is_dir() and any(out.iterdir()):
        if not force:
            raise OutputExistsError(f"{out} exists and is not empty (pass --force to overwrite "
                                    "the simulator's files in it)", argument="--out")
        for name in RUN_ENTRIES:
            p = out / name
            if p.is_dir():
                shutil.rmtree(p)
            elif p.exists():
                p.unlink()
    out.mkdir(parents=True, exist_ok=True)


def build_store(*, layout: StoreConfig | None = None, scenario: str, seed: int,
                cameras: int | None, resolution: tuple[int, int] | None = None) -> StoreConfig:
    """The calibrated store of a run (layout default: the demo store)."""
    store = calibrated_store(layout or load_layout(), cameras=cameras, scenario=scenario,
                             seed=seed)
    if resolution is not None:
        store = with_resolution(store, resolution)
    return store


def simulate(*, out: Path, scenario: str = "normal", cameras: int | None = 3,
             seconds: float = 120.0, seed: int = 0, layout: StoreConfig | None = None,
             resolution: tuple[int, int] | None = None, write_video: bool = True,
             force: bool = False, progress: Progress | None = None) -> RunSummary:
    """Simulate a store and write frames and ground truth into ``out``.

    Args:
        out: Run directory (created; must be empty unless ``force``).
        scenario: Scenario name (see :data:`~storeheat.sim.scenario.SCENARIOS`).
        cameras: Number of cameras (default 3; None = the layout's own).
        seconds: Simulated duration.
        seed: Seed; the same seed gives byte-identical ground truth and frames.
        layout: Store layout (default: ``configs/demo-store.yaml``).
        resolution: Override every camera's (width, height).
        write_video: Write ``video/<camera>.mp4`` (the ground truth is written regardless).
        force: Overwrite the simulator's files in a non-empty ``out``.
        progress: Called with (steps done, steps total).

    Returns:
        A :class:`RunSummary`.

    Raises:
        SimulationError: bad argument (names it: ``--scenario``, ``--cameras``,
            ``--seconds``, ``--out``, ``camera <id>``); :class:`OutputExistsError` for a
            non-empty ``out`` without ``force``.
    """
    sc = get_scenario(scenario)
    if not (0 < seconds <= MAX_SECONDS):
        raise SimulationError(f"must be in (0, {MAX_SECONDS:g}], got {seconds}",
                              argument="--seconds")
    store = build_store(layout=layout, scenario=scenario, seed=seed, cameras=cameras,
                        resolution=resolution)
    prepare_output(out, force=force)
    return _run(store, sc, out=out, seconds=seconds, seed=seed, write_video=write_video,
                progress=progress)


def _run(store: StoreConfig, sc: Scenario, *, out: Path, seconds: float, seed: int,
         write_video: bool, progress: Progress | None) -> RunSummary:
    world = World(store, sc, seed=seed)
    renderers = {c.id: CameraRenderer(store, PinholeCamera.from_config(c), sc, seed=seed)
                 for c in store.cameras}
    schedule: dict[int, list[tuple[str, int]]] = {}
    n_frames: dict[str, int] = {}
    for cam in store.cameras:
        steps = frame_steps(fps=cam.fps, seconds=seconds)
        n_frames[cam.id] = len(steps)
        for i, k in enumerate(steps):
            schedule.setdefault(k, []).append((cam.id, i + 1))
    writers = {c.id: CameraTruthWriter(out, c.id, fps=c.fps, size=c.resolution,
                                       frames=n_frames[c.id]) for c in store.cameras}
    videos: dict[str, cv2.VideoWriter] = {}
    if write_video:
        (out / "video").mkdir(exist_ok=True)
        for c in store.cameras:
            vw = cv2.VideoWriter(str(out / "video" / f"{c.id}.mp4"),
                                 cv2.VideoWriter.fourcc(*"mp4v"), c.fps, c.resolution)
            if not vw.isOpened():
                raise SimulationError("OpenCV cannot write mp4 (mp4v) video here",
                                      argument="--out")
            videos[c.id] = vw
    floor = FloorTruth(store, sc, out)
    total = int(round(seconds / STEP_S))
    hashes: list[str] = []
    crowd = world.crowd()
    try:
        for k in range(total):
            floor.add(crowd)
            for cam_id, frame_no in schedule.get(k, []):
                img, truth = renderers[cam_id].render(crowd, frame=frame_no)
                writers[cam_id].add(truth)
                digest = hashlib.sha256(img.tobytes()).hexdigest()
                hashes.append(f"{cam_id},{frame_no},{crowd.t:.1f},"
                              f"{iso(sc.clock(crowd.t))},{digest}")
                if cam_id in videos:
                    videos[cam_id].write(img)
            crowd = world.step()
            if progress is not None:
                progress(k + 1, total)
    finally:
        for vw in videos.values():
            vw.release()
    written = floor.close(total * STEP_S, out)
    for w in writers.values():
        written += w.close()
    (out / "frames.csv").write_text("camera_id,frame,t,capture_time,sha256\n"
                                    + "".join(h + "\n" for h in sorted(
                                        hashes, key=lambda r: (r.split(",")[0],
                                                               int(r.split(",")[1])))))
    (out / "store.yaml").write_text(
        "# Written by `storeheat sim`: the simulated store, cameras calibrated from their\n"
        "# poses; each sim:// source replays this run live (same scenario and seed).\n"
        + store_yaml(store))
    if write_video:
        video_cams = [c.model_copy(update={"source": f"video/{c.id}.mp4"})
                      for c in store.cameras]
        (out / "store-video.yaml").write_text(
            "# Same store, each camera reading this run's mp4 (paths relative to this file).\n"
            + store_yaml(store.model_copy(update={"cameras": video_cams})))
    max_in_view = {cid: w.max_in_view for cid, w in writers.items()}
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    files = sorted(set(files) | {"run.json"})
    run_info = {
        "generator": "storeheat sim",
        "scenario": sc.to_dict(),
        "seed": seed,
        "seconds": seconds,
        "step_s": STEP_S,
        "start_time": iso(sc.start_time),
        "cameras": [{"id": c.id, "fps": c.fps, "resolution": list(c.resolution),
                     "frames": n_frames[c.id], "max_in_view": max_in_view[c.id],
                     "max_in_view_frame": writers[c.id].max_in_view_frame}
                    for c in store.cameras],
        "persons": len(floor.persons),
        "video_codec": "mp4v" if write_video else None,
        "files": files,
    }
    (out / "run.json").write_text(json.dumps(run_info, indent=2, sort_keys=True) + "\n")
    return RunSummary(out=out, files=files, frames=n_frames, persons=len(floor.persons),
                      max_in_view=max_in_view)
