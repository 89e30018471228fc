"""Zone dwell error and visitor-count error between measured and true zone visits.

A *visit* is one person (or one track, on the measured side) staying in one zone from
``enter`` to ``exit``; its dwell is ``exit - enter`` in seconds. Visits come as a pandas
DataFrame or a list of dicts with these fields (first name found wins):

* zone: ``zone_id`` or ``zone``
* who: ``person_id``, ``track_id``, ``visitor_id`` or ``id``
* when: ``enter`` / ``exit``, ``enter_ts`` / ``exit_ts``, ``enter_time`` / ``exit_time`` or
  ``start`` / ``end`` (seconds as numbers, or datetimes); or a ``dwell_s`` column instead.

Definitions, per zone z of the truth (a zone without measured visits has measured dwell 0 and
0 visitors; measured zones absent from the truth are reported under ``extra_zones``):

* mean dwell error = mean over z of |mean measured dwell(z) - mean true dwell(z)| (seconds);
  likewise for the median (p50) and the 90th percentile (p90, linear interpolation).
* visitors(z) = number of distinct ids with at least one visit to z.
* visitor count error = |sum_z measured visitors(z) - sum_z true visitors(z)| /
  sum_z true visitors(z) (relative, 0 is perfect), and per-zone mean relative error
  mean_z |measured(z) - true(z)| / true(z).
* store visitor count error = |distinct measured ids - distinct true ids| / distinct true ids.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from storeheat.evaluation.exceptions import InvalidInputError

_ZONE_KEYS = ("zone_id", "zone")
_ID_KEYS = ("person_id", "track_id", "visitor_id", "id")
_TIME_KEYS = (("enter", "exit"), ("enter_ts", "exit_ts"), ("enter_time", "exit_time"),
              ("start", "end"))


@dataclass(frozen=True)
class Visit:
    """One normalised visit: zone, who, dwell in seconds."""

    zone: str
    who: str
    dwell_s: float


def _records(visits: Any, argument: str) -> list[Mapping[str, Any]]:
    if hasattr(visits, "to_dict") and hasattr(visits, "columns"):
        return list(visits.to_dict(orient="records"))
    if isinstance(visits, Sequence) and not isinstance(visits, str | bytes):
        for i, row in enumerate(visits):
            if not isinstance(row, Mapping):
                raise InvalidInputError(f"row {i} is {type(row).__name__}, expected a dict",
                                        argument=argument)
        return list(visits)
    raise InvalidInputError(
        f"expected a pandas DataFrame or a list of dicts, got {type(visits).__name__}",
        argument=argument,
    )


def _seconds(value: Any) -> float:
    if isinstance(value, dt.datetime):
        return value.timestamp()
    if hasattr(value, "timestamp") and callable(value.timestamp):  # pandas Timestamp
        return float(value.timestamp())
    if isinstance(value, np.datetime64):
        return float(value.astype("datetime64[us]").astype(np.int64)) / 1e6
    return float(value)


def _pick(row: Mapping[str, Any], keys: Sequence[str]) -> str | None:
    return next((k for k in keys if k in row), None)


def normalise_visits(visits: Any, *, argument: str = "visits") -> list[Visit]:
    """Turn a DataFrame or list of dicts into :class:`Visit` records.

    Raises:
        InvalidInputError: a field is missing, a time is not a number/datetime, or a dwell is
            negative; the message names ``argument`` and the row.
    """
    out: list[Visit] = []
    for i, row in enumerate(_records(visits, argument)):
        zk = _pick(row, _ZONE_KEYS)
        ik = _pick(row, _ID_KEYS)
        if zk is None or ik is None:
            missing = "zone (zone_id)" if zk is None else "id (person_id/track_id)"
            raise InvalidInputError(f"row {i} has no {missing} field; fields: {sorted(row)}",
                                    argument=argument)
        try:
            if "dwell_s" in row:
                dwell = float(row["dwell_s"])
            else:
                pair = next((p for p in _TIME_KEYS if p[0] in row and p[1] in row), None)
                if pair is None:
                    raise InvalidInputError(
                        f"row {i} has neither dwell_s nor an enter/exit pair; fields: "
                        f"{sorted(row)}",
                        argument=argument,
                    )
                dwell = _seconds(row[pair[1]]) - _seconds(row[pair[0]])
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"row {i}: times must be numbers or datetimes ({exc})",
                                    argument=argument) from exc
        if not np.isfinite(dwell) or dwell < 0:
            raise InvalidInputError(f"row {i}: dwell {dwell} s is negative or not finite",
                                    argument=argument)
        out.append(Visit(zone=str(row[zk]), who=str(row[ik]), dwell_s=dwell))
    return out


@dataclass(frozen=True)
class ZoneStats:
    """Dwell and visitor figures of one zone."""

    visits: int
    visitors: int
    mean_dwell_s: float
    p50_dwell_s: float
    p90_dwell_s: float


def zone_stats(visits: Sequence[Visit]) -> dict[str, ZoneStats]:
    """Per-zone visit count, distinct visitors and dwell mean/p50/p90."""
    by_zone: dict[str, list[Visit]] = {}
    for v in visits:
        by_zone.setdefault(v.zone, []).append(v)
    stats: dict[str, ZoneStats] = {}
    for zone, vs in sorted(by_zone.items()):
        d = np.asarray([v.dwell_s for v in vs])
        stats[zone] = ZoneStats(
            visits=len(vs),
            visitors=len({v.who for v in vs}),
            mean_dwell_s=float(d.mean()),
            p50_dwell_s=float(np.percentile(d, 50)),
            p90_dwell_s=float(np.percentile(d, 90)),
        )
    return stats


_EMPTY = ZoneStats(visits=0, visitors=0, mean_dwell_s=0.0, p50_dwell_s=0.0, p90_dwell_s=0.0)


@dataclass(frozen=True)
class DwellScores:
    """Zone dwell and visitor-count errors (definitions in the module docstring)."""

    mean_dwell_mae_s: float
    p50_dwell_mae_s: float
    p90_dwell_mae_s: float
    visitor_count_error: float
    zone_visitor_count_error: float
    store_visitor_count_error: float
    zones: int
    extra_zones: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def compare_dwell(measured: Any, truth: Any) -> DwellScores:
    """Dwell and visitor-count errors of measured zone visits against the true ones.

    Args:
        measured: Measured visits (DataFrame or list of dicts, see the module docstring).
        truth: True visits from the simulator, same form.

    Raises:
        InvalidInputError: malformed visits (names ``measured`` or ``truth``), or a truth with
            no visits (nothing to compare against).
    """
    mv = normalise_visits(measured, argument="measured")
    tv = normalise_visits(truth, argument="truth")
    if not tv:
        raise InvalidInputError("has no visits; errors relative to it are undefined",
                                argument="truth")
    ms = zone_stats(mv)
    ts = zone_stats(tv)
    zones = sorted(ts)

    def mae(attr: str) -> float:
        return float(np.mean([abs(getattr(ms.get(z, _EMPTY), attr) - getattr(ts[z], attr))
                              for z in zones]))

    m_total = sum(ms.get(z, _EMPTY).visitors for z in zones)
    t_total = sum(ts[z].visitors for z in zones)
    t_people = len({v.who for v in tv})
    m_people = len({v.who for v in mv})
    return DwellScores(
        mean_dwell_mae_s=mae("mean_dwell_s"),
        p50_dwell_mae_s=mae("p50_dwell_s"),
        p90_dwell_mae_s=mae("p90_dwell_s"),
        visitor_count_error=abs(m_total - t_total) / t_total,
        zone_visitor_count_error=float(np.mean(
            [abs(ms.get(z, _EMPTY).visitors - ts[z].visitors) / ts[z].visitors for z in zones]
        )),
        store_visitor_count_error=abs(m_people - t_people) / t_people,
        zones=len(zones),
        extra_zones=sorted(set(ms) - set(ts)),
    )
