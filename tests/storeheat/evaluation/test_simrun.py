"""`storeheat eval sim`: the worker's pipeline replayed over a tiny simulated run and scored.

The run is tiny on purpose (2 cameras × 2 s at 320×180, no video): the machine is shared.
Two processors are used: the worker's real ``FrameProcessor`` fed by a detector that returns
the run's ground-truth person boxes (so the blur, the tracker and the projection are judged
independently of a detector's recall), and the same processor with its blur taken out, which
the leakage measurement must catch. One test runs the worker's own YOLOX processor end to end.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from storeheat.cli import main as storeheat_main
from storeheat.evaluation.exceptions import InputMismatchError, InvalidInputError
from storeheat.evaluation.motchallenge import read_mot_file
from storeheat.evaluation.simrun import evaluate_pipeline_on_run
from storeheat.sim.run import simulate
from streaming.detections import Detections
from streaming.pipeline import FrameProcessor, ProcessedFrame
from streaming.privacy import FaceDetector
from streaming.tracker import NoAppearance

CAMERAS = ("cam-entrance", "cam-aisles")


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("simrun") / "run"
    simulate(out=out, scenario="normal", cameras=2, seconds=2.0, seed=7,
             resolution=(320, 180), write_video=False)
    return out


class GroundTruthDetector:
    """Returns the run's true person boxes for each frame, recognised by its SHA-256.

    A stand-in for a perfect detector: every person at least partly visible, box clipped to
    the frame, confidence 1.
    """

    model_version = "ground-truth@test"

    def __init__(self, run: Path) -> None:
        self._boxes: dict[str, np.ndarray] = {}
        for line in (run / "frames.csv").read_text().splitlines()[1:]:
            cam, frame, _t, _when, digest = line.split(",")
            gt = read_mot_file(run / "mot" / cam / "gt" / "gt.txt", kind="gt")
            rows = (gt.frame == int(frame)) & (gt.visibility > 0)
            xywh = gt.xywh[rows]
            xyxy = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1)
            xyxy[:, [0, 2]] = np.clip(xyxy[:, [0, 2]], 0, 320)
            xyxy[:, [1, 3]] = np.clip(xyxy[:, [1, 3]], 0, 180)
            keep = (xyxy[:, 2] > xyxy[:, 0]) & (xyxy[:, 3] > xyxy[:, 1])
            self._boxes[digest] = xyxy[keep]
        self.calls = 0

    def detect_batch(self, frames: Sequence[np.ndarray]) -> list[Detections]:
        self.calls += 1
        out = []
        for frame in frames:
            boxes = self._boxes[hashlib.sha256(frame.tobytes()).hexdigest()]
            out.append(Detections(xyxy=boxes, confidence=np.ones(len(boxes))))
        return out


class NoBlurProcessor(FrameProcessor):
    """The pipeline with the privacy stage disabled: the published image is the raw frame."""

    def process(self, batch: Sequence[tuple[str, np.ndarray]]) -> list[ProcessedFrame]:
        results = super().process(batch)
        return [dataclasses.replace(r, image=frame.copy())
                for (_, frame), r in zip(batch, results, strict=True)]


def _oracle_processor(run: Path, cls: type[FrameProcessor] = FrameProcessor) -> FrameProcessor:
    return cls(detector=GroundTruthDetector(run), face_detector=FaceDetector(),
               embedder=NoAppearance())


def test_pipeline_blur_leaks_no_visible_face(tiny_run: Path) -> None:
    report = evaluate_pipeline_on_run(tiny_run, processor=_oracle_processor(tiny_run))
    assert report.leakage.visible > 50  # the run really shows faces
    assert report.leakage.leaked == 0
    assert report.leakage.leakage == 0.0
    assert all(c.dropped == 0 for c in report.cameras.values())


def test_disabled_blur_is_flagged_as_leaking(tiny_run: Path) -> None:
    report = evaluate_pipeline_on_run(tiny_run, processor=_oracle_processor(tiny_run,
                                                                            NoBlurProcessor))
    assert report.leakage.visible > 50
    # Every visible face of an unblurred frame is identical to the reference.
    assert report.leakage.leaked == report.leakage.visible
    reasons = {f.reason for f in report.leakage.faces if f.visible}
    assert reasons <= {"identical", "detail_kept", "outside_frame"}
    assert report.to_dict()["leakage"]["leaked_faces"]
    bands = report.to_dict()["leakage"]["by_face_height"]
    assert sum(b["visible"] for b in bands.values()) == report.leakage.visible
    assert sum(b["leaked"] for b in bands.values()) == report.leakage.leaked


def test_report_structure_and_ranges(tiny_run: Path) -> None:
    report = evaluate_pipeline_on_run(tiny_run, processor=_oracle_processor(tiny_run))
    assert set(report.cameras) == set(CAMERAS)
    assert all(c.frames == 10 for c in report.cameras.values())  # 2 s at 5 fps
    assert report.seed == 7 and report.scenario == "normal" and report.seconds == 2.0
    # A perfect detector: every counted box found; a box whose best match is a person
    # already taken (two people in one spot) is the only possible false positive.
    det = report.detection.pooled
    assert det.recall == 1.0 and det.precision > 0.98 and det.ap50 > 0.98
    trk = report.tracking.pooled
    # Tracks confirm after n_init = 3 frames, so tracking is good but not perfect.
    assert 0.5 < trk.hota <= 1.0 and 0.5 < trk.idf1 <= 1.0 and trk.mota <= 1.0
    # The foot point of a true box projects near the true position (box bottom vs. the
    # point between the feet; shelves hide some feet, so not zero).
    floor = report.floor_pooled
    assert floor.matched > 0 and floor.on_floor > 0
    assert 0.0 <= floor.median_m < 1.0
    d = report.to_dict()
    assert set(d) >= {"run_dir", "seed", "scenario", "seconds", "model_version", "cameras",
                      "detection", "tracking", "floor", "leakage"}
    assert set(d["detection"]["sequences"]) == set(CAMERAS)
    assert set(d["tracking"]["sequences"]) == set(CAMERAS)
    assert set(report.rows()) == {*CAMERAS, "POOLED"}
    assert report.rows()["POOLED"]["frames"] == 20


def test_worker_processor_end_to_end(tiny_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The worker's own pipeline (YOLOX-Nano, YuNet faces, histogram tracker) via the CLI.
    code = storeheat_main(["eval", "sim", "--run", str(tiny_run), "--cameras", "cam-aisles",
                           "--seconds", "0.6", "--json", "-"])
    assert code == 0
    import json

    payload = json.loads(capsys.readouterr().out)
    assert payload["model_version"].startswith("yolox_nano.onnx@")
    assert payload["cameras"]["cam-aisles"]["frames"] == 3
    for key in ("ap50", "recall", "precision"):
        value = payload["detection"]["pooled"][key]
        assert value is None or 0.0 <= value <= 1.0
    assert 0.0 <= payload["tracking"]["pooled"]["hota"] <= 1.0
    assert 0.0 <= payload["leakage"]["leakage"] <= 1.0
    assert payload["leakage"]["visible"] > 0


def test_only_the_asked_cameras_and_seconds(tiny_run: Path) -> None:
    report = evaluate_pipeline_on_run(tiny_run, processor=_oracle_processor(tiny_run),
                                      cameras=["cam-aisles"], seconds=1.0, min_visibility=0.5)
    assert list(report.cameras) == ["cam-aisles"]
    assert report.cameras["cam-aisles"].frames == 5
    assert report.min_visibility == 0.5
    assert not math.isnan(report.detection.pooled.recall)


@pytest.mark.parametrize(
    ("kwargs", "error", "argument"),
    [
        ({"cameras": ["cam-nowhere"]}, InputMismatchError, "cameras"),
        ({"seconds": 5.0}, InvalidInputError, "seconds"),
        ({"seconds": 0.0}, InvalidInputError, "seconds"),
        ({"iou_threshold": 1.5}, InvalidInputError, "iou_threshold"),
        ({"min_visibility": -0.1}, InvalidInputError, "min_visibility"),
    ],
)
def test_bad_arguments_name_the_argument(tiny_run: Path, kwargs: dict[str, object],
                                         error: type[Exception], argument: str) -> None:
    with pytest.raises(error) as info:
        evaluate_pipeline_on_run(tiny_run, processor=_oracle_processor(tiny_run),
                                 **kwargs)  # type: ignore[arg-type]
    assert getattr(info.value, "argument", None) == argument
    assert str(info.value).startswith(f"{argument}:")


def test_not_a_run_directory(tmp_path: Path) -> None:
    (tmp_path / "store.yaml").write_text("store_id: x\n")
    with pytest.raises(InvalidInputError, match=r"run_dir: .*missing run\.json"):
        evaluate_pipeline_on_run(tmp_path, processor=object())
    with pytest.raises(InvalidInputError, match="run_dir: .* is not a directory"):
        evaluate_pipeline_on_run(tmp_path / "absent", processor=object())


def test_cli_errors_name_the_option(tiny_run: Path, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    cases = [
        (["--run", str(tmp_path / "absent")], "--run:"),
        (["--run", str(tiny_run), "--cameras", "cam-x"], "--cameras:"),
        (["--run", str(tiny_run), "--seconds", "99"], "--seconds:"),
        (["--run", str(tiny_run), "--model", str(tmp_path / "no.onnx")], "--model:"),
        (["--run", str(tiny_run), "--conf", "1.5"], "--conf:"),
        (["--run", str(tiny_run), "--iou", "0"], "--iou:"),
    ]
    for argv, prefix in cases:
        assert storeheat_main(["eval", "sim", *argv]) == 2
        err = capsys.readouterr().err
        assert f"error: {prefix}" in err, (argv, err)
