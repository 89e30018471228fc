"""NumPy 2 compatibility of the pinned metric libraries (trackeval, motmetrics)."""

from __future__ import annotations

import numpy as np
import pytest

from storeheat.evaluation import compat


def test_numpy_shims_are_idempotent_and_behave_like_numpy_1() -> None:
    compat.apply_numpy_shims()
    assert compat.apply_numpy_shims() == []  # second call adds nothing
    arr = np.asfarray([1, 2, 3])  # type: ignore[attr-defined]
    assert arr.dtype == np.float64
    np.testing.assert_array_equal(arr, [1.0, 2.0, 3.0])
    assert np.asfarray([1, 2], dtype=np.float32).dtype == np.float32  # type: ignore[attr-defined]
    assert np.asfarray([1, 2], dtype=int).dtype == np.float64  # type: ignore[attr-defined]


def test_motmetrics_iou_runs_under_numpy_2_with_the_shim() -> None:
    mm = compat.import_motmetrics()
    # motmetrics' iou_matrix is the call that needed np.asfarray; 1 - IoU is its distance.
    dist = mm.distances.iou_matrix([[0, 0, 10, 10]], [[0, 0, 10, 10], [5, 0, 10, 10]],
                                   max_iou=1.0)
    np.testing.assert_allclose(dist, [[0.0, 1.0 - 50.0 / 150.0]])


def test_trackeval_metric_classes_run_without_numpy_aliases(
    capsys: pytest.CaptureFixture[str],
) -> None:
    hota, clear, identity = compat.tracking_metric_classes(iou_threshold=0.5)
    assert capsys.readouterr().out == ""  # config print-out is off
    one = np.array([0])
    data = {"gt_ids": [one, one], "tracker_ids": [one, one],
            "similarity_scores": [np.ones((1, 1)), np.ones((1, 1))], "num_timesteps": 2,
            "num_gt_ids": 1, "num_tracker_ids": 1, "num_gt_dets": 2, "num_tracker_dets": 2}
    with np.errstate(all="raise"):
        assert float(np.mean(hota.eval_sequence(data)["HOTA"])) == pytest.approx(1.0)
        assert clear.eval_sequence(data)["MOTA"] == pytest.approx(1.0)
        assert identity.eval_sequence(data)["IDF1"] == pytest.approx(1.0)
    assert not hasattr(np, "float") and not hasattr(np, "int")  # NumPy 2 really is in use
