"""Read MOTChallenge sequences: ``seqinfo.ini``, ``gt/gt.txt``, ``det/det.txt``, result files.

Row layouts (comma separated, one box per line, ``x, y`` = top-left corner in pixels,
1-based frame numbers):

* ground truth, MOT15 layout (10 columns): ``frame, id, x, y, w, h, consider, wx, wy, wz``
* ground truth, MOT16/17/20 layout (9 columns): ``frame, id, x, y, w, h, consider, class,
  visibility``
* detections (``det.txt``, 7 or 10 columns): ``frame, -1, x, y, w, h, confidence[, ...]``
* tracker results (``<seq>.txt``, 6 to 10 columns): ``frame, id, x, y, w, h[, confidence, ...]``

The ground-truth layout decides the evaluation rules (:data:`Rules`): 9 columns mean the
MOT16/17 rules (classes and distractors), anything else the MOT15 rules (no classes).

Sequence length: ``seqinfo.ini`` may keep the original ``seqLength`` of a sequence that was cut
short (the ``mot17-mini`` set ships 4–8 frames under a ``seqLength`` of 600). The frames that
exist win: when ``img1/`` holds images, the sequence has as many frames as the highest image
number; otherwise ``seqLength`` counts, and without ``seqinfo.ini`` the last ground-truth frame.
Public detections (``det.txt``) of the whole original sequence are cut to those frames.
"""

from __future__ import annotations

import configparser
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt

from storeheat.evaluation.exceptions import (
    InputMismatchError,
    InvalidInputError,
    MotFormatError,
)

Rules = Literal["MOT15", "MOT17"]
"""Which rows of the ground truth count. ``MOT15``: rows whose ``consider`` flag is not 0.
``MOT17``: rows with ``consider != 0`` and class 1 (pedestrian); tracker boxes matched to a
distractor class (2 person on vehicle, 7 static person, 8 distractor, 12 reflection) are
removed before scoring."""

FileKind = Literal["gt", "det", "result"]

PEDESTRIAN_CLASS = 1
DISTRACTOR_CLASSES: tuple[int, ...] = (2, 7, 8, 12)
_SPLIT = re.compile(r"[,\s]+")
_IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp"}


@dataclass(frozen=True)
class MotRows:
    """Boxes of one MOTChallenge file as parallel arrays (one entry per file row).

    Attributes:
        path: The file they came from (for error messages).
        frame: 1-based frame numbers, int64 (N,).
        track_id: Track ids, int64 (N,); -1 in detection files.
        xywh: Boxes ``x, y, w, h`` in pixels, float64 (N, 4).
        score: Column 7: ``consider`` flag in ground truth, confidence elsewhere; 1.0 when the
            file has only 6 columns.
        cls: Class (ground truth, MOT16/17 layout); -1 when the layout has no class.
        visibility: Visibility ratio (MOT16/17 ground truth); 1.0 when absent.
        line: 1-based line number of each row in ``path``.
        num_columns: Columns of the file's first row (decides the ground-truth layout).
    """

    path: Path
    frame: np.ndarray
    track_id: np.ndarray
    xywh: np.ndarray
    score: np.ndarray
    cls: np.ndarray
    visibility: np.ndarray
    line: np.ndarray
    num_columns: int

    def __len__(self) -> int:
        return int(self.frame.shape[0])

    def select(self, mask: np.ndarray) -> MotRows:
        """A copy holding only the rows where ``mask`` is true."""
        return MotRows(
            path=self.path,
            frame=self.frame[mask],
            track_id=self.track_id[mask],
            xywh=self.xywh[mask],
            score=self.score[mask],
            cls=self.cls[mask],
            visibility=self.visibility[mask],
            line=self.line[mask],
            num_columns=self.num_columns,
        )

    @property
    def rules(self) -> Rules:
        """Evaluation rules implied by this file's layout when it is ground truth."""
        return "MOT17" if self.num_columns == 9 else "MOT15"

    @classmethod
    def from_arrays(
        cls,
        *,
        frame: npt.ArrayLike,
        track_id: npt.ArrayLike,
        xywh: npt.ArrayLike,
        score: npt.ArrayLike | None = None,
        classes: npt.ArrayLike | None = None,
        visibility: npt.ArrayLike | None = None,
        path: Path | str = "<memory>",
    ) -> MotRows:
        """Build rows from in-memory arrays (simulated ground truth, perturbed copies).

        Args:
            frame: 1-based frame numbers.
            track_id: Track ids.
            xywh: (N, 4) boxes ``x, y, w, h``.
            score: ``consider`` flags (ground truth) or confidences; default 1.
            classes: MOT17 classes; giving them makes the rows follow the MOT17 rules.
            visibility: Visibility ratios; default 1.
            path: Name used in error messages.

        Raises:
            InvalidInputError: the arrays disagree in length or boxes are not (N, 4).
        """
        f = np.asarray(frame, dtype=np.int64).reshape(-1)
        n = f.shape[0]
        boxes = np.asarray(xywh, dtype=np.float64)
        if boxes.size == 0:
            boxes = boxes.reshape(0, 4)
        if boxes.ndim != 2 or boxes.shape[1] != 4:
            raise InvalidInputError(f"expected (N, 4) boxes, got shape {boxes.shape}",
                                    argument="xywh")

        def col(values: npt.ArrayLike | None, default: float, dtype: type) -> np.ndarray:
            if values is None:
                return np.full(n, default, dtype=dtype)
            return np.asarray(values, dtype=dtype).reshape(-1)

        cols = {
            "track_id": col(track_id, -1, np.int64),
            "xywh": boxes,
            "score": col(score, 1.0, np.float64),
            "classes": col(classes, -1, np.int64),
            "visibility": col(visibility, 1.0, np.float64),
        }
        for name, arr in cols.items():
            if arr.shape[0] != n:
                raise InvalidInputError(f"has {arr.shape[0]} rows, frame has {n}",
                                        argument=name)
        return cls(
            path=Path(path),
            frame=f,
            track_id=cols["track_id"],
            xywh=boxes,
            score=cols["score"],
            cls=cols["classes"],
            visibility=cols["visibility"],
            line=np.arange(1, n + 1, dtype=np.int64),
            num_columns=9 if classes is not None else 10,
        )


def read_mot_file(path: Path | str, *, kind: FileKind) -> MotRows:
    """Parse one MOTChallenge text file.

    Args:
        path: The file.
        kind: ``"gt"`` and ``"result"`` files need unique ``(frame, id)`` pairs; ``"det"``
            files carry no ids.

    Returns:
        The rows, in file order.

    Raises:
        MotFormatError: missing file, a row with fewer than 6 columns, a non-numeric value,
            a frame below 1, a negative width/height, or a repeated ``(frame, id)``; the message
            names the file and line.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise MotFormatError("file not found", path=path) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise MotFormatError(f"cannot read: {exc}", path=path) from exc

    rows: list[list[float]] = []
    lines: list[int] = []
    width = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip().strip(",")
        if not stripped:
            continue
        parts = _SPLIT.split(stripped)
        if len(parts) < 6:
            raise MotFormatError(
                f"expected at least 6 comma-separated values (frame, id, x, y, w, h), "
                f"got {len(parts)}: {raw.strip()!r}",
                path=path,
                line=number,
            )
        try:
            values = [float(p) for p in parts[:10]]
        except ValueError as exc:
            raise MotFormatError(f"non-numeric value in {raw.strip()!r}", path=path,
                                 line=number) from exc
        if not all(np.isfinite(values[:6])):
            raise MotFormatError("frame, id and box must be finite numbers", path=path,
                                 line=number)
        if values[0] < 1 or values[0] != int(values[0]):
            raise MotFormatError(f"frame must be an integer >= 1, got {parts[0]}", path=path,
                                 line=number)
        if values[1] != int(values[1]):
            raise MotFormatError(f"id must be an integer, got {parts[1]}", path=path,
                                 line=number)
        if values[4] < 0 or values[5] < 0:
            raise MotFormatError(f"box width/height must be >= 0, got {parts[4]}, {parts[5]}",
                                 path=path, line=number)
        if not rows:
            width = len(parts)
        rows.append(values + [np.nan] * (10 - len(values)))
        lines.append(number)

    table = np.asarray(rows, dtype=np.float64).reshape(-1, 10)
    n = table.shape[0]
    is_mot17_gt = kind == "gt" and width == 9
    score = np.where(np.isnan(table[:, 6]), 1.0, table[:, 6])
    cls = table[:, 7].astype(np.int64) if is_mot17_gt else np.full(n, -1, np.int64)
    visibility = table[:, 8] if is_mot17_gt else np.ones(n)
    result = MotRows(
        path=path,
        frame=table[:, 0].astype(np.int64),
        track_id=table[:, 1].astype(np.int64),
        xywh=table[:, 2:6].copy(),
        score=score,
        cls=cls,
        visibility=visibility,
        line=np.asarray(lines, dtype=np.int64),
        num_columns=width,
    )
    if kind != "det":
        _check_unique_ids(result)
    return result


def _check_unique_ids(rows: MotRows) -> None:
    """Raise on the first repeated (frame, id) pair: a track is in one place per frame."""
    if len(rows) == 0:
        return
    keys = rows.frame * (int(rows.track_id.max()) - int(rows.track_id.min()) + 1) + (
        rows.track_id - int(rows.track_id.min())
    )
    _, first, counts = np.unique(keys, return_index=True, return_counts=True)
    if np.any(counts > 1):
        dup_key = keys[first[np.argmax(counts > 1)]]
        where = np.flatnonzero(keys == dup_key)
        raise MotFormatError(
            f"id {rows.track_id[where[1]]} appears twice in frame {rows.frame[where[1]]} "
            f"(first on line {rows.line[where[0]]})",
            path=rows.path,
            line=int(rows.line[where[1]]),
        )


@dataclass(frozen=True)
class MotSequence:
    """One MOTChallenge sequence directory.

    Attributes:
        name: Sequence name (``seqinfo.ini`` ``name``, else the directory name).
        path: The directory.
        num_frames: Frames evaluated (see the module docstring for how it is decided).
        frame_rate: ``frameRate`` from ``seqinfo.ini`` or None.
        image_size: ``(width, height)`` from ``seqinfo.ini`` or None.
        gt: Ground truth or None when ``gt/gt.txt`` is absent.
        det: Public detections within ``num_frames`` or None when ``det/det.txt`` is absent.
        image_paths: Frame images in frame order (empty when there are none).
    """

    name: str
    path: Path
    num_frames: int
    frame_rate: float | None
    image_size: tuple[int, int] | None
    gt: MotRows | None
    det: MotRows | None
    image_paths: tuple[Path, ...] = field(default=())

    @property
    def rules(self) -> Rules:
        """Evaluation rules implied by the ground-truth layout (MOT15 without ground truth)."""
        return self.gt.rules if self.gt is not None else "MOT15"


def _read_seqinfo(path: Path) -> dict[str, str]:
    parser = configparser.ConfigParser()
    try:
        parser.read_string(path.read_text(encoding="utf-8"), source=str(path))
    except (configparser.Error, OSError, UnicodeDecodeError) as exc:
        raise MotFormatError(f"not a valid seqinfo.ini: {exc}", path=path) from exc
    if not parser.has_section("Sequence"):
        raise MotFormatError("missing [Sequence] section", path=path)
    return {k.lower(): v for k, v in parser.items("Sequence")}


def _int_field(info: Mapping[str, str], key: str, path: Path) -> int | None:
    if key.lower() not in info:
        return None
    try:
        return int(info[key.lower()])
    except ValueError as exc:
        raise MotFormatError(f"{key} must be an integer, got {info[key.lower()]!r}",
                             path=path) from exc


def read_sequence(directory: Path | str) -> MotSequence:
    """Read a MOTChallenge sequence directory (``seqinfo.ini``, ``gt/``, ``det/``, ``img1/``).

    Raises:
        InvalidInputError: ``directory`` is not a directory.
        MotFormatError: a file inside is malformed, or ground truth lies beyond the last frame.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise InvalidInputError(f"{directory} is not a directory", argument="directory")
    info: dict[str, str] = {}
    seqinfo = directory / "seqinfo.ini"
    if seqinfo.is_file():
        info = _read_seqinfo(seqinfo)
    name = info.get("name", directory.name)
    image_dir = directory / info.get("imdir", "img1")
    images: list[tuple[int, Path]] = []
    if image_dir.is_dir():
        for p in image_dir.iterdir():
            if p.suffix.lower() in _IMAGE_SUFFIXES and p.stem.isdigit():
                images.append((int(p.stem), p))
    images.sort()

    gt_file = directory / "gt" / "gt.txt"
    gt = read_mot_file(gt_file, kind="gt") if gt_file.is_file() else None
    seq_length = _int_field(info, "seqLength", seqinfo)
    if images:
        # mot17-mini: seqinfo keeps the original length; the images present are the sequence.
        num_frames = images[-1][0]
    elif seq_length is not None:
        num_frames = seq_length
    elif gt is not None and len(gt):
        num_frames = int(gt.frame.max())
    else:
        raise MotFormatError("cannot tell the sequence length: no seqinfo.ini seqLength, "
                             "no images and no ground truth", path=directory)
    if gt is not None and len(gt) and gt.frame.max() > num_frames:
        i = int(np.argmax(gt.frame > num_frames))
        raise MotFormatError(
            f"frame {gt.frame[i]} is beyond the sequence's {num_frames} frames", path=gt_file,
            line=int(gt.line[i]),
        )

    det_file = directory / "det" / "det.txt"
    det = None
    if det_file.is_file():
        det = read_mot_file(det_file, kind="det")
        # det.txt of a cut sequence still covers the original length; keep the frames we have.
        det = det.select(det.frame <= num_frames)

    width = _int_field(info, "imWidth", seqinfo)
    height = _int_field(info, "imHeight", seqinfo)
    rate = info.get("framerate")
    try:
        frame_rate = float(rate) if rate is not None else None
    except ValueError as exc:
        raise MotFormatError(f"frameRate must be a number, got {rate!r}", path=seqinfo) from exc
    return MotSequence(
        name=name,
        path=directory,
        num_frames=num_frames,
        frame_rate=frame_rate,
        image_size=(width, height) if width and height else None,
        gt=gt,
        det=det,
        image_paths=tuple(p for _, p in images),
    )


def list_sequences(gt_dir: Path | str) -> list[str]:
    """Names of the sequence directories under ``gt_dir`` (those holding ``gt/gt.txt``).

    Raises:
        InvalidInputError: ``gt_dir`` is not a directory or holds no sequence.
    """
    gt_dir = Path(gt_dir)
    if not gt_dir.is_dir():
        raise InvalidInputError(f"{gt_dir} is not a directory", argument="gt_dir")
    names = sorted(p.name for p in gt_dir.iterdir() if (p / "gt" / "gt.txt").is_file())
    if not names:
        raise InvalidInputError(
            f"{gt_dir} holds no sequence directory with gt/gt.txt", argument="gt_dir"
        )
    return names


def resolve_sequences(
    gt_dir: Path | str, results_dir: Path | str, *, seqs: Sequence[str] | None = None
) -> list[str]:
    """Decide which sequences to score and check both sides have them.

    Args:
        gt_dir: Directory of sequence directories (``<seq>/gt/gt.txt``).
        results_dir: Directory of tracker result files ``<seq>.txt``.
        seqs: Sequences to score; default every sequence in ``gt_dir``.

    Returns:
        Sequence names, in the order asked for (sorted by default).

    Raises:
        InputMismatchError: a requested sequence has no ground truth (argument ``seqs``), or a
            sequence has no result file (argument ``results_dir``).
        InvalidInputError: a directory is missing.
    """
    available = list_sequences(gt_dir)
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        raise InvalidInputError(f"{results_dir} is not a directory", argument="results_dir")
    if seqs:
        unknown = [s for s in seqs if s not in available]
        if unknown:
            raise InputMismatchError(
                f"no ground truth for {', '.join(unknown)} in {gt_dir} "
                f"(available: {', '.join(available)})",
                argument="seqs",
            )
        if len(set(seqs)) != len(seqs):
            raise InvalidInputError("names a sequence twice", argument="seqs")
        names = list(seqs)
    else:
        names = available
    missing = [s for s in names if not (results_dir / f"{s}.txt").is_file()]
    if missing:
        present = sorted(p.stem for p in results_dir.glob("*.txt"))
        raise InputMismatchError(
            f"no result file for {', '.join(f'{s}.txt' for s in missing)} in {results_dir} "
            f"(present: {', '.join(present) or 'none'}); choose a subset with seqs (--seqs)",
            argument="results_dir",
        )
    return names
