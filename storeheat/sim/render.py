"""Render what a simulated camera sees, with the per-frame ground truth.

Speed comes from doing the static scene once: when a :class:`CameraRenderer` is built it
ray-casts the room (floor tiles, walls, ceiling) and the shelves (extruded boxes with product
rows) into a background image and a per-pixel shelf depth map. Each frame then copies the
background, draws the people far to near (painter's algorithm) into small patches, each pixel
kept only where no shelf is nearer (the depth map) and later people overwrite earlier ones
(occlusion by people), applies the lighting of the time of day and adds sensor noise.

People: legs swinging with the stride, a torso, arms and a head; the body's width depends on
how the person is turned to the camera; the face (skin, eyes, mouth) shows when the person
faces the camera, the back of the head (hair) otherwise. Moving people are blurred along
their image motion over the exposure time.

Ground truth per visible person (:class:`FrameTruth`): the tight box of the unblurred
silhouette (even where it leaves the frame), the visible fraction of its pixels, the head box
and its visible fraction, and the face box with a ``face_visible`` flag (turned towards the
camera, at least half of the head unoccluded, and in the frame).
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from storeheat.config import StoreConfig
from storeheat.sim.camera import PinholeCamera
from storeheat.sim.scenario import Scenario, daylight
from storeheat.sim.world import Crowd

CEILING_M = 3.6
#: Faces turned towards the camera by more than this cosine count as visible.
FACE_COS = 0.25
#: A face is visible only if at least this fraction of the head's pixels is.
FACE_MIN_HEAD_VISIBLE = 0.5
_SHIFT = 4
_SCALE = float(1 << _SHIFT)


@dataclass(frozen=True)
class FrameTruth:
    """Ground truth of one rendered frame (parallel arrays over the people in view).

    Boxes are ``(x, y, w, h)`` in 0-based pixels (the calibration's coordinates).

    Attributes:
        frame: 1-based frame number of the camera's sequence.
        t: Simulation seconds.
        ids: Person ids.
        boxes: Tight box of the full (unoccluded, unclipped) silhouette.
        visibility: Fraction of the silhouette's pixels that are visible in the frame.
        head_boxes: Box of the head.
        head_visibility: Fraction of the head's pixels that are visible.
        face_boxes: Box of the face (the skin part of the head seen from the front).
        face_visible: Whether a face is visible (see the module docstring).
        facing: Cosine between where the person faces and the direction to the camera.
        floor: Floor position (x, y), metres.
    """

    frame: int
    t: float
    ids: NDArray[np.int64]
    boxes: NDArray[np.float64]
    visibility: NDArray[np.float64]
    head_boxes: NDArray[np.float64]
    head_visibility: NDArray[np.float64]
    face_boxes: NDArray[np.float64]
    face_visible: NDArray[np.bool_]
    facing: NDArray[np.float64]
    floor: NDArray[np.float64]

    def __len__(self) -> int:
        return int(self.ids.shape[0])


def _rng_for(seed: int, *keys: str | int) -> np.random.Generator:
    parts = [int(seed)] + [zlib.crc32(str(k).encode()) for k in keys]
    return np.random.default_rng(np.random.SeedSequence(parts))


def _unit(v: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.asarray(v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9))


class CameraRenderer:
    """Renders one camera of a store (see the module docstring).

    Args:
        store: The store (floor, shelves).
        camera: The camera.
        scenario: Lighting time, exposure and noise come from here.
        seed: Run seed (noise and light fluctuation; the scene itself is fixed).
        noise: Add sensor noise.
        motion_blur: Blur moving people along their motion.
    """

    def __init__(self, store: StoreConfig, camera: PinholeCamera, scenario: Scenario, *,
                 seed: int, noise: bool = True, motion_blur: bool = True) -> None:
        self.store = store
        self.camera = camera
        self.scenario = scenario
        self.noise = noise
        self.motion_blur = motion_blur
        self.background, self.shelf_depth = _static_scene(store, camera)
        rng = _rng_for(seed, "render", camera.camera_id)
        h, w = camera.height, camera.width
        # a small bank of noise images, read at a random offset each frame (cheap and varied)
        self._pad = 32
        self._noise_bank = [
            np.clip(rng.normal(128.0, 16.0, size=(h + self._pad, w + self._pad, 3)), 0, 255)
            .astype(np.uint8) for _ in range(3)
        ]
        self._cam_hash = zlib.crc32(f"{seed}/{camera.camera_id}".encode())
        self._cloud = rng.uniform(0, 2 * np.pi, size=3)

    # ------------------------------------------------------------------ lighting
    def light(self, t: float) -> tuple[float, float, float]:
        """BGR gains at simulation second ``t``: daylight by the hour, tint, passing clouds."""
        sc = self.scenario
        hour = sc.hour_at(t)
        day = daylight(hour)
        periods = (23.0, 41.0, 67.0)
        cloud = sum(math.sin(2 * math.pi * t / p + ph) for p, ph in zip(periods, self._cloud,
                                                                            strict=True)) / 3.0
        gain = (0.62 + 0.38 * day) * (1.0 + sc.cloud_amplitude * cloud)
        warm = 1.0 - day  # artificial light is warmer than daylight
        return (gain * (1.0 - 0.10 * warm), gain, gain * (1.0 + 0.06 * warm))

    # ------------------------------------------------------------------ frames
    def render(self, crowd: Crowd, *, frame: int) -> tuple[NDArray[np.uint8], FrameTruth]:
        """Draw ``crowd`` as this camera sees it; returns the BGR frame and its truth.

        Args:
            crowd: Everyone on the floor at the frame's instant.
            frame: 1-based frame number (goes into the truth; picks the noise).
        """
        cam = self.camera
        img = self.background.copy()
        idbuf = np.zeros((cam.height, cam.width), dtype=np.uint16)
        people = _project_people(cam, crowd)
        n = len(crowd)
        boxes = np.zeros((n, 4))
        area = np.zeros(n)
        head_area = np.zeros(n)
        drawn = np.zeros(n, dtype=bool)
        order = np.lexsort((crowd.ids, -people.depth))  # far to near, ties by id
        # plain Python numbers per person: far cheaper than numpy scalars in the loop
        per = _PerPerson(people, crowd)
        for k in order.tolist():
            if per.depth[k] < 0.5:
                continue
            res = self._draw_person(img, idbuf, per, people, k)
            if res is None:
                continue
            boxes[k], area[k], head_area[k] = res
            drawn[k] = True
        head_boxes = people.head_box
        face_boxes = people.face_box
        counts = np.bincount(idbuf.ravel(), minlength=n + 1)[1:]
        visibility = np.where(area > 0, counts / np.maximum(area, 1), 0.0)
        head_vis = np.zeros(n)
        for k in np.flatnonzero(drawn):
            x, y, w, h = head_boxes[k]
            x0, y0 = max(0, int(math.floor(x))), max(0, int(math.floor(y)))
            x1 = min(cam.width, int(math.ceil(x + w)))
            y1 = min(cam.height, int(math.ceil(y + h)))
            if x1 > x0 and y1 > y0 and head_area[k] > 0:
                seen = int(np.count_nonzero(idbuf[y0:y1, x0:x1] == k + 1))
                head_vis[k] = min(1.0, seen / head_area[k])
        in_frame = drawn & _intersects(boxes, cam.width, cam.height)
        face_in = _intersects(face_boxes, cam.width, cam.height)
        face_visible = (in_frame & face_in & (people.facing > FACE_COS)
                        & (head_vis >= FACE_MIN_HEAD_VISIBLE))
        img = self._finish(img, crowd.t, frame)
        sel = np.flatnonzero(in_frame)
        sel = sel[np.argsort(crowd.ids[sel], kind="stable")]
        truth = FrameTruth(
            frame=frame, t=crowd.t, ids=crowd.ids[sel], boxes=boxes[sel],
            visibility=np.clip(visibility[sel], 0.0, 1.0), head_boxes=head_boxes[sel],
            head_visibility=head_vis[sel], face_boxes=face_boxes[sel],
            face_visible=face_visible[sel], facing=people.facing[sel],
            floor=crowd.pos[sel],
        )
        return img, truth

    def _finish(self, img: NDArray[np.uint8], t: float, frame: int) -> NDArray[np.uint8]:
        gains = self.light(t)
        gain_row = np.array(gains, dtype=np.float32)[None, :]
        ramp = np.arange(256, dtype=np.float32)[:, None] * gain_row
        lut = np.clip(ramp + 0.5, 0, 255).astype(np.uint8).reshape(256, 1, 3)
        lit = cv2.LUT(img, lut)
        if not self.noise:
            return np.asarray(lit)
        # which noise image and offset: a cheap integer hash of frame and camera
        hsh = (frame * 2654435761 + self._cam_hash) & 0xFFFFFFFF
        bank = self._noise_bank[hsh % len(self._noise_bank)]
        dy, dx = (hsh >> 8) % self._pad, (hsh >> 16) % self._pad
        view = bank[dy:dy + self.camera.height, dx:dx + self.camera.width]
        # darker scenes are noisier (higher sensor gain)
        sd = self.scenario.noise_sd / max(0.4, min(gains)) ** 0.5
        s = sd / 16.0
        return np.asarray(cv2.addWeighted(lit, 1.0, view, s, -128.0 * s))

    def _draw_person(self, img: NDArray[np.uint8], idbuf: NDArray[np.uint16],
                     per: _PerPerson, people: _Projected, k: int
                     ) -> tuple[NDArray[np.float64], float, float] | None:
        cam = self.camera
        bx0, by0, bx1, by1 = per.bounds[k]
        x0, y0 = int(math.floor(bx0)) - 2, int(math.floor(by0)) - 2
        x1, y1 = int(math.ceil(bx1)) + 3, int(math.ceil(by1)) + 3
        if x1 <= 0 or y1 <= 0 or x0 >= cam.width or y0 >= cam.height:
            return None
        if (x1 - x0) * (y1 - y0) > 4 * cam.width * cam.height:
            return None  # right under the lens: not a meaningful view of a person
        patch = np.zeros((y1 - y0, x1 - x0, 3), dtype=np.uint8)
        _draw_body(patch, people, k, x0, y0, per.colours[k], per.sizes[k], per.facing[k])
        # colours are never black, so any non-zero pixel belongs to the person (mask 0/1)
        gray = cv2.cvtColor(patch, cv2.COLOR_BGR2GRAY)
        mask = cv2.threshold(gray, 0, 1, cv2.THRESH_BINARY)[1]
        bx, by, bw, bh = cv2.boundingRect(mask)
        if bw == 0 or bh == 0:
            return None
        box = np.array([x0 + bx, y0 + by, bw, bh], dtype=float)
        hb = per.head_box[k]
        hx0, hy0 = max(0, int(math.floor(hb[0])) - x0), max(0, int(math.floor(hb[1])) - y0)
        hx1 = max(0, int(math.ceil(hb[0] + hb[2])) - x0)
        hy1 = max(0, int(math.ceil(hb[1] + hb[3])) - y0)
        head = mask[hy0:hy1, hx0:hx1]
        head_area = float(np.count_nonzero(head))
        area = float(np.count_nonzero(mask))
        # clip the patch to the frame, then keep the pixels no shelf hides
        cx0, cy0 = max(0, x0), max(0, y0)
        cx1, cy1 = min(cam.width, x1), min(cam.height, y1)
        sub = (slice(cy0 - y0, cy1 - y0), slice(cx0 - x0, cx1 - x0))
        region = (slice(cy0, cy1), slice(cx0, cx1))
        in_front = self.shelf_depth[region] > (per.depth[k] - 0.3)
        visible = (mask[sub] != 0) & in_front
        np.copyto(idbuf[region], np.uint16(k + 1), where=visible)
        blur_len = (per.blur_px[k] * self.scenario.exposure_s
                    if self.motion_blur else 0.0)
        if blur_len >= 1.5:
            kernel = _line_kernel(blur_len, per.blur_angle[k])
            col = cv2.filter2D(patch, cv2.CV_32F, kernel)[sub]
            alpha = cv2.filter2D(mask, cv2.CV_32F, kernel)[sub]
            a = alpha * in_front
            under = img[region].astype(np.float32)
            blended = under * (1.0 - a[..., None]) + col * in_front[..., None]
            img[region] = np.clip(blended + 0.5, 0, 255).astype(np.uint8)
        else:
            np.copyto(img[region], patch[sub], where=visible[..., None])
        return box, area, head_area


def _intersects(boxes: NDArray[np.float64], w: int, h: int) -> NDArray[np.bool_]:
    return np.asarray((boxes[:, 2] > 0) & (boxes[:, 0] < w) & (boxes[:, 1] < h)
                      & (boxes[:, 0] + boxes[:, 2] > 0) & (boxes[:, 1] + boxes[:, 3] > 0))


def _line_kernel(length: float, angle: float) -> NDArray[np.float32]:
    size = int(math.ceil(length)) | 1
    k = np.zeros((size, size), dtype=np.float32)
    c = size // 2
    dx, dy = math.cos(angle) * length / 2, math.sin(angle) * length / 2
    cv2.line(k, (int(round((c - dx) * _SCALE)), int(round((c - dy) * _SCALE))),
             (int(round((c + dx) * _SCALE)), int(round((c + dy) * _SCALE))), 1.0, 1,
             cv2.LINE_AA, _SHIFT)
    total = float(k.sum())
    if total <= 0:
        k[c, c] = 1.0
        total = 1.0
    return np.asarray(k / total)


# ---------------------------------------------------------------------- people geometry
_POINTS = ("foot_l", "foot_r", "hip_l", "hip_r", "hip_ol", "hip_or", "sh_l", "sh_r",
           "hand_l", "hand_r", "head", "head_l", "head_top", "centre", "ahead")
_P = {name: i for i, name in enumerate(_POINTS)}


@dataclass
class _Projected:
    depth: NDArray[np.float64]
    facing: NDArray[np.float64]
    blur_px: NDArray[np.float64]
    blur_angle: NDArray[np.float64]
    pts: NDArray[np.float64]  # (n, len(_POINTS), 2) pixels
    face_pts: NDArray[np.float64]  # (n, 4, 2): face centre, eye, eye, mouth
    sizes: NDArray[np.float64]  # (n, 8): head rx, ry, limb, arm, face rx, ry, eye r, mouth rx
    head_box: NDArray[np.float64]  # (n, 4) xywh
    face_box: NDArray[np.float64]  # (n, 4) xywh
    bounds: NDArray[np.float64]  # (n, 4) x0 y0 x1 y1
    pts_fx: NDArray[np.int64]  # pts in OpenCV fixed point (see _fixed)
    face_fx: NDArray[np.int64]  # face_pts likewise


def _fixed(px: NDArray[np.float64]) -> NDArray[np.int64]:
    """Pixels → OpenCV fixed-point coordinates (OpenCV puts pixel centres at integers,
    our coordinates put them at +0.5)."""
    return np.asarray(np.round((px - 0.5) * _SCALE).astype(np.int64))


def _project_people(cam: PinholeCamera, crowd: Crowd) -> _Projected:
    """3-D body points of everyone, projected (vectorised over people)."""
    n = len(crowd)
    pos = crowd.pos.reshape(n, 2)
    hgt = crowd.height[:, None]
    build = crowd.build[:, None]
    to_cam = _unit(cam.centre[None, :2] - pos)
    lateral = np.stack([-to_cam[:, 1], to_cam[:, 0]], axis=1)  # horizontal, ⟂ view
    heading = _unit(crowd.heading.reshape(n, 2))
    facing = (heading * to_cam).sum(axis=1)
    side_dir = np.stack([-heading[:, 1], heading[:, 0]], axis=1)
    side = (side_dir * lateral).sum(axis=1)
    # apparent half-widths: shoulders seen from the front, chest depth seen from the side
    turn = np.abs(side)[:, None]
    torso_half = 0.21 * build * turn + 0.12 * (1 - turn) + 0.02
    hip_half = 0.17 * build * turn + 0.10 * (1 - turn) + 0.02
    speed = np.linalg.norm(crowd.vel.reshape(n, 2), axis=1)[:, None]
    stride = np.clip(speed / 1.2, 0, 1.2) * 0.28 * np.sin(crowd.phase)[:, None]
    zeros = np.zeros((n, 1))
    hip_z, sh_z, head_c = 0.50 * hgt, 0.81 * hgt, hgt - 0.115
    xy = {
        "foot_l": (pos + 0.09 * lateral * build + stride * heading, zeros),
        "foot_r": (pos - 0.09 * lateral * build - stride * heading, zeros),
        "hip_l": (pos + hip_half * 0.55 * lateral, hip_z),
        "hip_r": (pos - hip_half * 0.55 * lateral, hip_z),
        "hip_ol": (pos + hip_half * lateral, hip_z),
        "hip_or": (pos - hip_half * lateral, hip_z),
        "sh_l": (pos + torso_half * lateral, sh_z),
        "sh_r": (pos - torso_half * lateral, sh_z),
        "hand_l": (pos + (torso_half + 0.03) * lateral - 0.8 * stride * heading, 0.47 * hgt),
        "hand_r": (pos - (torso_half + 0.03) * lateral + 0.8 * stride * heading, 0.47 * hgt),
        "head": (pos, head_c),
        "head_l": (pos + 0.095 * lateral, head_c),
        "head_top": (pos, hgt),
        "centre": (pos, 0.6 * hgt),
        "ahead": (pos + crowd.vel.reshape(n, 2) * 0.04, 0.6 * hgt),
    }
    p3 = np.stack([np.concatenate([xy[name][0], xy[name][1]], axis=1) for name in _POINTS],
                  axis=1)
    pts, _ = cam.project(p3)
    _, depth = cam.project(p3[:, _P["centre"]])
    scale = cam.focal_px / np.maximum(depth, 1e-3)
    motion = (pts[:, _P["ahead"]] - pts[:, _P["centre"]]) / 0.04  # pixels per second
    head = pts[:, _P["head"]]
    head_rx = np.linalg.norm(pts[:, _P["head_l"]] - head, axis=1)
    head_ry = np.maximum(np.abs(pts[:, _P["head_top"], 1] - head[:, 1]), head_rx * 0.9)
    limb = np.maximum(1.0, 0.11 * scale * build[:, 0])
    arm = np.maximum(1.0, 0.075 * scale)
    f_pos = np.maximum(0.0, facing)
    face_rx = head_rx * (0.35 + 0.65 * f_pos) * 0.85
    face_ry = head_ry * 0.75
    face_c = head + np.stack([-side * head_rx * 0.35 * (1 - f_pos), head_ry * 0.22], axis=1)
    eye_dx, eye_dy = face_rx * 0.45, head_ry * 0.08
    face_pts = np.stack([
        face_c,
        face_c + np.stack([-eye_dx, -eye_dy], axis=1),
        face_c + np.stack([eye_dx, -eye_dy], axis=1),
        face_c + np.stack([np.zeros(n), head_ry * 0.42], axis=1),
    ], axis=1)
    sizes = np.stack([head_rx, head_ry, limb, arm, face_rx, face_ry, head_rx * 0.14,
                      face_rx * 0.35], axis=1)
    head_box = np.stack([head[:, 0] - head_rx, head[:, 1] - head_ry, 2 * head_rx,
                         2 * head_ry], axis=1)
    face_box = np.stack([face_c[:, 0] - face_rx, face_c[:, 1] - face_ry, 2 * face_rx,
                         2 * face_ry], axis=1)
    pad = np.maximum.reduce([head_rx, limb, arm])
    pad_y = np.maximum(head_ry, limb)
    bounds = np.stack([pts[..., 0].min(axis=1) - pad, pts[..., 1].min(axis=1) - pad_y,
                       pts[..., 0].max(axis=1) + pad, pts[..., 1].max(axis=1) + pad_y], axis=1)
    return _Projected(depth=depth, facing=facing, blur_px=np.linalg.norm(motion, axis=1),
                      blur_angle=np.arctan2(motion[:, 1], motion[:, 0]), pts=pts,
                      face_pts=face_pts, sizes=sizes, head_box=head_box, face_box=face_box,
                      bounds=bounds, pts_fx=_fixed(pts), face_fx=_fixed(face_pts))


class _PerPerson:
    """The per-person numbers the drawing loop reads, as Python lists."""

    def __init__(self, pp: _Projected, crowd: Crowd) -> None:
        self.depth: list[float] = pp.depth.tolist()
        self.bounds: list[list[float]] = pp.bounds.tolist()
        self.head_box: list[list[float]] = pp.head_box.tolist()
        self.blur_px: list[float] = pp.blur_px.tolist()
        self.blur_angle: list[float] = pp.blur_angle.tolist()
        self.sizes: list[list[float]] = pp.sizes.tolist()
        self.facing: list[float] = pp.facing.tolist()
        self.colours: list[list[list[int]]] = crowd.colours.tolist()


def _draw_body(patch: NDArray[np.uint8], pp: _Projected, k: int, x0: int, y0: int,
               colours: list[list[int]], sizes: list[float], facing: float) -> None:
    """Draw person ``k`` into ``patch`` whose top-left pixel is (x0, y0) of the frame."""
    off = np.array([x0 << _SHIFT, y0 << _SHIFT], dtype=np.int64)
    q = (pp.pts_fx[k] - off).tolist()
    pt = {name: (q[i][0], q[i][1]) for i, name in enumerate(_POINTS)}
    head_rx, head_ry, limb, arm, face_rx, face_ry, eye_r, mouth_rx = sizes
    shirt, trousers, skin, hair = (tuple(col) for col in colours)
    lt, at = max(1, round(limb)), max(1, round(arm))
    dark = tuple(max(8, int(c * 0.75)) for c in trousers)
    line8 = cv2.LINE_8
    # legs (one darker), torso, arms, then the head
    # thick lines end in round caps: lift the feet by half the thickness so the sole (not
    # the cap's edge) touches the floor point
    lift = int(round((lt - 1) / 2 * _SCALE))
    foot_l = (pt["foot_l"][0], pt["foot_l"][1] - lift)
    foot_r = (pt["foot_r"][0], pt["foot_r"][1] - lift)
    cv2.line(patch, pt["hip_l"], foot_l, dark, lt, line8, _SHIFT)
    cv2.line(patch, pt["hip_r"], foot_r, trousers, lt, line8, _SHIFT)
    torso = np.array([pt["hip_ol"], pt["sh_l"], pt["sh_r"], pt["hip_or"]], dtype=np.int32)
    cv2.fillConvexPoly(patch, torso, shirt, line8, _SHIFT)
    sleeve = tuple(max(8, int(c * 0.85)) for c in shirt)
    cv2.line(patch, pt["sh_l"], pt["hand_l"], sleeve, at, line8, _SHIFT)
    cv2.line(patch, pt["sh_r"], pt["hand_r"], sleeve, at, line8, _SHIFT)
    axes = (max(1, round(head_rx * _SCALE)), max(1, round(head_ry * _SCALE)))
    cv2.ellipse(patch, pt["head"], axes, 0, 0, 360, hair, -1, line8, _SHIFT)
    if facing <= -0.1:
        return  # the back of the head: hair only
    f = (pp.face_fx[k] - off).tolist()
    cv2.ellipse(patch, (f[0][0], f[0][1]),
                (max(1, round(face_rx * _SCALE)), max(1, round(face_ry * _SCALE))),
                0, 0, 360, skin, -1, line8, _SHIFT)
    if facing > FACE_COS and head_rx >= 2.5:
        er = max(1, round(eye_r * _SCALE))
        for e in (f[1], f[2]):
            cv2.circle(patch, (e[0], e[1]), er, (20, 20, 25), -1, line8, _SHIFT)
        cv2.ellipse(patch, (f[3][0], f[3][1]),
                    (max(1, round(mouth_rx * _SCALE)), max(1, round(head_ry * 0.07 * _SCALE))),
                    0, 0, 360, (40, 40, 120), -1, line8, _SHIFT)


# ---------------------------------------------------------------------- static scene
def _static_scene(store: StoreConfig,
                  cam: PinholeCamera) -> tuple[NDArray[np.uint8], NDArray[np.float32]]:
    """Ray-cast room and shelves: (background BGR image, shelf depth per pixel, inf = none)."""
    rays = cam.rays()  # forward component 1: the ray parameter is the depth
    c = cam.centre
    room_hi = np.array([store.floor.width_m, store.floor.depth_m, CEILING_M])
    with np.errstate(divide="ignore", invalid="ignore"):
        t_axes = np.where(rays > 0, (room_hi - c) / rays, np.where(rays < 0, -c / rays, np.inf))
    t_axes = np.where(t_axes > 0, t_axes, np.inf)
    axis = np.argmin(t_axes, axis=2)
    t_room = np.take_along_axis(t_axes, axis[..., None], axis=2)[..., 0]
    t_room = np.where(np.isfinite(t_room), t_room, 1e6)
    hit = c + rays * t_room[..., None]
    h, w = cam.height, cam.width
    img = np.zeros((h, w, 3), dtype=np.float32)
    floor = (axis == 2) & (rays[..., 2] < 0)
    ceiling = (axis == 2) & (rays[..., 2] >= 0)
    wall = axis != 2
    # floor: 0.6 m tiles in two tones with darker grout
    tx, ty = hit[..., 0] / 0.6, hit[..., 1] / 0.6
    checker = ((np.floor(tx) + np.floor(ty)) % 2 == 0)
    grout = (np.abs(tx - np.round(tx)) < 0.03) | (np.abs(ty - np.round(ty)) < 0.03)
    tile = np.where(checker[..., None], np.array([196, 200, 204], dtype=np.float32),
                    np.array([178, 184, 188], dtype=np.float32))
    tile = np.where(grout[..., None], np.array([120, 124, 128], dtype=np.float32), tile)
    img[floor] = tile[floor]
    # walls: pale with a dark skirting board and a window band on the front wall
    wall_col = np.where((hit[..., 2] < 0.15)[..., None], np.array([70, 75, 80], dtype=np.float32),
                        np.array([190, 215, 225], dtype=np.float32))
    window = (axis == 1) & (hit[..., 1] < 0.01 + 0 * hit[..., 1]) & (hit[..., 2] > 1.0) \
        & (hit[..., 2] < 2.6)
    wall_col = np.where(window[..., None], np.array([245, 235, 220], dtype=np.float32), wall_col)
    img[wall] = wall_col[wall]
    img[ceiling] = np.array([215, 215, 210], dtype=np.float32)
    shade = np.where(axis == 0, 0.86, np.where(axis == 1, 0.95, 1.0))
    img *= shade[..., None]
    depth = np.full((h, w), np.inf, dtype=np.float32)
    t_best = t_room.copy()
    for si, shelf in enumerate(store.shelves):
        poly = np.asarray(shelf.polygon, dtype=float)
        lo = np.array([*poly.min(axis=0), 0.0])
        hi = np.array([*poly.max(axis=0), shelf.height_m])
        with np.errstate(divide="ignore", invalid="ignore"):
            t1 = (lo - c) / rays
            t2 = (hi - c) / rays
        tmin = np.nan_to_num(np.minimum(t1, t2), nan=-np.inf)
        tmax = np.nan_to_num(np.maximum(t1, t2), nan=np.inf)
        t_near = tmin.max(axis=2)
        t_far = tmax.min(axis=2)
        hit_shelf = (t_near <= t_far) & (t_near > 0) & (t_near < t_best)
        if not hit_shelf.any():
            continue
        face = np.argmax(tmin[hit_shelf], axis=1)
        p = c + rays[hit_shelf] * t_near[hit_shelf][:, None]
        img[hit_shelf] = _shelf_colours(p, face, lo, hi, si)
        depth[hit_shelf] = t_near[hit_shelf]
        t_best = np.where(hit_shelf, t_near, t_best)
    # gentle falloff with distance and vignetting
    fall = 1.0 / (1.0 + 0.012 * np.minimum(t_best, 60.0))
    yy, xx = np.mgrid[0:h, 0:w]
    r2 = ((xx - w / 2) / (w / 2)) ** 2 + ((yy - h / 2) / (h / 2)) ** 2
    vignette = 1.0 - 0.12 * r2 / 2
    img *= (fall * 1.08 * vignette)[..., None]
    return np.clip(img, 8, 255).astype(np.uint8), depth


def _shelf_colours(p: NDArray[np.float64], face: NDArray[np.int64], lo: NDArray[np.float64],
                   hi: NDArray[np.float64], shelf_index: int) -> NDArray[np.float32]:
    """Product rows on the shelf sides, a grey top, coloured end caps."""
    rng = np.random.default_rng(np.random.SeedSequence([0x5E1F, shelf_index]))
    palette = rng.integers(40, 235, size=(64, 3)).astype(np.float32)
    along = np.where(face == 0, p[..., 1], p[..., 0])
    level = np.floor(p[..., 2] / 0.36).astype(np.int64)
    slot = np.floor(along / 0.3).astype(np.int64)
    idx = (slot * 7 + level * 13) % 64
    col = palette[idx]
    frame_band = (np.abs(p[..., 2] / 0.36 - np.round(p[..., 2] / 0.36)) < 0.08)
    col = np.where(frame_band[..., None], np.array([90, 95, 100], dtype=np.float32), col)
    long_axis_x = (hi[0] - lo[0]) > (hi[1] - lo[1])
    end_face = (face == 0) if long_axis_x else (face == 1)
    col = np.where(end_face[..., None], np.array([60, 60, 170], dtype=np.float32), col)
    col = np.where((face == 2)[..., None], np.array([110, 110, 110], dtype=np.float32), col)
    shade = np.where(face == 0, 0.8, np.where(face == 1, 0.92, 1.0))
    return np.asarray(col * shade[..., None], dtype=np.float32)
