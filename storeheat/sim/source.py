"""A simulated camera the worker reads like any other: ``sim://<store>/<camera>?...``.

:class:`SimulatedCameraSource` runs its own copy of the world (same store, scenario and seed
give the same world in every process, so several cameras read by separate sources stay
consistent) and renders one camera. Iterating yields :class:`SimFrame` items — the BGR frame
and its UTC capture time (plus the frame's ground truth, which a worker must ignore) — either
paced at the camera's fps (``realtime=True``, live like a real camera) or as fast as they
render.

URL query parameters: ``scenario`` (default ``normal``), ``seed`` (default 0), ``seconds``
(default: endless). Example: ``sim://demo-store/cam-aisles?scenario=peak&seed=7``.

The faces drawn by the simulator are synthetic (no person's likeness); the worker still blurs
them like real ones, which is what the blur-leakage metric measures.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import numpy as np
from numpy.typing import NDArray

from storeheat.config import StoreConfig
from storeheat.exceptions import ConfigError
from storeheat.sim.camera import PinholeCamera
from storeheat.sim.exceptions import SimulationError
from storeheat.sim.render import CameraRenderer, FrameTruth
from storeheat.sim.scenario import get_scenario
from storeheat.sim.world import STEP_S, World


@dataclass(frozen=True)
class SimFrame:
    """One frame of a simulated camera.

    Attributes:
        frame: BGR image, uint8 ``(height, width, 3)``.
        capture_time: UTC instant the frame shows (scenario clock, not the wall clock).
        index: 0-based frame index in the stream.
        truth: Ground truth of the frame (for evaluation only).
    """

    frame: NDArray[np.uint8]
    capture_time: dt.datetime
    index: int
    truth: FrameTruth


@dataclass(frozen=True)
class SimUrl:
    """A parsed ``sim://`` source."""

    store_id: str
    camera_id: str
    scenario: str = "normal"
    seed: int = 0
    seconds: float | None = None


def parse_sim_url(url: str) -> SimUrl:
    """Parse ``sim://<store>/<camera>[?scenario=..&seed=..&seconds=..]``.

    Raises:
        SimulationError: not a sim:// URL, or a bad parameter (argument ``source``).
    """
    parts = urlsplit(url)
    path = parts.path.strip("/")
    if parts.scheme != "sim" or not parts.netloc or not path or "/" in path:
        raise SimulationError(f"expected sim://<store>/<camera>[?scenario=..&seed=..], got "
                              f"{url!r}", argument="source")
    q = {k: v[-1] for k, v in parse_qs(parts.query, strict_parsing=False).items()}
    unknown = sorted(set(q) - {"scenario", "seed", "seconds"})
    if unknown:
        raise SimulationError(f"unknown parameter(s) {unknown} in {url!r}; known: scenario, "
                              "seed, seconds", argument="source")
    try:
        seed = int(q.get("seed", "0"))
        seconds = float(q["seconds"]) if "seconds" in q else None
    except ValueError:
        raise SimulationError(f"seed must be an integer and seconds a number in {url!r}",
                              argument="source") from None
    get_scenario(q.get("scenario", "normal"))
    return SimUrl(parts.netloc, path, q.get("scenario", "normal"), seed, seconds)


class SimulatedCameraSource:
    """Frames of one simulated camera (see the module docstring).

    Args:
        store: The store config (the camera needs a ``pose``).
        camera_id: Which camera.
        scenario: Scenario name.
        seed: Run seed.
        seconds: Stop after this many simulated seconds (None: endless).
        realtime: Pace frames at the camera's fps (a live source); False: as fast as possible.
        clock: Monotonic clock (seconds) used for pacing.
        sleep: Sleep function used for pacing.

    Raises:
        SimulationError: unknown scenario, a camera without pose or that sees no floor.
        ConfigError: unknown camera id.
    """

    def __init__(self, store: StoreConfig, camera_id: str, *, scenario: str = "normal",
                 seed: int = 0, seconds: float | None = None, realtime: bool = True,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.store = store
        self.camera = store.camera(camera_id)
        self.scenario = get_scenario(scenario)
        self.seed = int(seed)
        self.seconds = seconds
        self.realtime = realtime
        self._clock = clock
        self._sleep = sleep
        self._pinhole = PinholeCamera.from_config(self.camera)

    @classmethod
    def from_url(cls, url: str, store: StoreConfig, *, realtime: bool = True
                 ) -> SimulatedCameraSource:
        """The source a ``sim://`` URL names, in ``store``.

        Raises:
            SimulationError: bad URL, or its store id is not ``store``'s.
        """
        parsed = parse_sim_url(url)
        if parsed.store_id != store.store_id:
            raise SimulationError(f"store {parsed.store_id!r} in {url!r} is not the loaded "
                                  f"store {store.store_id!r}", argument="source")
        try:
            return cls(store, parsed.camera_id, scenario=parsed.scenario, seed=parsed.seed,
                       seconds=parsed.seconds, realtime=realtime)
        except ConfigError as exc:
            raise SimulationError(str(exc), argument="source") from None

    @property
    def fps(self) -> float:
        """Frames per second."""
        return float(self.camera.fps)

    @property
    def resolution(self) -> tuple[int, int]:
        """Frame (width, height)."""
        return (int(self.camera.resolution[0]), int(self.camera.resolution[1]))

    def __iter__(self) -> Iterator[SimFrame]:
        world = World(self.store, self.scenario, seed=self.seed)
        renderer = CameraRenderer(self.store, self._pinhole, self.scenario, seed=self.seed)
        crowd = world.crowd()
        start = self._clock()
        i = 0
        while self.seconds is None or i / self.fps < self.seconds - 1e-9:
            step = int(round(i / self.fps / STEP_S))
            while world.step_index < step:
                crowd = world.step()
            img, truth = renderer.render(crowd, frame=i + 1)
            if self.realtime:
                delay = start + i / self.fps - self._clock()
                if delay > 0:
                    self._sleep(delay)
            yield SimFrame(frame=img, capture_time=self.scenario.clock(crowd.t), index=i,
                           truth=truth)
            i += 1
