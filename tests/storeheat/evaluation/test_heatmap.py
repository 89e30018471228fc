"""Normalised L1 and Pearson r of occupancy grids."""

from __future__ import annotations

import math

import numpy as np
import pytest

from storeheat.evaluation.exceptions import InputMismatchError, InvalidInputError
from storeheat.evaluation.heatmap import compare_heatmaps, normalised_l1, pearson_r

TRUTH = np.array([[4.0, 0.0, 2.0], [1.0, 3.0, 0.0]])  # 2 cells x 3 time buckets


def test_truth_against_itself_is_perfect() -> None:
    s = compare_heatmaps(TRUTH, TRUTH.copy())
    assert s.normalised_l1 == 0.0 and s.pearson_r == pytest.approx(1.0)


def test_normalised_l1_by_hand() -> None:
    measured = TRUTH.copy()
    measured[0, 0] = 2.0  # 2 person-seconds missed
    measured[1, 2] = 1.0  # 1 person-second invented
    assert normalised_l1(measured, TRUTH) == pytest.approx(3.0 / 10.0)
    assert normalised_l1(np.zeros_like(TRUTH), TRUTH) == 1.0  # an empty store
    assert normalised_l1(2 * TRUTH, TRUTH) == 1.0  # double counting


def test_pearson_ignores_scale_but_not_pattern() -> None:
    assert pearson_r(3 * TRUTH, TRUTH) == pytest.approx(1.0)
    assert pearson_r(TRUTH.max() - TRUTH, TRUTH) == pytest.approx(-1.0)
    rng = np.random.default_rng(1)
    noisy = TRUTH + rng.uniform(0, 0.5, TRUTH.shape)
    assert 0.9 < pearson_r(noisy, TRUTH) < 1.0
    assert pearson_r(noisy, TRUTH) == pytest.approx(np.corrcoef(noisy.ravel(), TRUTH.ravel())[0, 1])


def test_empty_truth_and_constant_grids() -> None:
    zeros = np.zeros((2, 3))
    assert normalised_l1(zeros, zeros) == 0.0
    assert normalised_l1(TRUTH, zeros) == math.inf
    assert math.isnan(pearson_r(TRUTH, np.ones((2, 3))))
    assert compare_heatmaps(TRUTH, zeros).to_dict()["normalised_l1"] is None


@pytest.mark.parametrize(
    ("measured", "truth", "error", "argument"),
    [
        (np.zeros((2, 4)), TRUTH, InputMismatchError, "measured"),
        (-TRUTH, TRUTH, InvalidInputError, "measured"),
        (TRUTH, np.full((2, 3), np.nan), InvalidInputError, "truth"),
        (np.zeros((0, 3)), TRUTH, InvalidInputError, "measured"),
    ],
)
def test_bad_grids_name_the_argument(
    measured: np.ndarray, truth: np.ndarray, error: type[Exception], argument: str
) -> None:
    with pytest.raises(error) as info:
        compare_heatmaps(measured, truth)
    assert getattr(info.value, "argument", None) == argument
