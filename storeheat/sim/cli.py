"""``storeheat sim``: simulate the store and write frames + ground truth; export a dataset.

Examples::

    storeheat sim --scenario normal --cameras 3 --seconds 120 --seed 7 --out runs/normal-7
    storeheat sim export-yolo --scenario peak --seeds 1 2 3 --seconds 30 --out datasets/sim
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TextIO

from storeheat.sim.exceptions import SimulationError
from storeheat.sim.scenario import SCENARIOS


def _resolution(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT, got {text!r}") from None
    if w < 32 or h < 32 or w > 7680 or h > 4320:
        raise argparse.ArgumentTypeError(f"{text!r} is outside 32x32 .. 7680x4320")
    return w, h


class ProgressBar:
    """A one-line text progress bar on a stream (redrawn at most every 0.2 s)."""

    def __init__(self, label: str, *, stream: TextIO | None = None, width: int = 30) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.width = width
        self._last = 0.0
        self._start = time.monotonic()
        # Redrawing with \r only makes sense on a terminal; in a log, print every 10 s.
        self._interval = 0.2 if getattr(self.stream, "isatty", lambda: False)() else 10.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self._last < self._interval:
            return
        self._last = now
        frac = done / total if total else 1.0
        bar = "#" * int(frac * self.width)
        elapsed = now - self._start
        line = f"{self.label} [{bar:<{self.width}}] {frac:6.1%} {elapsed:6.1f} s"
        if self._interval < 1.0:
            self.stream.write("\r" + line + ("\n" if done >= total else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``sim`` command (and its ``export-yolo`` subcommand)."""
    names = ", ".join(sorted(SCENARIOS))
    p = subparsers.add_parser(
        "sim", help="simulate the store: frames, video and ground truth",
        description="Simulate shoppers in a store seen by calibrated cameras; write mp4 per "
        "camera and the ground truth (MOTChallenge, head/face boxes, trajectories, zone "
        "visits, occupancy, store config). Formats: docs/simulation.md.")
    p.add_argument("--scenario", default="normal", help=f"scenario: {names} (default normal)")
    p.add_argument("--cameras", type=int, default=3, help="number of cameras (default 3)")
    p.add_argument("--seconds", type=float, default=120.0, help="simulated seconds (120)")
    p.add_argument("--seed", type=int, default=0, help="random seed (0)")
    p.add_argument("--out", type=Path, help="output directory (must be empty or new)")
    p.add_argument("--force", action="store_true",
                   help="overwrite the simulator's files in a non-empty --out")
    p.add_argument("--store", type=Path, default=None,
                   help="store layout YAML with camera poses (default: the demo store)")
    p.add_argument("--resolution", type=_resolution, default=None,
                   help="override every camera's WIDTHxHEIGHT (default: the store's)")
    p.add_argument("--no-video", action="store_true", help="skip the mp4 files")
    p.set_defaults(func=_run)
    sub = p.add_subparsers(dest="sim_command", metavar="SUBCOMMAND")
    e = sub.add_parser("export-yolo", help="render a YOLO-format person dataset",
                       description="Render scenario frames for several seeds and cameras into "
                       "a YOLO dataset whose train/val split keeps seeds and cameras apart.")
    e.add_argument("--scenario", default="normal", help=f"scenario: {names}")
    e.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3], help="seeds (1 2 3)")
    e.add_argument("--cameras", type=int, default=3, help="cameras (3)")
    e.add_argument("--seconds", type=float, default=30.0, help="seconds per seed (30)")
    e.add_argument("--every", type=int, default=5, help="keep every n-th frame (5)")
    e.add_argument("--val-seeds", type=int, default=1, help="last n seeds for val (1)")
    e.add_argument("--val-cameras", type=int, default=1, help="last n cameras for val (1)")
    e.add_argument("--resolution", type=_resolution, default=None, help="WIDTHxHEIGHT")
    e.add_argument("--out", type=Path, required=True, help="dataset directory")
    e.add_argument("--force", action="store_true", help="overwrite a non-empty --out")
    e.set_defaults(func=_export)


def _run(args: argparse.Namespace) -> int:
    from storeheat.sim.run import simulate
    from storeheat.sim.stores import load_layout

    if args.out is None:
        raise SimulationError("is required (where to write the run)", argument="--out")
    layout = load_layout(args.store) if args.store else None
    summary = simulate(out=args.out, scenario=args.scenario, cameras=args.cameras,
                       seconds=args.seconds, seed=args.seed, layout=layout,
                       resolution=args.resolution, write_video=not args.no_video,
                       force=args.force, progress=ProgressBar(f"sim {args.scenario}"))
    print(f"wrote {summary.out}: {summary.persons} shoppers, "
          f"{sum(summary.frames.values())} frames")
    for cam, n in summary.frames.items():
        video = f"video/{cam}.mp4, " if not args.no_video else ""
        print(f"  {cam}: {n} frames ({video}mot/{cam}/gt/gt.txt, heads/{cam}.csv), "
              f"at most {summary.max_in_view[cam]} people in view")
    configs = "store.yaml" if args.no_video else "store.yaml, store-video.yaml"
    print(f"  {configs} (calibrated store config for the worker)")
    print("  trajectories.csv, zone_visits.csv, persons.csv, occupancy.csv/.npz, frames.csv, "
          "run.json")
    return 0


def _export(args: argparse.Namespace) -> int:
    from storeheat.sim.export import export_yolo

    result = export_yolo(out=args.out, scenario=args.scenario, seeds=args.seeds,
                         cameras=args.cameras, seconds=args.seconds, every=args.every,
                         val_seeds=args.val_seeds, val_cameras=args.val_cameras,
                         resolution=args.resolution, force=args.force,
                         progress=ProgressBar("export-yolo"))
    print(f"wrote {result.data_yaml}")
    for split in ("train", "val"):
        seeds = result.train_seeds if split == "train" else result.val_seeds
        cams = result.train_cameras if split == "train" else result.val_cameras
        print(f"  {split}: {result.images[split]} images, {result.boxes[split]} boxes "
              f"(seeds {seeds}, cameras {cams})")
    return 0
