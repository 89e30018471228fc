"""Named scenarios: the parameters and stated distributions of a simulated store day.

Every random quantity of the simulator is drawn from a distribution stated here (see
``docs/simulation.md`` for the table):

* arrivals: groups arrive as a Poisson process whose rate is ``arrivals_per_hour`` times the
  daily curve :data:`DAILY_RATE_CURVE` (interpolated by the hour of the scenario's clock);
  ``initial_groups`` groups are already shopping at ``t = 0`` so short runs are not empty.
* group size: ``1 + Poisson(group_extra_mean)``, at most ``max_group_size``.
* walking speed (per group): ``Normal(speed_mean, speed_sd)`` clipped to ``speed_range``.
* shopping list: ``1 + Poisson(list_extra_mean)`` distinct zones (at most the shopping zones
  there are), in random order, each with one stop.
* dwell at a stop: ``LogNormal(ln(dwell_median_s), dwell_sigma)`` seconds.
* checkout service: ``LogNormal(ln(service_median_s), service_sigma)`` seconds per person.
* appearance (per person): height ``Normal(1.70, 0.09)`` m clipped to [1.50, 1.95], build
  (width factor) ``Normal(1.0, 0.12)`` clipped to [0.75, 1.3], clothing colours uniform in
  HSV with saturation in [0.2, 0.9], skin tone from a six-step palette, hair from five colours.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from storeheat.sim.exceptions import SimulationError

#: Relative arrival rate by hour of day (index = hour, 0..24); 1.0 is the busiest hour.
#: The store opens at 08:00 and closes at 21:00; lunch and after-work peaks.
DAILY_RATE_CURVE: tuple[float, ...] = (
    0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,   # 00-07 closed
    0.25, 0.35, 0.45, 0.6, 0.85, 0.75, 0.55,  # 08-14
    0.5, 0.6, 0.85, 1.0, 0.8, 0.5, 0.2,       # 15-21
    0.0, 0.0, 0.0,                            # 22-24
)


def daily_rate_factor(hour: float) -> float:
    """Relative arrival rate at ``hour`` (fractional hour of day), linear between hours."""
    h = hour % 24.0
    return float(np.interp(h, np.arange(len(DAILY_RATE_CURVE)), DAILY_RATE_CURVE))


def daylight(hour: float) -> float:
    """Daylight share through the windows at ``hour``: 0 at night, 1 at solar noon (13:00)."""
    return float(max(0.0, np.sin(np.pi * ((hour % 24.0) - 6.0) / 14.0)))


@dataclass(frozen=True)
class Scenario:
    """Parameters of one simulated store day (immutable; see the module docstring).

    Attributes:
        name: Scenario name (``quiet``, ``normal``, ``peak``).
        description: One line for reports.
        start_time: UTC clock time of simulation second 0 (drives the arrival curve, the
            lighting and every capture time).
        arrivals_per_hour: Group arrival rate at the busiest hour (curve factor 1.0).
        initial_groups: Groups already shopping at second 0.
        group_extra_mean: Mean of the Poisson number of companions of a shopper.
        max_group_size: Largest group.
        speed_mean: Mean walking speed, m/s.
        speed_sd: Standard deviation of the walking speed, m/s.
        speed_range: Clip range of the walking speed, m/s.
        list_extra_mean: Mean of the Poisson number of shopping-list zones beyond the first.
        dwell_median_s: Median dwell at a stop, seconds.
        dwell_sigma: Log-space standard deviation of the dwell.
        checkout_lanes: Open tills.
        service_median_s: Median checkout service time per person, seconds.
        service_sigma: Log-space standard deviation of the service time.
        exposure_s: Camera exposure time (motion-blur length = image speed × exposure).
        noise_sd: Sensor noise standard deviation at full light, grey levels.
        cloud_amplitude: Amplitude of the slow light fluctuation (passing clouds), fraction.
    """

    name: str
    description: str
    start_time: dt.datetime
    arrivals_per_hour: float
    initial_groups: int
    group_extra_mean: float = 0.35
    max_group_size: int = 4
    speed_mean: float = 1.2
    speed_sd: float = 0.2
    speed_range: tuple[float, float] = (0.6, 1.8)
    list_extra_mean: float = 1.5
    dwell_median_s: float = 12.0
    dwell_sigma: float = 0.6
    checkout_lanes: int = 3
    service_median_s: float = 20.0
    service_sigma: float = 0.4
    exposure_s: float = 1.0 / 30.0
    noise_sd: float = 3.0
    cloud_amplitude: float = 0.06

    def arrival_rate_per_s(self, t: float) -> float:
        """Group arrivals per second at simulation second ``t``."""
        return self.arrivals_per_hour * daily_rate_factor(self.hour_at(t)) / 3600.0

    def hour_at(self, t: float) -> float:
        """Fractional hour of day at simulation second ``t``."""
        start = self.start_time
        return (start.hour + start.minute / 60.0 + start.second / 3600.0 + t / 3600.0) % 24.0

    def clock(self, t: float) -> dt.datetime:
        """UTC capture time of simulation second ``t``."""
        return self.start_time + dt.timedelta(seconds=t)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready parameters (times as ISO 8601)."""
        out = asdict(self)
        out["start_time"] = self.start_time.isoformat().replace("+00:00", "Z")
        out["speed_range"] = list(self.speed_range)
        out["daily_rate_curve"] = list(DAILY_RATE_CURVE)
        return out


def _utc(hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 1, 7, hour, minute, tzinfo=dt.UTC)


SCENARIOS: dict[str, Scenario] = {
    "quiet": Scenario(
        name="quiet",
        description="Weekday morning: a handful of shoppers, one till open.",
        start_time=_utc(9, 0),
        arrivals_per_hour=120.0,
        initial_groups=6,
        group_extra_mean=0.15,
        list_extra_mean=1.0,
        checkout_lanes=1,
    ),
    "normal": Scenario(
        name="normal",
        description="Lunchtime: a steady flow of shoppers, queues at three tills.",
        start_time=_utc(12, 0),
        arrivals_per_hour=360.0,
        initial_groups=24,
    ),
    "peak": Scenario(
        name="peak",
        description="After-work rush: a crowded floor and long checkout queues "
                    "(at least 40 people in one camera's view).",
        start_time=_utc(17, 30),
        arrivals_per_hour=900.0,
        initial_groups=70,
        group_extra_mean=0.5,
        list_extra_mean=2.0,
        dwell_median_s=15.0,
        checkout_lanes=5,
    ),
}


def get_scenario(name: str) -> Scenario:
    """The scenario called ``name``.

    Raises:
        SimulationError: unknown name (argument ``--scenario``), listing the known ones.
    """
    try:
        return SCENARIOS[name]
    except KeyError:
        raise SimulationError(
            f"unknown scenario {name!r}; known: {', '.join(sorted(SCENARIOS))}",
            argument="--scenario",
        ) from None
