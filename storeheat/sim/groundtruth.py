"""Ground-truth writers: what really happened on the floor and what each camera saw.

:class:`FloorTruth` follows the crowd step by step (trajectories, zone visits, occupancy);
:class:`CameraTruthWriter` writes one camera's MOTChallenge sequence and head/face boxes.
Every number is written with fixed decimals and rows in a fixed order, so the same run
gives byte-identical files. Formats: ``docs/simulation.md``.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import zipfile
from pathlib import Path
from typing import IO

import numpy as np
from numpy.typing import NDArray

from storeheat.config import StoreConfig
from storeheat.sim.render import FrameTruth
from storeheat.sim.scenario import Scenario
from storeheat.sim.world import STEP_S, Crowd, State

#: Ground-truth rows with a lower visibility get ``consider = 0`` in gt.txt.
MIN_CONSIDER_VISIBILITY = 0.1


def iso(ts: dt.datetime) -> str:
    """ISO 8601 UTC with millisecond precision and a ``Z`` (stable text for any datetime)."""
    return ts.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


class FloorTruth:
    """Trajectories, zone visits and the occupancy grid of one run.

    Args:
        store: The store (zones, floor, heatmap cell and bucket sizes).
        scenario: Gives the clock (capture times, time buckets).
        out: Run directory; ``trajectories.csv`` is streamed into it.
    """

    def __init__(self, store: StoreConfig, scenario: Scenario, out: Path) -> None:
        self.store = store
        self.scenario = scenario
        self.cell = store.heatmap.cell_m
        self.bucket_s = store.heatmap.bucket_minutes * 60
        self.rows = int(math.ceil(store.floor.depth_m / self.cell - 1e-9))
        self.cols = int(math.ceil(store.floor.width_m / self.cell - 1e-9))
        self._grids: dict[int, NDArray[np.float64]] = {}
        self._open: dict[int, tuple[str, float]] = {}
        self.visits: list[tuple[int, str, float, float, bool]] = []
        self.persons: dict[int, tuple[float, float, str, str, float, float]] = {}
        self._epoch = scenario.start_time.timestamp()
        self._traj_file: IO[str] = (out / "trajectories.csv").open("w", newline="")
        self._traj = csv.writer(self._traj_file, lineterminator="\n")
        self._traj.writerow(["t", "capture_time", "person_id", "x", "y", "vx", "vy", "state",
                             "zone_id"])

    def add(self, crowd: Crowd) -> None:
        """Account for the step that starts at ``crowd.t`` and lasts :data:`STEP_S`."""
        t = round(crowd.t, 3)
        zones = self.store.zone_of(crowd.pos) if len(crowd) else []
        stamp = iso(self.scenario.clock(t))
        states = [State(int(s)).name.lower() for s in crowd.state]
        for i, pid in enumerate(crowd.ids.tolist()):
            x, y = crowd.pos[i]
            vx, vy = crowd.vel[i]
            self._traj.writerow([f"{t:.1f}", stamp, pid, f"{x:.3f}", f"{y:.3f}", f"{vx:.3f}",
                                 f"{vy:.3f}", states[i], zones[i] or ""])
            if pid not in self.persons:
                sh = crowd.colours[i, 0]
                tr = crowd.colours[i, 1]
                self.persons[pid] = (float(crowd.height[i]), float(crowd.build[i]),
                                     f"#{sh[2]:02x}{sh[1]:02x}{sh[0]:02x}",
                                     f"#{tr[2]:02x}{tr[1]:02x}{tr[0]:02x}", t, t)
            else:
                p = self.persons[pid]
                self.persons[pid] = (*p[:5], t)
        # zone visits: a visit runs from the first step in a zone to the first step out of it
        present = set(crowd.ids.tolist())
        for pid in sorted(set(self._open) - present):
            zone, enter = self._open.pop(pid)
            self.visits.append((pid, zone, enter, t, False))
        for i, pid in enumerate(crowd.ids.tolist()):
            zone_id = zones[i]
            cur = self._open.get(pid)
            if cur is not None and cur[0] != zone_id:
                self.visits.append((pid, cur[0], cur[1], t, False))
                del self._open[pid]
                cur = None
            if cur is None and zone_id is not None:
                self._open[pid] = (zone_id, t)
        # occupancy: person-seconds per floor cell per clock-aligned time bucket
        if len(crowd):
            bucket = int(math.floor((self._epoch + t) / self.bucket_s))
            grid = self._grids.setdefault(bucket, np.zeros((self.rows, self.cols)))
            c = np.clip((crowd.pos[:, 0] / self.cell).astype(int), 0, self.cols - 1)
            r = np.clip((crowd.pos[:, 1] / self.cell).astype(int), 0, self.rows - 1)
            np.add.at(grid, (r, c), STEP_S)

    def close(self, end_t: float, out: Path) -> list[Path]:
        """Finish open visits at ``end_t`` (flagged truncated) and write the summaries."""
        self._traj_file.close()
        for pid in sorted(self._open):
            zone, enter = self._open[pid]
            self.visits.append((pid, zone, enter, round(end_t, 3), True))
        self._open.clear()
        written = [out / "trajectories.csv"]
        clock = self.scenario.clock
        with (out / "zone_visits.csv").open("w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["person_id", "zone_id", "enter", "exit", "enter_time", "exit_time",
                        "dwell_s", "truncated"])
            for pid, zone, enter, exit_, trunc in sorted(self.visits, key=lambda v: (v[2], v[0],
                                                                                     v[1])):
                w.writerow([pid, zone, f"{enter:.1f}", f"{exit_:.1f}", iso(clock(enter)),
                            iso(clock(exit_)), f"{exit_ - enter:.1f}", int(trunc)])
        written.append(out / "zone_visits.csv")
        with (out / "persons.csv").open("w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["person_id", "height_m", "build", "shirt_rgb", "trousers_rgb",
                        "first_t", "last_t"])
            for pid in sorted(self.persons):
                h, b, sh, tr, first, last = self.persons[pid]
                w.writerow([pid, f"{h:.3f}", f"{b:.3f}", sh, tr, f"{first:.1f}", f"{last:.1f}"])
        written.append(out / "persons.csv")
        buckets = sorted(self._grids)
        grids = (np.stack([self._grids[b] for b in buckets]) if buckets
                 else np.zeros((0, self.rows, self.cols)))
        starts = np.array([b * self.bucket_s for b in buckets], dtype=np.int64)
        with (out / "occupancy.csv").open("w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["bucket_start", "row", "col", "x_min", "y_min", "person_seconds"])
            for bi, start in enumerate(starts.tolist()):
                stamp = iso(dt.datetime.fromtimestamp(start, tz=dt.UTC))
                rr, cc = np.nonzero(grids[bi])
                for r, c in zip(rr.tolist(), cc.tolist(), strict=True):
                    w.writerow([stamp, r, c, f"{c * self.cell:.3f}", f"{r * self.cell:.3f}",
                                f"{grids[bi, r, c]:.1f}"])
        written.append(out / "occupancy.csv")
        write_npz(out / "occupancy.npz", person_seconds=np.round(grids, 3),
                  bucket_start_unix=starts, cell_m=np.float64(self.cell),
                  bucket_s=np.int64(self.bucket_s))
        written.append(out / "occupancy.npz")
        return written


def write_npz(path: Path, **arrays: object) -> None:
    """Like ``numpy.savez`` but reproducible: zip entries carry a fixed date, not "now"."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        for name in sorted(arrays):
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            with zf.open(info, "w") as f:
                np.lib.format.write_array(f, np.asanyarray(arrays[name]), allow_pickle=False)


class CameraTruthWriter:
    """One camera's MOTChallenge sequence (``mot/<camera>/``) and head/face boxes
    (``heads/<camera>.csv``)."""

    def __init__(self, out: Path, camera_id: str, *, fps: float, size: tuple[int, int],
                 frames: int) -> None:
        self.camera_id = camera_id
        seq = out / "mot" / camera_id
        (seq / "gt").mkdir(parents=True, exist_ok=True)
        (out / "heads").mkdir(parents=True, exist_ok=True)
        (seq / "seqinfo.ini").write_text(
            "[Sequence]\n"
            f"name={camera_id}\n"
            "imDir=img1\n"
            f"frameRate={fps:g}\n"
            f"seqLength={frames}\n"
            f"imWidth={size[0]}\n"
            f"imHeight={size[1]}\n"
            "imExt=.jpg\n"
        )
        self.paths = [seq / "seqinfo.ini", seq / "gt" / "gt.txt", out / "heads" /
                      f"{camera_id}.csv"]
        self._rows: list[tuple[int, int, str]] = []
        self._heads = (out / "heads" / f"{camera_id}.csv").open("w", newline="")
        self._hw = csv.writer(self._heads, lineterminator="\n")
        self._hw.writerow(["frame", "t", "person_id", "head_x", "head_y", "head_w", "head_h",
                           "head_visibility", "face_x", "face_y", "face_w", "face_h",
                           "face_visible", "facing"])
        self.max_in_view = 0
        self.max_in_view_frame = 0

    def add(self, truth: FrameTruth) -> None:
        """Record one frame's truth."""
        in_view = int(np.count_nonzero(truth.visibility > 0))
        if in_view > self.max_in_view:
            self.max_in_view, self.max_in_view_frame = in_view, truth.frame
        for i, pid in enumerate(truth.ids.tolist()):
            x, y, w, h = truth.boxes[i]
            v = float(truth.visibility[i])
            consider = 1 if v >= MIN_CONSIDER_VISIBILITY else 0
            self._rows.append((truth.frame, pid,
                               f"{truth.frame},{pid},{x:.2f},{y:.2f},{w:.2f},{h:.2f},"
                               f"{consider},1,{v:.3f}"))
            hx, hy, hw, hh = truth.head_boxes[i]
            fx, fy, fw, fh = truth.face_boxes[i]
            self._hw.writerow([truth.frame, f"{truth.t:.1f}", pid, f"{hx:.2f}", f"{hy:.2f}",
                               f"{hw:.2f}", f"{hh:.2f}", f"{truth.head_visibility[i]:.3f}",
                               f"{fx:.2f}", f"{fy:.2f}", f"{fw:.2f}", f"{fh:.2f}",
                               int(bool(truth.face_visible[i])), f"{truth.facing[i]:.3f}"])

    def close(self) -> list[Path]:
        """Write gt.txt (sorted by frame, then id) and close the files."""
        self._heads.close()
        self._rows.sort(key=lambda r: (r[0], r[1]))
        self.paths[1].write_text("".join(r[2] + "\n" for r in self._rows))
        return list(self.paths)
