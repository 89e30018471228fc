"""Simulator rendering speed: frames per second per core at 640×360 and 1280×720.

Runs on one core (OpenCV and BLAS limited to one thread; run it under ``taskset -c 0`` to pin
it as well). The world is stepped to the frame's instant first; only rendering is timed, as
CPU time of this process (on a shared machine wall time mostly measures the neighbours), and
wall time is printed beside it. Real-time factor = rendered fps / camera fps (5).

    OMP_NUM_THREADS=1 taskset -c 0 .state/venv/bin/python benchmarks/sim_render.py
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import cv2  # noqa: E402

from storeheat.sim.camera import PinholeCamera  # noqa: E402
from storeheat.sim.render import CameraRenderer  # noqa: E402
from storeheat.sim.scenario import get_scenario  # noqa: E402
from storeheat.sim.stores import calibrated_store, load_layout, with_resolution  # noqa: E402
from storeheat.sim.world import World  # noqa: E402


def bench(scenario: str, resolution: tuple[int, int], *, frames: int, seed: int = 7
          ) -> dict[str, float]:
    """Render ``frames`` frames of every demo camera; returns timing figures."""
    store = with_resolution(calibrated_store(load_layout(), cameras=3), resolution)
    sc = get_scenario(scenario)
    world = World(store, sc, seed=seed)
    renderers = [CameraRenderer(store, PinholeCamera.from_config(c), sc, seed=seed)
                 for c in store.cameras]
    crowd = world.crowd()
    cpu = wall = 0.0
    people = 0
    n = 0
    for i in range(frames):
        for _ in range(2):  # 5 fps = every other 0.1 s step
            crowd = world.step()
        r = renderers[i % len(renderers)]
        c0, w0 = time.process_time(), time.perf_counter()
        _, truth = r.render(crowd, frame=i + 1)
        cpu += time.process_time() - c0
        wall += time.perf_counter() - w0
        people += len(truth)
        n += 1
    fps_cpu = n / cpu
    return {"fps_cpu": fps_cpu, "fps_wall": n / wall, "realtime_x": fps_cpu / 5.0,
            "people": people / n}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=150, help="frames per configuration")
    parser.add_argument("--scenarios", nargs="+", default=["normal", "peak"])
    args = parser.parse_args()
    cv2.setNumThreads(1)
    print(f"{'scenario':8} {'resolution':>10} {'people/frame':>12} {'fps/core':>9} "
          f"{'x real time':>11} {'fps wall':>9}")
    for scenario in args.scenarios:
        for res in ((640, 360), (1280, 720)):
            r = bench(scenario, res, frames=args.frames)
            print(f"{scenario:8} {res[0]:>5}x{res[1]:<4} {r['people']:12.1f} "
                  f"{r['fps_cpu']:9.1f} {r['realtime_x']:11.1f} {r['fps_wall']:9.1f}")


if __name__ == "__main__":
    main()
