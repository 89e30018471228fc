"""Score a simulated store run: the figures the simulator's ground truth makes possible.

The simulator knows where everyone was (occupancy grid, zone visits), what each camera saw
(boxes per frame) and what the unblurred frames looked like. :func:`evaluate_simulated_run`
gathers whichever parts a run provides into one report; ``storeheat eval sim`` will read a run
directory into these arguments once the simulator's output layout is fixed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy.typing as npt

from storeheat.evaluation.dwell import DwellScores, compare_dwell
from storeheat.evaluation.exceptions import InvalidInputError
from storeheat.evaluation.heatmap import HeatmapScores, compare_heatmaps
from storeheat.evaluation.leakage import LeakageReport, combine_leakage
from storeheat.evaluation.tracking import TrackingFrames, TrackingReport, evaluate_tracking


@dataclass(frozen=True)
class SimulatedRunScores:
    """The parts of a simulated run that were scored (None when not provided)."""

    heatmap: HeatmapScores | None
    dwell: DwellScores | None
    tracking: TrackingReport | None
    leakage: LeakageReport | None

    def to_dict(self) -> dict[str, Any]:
        leak = None
        if self.leakage is not None:
            leak = {"leakage": self.leakage.leakage, "visible": self.leakage.visible,
                    "leaked": self.leakage.leaked}
        return {
            "heatmap": self.heatmap.to_dict() if self.heatmap else None,
            "dwell": self.dwell.to_dict() if self.dwell else None,
            "tracking": self.tracking.to_dict() if self.tracking else None,
            "leakage": leak,
        }


def evaluate_simulated_run(
    *,
    measured_occupancy: npt.ArrayLike | None = None,
    true_occupancy: npt.ArrayLike | None = None,
    measured_visits: Any = None,
    true_visits: Any = None,
    tracking: Mapping[str, TrackingFrames] | None = None,
    leakage: Iterable[LeakageReport] | None = None,
) -> SimulatedRunScores:
    """Score every part of a simulated run that is given; pairs must come complete.

    Args:
        measured_occupancy: Occupancy grid from the gold tables.
        true_occupancy: The simulator's grid, same shape.
        measured_visits: Zone visits from the gold tables (see :mod:`.dwell`).
        true_visits: The simulator's visits.
        tracking: Prepared frames per camera (see :mod:`.tracking`).
        leakage: Per-frame leakage reports (see :func:`.leakage.measure_leakage`).

    Raises:
        InvalidInputError: half of a pair is missing (names the missing argument), or nothing
            was given.
        EvaluationError: from the individual metrics.
    """
    for a, b, name_a, name_b in (
        (measured_occupancy, true_occupancy, "measured_occupancy", "true_occupancy"),
        (measured_visits, true_visits, "measured_visits", "true_visits"),
    ):
        if (a is None) != (b is None):
            missing = name_b if b is None else name_a
            present = name_a if b is None else name_b
            raise InvalidInputError(f"is missing while {present} is given", argument=missing)
    reports = list(leakage) if leakage is not None else None
    if (measured_occupancy is None and measured_visits is None and not tracking
            and reports is None):
        raise InvalidInputError("nothing to evaluate", argument="run")
    return SimulatedRunScores(
        heatmap=(compare_heatmaps(measured_occupancy, true_occupancy)
                 if measured_occupancy is not None and true_occupancy is not None else None),
        dwell=compare_dwell(measured_visits, true_visits) if measured_visits is not None else None,
        tracking=evaluate_tracking(tracking) if tracking else None,
        leakage=combine_leakage(reports) if reports is not None else None,
    )
