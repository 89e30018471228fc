"""``storeheat eval``: score tracking, detection, heatmaps and dwell from files.

Subcommands::

    storeheat eval mot --gt DIR --results DIR [--seqs S ...] [--json OUT]
    storeheat eval detections --gt DIR [--dets DIR] [--seqs S ...] [--min-confidence C]
    storeheat eval heatmap --measured M.npy --truth T.npy
    storeheat eval dwell --measured visits.csv --truth visits.csv
    storeheat eval sim --run DIR [--model PATH] [--cameras C ...] [--seconds S]

Each prints a table and, with ``--json PATH``, writes the figures as JSON (``--json -`` prints
JSON instead of the table). Definitions: docs/metrics.md.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from storeheat.evaluation.exceptions import (
    EvaluationError,
    InputMismatchError,
    InvalidInputError,
)

# Function parameter -> command-line option, so errors name what the user typed.
_OPTION_NAMES = {
    "gt_dir": "--gt",
    "directory": "--gt",
    "results_dir": "--results",
    "dets_dir": "--dets",
    "seqs": "--seqs",
    "iou_threshold": "--iou",
    "measured": "--measured",
    "truth": "--truth",
    "run_dir": "--run",
    "cameras": "--cameras",
    "seconds": "--seconds",
    "min_visibility": "--min-visibility",
}


def register(subparsers: Any) -> None:
    """Add the ``eval`` command and its subcommands to the storeheat dispatcher."""
    parser = subparsers.add_parser(
        "eval", help="score tracking, detection, heatmaps and dwell against ground truth",
        description="Score tracking (HOTA/MOTA/IDF1), detection (AP50), occupancy heatmaps "
        "and zone dwell against ground truth; definitions in docs/metrics.md.",
    )
    sub = parser.add_subparsers(dest="eval_command", metavar="WHAT", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--json", metavar="PATH",
                       help="also write the figures as JSON to PATH ('-' prints JSON only)")

    mot = sub.add_parser("mot", help="HOTA, MOTA, IDF1 of MOTChallenge result files")
    mot.add_argument("--gt", required=True, type=Path, metavar="DIR",
                     help="directory of sequences (<seq>/gt/gt.txt, <seq>/seqinfo.ini)")
    mot.add_argument("--results", required=True, type=Path, metavar="DIR",
                     help="directory of tracker results <seq>.txt")
    mot.add_argument("--seqs", nargs="+", metavar="SEQ", help="sequences (default: all in --gt)")
    mot.add_argument("--rules", choices=("auto", "MOT15", "MOT17"), default="auto",
                     help="ground-truth row rules (default: from the gt.txt layout)")
    mot.add_argument("--iou", type=float, default=0.5, help="match IoU for MOTA/IDF1")
    mot.add_argument("--min-visibility", type=float, default=None,
                     help="drop MOT17 ground truth below this visibility (default: keep all)")
    common(mot)
    mot.set_defaults(func=_run_mot)

    det = sub.add_parser("detections", help="AP50, recall and precision of detections")
    det.add_argument("--gt", required=True, type=Path, metavar="DIR",
                     help="directory of sequences (<seq>/gt/gt.txt)")
    det.add_argument("--dets", type=Path, metavar="DIR", default=None,
                     help="directory of <seq>.txt detections (default: each <seq>/det/det.txt)")
    det.add_argument("--seqs", nargs="+", metavar="SEQ", help="sequences (default: all in --gt)")
    det.add_argument("--rules", choices=("auto", "MOT15", "MOT17"), default="auto")
    det.add_argument("--iou", type=float, default=0.5, help="match IoU (0.5 gives AP50)")
    det.add_argument("--min-confidence", type=float, default=-math.inf,
                     help="confidence at which recall/precision are reported (default: all)")
    common(det)
    det.set_defaults(func=_run_detections)

    heat = sub.add_parser("heatmap", help="normalised L1 and Pearson r of occupancy grids")
    heat.add_argument("--measured", required=True, type=Path, help="measured grid (.npy)")
    heat.add_argument("--truth", required=True, type=Path, help="true grid (.npy)")
    common(heat)
    heat.set_defaults(func=_run_heatmap)

    dwell = sub.add_parser("dwell", help="zone dwell and visitor-count errors")
    dwell.add_argument("--measured", required=True, type=Path,
                       help="measured visits (.csv, .json list of objects, or .parquet)")
    dwell.add_argument("--truth", required=True, type=Path, help="true visits, same formats")
    common(dwell)
    dwell.set_defaults(func=_run_dwell)

    sim = sub.add_parser(
        "sim", help="run the worker's vision pipeline over a simulated run and score it",
        description="Replay a `storeheat sim` run (frames re-rendered in memory) through the "
        "worker's FrameProcessor and score detection (AP50/recall/precision), tracking "
        "(HOTA/MOTA/IDF1), floor projection error and blur leakage on every visible face.",
    )
    sim.add_argument("--run", required=True, type=Path, metavar="DIR",
                     help="directory written by `storeheat sim`")
    sim.add_argument("--model", default=None, metavar="PATH",
                     help="person detector (default: the worker's, YOLOX-Nano)")
    sim.add_argument("--imgsz", type=int, default=None,
                     help="inference size of Ultralytics models (default: the model's own, "
                     "as the worker)")
    sim.add_argument("--conf", type=float, default=0.3,
                     help="detector confidence threshold (default 0.3, as the worker)")
    sim.add_argument("--threads", type=int, default=1, help="inference threads (default 1)")
    sim.add_argument("--no-faces", action="store_true",
                     help="no face detector (head regions and blur memory only)")
    sim.add_argument("--embedder", choices=("histogram", "none"), default="histogram",
                     help="tracker appearance features (default histogram, as the worker)")
    sim.add_argument("--cameras", nargs="+", metavar="CAM", help="cameras (default: all)")
    sim.add_argument("--seconds", type=float, default=None,
                     help="replay only the first S seconds (default: the whole run)")
    sim.add_argument("--iou", type=float, default=0.5, help="match IoU (0.5: AP50, MOTA, IDF1)")
    sim.add_argument("--min-visibility", type=float, default=None,
                     help="ignore ground truth below this visibility (default: the run's "
                     "consider flag, visibility >= 0.1)")
    common(sim)
    sim.set_defaults(func=_run_sim)


def _cli_errors(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Re-raise argument errors under the option name the user typed."""

    def wrapper(args: argparse.Namespace) -> int:
        try:
            return func(args)
        except (InputMismatchError, InvalidInputError) as exc:
            option = _OPTION_NAMES.get(exc.argument, exc.argument)
            raise type(exc)(exc.detail, argument=option) from exc

    wrapper.__doc__ = func.__doc__
    return wrapper


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.3f}"
    return str(value)


def format_table(rows: Mapping[str, Mapping[str, Any]], columns: Sequence[tuple[str, str]]) -> str:
    """A plain-text table: one line per row name, one column per ``(key, header)``."""
    header = ["sequence"] + [h for _, h in columns]
    body = [[name] + [_fmt(r[k]) for k, _ in columns] for name, r in rows.items()]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True)))

    rule = "-" * len(line(header))
    out = [line(header), rule]
    for i, cells in enumerate(body):
        if i == len(body) - 1 and cells[0] == "POOLED":
            out.append(rule)
        out.append(line(cells))
    return "\n".join(out)


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def _emit(args: argparse.Namespace, table: str, payload: Mapping[str, Any]) -> None:
    text = json.dumps(_json_safe(dict(payload)), indent=2, sort_keys=False)
    if args.json == "-":
        print(text)
        return
    print(table)
    if args.json:
        try:
            Path(args.json).write_text(text + "\n", encoding="utf-8")
        except OSError as exc:
            raise InvalidInputError(f"cannot write {args.json}: {exc}", argument="--json") from exc
        print(f"\nwrote {args.json}", file=sys.stderr)


_MOT_COLUMNS = [("hota", "HOTA"), ("mota", "MOTA"), ("idf1", "IDF1"), ("idp", "IDP"),
                ("idr", "IDR"), ("id_switches", "IDsw"), ("recall", "Rcll"),
                ("precision", "Prcn"), ("deta", "DetA"), ("assa", "AssA"),
                ("gt_boxes", "GT"), ("tracker_boxes", "Pred")]


@_cli_errors
def _run_mot(args: argparse.Namespace) -> int:
    from storeheat.evaluation.tracking import evaluate_mot

    _check_iou(args.iou)
    report = evaluate_mot(
        args.gt, args.results, seqs=args.seqs,
        rules=None if args.rules == "auto" else args.rules,
        iou_threshold=args.iou, min_visibility=args.min_visibility,
    )
    rows = {k: v.to_dict() for k, v in report.sequences.items()}
    rows["POOLED"] = report.pooled.to_dict()
    _emit(args, format_table(rows, _MOT_COLUMNS), report.to_dict())
    return 0


_DET_COLUMNS = [("ap50", "AP50"), ("recall", "Rcll"), ("precision", "Prcn"),
                ("true_positives", "TP"), ("false_positives", "FP"),
                ("false_negatives", "FN"), ("gt_boxes", "GT")]


@_cli_errors
def _run_detections(args: argparse.Namespace) -> int:
    from storeheat.evaluation.detection import DetectionFrames, evaluate_detections
    from storeheat.evaluation.motchallenge import list_sequences, read_mot_file, read_sequence

    _check_iou(args.iou)
    available = list_sequences(args.gt)
    names = list(args.seqs) if args.seqs else available
    unknown = [s for s in names if s not in available]
    if unknown:
        raise InputMismatchError(f"no ground truth for {', '.join(unknown)} in {args.gt}",
                                 argument="--seqs")
    frames = {}
    for name in names:
        seq = read_sequence(args.gt / name)
        assert seq.gt is not None  # list_sequences only lists directories with gt.txt
        if args.dets is not None:
            det_file = args.dets / f"{name}.txt"
            if not det_file.is_file():
                raise InputMismatchError(f"no detection file {det_file} for sequence {name}",
                                         argument="--dets")
            dets = read_mot_file(det_file, kind="det")
            dets = dets.select(dets.frame <= seq.num_frames)
        elif seq.det is None:
            raise InputMismatchError(f"{name} has no det/det.txt; pass --dets DIR",
                                     argument="--gt")
        else:
            dets = seq.det
        frames[name] = DetectionFrames.from_mot(
            seq.gt, dets, num_frames=seq.num_frames,
            rules=None if args.rules == "auto" else args.rules,
        )
    report = evaluate_detections(frames, iou_threshold=args.iou,
                                 min_confidence=args.min_confidence)
    rows: dict[str, dict[str, Any]] = {k: _nan_back(v.to_dict())
                                       for k, v in report.sequences.items()}
    rows["POOLED"] = _nan_back(report.pooled.to_dict())
    _emit(args, format_table(rows, _DET_COLUMNS), report.to_dict())
    return 0


def _nan_back(d: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (math.nan if v is None else v) for k, v in d.items()}


def _check_iou(value: float) -> None:
    if not 0.0 < value <= 1.0:
        raise InvalidInputError(f"must be in (0, 1], got {value}", argument="--iou")


@_cli_errors
def _run_heatmap(args: argparse.Namespace) -> int:
    import numpy as np

    from storeheat.evaluation.heatmap import compare_heatmaps

    grids = {}
    for option, path in (("--measured", args.measured), ("--truth", args.truth)):
        try:
            grids[option] = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise InvalidInputError(f"cannot read {path} as a .npy array: {exc}",
                                    argument=option) from exc
    scores = compare_heatmaps(grids["--measured"], grids["--truth"])
    table = format_table({"heatmap": scores.to_dict()},
                         [("normalised_l1", "nL1"), ("pearson_r", "r"),
                          ("measured_total", "measured"), ("truth_total", "truth")])
    _emit(args, table, scores.to_dict())
    return 0


def read_visits(path: Path, *, argument: str) -> Any:
    """Load visits from .csv, .parquet (pandas) or .json (a list of objects)."""
    try:
        if path.suffix == ".json":
            return json.loads(path.read_text(encoding="utf-8"))
        import pandas as pd

        if path.suffix == ".parquet":
            return pd.read_parquet(path)
        if path.suffix == ".csv":
            return pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise InvalidInputError(f"cannot read {path}: {exc}", argument=argument) from exc
    raise InvalidInputError(f"{path}: expected a .csv, .json or .parquet file",
                            argument=argument)


@_cli_errors
def _run_dwell(args: argparse.Namespace) -> int:
    from storeheat.evaluation.dwell import compare_dwell

    scores = compare_dwell(read_visits(args.measured, argument="--measured"),
                           read_visits(args.truth, argument="--truth"))
    d = scores.to_dict()
    table = format_table(
        {"zones": d},
        [("mean_dwell_mae_s", "mean dwell MAE s"), ("p50_dwell_mae_s", "p50 MAE s"),
         ("p90_dwell_mae_s", "p90 MAE s"), ("visitor_count_error", "visitors err"),
         ("store_visitor_count_error", "store visitors err"), ("zones", "zones")],
    )
    _emit(args, table, d)
    return 0


_SIM_COLUMNS = [("frames", "frames"), ("ap50", "AP50"), ("recall", "Rcll"),
                ("precision", "Prcn"), ("hota", "HOTA"), ("mota", "MOTA"), ("idf1", "IDF1"),
                ("id_switches", "IDsw"), ("floor_median_m", "floor p50 m"),
                ("floor_p90_m", "floor p90 m"), ("faces", "faces"), ("leaked", "leaked"),
                ("leakage", "leakage")]


@_cli_errors
def _run_sim(args: argparse.Namespace) -> int:
    from storeheat.evaluation.simrun import evaluate_pipeline_on_run
    from storeheat.exceptions import ConfigError
    from streaming.config import DEFAULT_MODEL, WorkerConfig
    from streaming.exceptions import ModelLoadError
    from streaming.worker import build_processor

    _check_iou(args.iou)
    if not args.run.is_dir():
        raise InvalidInputError(f"{args.run} is not a directory (expected a `storeheat sim` "
                                "run)", argument="--run")
    options = {"model": args.model or str(DEFAULT_MODEL), "imgsz": args.imgsz,
               "conf": args.conf, "threads": args.threads, "faces": not args.no_faces,
               "embedder": args.embedder}
    try:
        config = WorkerConfig.model_validate(options)
    except ValueError as exc:  # pydantic's ValidationError: name the first bad option
        errors: list[Any] = list(getattr(exc, "errors", lambda **_: [])(include_url=False))
        key = str(errors[0]["loc"][0]) if errors else "model"
        msg = errors[0]["msg"] if errors else str(exc)
        raise InvalidInputError(msg, argument=f"--{key}") from exc
    try:
        processor = build_processor(config)
    except (ModelLoadError, ConfigError) as exc:
        raise InvalidInputError(str(exc), argument="--model") from exc
    report = evaluate_pipeline_on_run(
        args.run, processor=processor, cameras=args.cameras, seconds=args.seconds,
        iou_threshold=args.iou, min_visibility=args.min_visibility,
    )
    header = (f"run {args.run} (seed {report.seed}, {report.scenario}, {report.seconds:g} s "
              f"per camera), model {report.model_version}, conf {args.conf}\n")
    _emit(args, header + format_table(report.rows(), _SIM_COLUMNS), report.to_dict())
    return 0


__all__ = ["register", "format_table", "read_visits", "EvaluationError"]
