"""Person detectors: Ultralytics YOLO (.pt / .onnx / OpenVINO) and plain YOLOX ONNX models.

ONNX files (YOLOX, and Ultralytics detection exports) run directly in onnxruntime with numpy
pre/post-processing; the rest goes through Ultralytics' predictor.

A detector turns a batch of BGR frames (one per camera, any sizes) into one
:class:`~streaming.detections.Detections` per frame, persons only, boxes in the frame's
pixels. Detectors are built once at the worker's start by :func:`load_detector`, which checks
the model file and fails with :class:`~streaming.exceptions.ModelLoadError` before the first
frame; per-frame calls then only raise :class:`~streaming.exceptions.InferenceError`.

Every detector carries ``model_version`` (file name + short sha256 of the weights), which the
worker stamps on every event, so a number in the lake can always be traced to its model.

Example::

    det = load_detector("../shared/realdata/weights/yolox_nano/yolox_nano.onnx")
    [dets] = det.detect_batch([frame])      # frame: BGR uint8 H×W×3
    det.model_version                       # 'yolox_nano.onnx@695e750a5d57'
"""

from __future__ import annotations

import ast
import hashlib
import math
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import cv2
import numpy as np
from numpy.typing import NDArray

from streaming.detections import PERSON_CLASS_ID, Detections
from streaming.exceptions import InferenceError, ModelLoadError

Frame = NDArray[np.uint8]

#: Model files :func:`load_detector` accepts, for error messages.
SUPPORTED_FORMATS = (
    "Ultralytics .pt checkpoint, Ultralytics model .yaml (untrained), ONNX exported by "
    "Ultralytics or YOLOX, OpenVINO directory exported by Ultralytics (*_openvino_model/)"
)


@runtime_checkable
class Detector(Protocol):
    """What the worker needs from a person detector.

    Attributes:
        model_version: Identifies the weights: ``<file name>@<first 12 hex of sha256>``.
    """

    model_version: str

    def detect_batch(self, frames: Sequence[Frame]) -> list[Detections]:
        """Detect persons in each frame (BGR ``uint8``, ``H×W×3``); one result per frame.

        Raises:
            InferenceError: a frame is not ``H×W×3 uint8`` or the model failed.
        """
        ...


def model_version_of(path: str | Path) -> str:
    """``<name>@<sha256[:12]>`` of a model file, or of all files of a model directory."""
    p = Path(path)
    digest = hashlib.sha256()
    files = sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p]
    for f in files:
        with f.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    return f"{p.name}@{digest.hexdigest()[:12]}"


def _check_frames(frames: Sequence[Frame]) -> None:
    for i, frame in enumerate(frames):
        if not isinstance(frame, np.ndarray) or frame.ndim != 3 or frame.shape[2] != 3:
            shape = getattr(frame, "shape", type(frame).__name__)
            raise InferenceError(f"frame {i}: expected an H×W×3 BGR array, got {shape}")
        if frame.dtype != np.uint8:
            raise InferenceError(f"frame {i}: expected dtype uint8, got {frame.dtype}")


def _ort_options(threads: int) -> Any:
    """onnxruntime session options limited to ``threads`` intra-op threads.

    One thread by default: the worker runs one process per core, and ORT's default (one
    thread per core in every process) makes processes fight over the same cores.
    """
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.log_severity_level = 3
    return opts


def _ort_session_from_bytes(model: bytes, *, threads: int) -> Any:
    """An onnxruntime CPU session (see :func:`_ort_options`) for a model held in memory."""
    import onnxruntime as ort

    return ort.InferenceSession(model, _ort_options(threads), providers=["CPUExecutionProvider"])


def _ort_session(path: Path, *, threads: int) -> Any:
    """An onnxruntime CPU session for a model file (see :func:`_ort_options`)."""
    import onnxruntime as ort

    try:
        return ort.InferenceSession(str(path), _ort_options(threads),
                                    providers=["CPUExecutionProvider"])
    except Exception as exc:  # ORT raises its own untyped errors for every load failure
        raise ModelLoadError(path, f"onnxruntime cannot load it as an ONNX model: {exc}") from exc


def _nms(boxes: NDArray[np.float32], scores: NDArray[np.float32], iou: float) -> NDArray[np.int64]:
    """Indices kept by greedy non-maximum suppression (OpenCV's implementation)."""
    if len(boxes) == 0:
        return np.zeros(0, dtype=np.int64)
    ltwh = np.column_stack([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]]).astype(np.float32)
    keep = cv2.dnn.NMSBoxes(ltwh.tolist(), scores.astype(float).tolist(), 0.0, iou)  # type: ignore[arg-type]
    return np.asarray(keep, dtype=np.int64).reshape(-1)


class YoloxOnnxDetector:
    """A YOLOX model exported to ONNX (raw head output ``(B, A, 5 + classes)``), on CPU.

    Pre-processing follows YOLOX: the frame is resized keeping its aspect ratio into the
    model's square input, padded bottom/right with grey 114, BGR, 0–255, no normalisation.
    The head gives per-anchor ``(dx, dy, log w, log h, objectness, class scores...)`` on grids
    of strides 8, 16, 32; boxes are decoded, scored ``objectness × class score``,
    thresholded and NMS-filtered here.

    Attributes:
        model_version: See :class:`Detector`.
        input_size: ``(height, width)`` of the model input.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        conf: float = 0.3,
        iou: float = 0.45,
        threads: int = 1,
        min_box_height: float = 0.0,
    ) -> None:
        """Load the model.

        Args:
            path: The ``.onnx`` file.
            conf: Minimum ``objectness × person score`` kept.
            iou: NMS IoU threshold.
            threads: onnxruntime intra-op threads.
            min_box_height: Boxes shorter than this (pixels) are dropped.

        Raises:
            ModelLoadError: missing file, not ONNX, or outputs that are not a YOLOX head.
        """
        self.path = Path(path)
        if not self.path.is_file():
            raise ModelLoadError(self.path, "file not found")
        self._session = _ort_session(self.path, threads=threads)
        inp = self._session.get_inputs()[0]
        out = self._session.get_outputs()[0]
        if len(inp.shape) != 4 or not all(isinstance(d, int) for d in inp.shape[2:]):
            raise ModelLoadError(
                self.path, f"expected a fixed-size NCHW image input, got {inp.name}{inp.shape}"
            )
        self.input_size: tuple[int, int] = (int(inp.shape[2]), int(inp.shape[3]))
        self._input_name = inp.name
        self._dynamic_batch = not isinstance(inp.shape[0], int)
        self._grid, self._strides = self._make_grid(self.input_size)
        if len(out.shape) != 3 or out.shape[1] != len(self._grid) or out.shape[2] < 6:
            raise ModelLoadError(
                self.path,
                f"expected a YOLOX head output (B, {len(self._grid)}, 5 + classes) for input "
                f"{self.input_size}, got {out.name}{out.shape}",
            )
        self.conf = conf
        self.iou = iou
        self.min_box_height = min_box_height
        self.model_version = model_version_of(self.path)

    @staticmethod
    def _make_grid(size: tuple[int, int]) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        grids, strides = [], []
        for stride in (8, 16, 32):
            h, w = size[0] // stride, size[1] // stride
            ys, xs = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
            grids.append(np.stack([xs, ys], axis=-1).reshape(-1, 2))
            strides.append(np.full((h * w, 1), stride))
        return (
            np.concatenate(grids).astype(np.float32),
            np.concatenate(strides).astype(np.float32),
        )

    def _preprocess(self, frame: Frame) -> tuple[NDArray[np.float32], float]:
        ih, iw = self.input_size
        ratio = min(ih / frame.shape[0], iw / frame.shape[1])
        nh, nw = int(frame.shape[0] * ratio), int(frame.shape[1] * ratio)
        padded = np.full((ih, iw, 3), 114, dtype=np.uint8)
        padded[:nh, :nw] = cv2.resize(frame, (nw, nh), interpolation=cv2.INTER_LINEAR)
        return padded.transpose(2, 0, 1).astype(np.float32), ratio

    def _decode(
        self, raw: NDArray[np.float32], ratio: float, shape: tuple[int, ...]
    ) -> Detections:
        scores = raw[:, 4] * raw[:, 5 + PERSON_CLASS_ID]
        keep = scores >= self.conf
        if not keep.any():
            return Detections.empty()
        raw, scores = raw[keep], scores[keep]
        centre = (raw[:, :2] + self._grid[keep]) * self._strides[keep]
        size = np.exp(np.clip(raw[:, 2:4], -10, 10)) * self._strides[keep]
        boxes = np.concatenate([centre - size / 2, centre + size / 2], axis=1) / ratio
        boxes[:, [0, 2]] = np.clip(boxes[:, [0, 2]], 0, shape[1])
        boxes[:, [1, 3]] = np.clip(boxes[:, [1, 3]], 0, shape[0])
        tall = (boxes[:, 3] - boxes[:, 1]) >= max(self.min_box_height, 1.0)
        boxes, scores = boxes[tall], scores[tall]
        idx = _nms(boxes.astype(np.float32), scores.astype(np.float32), self.iou)
        return Detections(
            xyxy=boxes[idx],
            confidence=np.clip(scores[idx], 0.0, 1.0),
            class_id=np.full(len(idx), PERSON_CLASS_ID, dtype=np.int32),
        )

    def detect_batch(self, frames: Sequence[Frame]) -> list[Detections]:
        """See :meth:`Detector.detect_batch`. Batched when the model's batch axis is dynamic."""
        _check_frames(frames)
        if not frames:
            return []
        prepared = [self._preprocess(f) for f in frames]
        try:
            if self._dynamic_batch:
                blob = np.stack([p[0] for p in prepared])
                outputs = self._session.run(None, {self._input_name: blob})[0]
            else:
                outputs = np.concatenate(
                    [self._session.run(None, {self._input_name: p[0][None]})[0] for p in prepared]
                )
        except Exception as exc:  # ORT runtime failures are untyped
            raise InferenceError(f"{self.model_version}: inference failed: {exc}") from exc
        return [
            self._decode(outputs[i], prepared[i][1], frames[i].shape)
            for i in range(len(frames))
        ]


def _letterbox(
    frame: Frame, new_shape: tuple[int, int], *, auto: bool, stride: int
) -> tuple[Frame, tuple[float, float], tuple[int, int]]:
    """Resize ``frame`` into ``new_shape`` keeping its aspect ratio, centred, padded with 114.

    The same arithmetic as Ultralytics' ``LetterBox`` (rounding included), so an exported
    model sees the very pixels it sees under ``YOLO(path).predict``.

    Args:
        frame: BGR ``uint8`` image.
        new_shape: Target ``(height, width)``.
        auto: Pad only up to the next multiple of ``stride`` (minimum rectangle) instead of
            the full ``new_shape``; Ultralytics does this for dynamic-shape models.
        stride: The model's largest stride.

    Returns:
        The padded image, the ``(x, y)`` scale from frame to resized pixels, and the
        ``(left, top)`` padding.
    """
    h, w = frame.shape[:2]
    r = min(new_shape[0] / h, new_shape[1] / w)
    new_w, new_h = max(round(w * r), 1), max(round(h * r), 1)
    dw, dh = new_shape[1] - new_w, new_shape[0] - new_h
    if auto:
        dw, dh = dw % stride, dh % stride
    # Ultralytics' centring: the odd pixel goes to the bottom/right (round(x.5 ± 0.1)).
    top, bottom = round(dh / 2 - 0.1), round(dh / 2 + 0.1)
    left, right = round(dw / 2 - 0.1), round(dw / 2 + 0.1)
    img: NDArray[Any] = frame
    if (w, h) != (new_w, new_h):
        img = cv2.resize(frame, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    img = cv2.copyMakeBorder(img, top, bottom, left, right, cv2.BORDER_CONSTANT,
                             value=(114, 114, 114))
    return np.asarray(img, dtype=np.uint8), (new_w / w, new_h / h), (left, top)


def _literal(meta: dict[str, str], key: str, path: Path) -> Any:
    """A Python literal stored as text in an Ultralytics export's metadata (None if absent)."""
    if key not in meta:
        return None
    try:
        return ast.literal_eval(meta[key])
    except (ValueError, SyntaxError) as exc:
        raise ModelLoadError(
            path, f"metadata {key!r} is not a Python literal: {meta[key]!r}"
        ) from exc


def _has_nms(meta: dict[str, str], path: Path) -> bool:
    """Whether an Ultralytics export has NMS in its graph (end-to-end or ``nms=True``)."""
    args = _literal(meta, "args", path)
    nms_export = isinstance(args, dict) and bool(args.get("nms"))
    return bool(_literal(meta, "end2end", path)) or nms_export


class UltralyticsOnnxDetector:
    """An Ultralytics detection model exported to ONNX, run directly by onnxruntime on CPU.

    Does what ``YOLO(path).predict`` does for such an export, with numpy and OpenCV instead of
    torch and the predictor machinery (whose per-call overhead is a sizeable share of a nano
    model's cost on CPU): letterbox exactly as Ultralytics does (aspect kept, centred,
    grey 114; minimum-rectangle padding for dynamic-shape exports when all frames of a call
    share a shape), BGR→RGB, ``/255``; the head output ``(B, 4 + classes, anchors)`` of
    ``cx, cy, w, h`` and class scores is filtered to anchors whose best class is "person"
    above ``conf`` (Ultralytics' single-label rule), NMS-filtered, mapped back to frame pixels
    and clipped.

    Settings come from the export's metadata (``names``, ``imgsz``, ``stride``, ``task``,
    ``batch``): a fixed-shape export runs at its own input size (as in Ultralytics, whatever
    ``imgsz`` is asked), a dynamic one at ``imgsz``. Frames of one call run as one batch when
    the batch axis is dynamic, else in chunks of the export's batch size.

    Attributes:
        model_version: See :class:`Detector`.
        person_class: Index of "person" in the model's class names (0 when there is none).
        input_size: ``(height, width)`` the frames are letterboxed into (for a dynamic-shape
            export, the upper bound: a call may use a smaller stride-multiple rectangle).
        dynamic_shape: True when the export takes any input height and width.
    """

    #: Ultralytics' default cap on detections per frame.
    MAX_DET = 300

    def __init__(
        self,
        path: str | Path,
        *,
        imgsz: int | None = None,
        conf: float = 0.3,
        iou: float = 0.45,
        threads: int = 1,
        min_box_height: float = 0.0,
    ) -> None:
        """Load the model, check it is a plain detection export, and warm it up.

        Args:
            path: The ``.onnx`` file exported by Ultralytics (``format="onnx"``).
            imgsz: Inference size (long side; rounded up to a multiple of the stride) for a
                dynamic-shape export; None: the size it was exported at. Ignored by
                fixed-shape exports, which only take their own size.
            conf: Minimum person score kept (strictly greater, as in Ultralytics).
            iou: NMS IoU threshold.
            threads: onnxruntime intra-op threads.
            min_box_height: Boxes shorter than this (pixels) are dropped.

        Raises:
            ModelLoadError: missing file, not ONNX, no Ultralytics metadata, not a detection
                export, an export with NMS inside (end-to-end; use
                :class:`UltralyticsDetector`), or an input/output layout that is not an
                Ultralytics detection head.
        """
        self.path = Path(path)
        if not self.path.is_file():
            raise ModelLoadError(self.path, "file not found")
        self._session = _ort_session(self.path, threads=threads)
        meta: dict[str, str] = dict(self._session.get_modelmeta().custom_metadata_map)
        if "stride" not in meta and "names" not in meta:
            raise ModelLoadError(
                self.path, "no Ultralytics export metadata ('stride'/'names'); expected an "
                "ONNX file exported by Ultralytics"
            )
        task = meta.get("task", "detect")
        if task != "detect":
            raise ModelLoadError(self.path, f"expected a detection export, got task {task!r}")
        if _has_nms(meta, self.path):
            raise ModelLoadError(
                self.path, "export has NMS inside (end-to-end output); run it with "
                "UltralyticsDetector"
            )
        names = _literal(meta, "names", self.path) or {}
        if isinstance(names, list | tuple):
            names = dict(enumerate(names))
        if not isinstance(names, dict):
            raise ModelLoadError(self.path, f"metadata 'names' is not a class map: {names!r}")
        self.stride = int(meta.get("stride", "32"))

        inp, out = self._session.get_inputs()[0], self._session.get_outputs()[0]
        if len(inp.shape) != 4 or inp.shape[1] != 3:
            raise ModelLoadError(
                self.path, f"expected an NCHW 3-channel image input, got {inp.name}{inp.shape}"
            )
        # Unsimplified exports leave the channel axis symbolic: checked on the warm-up output.
        nc = len(names) if names else (out.shape[1] - 4 if isinstance(out.shape[1], int) else 0)
        head = f"a detection head output (B, 4 + {nc} classes, anchors)"
        fixed_mismatch = isinstance(out.shape[1], int) and out.shape[1] != 4 + nc
        if len(out.shape) != 3 or nc < 1 or fixed_mismatch:
            raise ModelLoadError(self.path, f"expected {head}, got {out.name}{out.shape}")
        self.nc = nc
        by_name = {v: k for k, v in names.items()}
        self.person_class = int(by_name.get("person", PERSON_CLASS_ID))
        self._input_name = inp.name
        self._dtype = np.float16 if "float16" in inp.type else np.float32
        self.dynamic_shape = not all(isinstance(d, int) for d in inp.shape[2:])
        # Fixed batch axis: frames go in chunks of that size, the last one zero-padded.
        self._batch: int | None = None if not isinstance(inp.shape[0], int) else int(inp.shape[0])
        if self.dynamic_shape:
            exported = _literal(meta, "imgsz", self.path) or [640, 640]
            sizes = [imgsz, imgsz] if imgsz is not None else list(exported)
            h, w = (max(math.ceil(s / self.stride) * self.stride, self.stride) for s in sizes)
            self.input_size: tuple[int, int] = (h, w)
        else:
            self.input_size = (int(inp.shape[2]), int(inp.shape[3]))
        self.conf = conf
        self.iou = iou
        self.min_box_height = min_box_height
        self.model_version = model_version_of(self.path)
        try:
            raw = self._run(self._blob([np.zeros((*self.input_size, 3), dtype=np.uint8)])[0])
        except Exception as exc:  # ORT runtime failures are untyped
            raise ModelLoadError(self.path, f"warm-up inference failed: {exc}") from exc
        if raw.ndim != 3 or raw.shape[1] != 4 + nc:
            raise ModelLoadError(self.path, f"expected {head}, got shape {raw.shape}")

    def _blob(
        self, frames: Sequence[Frame]
    ) -> tuple[NDArray[Any], list[tuple[tuple[float, float], tuple[int, int]]]]:
        # Minimum-rectangle padding only when every frame has the same shape (else the
        # batch could not be stacked), exactly Ultralytics' rule.
        auto = self.dynamic_shape and len({f.shape for f in frames}) == 1
        boxed = [_letterbox(f, self.input_size, auto=auto, stride=self.stride) for f in frames]
        # One pass: BGR→RGB, HWC→NCHW, float, ×1/255.
        blob = cv2.dnn.blobFromImages([b[0] for b in boxed], scalefactor=1 / 255.0, swapRB=True)
        return blob.astype(self._dtype, copy=False), [(b[1], b[2]) for b in boxed]

    def _run(self, blob: NDArray[Any]) -> NDArray[np.float32]:
        if self._batch is None:
            return np.asarray(self._session.run(None, {self._input_name: blob})[0], np.float32)
        outs = []
        for start in range(0, len(blob), self._batch):
            chunk = blob[start:start + self._batch]
            pad = self._batch - len(chunk)
            if pad:  # a fixed-batch export rejects short batches
                chunk = np.concatenate([chunk, np.zeros((pad, *chunk.shape[1:]), chunk.dtype)])
            out = self._session.run(None, {self._input_name: chunk})[0]
            outs.append(np.asarray(out[: self._batch - pad], np.float32))
        return np.concatenate(outs)

    def _decode(
        self,
        raw: NDArray[np.float32],
        gain: tuple[float, float],
        pad: tuple[int, int],
        shape: tuple[int, ...],
    ) -> Detections:
        scores = raw[4:]
        if self.nc == 1:
            best, is_person = scores[0], np.ones(scores.shape[1], dtype=bool)
        else:
            best, is_person = scores.max(axis=0), scores.argmax(axis=0) == self.person_class
        keep = is_person & (best > self.conf)
        if not keep.any():
            return Detections.empty()
        cxcywh, conf = raw[:4, keep].T, best[keep]
        half = cxcywh[:, 2:] / 2
        boxes = np.concatenate([cxcywh[:, :2] - half, cxcywh[:, :2] + half], axis=1)
        idx = _nms(boxes.astype(np.float32), conf.astype(np.float32), self.iou)[: self.MAX_DET]
        boxes, conf = boxes[idx], conf[idx]
        # Back to frame pixels: undo the padding, then the (per-axis) resize scale.
        boxes = (boxes - np.array([pad[0], pad[1], pad[0], pad[1]], np.float32)) / np.array(
            [gain[0], gain[1], gain[0], gain[1]], np.float32
        )
        boxes[:, [0, 2]] = np.clip(boxes[:, [0, 2]], 0, shape[1])
        boxes[:, [1, 3]] = np.clip(boxes[:, [1, 3]], 0, shape[0])
        tall = (boxes[:, 3] - boxes[:, 1]) >= self.min_box_height
        return Detections(
            xyxy=boxes[tall],
            confidence=np.clip(conf[tall], 0.0, 1.0),
            class_id=np.full(int(tall.sum()), PERSON_CLASS_ID, dtype=np.int32),
        )

    def detect_batch(self, frames: Sequence[Frame]) -> list[Detections]:
        """See :meth:`Detector.detect_batch`."""
        _check_frames(frames)
        if not frames:
            return []
        blob, params = self._blob(frames)
        try:
            outputs = self._run(blob)
        except Exception as exc:  # ORT runtime failures are untyped
            raise InferenceError(f"{self.model_version}: inference failed: {exc}") from exc
        return [
            self._decode(outputs[i], *params[i], frames[i].shape) for i in range(len(frames))
        ]


class UltralyticsDetector:
    """An Ultralytics YOLO detection model (.pt, .yaml, exported .onnx or OpenVINO) on CPU.

    Frames of one call are predicted as one batch (one forward pass where the model allows;
    static-batch exports are split by Ultralytics). Only the person class is kept.
    :func:`load_detector` sends Ultralytics ONNX detection exports to the leaner
    :class:`UltralyticsOnnxDetector`; built explicitly, this class still runs them.

    Attributes:
        model_version: See :class:`Detector`.
        person_class: Index of "person" in the model's class names (0 when the model has a
            single class or no class named "person").
    """

    def __init__(
        self,
        path: str | Path,
        *,
        imgsz: int | None = None,
        conf: float = 0.3,
        iou: float = 0.45,
        threads: int = 1,
        min_box_height: float = 0.0,
    ) -> None:
        """Load and warm up the model (so a broken file fails here, not on the first frame).

        Args:
            path: ``.pt``, ``.yaml`` (untrained architecture), ``.onnx`` or an OpenVINO
                ``*_openvino_model`` directory.
            imgsz: Inference size (long side, multiple of 32); None: the size the model was
                trained at (its checkpoint's ``imgsz``), 640 when it does not say.
            conf: Minimum confidence kept.
            iou: NMS IoU threshold.
            threads: CPU threads for torch / onnxruntime.
            min_box_height: Boxes shorter than this (pixels) are dropped.

        Raises:
            ModelLoadError: missing file, unreadable weights, not a detection model.
        """
        self.path = Path(path)
        if not self.path.exists() and not _is_builtin_yaml(self.path):
            raise ModelLoadError(self.path, "file not found")
        from storeheat.env import apply_tool_env

        apply_tool_env()  # before ultralytics is imported: offline, project config folder
        import torch
        from ultralytics import YOLO

        torch.set_num_threads(threads)
        try:
            self._model = YOLO(str(self.path), task="detect")
        except Exception as exc:  # ultralytics raises many types for one cause: a bad file
            raise ModelLoadError(self.path, f"Ultralytics cannot load it: {exc}") from exc
        if getattr(self._model, "task", "detect") != "detect":
            raise ModelLoadError(
                self.path, f"expected a detection model, got task {self._model.task!r}"
            )
        trained = getattr(self._model, "overrides", {}).get("imgsz")
        self.imgsz: int = imgsz or (int(trained) if isinstance(trained, int) else 640)
        self.conf = conf
        self.iou = iou
        self.min_box_height = min_box_height
        self.model_version = (
            model_version_of(self.path) if self.path.exists() else f"{self.path.name}@untrained"
        )
        try:
            self._predict([np.zeros((self.imgsz, self.imgsz, 3), dtype=np.uint8)], classes=None)
        except Exception as exc:
            raise ModelLoadError(self.path, f"warm-up inference failed: {exc}") from exc
        names: dict[int, str] = dict(getattr(self._model, "names", {}) or {})
        by_name = {v: k for k, v in names.items()}
        self.person_class = int(by_name.get("person", PERSON_CLASS_ID))
        self._limit_onnx_threads(threads)

    def _limit_onnx_threads(self, threads: int) -> None:
        """Swap Ultralytics' onnxruntime session for one with ``threads`` intra-op threads.

        Ultralytics builds its session with ORT's default thread count (one per core), which
        oversubscribes the machine when several worker processes run; it exposes no option.
        """
        backend = getattr(getattr(self._model, "predictor", None), "model", None)
        inner = getattr(backend, "backend", None)
        if inner is not None and getattr(inner, "session", None) is not None:
            if self.path.suffix == ".onnx" and not getattr(inner, "use_io_binding", False):
                inner.session = _ort_session(self.path, threads=threads)

    def _predict(self, frames: Sequence[Frame], *, classes: list[int] | None) -> list[Any]:
        return list(
            self._model.predict(
                list(frames),
                imgsz=self.imgsz,
                conf=self.conf,
                iou=self.iou,
                classes=classes,
                device="cpu",
                verbose=False,
                batch=max(len(frames), 1),
            )
        )

    def detect_batch(self, frames: Sequence[Frame]) -> list[Detections]:
        """See :meth:`Detector.detect_batch`."""
        _check_frames(frames)
        if not frames:
            return []
        try:
            results = self._predict(frames, classes=[self.person_class])
        except Exception as exc:  # torch / ORT / OpenVINO runtime failures
            raise InferenceError(f"{self.model_version}: inference failed: {exc}") from exc
        out = []
        for res in results:
            boxes = res.boxes
            xyxy = boxes.xyxy.cpu().numpy().astype(np.float32).reshape(-1, 4)
            conf = boxes.conf.cpu().numpy().astype(np.float32).reshape(-1)
            tall = (xyxy[:, 3] - xyxy[:, 1]) >= self.min_box_height
            out.append(
                Detections(
                    xyxy=xyxy[tall],
                    confidence=np.clip(conf[tall], 0.0, 1.0),
                    class_id=np.full(int(tall.sum()), PERSON_CLASS_ID, dtype=np.int32),
                )
            )
        return out


def _is_builtin_yaml(path: Path) -> bool:
    """A bare architecture name such as ``yolo11n.yaml`` that Ultralytics resolves itself."""
    return path.suffix in {".yaml", ".yml"} and path.parent == Path(".")


def _onnx_kind(path: Path) -> Literal["ultralytics", "ultralytics-nms", "yolox"]:
    """Tell an Ultralytics export from a YOLOX export by metadata and output shape.

    ``ultralytics-nms``: an Ultralytics export with NMS inside the graph (end-to-end models,
    ``nms=True`` exports), whose output is not the raw head the lean detector decodes.
    """
    try:
        import onnx

        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # protobuf DecodeError and friends
        raise ModelLoadError(path, f"not a readable ONNX model ({exc})") from exc
    meta = {p.key: p.value for p in model.metadata_props}
    if "stride" in meta or "names" in meta:
        if meta.get("task", "detect") != "detect":
            raise ModelLoadError(path, f"expected a detection export, got task {meta['task']!r}")
        if _has_nms(meta, path):
            return "ultralytics-nms"
        return "ultralytics"
    outputs = model.graph.output
    if len(outputs) == 1:
        dims = [d.dim_value for d in outputs[0].type.tensor_type.shape.dim]
        if len(dims) == 3 and dims[2] >= 6:
            return "yolox"
    raise ModelLoadError(
        path,
        "ONNX model is neither an Ultralytics export (no 'stride'/'names' metadata) nor a "
        "YOLOX head (one output shaped (B, anchors, 5 + classes))",
    )


def load_detector(
    path: str | Path,
    *,
    imgsz: int | None = None,
    conf: float = 0.3,
    iou: float = 0.45,
    threads: int = 1,
    min_box_height: float = 0.0,
) -> Detector:
    """Build the right detector for a model file, checking it before any frame is read.

    Args:
        path: Model file (see :data:`SUPPORTED_FORMATS`).
        imgsz: Inference size for Ultralytics models; None (default): the size the model
            was trained or exported at, so a model trained at 320 is not run at 640 (4x the
            cost, and a scale it never saw). Fixed-shape ONNX exports (Ultralytics or YOLOX)
            always use their own input size.
        conf: Minimum confidence kept.
        iou: NMS IoU threshold.
        threads: CPU threads for inference (1: one worker process per core).
        min_box_height: Boxes shorter than this (pixels) are dropped.

    Returns:
        A :class:`Detector`: :class:`YoloxOnnxDetector` for YOLOX ONNX,
        :class:`UltralyticsOnnxDetector` for Ultralytics ONNX detection exports (raw head),
        :class:`UltralyticsDetector` for the rest (``.pt``, ``.yaml``, OpenVINO, ONNX with
        NMS inside).

    Raises:
        ModelLoadError: the file is missing, empty, unreadable or of an unsupported format;
            the message names the path and what was expected.
    """
    p = Path(path)
    if _is_builtin_yaml(p) and not p.exists():
        # An Ultralytics architecture by name: an untrained model, for tests and benchmarks.
        return UltralyticsDetector(
            p, imgsz=imgsz, conf=conf, iou=iou, threads=threads, min_box_height=min_box_height
        )
    if not p.exists():
        raise ModelLoadError(p, f"file not found (expected one of: {SUPPORTED_FORMATS})")
    if p.is_dir():
        if not any(p.glob("*.xml")):
            raise ModelLoadError(p, "directory holds no OpenVINO model (*.xml)")
        return UltralyticsDetector(
            p, imgsz=imgsz, conf=conf, iou=iou, threads=threads, min_box_height=min_box_height
        )
    if p.stat().st_size == 0:
        raise ModelLoadError(p, "file is empty")
    suffix = p.suffix.lower()
    if suffix == ".pt":
        if not zipfile.is_zipfile(p):
            raise ModelLoadError(p, "not a PyTorch checkpoint (expected a zip archive)")
        return UltralyticsDetector(
            p, imgsz=imgsz, conf=conf, iou=iou, threads=threads, min_box_height=min_box_height
        )
    if suffix in {".yaml", ".yml"}:
        return UltralyticsDetector(
            p, imgsz=imgsz, conf=conf, iou=iou, threads=threads, min_box_height=min_box_height
        )
    if suffix == ".onnx":
        kind = _onnx_kind(p)
        if kind == "yolox":
            return YoloxOnnxDetector(
                p, conf=conf, iou=iou, threads=threads, min_box_height=min_box_height
            )
        if kind == "ultralytics":
            # onnxruntime directly: same boxes as Ultralytics' predictor, without its torch
            # pre/post-processing and per-call overhead.
            return UltralyticsOnnxDetector(
                p, imgsz=imgsz, conf=conf, iou=iou, threads=threads,
                min_box_height=min_box_height,
            )
        return UltralyticsDetector(
            p, imgsz=imgsz, conf=conf, iou=iou, threads=threads, min_box_height=min_box_height
        )
    raise ModelLoadError(p, f"unsupported model file type {suffix!r}; expected {SUPPORTED_FORMATS}")
