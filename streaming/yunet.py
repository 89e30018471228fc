"""YuNet face detection with onnxruntime: the blur stage's face finder, at half OpenCV's cost.

OpenCV's ``cv2.FaceDetectorYN`` runs the same network through OpenCV's DNN module, which on
this project's CPUs took about twice as long per frame as onnxruntime (≈ 22 vs ≈ 10.5 ms for
a 640×360 frame on one core): the face pass was the most expensive stage of the worker.

The published YuNet files are exported with a fixed 320×320 input. The network is fully
convolutional, so the input height and width are made symbolic in memory when the model is
loaded (the file is not changed) and each frame runs at its own size, padded on the right
and bottom to a multiple of the largest stride (32), as OpenCV does.

Decoding follows YuNet's head layout: for each stride ``s`` in 8, 16, 32 there is one anchor
per cell of the ``(H/s) × (W/s)`` grid, row by row, with a class score, an objectness score,
a box (centre offset in cells, log width and height in cells) and five landmarks. A face's
score is the geometric mean of its class and objectness scores; boxes above the score
threshold go through non-maximum suppression.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from streaming.exceptions import ModelLoadError

STRIDES = (8, 16, 32)
_OUTPUTS = tuple(f"{kind}_{s}" for kind in ("cls", "obj", "bbox") for s in STRIDES)


def _dynamic_model_bytes(path: Path) -> bytes:
    """The model with a symbolic input height/width (and output lengths), serialised."""
    import onnx

    try:
        model = onnx.load(str(path))
    except Exception as exc:  # protobuf DecodeError and friends
        raise ModelLoadError(path, f"cannot load it as a YuNet model: {exc}") from exc
    names = {o.name for o in model.graph.output}
    missing = [n for n in _OUTPUTS if n not in names]
    if len(model.graph.input) != 1 or missing:
        raise ModelLoadError(
            path, "cannot load it as a YuNet model: expected one image input and the outputs "
            f"{', '.join(_OUTPUTS)} (missing: {', '.join(missing) or 'none'})"
        )
    dims = model.graph.input[0].type.tensor_type.shape.dim
    if len(dims) != 4:
        raise ModelLoadError(path, f"cannot load it as a YuNet model: input has {len(dims)} "
                             "dimensions, expected N, C, H, W")
    dims[2].dim_param, dims[3].dim_param = "height", "width"
    for out in model.graph.output:
        out_dims = out.type.tensor_type.shape.dim
        if len(out_dims) >= 2:
            out_dims[1].dim_param = "anchors"
    # Shapes recorded for intermediate tensors were inferred for 320x320: drop them.
    del model.graph.value_info[:]
    return bytes(model.SerializeToString())


class YuNetOnnx:
    """YuNet on onnxruntime, any frame size.

    Attributes:
        path: The weights file.
        score_threshold: Minimum face score.
        nms_threshold: NMS IoU threshold.
        top_k: Most faces kept per frame.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        score_threshold: float = 0.5,
        nms_threshold: float = 0.3,
        top_k: int = 5000,
        threads: int = 1,
    ) -> None:
        """Load the model and run it once.

        Args:
            path: YuNet ``.onnx`` (e.g. ``yunet_n_320_320.onnx`` from OpenCV's model zoo).
            score_threshold: Minimum face score.
            nms_threshold: NMS IoU threshold.
            top_k: Most faces kept per frame.
            threads: onnxruntime intra-op threads (one: the worker runs a process per core).

        Raises:
            ModelLoadError: the file is not an ONNX YuNet model or does not run.
        """
        from streaming.detector import _ort_session_from_bytes

        self.path = Path(path)
        self.score_threshold = score_threshold
        self.nms_threshold = nms_threshold
        self.top_k = top_k
        model = _dynamic_model_bytes(self.path)  # raises ModelLoadError itself
        try:
            self._session = _ort_session_from_bytes(model, threads=threads)
        except Exception as exc:  # ORT raises untyped errors for graphs it cannot build
            raise ModelLoadError(self.path, f"cannot load it as a YuNet model: {exc}") from exc
        self._input = self._session.get_inputs()[0].name
        self._grids: dict[tuple[int, int, int], NDArray[np.float32]] = {}
        try:
            self.detect(np.zeros((64, 64, 3), np.uint8))
        except Exception as exc:
            raise ModelLoadError(self.path, f"cannot load it as a YuNet model: warm-up "
                                 f"failed: {exc}") from exc

    def _grid(self, stride: int, rows: int, cols: int) -> NDArray[np.float32]:
        """``(rows*cols, 2)`` cell column and row of each anchor, row by row (cached)."""
        key = (stride, rows, cols)
        grid = self._grids.get(key)
        if grid is None:
            r, c = np.mgrid[0:rows, 0:cols]
            grid = np.column_stack([c.ravel(), r.ravel()]).astype(np.float32)
            self._grids[key] = grid
        return grid

    def detect(self, frame: NDArray[np.uint8]) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        """Faces in one BGR frame.

        Returns:
            ``(xyxy, score)``: ``(M, 4)`` boxes in the frame's pixels and ``(M,)`` scores,
            best first.

        Raises:
            ValueError: the frame is not ``H×W×3 uint8``.
            RuntimeError: onnxruntime failed (a broken model).
        """
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(f"expected an H×W×3 uint8 BGR frame, got {frame.shape} "
                             f"{frame.dtype}")
        h, w = frame.shape[:2]
        top = STRIDES[-1]
        ph, pw = -(-h // top) * top, -(-w // top) * top
        blob = np.zeros((1, 3, ph, pw), np.float32)
        # BGR as is, 0-255, no mean: the layout YuNet was trained on.
        blob[0, :, :h, :w] = frame.transpose(2, 0, 1)
        results = self._session.run(list(_OUTPUTS), {self._input: blob})
        outputs = dict(zip(_OUTPUTS, results, strict=True))
        boxes: list[NDArray[np.float32]] = []
        scores: list[NDArray[np.float32]] = []
        for s in STRIDES:
            cls = np.clip(outputs[f"cls_{s}"].reshape(-1), 0.0, 1.0)
            obj = np.clip(outputs[f"obj_{s}"].reshape(-1), 0.0, 1.0)
            score = np.sqrt(cls * obj)
            keep = np.flatnonzero(score >= self.score_threshold)
            if keep.size == 0:
                continue
            reg = outputs[f"bbox_{s}"].reshape(-1, 4)[keep]
            cells = self._grid(s, ph // s, pw // s)[keep]
            centre = (cells + reg[:, :2]) * s
            size = np.exp(reg[:, 2:4]) * s
            boxes.append(np.column_stack([centre - size / 2, size]).astype(np.float32))
            scores.append(score[keep].astype(np.float32))
        if not boxes:
            return np.zeros((0, 4), np.float32), np.zeros(0, np.float32)
        xywh = np.concatenate(boxes)
        conf = np.concatenate(scores)
        # Suppression on whole-pixel boxes, as OpenCV's FaceDetectorYN does: the same faces
        # survive as with the reference implementation.
        kept = cv2.dnn.NMSBoxes(xywh.astype(np.int32).tolist(), conf.tolist(),
                                self.score_threshold, self.nms_threshold, top_k=self.top_k)
        idx = np.asarray(kept, dtype=np.int64).reshape(-1)
        xywh, conf = xywh[idx], conf[idx]
        xyxy = np.column_stack([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]]).astype(np.float32)
        return xyxy, conf

    def __repr__(self) -> str:
        return f"YuNetOnnx({str(self.path)!r})"
