"""Draw a frame's ground truth over it (the README's picture; handy to eyeball a run).

    python -m storeheat.sim.preview --scenario normal --camera cam-aisles --out frame.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from storeheat.sim.camera import PinholeCamera
from storeheat.sim.render import CameraRenderer, FrameTruth
from storeheat.sim.scenario import get_scenario
from storeheat.sim.stores import calibrated_store, load_layout
from storeheat.sim.world import World


def draw_truth(img: NDArray[np.uint8], truth: FrameTruth, *,
               floor_px: NDArray[np.float64] | None = None) -> NDArray[np.uint8]:
    """A copy of ``img`` with person boxes (green: ≥ 50 % visible, orange: less), head boxes
    (cyan), visible faces (magenta), ids, and optionally the projected floor points (red)."""
    out = img.copy()
    for i in range(len(truth)):
        x, y, w, h = truth.boxes[i]
        col = (60, 220, 60) if truth.visibility[i] >= 0.5 else (0, 150, 255)
        cv2.rectangle(out, (int(x), int(y)), (int(x + w), int(y + h)), col, 1)
        cv2.putText(out, str(int(truth.ids[i])), (int(x), int(y) - 2),
                    cv2.FONT_HERSHEY_PLAIN, 0.8, col, 1, cv2.LINE_AA)
        hx, hy, hw, hh = truth.head_boxes[i]
        cv2.rectangle(out, (int(hx), int(hy)), (int(hx + hw), int(hy + hh)), (230, 200, 0), 1)
        if truth.face_visible[i]:
            fx, fy, fw, fh = truth.face_boxes[i]
            cv2.rectangle(out, (int(fx), int(fy)), (int(fx + fw), int(fy + fh)),
                          (255, 0, 255), 1)
        if floor_px is not None:
            u, v = floor_px[i]
            cv2.drawMarker(out, (int(round(u)), int(round(v))), (0, 0, 255),
                           cv2.MARKER_CROSS, 6, 1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="normal")
    parser.add_argument("--camera", default="cam-aisles")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=20.0, help="instant to draw")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--both", action="store_true",
                        help="stack the clean frame above the annotated one")
    parser.add_argument("--colours", type=int, default=0,
                        help="quantise the PNG to this many colours (smaller file)")
    args = parser.parse_args()
    store = calibrated_store(load_layout())
    cam = store.camera(args.camera)
    sc = get_scenario(args.scenario)
    world = World(store, sc, seed=args.seed)
    crowd = world.crowd()
    for _ in range(int(round(args.seconds * 10))):
        crowd = world.step()
    img, truth = CameraRenderer(store, PinholeCamera.from_config(cam), sc,
                                seed=args.seed).render(crowd, frame=1)
    floor_px = cam.homography.floor_to_image(truth.floor) if len(truth) else None
    drawn = draw_truth(img, truth, floor_px=floor_px)
    picture = np.vstack([img, drawn]) if args.both else drawn
    if args.colours:
        from PIL import Image

        rgb = Image.fromarray(cv2.cvtColor(picture, cv2.COLOR_BGR2RGB))
        rgb.quantize(colors=args.colours, dither=Image.Dither.NONE).save(args.out,
                                                                         optimize=True)
    else:
        cv2.imwrite(str(args.out), picture, [cv2.IMWRITE_PNG_COMPRESSION, 9])
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
