"""Blur leakage: unblurred faces are flagged, blurred or pixelated ones pass.

Images stay in memory: no test writes pixels of a real frame anywhere.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from storeheat.evaluation.exceptions import InputMismatchError, InvalidInputError
from storeheat.evaluation.leakage import (
    LeakageCriterion,
    combine_leakage,
    measure_leakage,
)
from storeheat.evaluation.motchallenge import read_sequence

Box = tuple[int, int, int, int]


def _face(size: int, seed: int) -> np.ndarray:
    """A face-like pattern with fine detail: skin oval, eyes, brows, mouth, skin texture."""
    rng = np.random.default_rng(seed)
    img = np.full((size, size), 120, np.uint8)
    c = size // 2
    cv2.ellipse(img, (c, c), (size // 3, size // 2 - 3), 0, 0, 360, 200, -1)
    for ex in (size // 3, 2 * size // 3):
        cv2.circle(img, (ex, size // 3), max(size // 12, 2), 30, -1)
        cv2.line(img, (ex - size // 10, size // 4), (ex + size // 10, size // 4), 60, 2)
    cv2.ellipse(img, (c, 2 * size // 3), (size // 6, size // 14), 0, 0, 180, 50, 2)
    texture = rng.normal(0, 12, (size, size))
    return np.clip(img + texture, 0, 255).astype(np.uint8)


def _scene(faces: list[Box], seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    frame = rng.integers(60, 100, (240, 320, 3), dtype=np.uint8)
    for i, (x, y, w, _h) in enumerate(faces):
        frame[y:y + w, x:x + w] = _face(w, seed + i)[..., None]
    return frame


def _gaussian(frame: np.ndarray, box: Box, sigma_frac: float = 1 / 8) -> np.ndarray:
    x, y, w, h = box
    out = frame.copy()
    out[y:y + h, x:x + w] = cv2.GaussianBlur(out[y:y + h, x:x + w], (0, 0), w * sigma_frac)
    return out


def _pixelate(frame: np.ndarray, box: Box, block: int = 8) -> np.ndarray:
    x, y, w, h = box
    out = frame.copy()
    small = cv2.resize(out[y:y + h, x:x + w], (max(w // block, 1), max(h // block, 1)),
                       interpolation=cv2.INTER_AREA)
    out[y:y + h, x:x + w] = cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)
    return out


def _jpeg(frame: np.ndarray, quality: int = 60) -> np.ndarray:
    ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])  # in memory
    assert ok
    decoded = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    assert decoded is not None
    return np.asarray(decoded)


FACE: Box = (100, 60, 64, 64)


def test_unblurred_face_is_flagged() -> None:
    ref = _scene([FACE])
    report = measure_leakage(ref, ref.copy(), [FACE])
    assert report.leakage == 1.0 and report.faces[0].reason == "identical"


@pytest.mark.parametrize("name", ["noise", "jpeg"])
def test_unblurred_face_survives_noise_and_recompression_as_a_leak(name: str) -> None:
    ref = _scene([FACE])
    rng = np.random.default_rng(3)
    out = (np.clip(ref + rng.normal(0, 5, ref.shape), 0, 255).astype(np.uint8)
           if name == "noise" else _jpeg(ref))
    check = measure_leakage(ref, out, [FACE]).faces[0]
    assert check.leaked and check.reason == "detail_kept"
    assert check.detail_ratio >= 0.5 and check.correlation >= 0.5


@pytest.mark.parametrize("anonymise", [_gaussian, _pixelate,
                                       lambda f, b: _pixelate(f, b, block=4)])
def test_blurred_or_pixelated_face_passes(anonymise: object) -> None:
    ref = _scene([FACE])
    out = anonymise(ref, FACE)  # type: ignore[operator]
    check = measure_leakage(ref, out, [FACE]).faces[0]
    assert not check.leaked and check.reason == "blurred"


def test_filled_box_passes() -> None:
    ref = _scene([FACE])
    out = ref.copy()
    x, y, w, h = FACE
    out[y:y + h, x:x + w] = 0
    assert measure_leakage(ref, out, [FACE]).leaked == 0


def test_mixed_frame_counts_only_visible_faces() -> None:
    faces: list[Box] = [(20, 20, 48, 48), (150, 40, 56, 56), (240, 150, 40, 40)]
    ref = _scene(faces)
    out = _gaussian(ref, faces[0])  # face 0 blurred, face 1 left sharp, face 2 not visible
    boxes = [*faces, (400, 400, 20, 20)]  # plus a visible face outside the frame
    report = measure_leakage(ref, out, boxes, visible=[True, True, False, True])
    assert [f.reason for f in report.faces] == ["blurred", "identical", "not_visible",
                                                "outside_frame"]
    assert (report.visible, report.leaked) == (3, 1)
    assert report.leakage == pytest.approx(1 / 3)
    pooled = combine_leakage([report, measure_leakage(ref, _gaussian(out, faces[1]), faces[:2])])
    assert (pooled.visible, pooled.leaked) == (5, 1)


def test_no_visible_face_means_no_leak() -> None:
    ref = _scene([])
    assert measure_leakage(ref, ref, np.zeros((0, 4))).leakage == 0.0


def _real_head(mot17_mini_dir: Path) -> tuple[np.ndarray, Box]:
    """First frame of MOT17-02 (a tuning sequence) and the head of its tallest pedestrian."""
    seq = read_sequence(mot17_mini_dir / "MOT17-02-FRCNN")
    assert seq.gt is not None and seq.image_paths
    frame = cv2.imread(str(seq.image_paths[0]), cv2.IMREAD_COLOR)
    assert frame is not None
    gt = seq.gt
    people = (gt.frame == 1) & (gt.cls == 1) & (gt.score != 0)
    x, y, w, h = gt.xywh[people][np.argmax(gt.xywh[people][:, 3])]
    head = (int(x + 0.25 * w), int(y), int(0.5 * w), int(0.15 * h))  # top of a walking person
    assert head[2] >= 40 and head[3] >= 40
    return frame, head


def test_real_frame_unblurred_head_is_flagged(mot17_mini_dir: Path) -> None:
    frame, head = _real_head(mot17_mini_dir)
    assert measure_leakage(frame, frame.copy(), [head]).leaked == 1
    rng = np.random.default_rng(5)
    noisy = np.clip(frame + rng.normal(0, 5, frame.shape), 0, 255).astype(np.uint8)
    check = measure_leakage(frame, noisy, [head]).faces[0]
    assert check.leaked and check.reason == "detail_kept"


@pytest.mark.parametrize("anonymise", [_gaussian, _pixelate])
def test_real_frame_blurred_head_passes(mot17_mini_dir: Path, anonymise: object) -> None:
    frame, head = _real_head(mot17_mini_dir)
    out = anonymise(frame, head)  # type: ignore[operator]
    check = measure_leakage(frame, out, [head]).faces[0]
    assert not check.leaked


def test_criterion_thresholds_are_the_decision() -> None:
    ref = _scene([FACE])
    mild = _gaussian(ref, FACE, sigma_frac=1 / 64)  # sigma 1 px: barely blurred
    default = measure_leakage(ref, mild, [FACE]).faces[0]
    # With the default thresholds a 1 px blur removes enough detail to pass ...
    assert not default.leaked and default.detail_ratio < 0.5
    # ... and a criterion just below both measured figures calls it a leak.
    lenient = LeakageCriterion(detail_ratio_threshold=0.9 * default.detail_ratio,
                               correlation_threshold=0.9 * default.correlation)
    assert measure_leakage(ref, mild, [FACE], criterion=lenient).faces[0].leaked


@pytest.mark.parametrize(
    ("kwargs", "error", "argument"),
    [
        ({"output": np.zeros((10, 10, 3), np.uint8)}, InputMismatchError, "output"),
        ({"boxes": [[1, 2, 3]]}, InvalidInputError, "boxes"),
        ({"visible": [True, False]}, InvalidInputError, "visible"),
        ({"reference": np.zeros((4, 4, 4, 4)), "output": np.zeros((4, 4, 4, 4))},
         InvalidInputError, "reference"),
    ],
)
def test_bad_input_names_the_argument(
    kwargs: dict[str, object], error: type[Exception], argument: str
) -> None:
    ref = _scene([FACE])
    call: dict[str, object] = {"reference": ref, "output": ref, "boxes": [FACE]}
    call.update(kwargs)
    with pytest.raises(error) as info:
        measure_leakage(**call)  # type: ignore[arg-type]
    assert getattr(info.value, "argument", None) == argument
