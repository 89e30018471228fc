"""Zone dwell and visitor-count errors from DataFrames or lists of dicts."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from storeheat.evaluation.dwell import compare_dwell, normalise_visits
from storeheat.evaluation.exceptions import InvalidInputError

TRUTH = [
    {"zone_id": "dairy", "person_id": 1, "enter": 0.0, "exit": 10.0},
    {"zone_id": "dairy", "person_id": 2, "enter": 5.0, "exit": 35.0},
    {"zone_id": "bakery", "person_id": 1, "enter": 12.0, "exit": 32.0},
    {"zone_id": "bakery", "person_id": 3, "enter": 0.0, "exit": 40.0},
]


def test_truth_against_itself_is_perfect() -> None:
    s = compare_dwell(pd.DataFrame(TRUTH), TRUTH)
    assert (s.mean_dwell_mae_s, s.p50_dwell_mae_s, s.p90_dwell_mae_s) == (0.0, 0.0, 0.0)
    assert (s.visitor_count_error, s.store_visitor_count_error, s.zones) == (0.0, 0.0, 2)


def test_errors_by_hand() -> None:
    measured = [
        # dairy: track 7 is person 1 cut short (8 s instead of 10), person 2 fragmented into
        # tracks 8 and 9 (2 visitors counted instead of 1).
        {"zone_id": "dairy", "track_id": 7, "enter_ts": 1.0, "exit_ts": 9.0},
        {"zone_id": "dairy", "track_id": 8, "enter_ts": 5.0, "exit_ts": 20.0},
        {"zone_id": "dairy", "track_id": 9, "enter_ts": 20.0, "exit_ts": 35.0},
        # bakery: both visits exact, under other ids.
        {"zone_id": "bakery", "track_id": 7, "dwell_s": 20.0},
        {"zone_id": "bakery", "track_id": 10, "dwell_s": 40.0},
        {"zone_id": "entrance", "track_id": 11, "dwell_s": 3.0},
    ]
    s = compare_dwell(measured, TRUTH)
    # dairy mean: measured (8 + 15 + 15) / 3 = 12.667, true (10 + 30) / 2 = 20; bakery exact.
    assert s.mean_dwell_mae_s == pytest.approx(abs(38 / 3 - 20) / 2)
    # visitors: dairy 3 vs 2, bakery 2 vs 2 -> |5 - 4| / 4; per zone mean(1/2, 0).
    assert s.visitor_count_error == pytest.approx(0.25)
    assert s.zone_visitor_count_error == pytest.approx(0.25)
    # store: 5 distinct tracks (7, 8, 9, 10, 11) vs 3 people.
    assert s.store_visitor_count_error == pytest.approx(2 / 3)
    assert s.extra_zones == ["entrance"]


def test_missing_zone_counts_as_zero_dwell() -> None:
    s = compare_dwell([TRUTH[0], TRUTH[1]], TRUTH)
    # bakery not measured: its true mean 30 s and p50 30 s are missed entirely.
    assert s.mean_dwell_mae_s == pytest.approx(30 / 2)
    assert s.zone_visitor_count_error == pytest.approx(0.5)


def test_datetimes_are_seconds() -> None:
    t0 = dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.UTC)
    visits = normalise_visits(
        pd.DataFrame([{"zone": "a", "id": "p", "start": t0, "end": t0 + dt.timedelta(seconds=90)}])
    )
    assert visits[0].dwell_s == pytest.approx(90.0)


@pytest.mark.parametrize(
    ("measured", "truth", "argument", "fragment"),
    [
        ([{"person_id": 1, "enter": 0, "exit": 1}], TRUTH, "measured", "no zone"),
        ([{"zone_id": "a", "enter": 0, "exit": 1}], TRUTH, "measured", "no id"),
        ([{"zone_id": "a", "person_id": 1}], TRUTH, "measured", "neither dwell_s"),
        ([{"zone_id": "a", "person_id": 1, "enter": 5, "exit": 1}], TRUTH, "measured",
         "negative"),
        ([{"zone_id": "a", "person_id": 1, "enter": "x", "exit": 1}], TRUTH, "measured",
         "numbers or datetimes"),
        (TRUTH, [], "truth", "no visits"),
        (TRUTH, "visits.csv", "truth", "DataFrame or a list of dicts"),
    ],
)
def test_bad_visits_name_the_argument(
    measured: object, truth: object, argument: str, fragment: str
) -> None:
    with pytest.raises(InvalidInputError) as info:
        compare_dwell(measured, truth)
    assert info.value.argument == argument and fragment in str(info.value)
