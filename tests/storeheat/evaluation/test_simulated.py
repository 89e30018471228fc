"""Scoring a simulated run from in-memory ground truth and measurements."""

from __future__ import annotations

import numpy as np
import pytest

from storeheat.evaluation.exceptions import InvalidInputError
from storeheat.evaluation.leakage import measure_leakage
from storeheat.evaluation.simulated import evaluate_simulated_run
from storeheat.evaluation.tracking import TrackingFrames, distance_similarity


def _floor_frames(offset_m: float) -> TrackingFrames:
    """Two shoppers walking along x for 10 frames, measured with a constant offset."""
    truth = [np.array([[t * 0.5, 0.0], [10 - t * 0.5, 3.0]]) for t in range(10)]
    return TrackingFrames.from_ids(
        gt_ids=[[1, 2]] * 10,
        tracker_ids=[[50, 60]] * 10,
        similarity=[distance_similarity(p, p + [offset_m, 0.0], zero_at=2.0) for p in truth],
    )


def test_distance_similarity() -> None:
    sim = distance_similarity([[0, 0]], [[0.0, 0.0], [0.5, 0.0], [3.0, 4.0]], zero_at=2.0)
    np.testing.assert_allclose(sim, [[1.0, 0.75, 0.0]])
    with pytest.raises(InvalidInputError) as info:
        distance_similarity([[0, 0, 0]], [[0, 0]])
    assert info.value.argument == "truth_xy"


def test_simulated_run_truth_against_itself() -> None:
    grid = np.arange(12, dtype=float).reshape(4, 3)
    visits = [{"zone_id": "a", "person_id": 1, "enter": 0, "exit": 5}]
    frame = np.random.default_rng(0).integers(0, 255, (50, 50), dtype=np.uint8)
    scores = evaluate_simulated_run(
        measured_occupancy=grid, true_occupancy=grid, measured_visits=visits,
        true_visits=visits, tracking={"floor": _floor_frames(0.0)},
        leakage=[measure_leakage(frame, np.zeros_like(frame), [[10, 10, 20, 20]])],
    )
    d = scores.to_dict()
    assert d["heatmap"]["normalised_l1"] == 0.0 and d["dwell"]["visitor_count_error"] == 0.0
    assert d["tracking"]["pooled"]["mota"] == 1.0 and d["leakage"]["leakage"] == 0.0


def test_floor_offset_beyond_half_the_zero_distance_loses_every_match() -> None:
    near = evaluate_simulated_run(tracking={"f": _floor_frames(0.9)}).tracking
    far = evaluate_simulated_run(tracking={"f": _floor_frames(1.1)}).tracking
    assert near is not None and far is not None
    # Similarity 1 - 0.9/2 = 0.55 >= 0.5 matches; 1 - 1.1/2 = 0.45 does not.
    assert near.pooled.mota == 1.0
    assert far.pooled.mota == -1.0  # every box both missed and false: 1 - (20 + 20) / 20


def test_half_a_pair_is_an_error_naming_the_missing_argument() -> None:
    with pytest.raises(InvalidInputError) as info:
        evaluate_simulated_run(measured_occupancy=np.ones((2, 2)))
    assert info.value.argument == "true_occupancy"
    with pytest.raises(InvalidInputError) as info:
        evaluate_simulated_run(true_visits=[])
    assert info.value.argument == "measured_visits"
    with pytest.raises(InvalidInputError):
        evaluate_simulated_run()
