"""The shoppers: arrivals, paths around shelves, dwelling, checkout queues, leaving.

A :class:`World` advances in fixed steps of :data:`STEP_S` seconds. Everything random comes
from one ``numpy.random.Generator`` seeded with the run's seed, and every loop runs in a fixed
order, so the same seed gives the same world on every machine.

Navigation: the floor is a grid of :data:`NAV_CELL_M` cells; cells closer than
:data:`CLEARANCE_M` to a shelf or a wall are blocked. Every goal (a few points per zone, the
checkout queue slots, the door) has a distance field computed with Dijkstra over the free
cells (8-connected); a shopper walks towards a point a few cells down its goal's field, so
paths go around shelves, and a move into a blocked cell is refused (the shopper slides along
the obstacle), so nobody ever stands inside a shelf. Shoppers push each other apart within
:data:`PERSONAL_M` (a simple social-force rule) and slow down behind someone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import IntEnum

import cv2
import numpy as np
from numpy.typing import NDArray
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra

from storeheat.config import StoreConfig, Zone
from storeheat.geometry import points_in_polygon
from storeheat.sim.exceptions import SimulationError
from storeheat.sim.scenario import Scenario

#: Simulation step, seconds (10 Hz); camera frames use the nearest step.
STEP_S = 0.1
#: Navigation grid cell, metres.
NAV_CELL_M = 0.2
#: A person's centre keeps this far from shelves and walls, metres.
CLEARANCE_M = 0.35
#: People closer than this push each other apart, metres.
PERSONAL_M = 0.65
#: Goal points per shopping zone.
GOALS_PER_ZONE = 6
#: Distance between queue slots at a till, metres.
QUEUE_GAP_M = 0.75
#: Longest queue (slots) per till.
MAX_QUEUE = 10
_LOOKAHEAD_CELLS = 4


class State(IntEnum):
    """What a shopper is doing (written to the trajectories)."""

    WALKING = 0
    DWELLING = 1
    QUEUEING = 2
    PAYING = 3
    LEAVING = 4


SKIN_TONES: tuple[tuple[int, int, int], ...] = (
    (189, 224, 255), (150, 196, 234), (120, 170, 215), (90, 135, 190), (60, 100, 150),
    (45, 70, 110),
)  # BGR
HAIR_COLOURS: tuple[tuple[int, int, int], ...] = (
    (20, 20, 25), (30, 50, 80), (60, 100, 150), (120, 170, 210), (160, 160, 165),
)  # BGR


@dataclass(frozen=True)
class Appearance:
    """How a person looks: sizes in metres, colours BGR uint8."""

    height_m: float
    build: float
    shirt: tuple[int, int, int]
    trousers: tuple[int, int, int]
    skin: tuple[int, int, int]
    hair: tuple[int, int, int]


@dataclass
class _Agent:
    pid: int
    group: int
    appearance: Appearance
    speed: float
    plan: list[tuple[int, float]]  # (goal index, dwell seconds)
    service_s: float
    pos: NDArray[np.float64]
    vel: NDArray[np.float64] = field(default_factory=lambda: np.zeros(2))
    heading: NDArray[np.float64] = field(default_factory=lambda: np.array([1.0, 0.0]))
    phase: float = 0.0
    state: State = State.WALKING
    goal: int = -1
    timer: float = 0.0
    lane: int = -1
    joined: bool = False
    arrival_t: float = 0.0


@dataclass(frozen=True)
class Crowd:
    """Everyone on the floor at one instant (parallel arrays, sorted by person id).

    Attributes:
        t: Simulation seconds since the start.
        step: Step index (``t = step * STEP_S``).
        ids: Person ids (int64, ≥ 1).
        pos: Floor position (x, y), metres.
        vel: Velocity, m/s.
        heading: Unit vector the person faces (on the floor).
        phase: Stride phase, radians (legs swing with it).
        state: :class:`State` values.
        height: Height, metres.
        build: Width factor (1.0 = average).
        colours: (N, 4, 3) uint8 BGR: shirt, trousers, skin, hair.
    """

    t: float
    step: int
    ids: NDArray[np.int64]
    pos: NDArray[np.float64]
    vel: NDArray[np.float64]
    heading: NDArray[np.float64]
    phase: NDArray[np.float64]
    state: NDArray[np.int64]
    height: NDArray[np.float64]
    build: NDArray[np.float64]
    colours: NDArray[np.uint8]

    def __len__(self) -> int:
        return int(self.ids.shape[0])


def _zones_of_kind(store: StoreConfig, kind: str) -> list[Zone]:
    return [z for z in store.zones if z.kind == kind]


class NavGrid:
    """Free/blocked floor cells and per-goal distance fields (see the module docstring)."""

    def __init__(self, store: StoreConfig, *, cell_m: float = NAV_CELL_M,
                 clearance_m: float = CLEARANCE_M) -> None:
        self.cell = cell_m
        self.cols = int(math.ceil(store.floor.width_m / cell_m))
        self.rows = int(math.ceil(store.floor.depth_m / cell_m))
        xs = (np.arange(self.cols) + 0.5) * cell_m
        ys = (np.arange(self.rows) + 0.5) * cell_m
        gx, gy = np.meshgrid(xs, ys)
        self.centres = np.stack([gx.ravel(), gy.ravel()], axis=1)
        c = self.centres
        blocked = (
            (c[:, 0] < clearance_m) | (c[:, 1] < clearance_m)
            | (c[:, 0] > store.floor.width_m - clearance_m)
            | (c[:, 1] > store.floor.depth_m - clearance_m)
        )
        for shelf in store.shelves:
            poly = np.asarray(shelf.polygon, dtype=float)
            blocked |= points_in_polygon(c, poly)
            blocked |= _distance_to_polygon_edges(c, poly) < clearance_m
        self.blocked = blocked
        self.free = ~blocked
        self._graph = self._build_graph()
        self.goals: list[NDArray[np.float64]] = []
        self._next: list[NDArray[np.int64]] = []
        self._dist: list[NDArray[np.float64]] = []
        self._stacked: tuple[NDArray[np.int64], NDArray[np.float64]] | None = None

    def _build_graph(self) -> coo_matrix:
        rows, cols = self.rows, self.cols
        idx = np.arange(rows * cols).reshape(rows, cols)
        src: list[NDArray[np.int64]] = []
        dst: list[NDArray[np.int64]] = []
        wts: list[NDArray[np.float64]] = []
        for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):
            a = idx[0:rows - dr, max(0, -dc):cols - max(0, dc)].ravel()
            b = idx[dr:rows, max(0, dc):cols - max(0, -dc)].ravel()
            ok = self.free[a] & self.free[b]
            if dr and dc:
                # no corner cutting: both side cells must be free too
                r_a, c_a = np.divmod(a, cols)
                ok &= self.free[(r_a + dr) * cols + c_a] & self.free[r_a * cols + c_a + dc]
            w = self.cell * (math.sqrt(2.0) if dr and dc else 1.0)
            src.append(a[ok])
            dst.append(b[ok])
            wts.append(np.full(int(ok.sum()), w))
        s, d, w_all = np.concatenate(src), np.concatenate(dst), np.concatenate(wts)
        n = rows * cols
        return coo_matrix((np.concatenate([w_all, w_all]),
                           (np.concatenate([s, d]), np.concatenate([d, s]))), shape=(n, n))

    def cell_of(self, pos: NDArray[np.float64]) -> NDArray[np.int64]:
        """Grid cell index of floor points ``(N, 2)`` (clamped to the grid)."""
        c = np.clip((pos[..., 0] / self.cell).astype(np.int64), 0, self.cols - 1)
        r = np.clip((pos[..., 1] / self.cell).astype(np.int64), 0, self.rows - 1)
        return np.asarray(r * self.cols + c, dtype=np.int64)

    def is_free(self, pos: NDArray[np.float64]) -> NDArray[np.bool_]:
        """Whether floor points ``(N, 2)`` lie in free cells (and on the floor)."""
        inside = ((pos[..., 0] >= 0) & (pos[..., 1] >= 0)
                  & (pos[..., 0] < self.cols * self.cell) & (pos[..., 1] < self.rows * self.cell))
        return np.asarray(inside & self.free[self.cell_of(pos)])

    def nearest_free(self, point: NDArray[np.float64]) -> NDArray[np.float64]:
        """Centre of the free cell nearest to ``point``."""
        free_idx = np.flatnonzero(self.free)
        d = ((self.centres[free_idx] - point) ** 2).sum(axis=1)
        return np.asarray(self.centres[free_idx[int(np.argmin(d))]])

    def add_goals(self, points: NDArray[np.float64]) -> list[int]:
        """Register goal points (snapped to free cells); returns their goal indices."""
        first = len(self.goals)
        snapped = [self.nearest_free(p) for p in np.asarray(points, dtype=float)]
        cells = [int(self.cell_of(p)) for p in snapped]
        dist = dijkstra(self._graph.tocsr(), directed=False, indices=cells)
        dist = np.atleast_2d(dist)
        for k, p in enumerate(snapped):
            d = dist[k]
            self.goals.append(p)
            self._dist.append(d)
            self._next.append(self._successors(d))
        return list(range(first, len(self.goals)))

    def _successors(self, dist: NDArray[np.float64]) -> NDArray[np.int64]:
        rows, cols = self.rows, self.cols
        padded = np.full((rows + 2, cols + 2), np.inf)
        padded[1:-1, 1:-1] = dist.reshape(rows, cols)
        best = padded[1:-1, 1:-1].copy()
        best_off = np.zeros((rows, cols, 2), dtype=np.int64)
        for dr in (-1, 0, 1):
            for dc in (-1, 0, 1):
                if dr == 0 and dc == 0:
                    continue
                cand = padded[1 + dr:rows + 1 + dr, 1 + dc:cols + 1 + dc]
                better = cand < best - 1e-9
                best = np.where(better, cand, best)
                best_off[better] = (dr, dc)
        rr, cc = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
        nr = rr + best_off[..., 0]
        nc = cc + best_off[..., 1]
        return np.asarray((nr * cols + nc).ravel(), dtype=np.int64)

    def _tables(self) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        if self._stacked is None or self._stacked[0].shape[0] != len(self.goals):
            self._stacked = (np.stack(self._next), np.stack(self._dist))
        return self._stacked

    def waypoints(self, goals: NDArray[np.int64],
                  pos: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Where each walker should head now, and its remaining path length (metres).

        The target is a point a few cells down the goal's field, or the goal itself when that
        is close (or when the walker stands on a cell the field cannot reach).
        """
        nxt, dist = self._tables()
        cells = self.cell_of(pos)
        remaining = dist[goals, cells]
        ahead = cells.copy()
        for _ in range(_LOOKAHEAD_CELLS):
            ahead = nxt[goals, ahead]
        goal_pts = np.asarray(self.goals)[goals]
        use_goal = ~np.isfinite(remaining) | (dist[goals, ahead] <= self.cell * 1.5)
        target = np.where(use_goal[:, None], goal_pts, self.centres[ahead])
        remaining = np.where(np.isfinite(remaining), remaining,
                             np.sqrt(((goal_pts - pos) ** 2).sum(axis=1)))
        return target, remaining


def _distance_to_polygon_edges(points: NDArray[np.float64],
                               poly: NDArray[np.float64]) -> NDArray[np.float64]:
    a = poly
    b = np.roll(poly, -1, axis=0)
    p = points[:, None, :]
    ab = (b - a)[None]
    t = np.clip(((p - a[None]) * ab).sum(-1) / np.maximum((ab**2).sum(-1), 1e-12), 0, 1)
    closest = a[None] + t[..., None] * ab
    return np.asarray(np.sqrt(((p - closest) ** 2).sum(-1)).min(axis=1))


class World:
    """Shoppers in one store under one scenario, advanced step by step.

    Args:
        store: The store (floor, shelves, zones; zones of kind ``entrance``, ``exit`` and
            ``checkout`` are used for arriving, leaving and paying when present).
        scenario: The scenario's parameters.
        seed: Seed of the run's random generator.

    Raises:
        SimulationError: the store has no zone people can shop in or reach.
    """

    def __init__(self, store: StoreConfig, scenario: Scenario, *, seed: int) -> None:
        self.store = store
        self.scenario = scenario
        self.seed = int(seed)
        self.rng = np.random.default_rng(np.random.SeedSequence([self.seed, 0x5713]))
        self.nav = NavGrid(store)
        self.step_index = 0
        self._next_pid = 1
        self._next_group = 1
        self.agents: list[_Agent] = []
        self._layout(np.random.default_rng(np.random.SeedSequence([0x1A70])))
        for _ in range(scenario.initial_groups):
            self._spawn_group(initial=True)

    # ------------------------------------------------------------------ layout
    def _layout(self, rng: np.random.Generator) -> None:
        store, nav = self.store, self.nav
        special = {"entrance", "exit", "checkout"}
        self.shop_zones: list[str] = []
        self.zone_goals: dict[str, list[int]] = {}
        self.goal_facing: dict[int, NDArray[np.float64]] = {}
        for zone in store.zones:
            if zone.kind in special:
                continue
            inside = nav.free & points_in_polygon(nav.centres, zone.polygon)
            cand = np.flatnonzero(inside)
            if cand.size == 0:
                continue
            pick = np.sort(rng.choice(cand, size=min(GOALS_PER_ZONE, cand.size), replace=False))
            goals = nav.add_goals(nav.centres[pick])
            self.zone_goals[zone.id] = goals
            self.shop_zones.append(zone.id)
            for g in goals:
                self.goal_facing[g] = self._facing_at(nav.goals[g], rng)
        if not self.shop_zones:
            raise SimulationError("the store has no zone to shop in (all zones are entrance, "
                                  "exit or checkout, or lie inside shelves)", argument="store")
        entrance = _zones_of_kind(store, "entrance") or [store.zones[0]]
        exits = _zones_of_kind(store, "exit") or entrance
        self.door_in = self._door_point(entrance[0])
        self.door_out = self._door_point(exits[0])
        self.exit_goal = nav.add_goals(self.door_out[None])[0]
        checkout = _zones_of_kind(store, "checkout")
        self.lanes: list[list[int]] = []  # goal index per queue slot, per lane
        self.till_facing: list[NDArray[np.float64]] = []
        if checkout:
            self._layout_checkout(checkout[0])
        self.queues: list[list[_Agent]] = [[] for _ in self.lanes]

    def _facing_at(self, point: NDArray[np.float64],
                   rng: np.random.Generator) -> NDArray[np.float64]:
        """Direction a shopper faces when stopping at ``point``: the nearest shelf, if close."""
        nav = self.nav
        blocked = np.flatnonzero(nav.blocked)
        inner = blocked[(nav.centres[blocked, 0] > CLEARANCE_M)
                        & (nav.centres[blocked, 1] > CLEARANCE_M)]
        if inner.size:
            d = np.sqrt(((nav.centres[inner] - point) ** 2).sum(axis=1))
            k = int(np.argmin(d))
            if d[k] < 1.0:
                v = nav.centres[inner[k]] - point
                return np.asarray(v / max(np.linalg.norm(v), 1e-9))
        a = rng.uniform(0, 2 * np.pi)
        return np.array([math.cos(a), math.sin(a)])

    def _door_point(self, zone: Zone) -> NDArray[np.float64]:
        """The point of ``zone`` nearest the floor's outline (where the door is)."""
        nav = self.nav
        inside = nav.free & points_in_polygon(nav.centres, zone.polygon)
        cand = nav.centres[inside] if inside.any() else nav.centres[nav.free]
        w, d = self.store.floor.width_m, self.store.floor.depth_m
        edge = np.minimum.reduce([cand[:, 0], cand[:, 1], w - cand[:,0], d - cand[:, 1]])
        best = np.flatnonzero(edge <= edge.min() + 1e-9)
        centroid = np.asarray(zone.polygon, dtype=float).mean(axis=0)
        k = best[int(np.argmin(((cand[best] - centroid) ** 2).sum(axis=1)))]
        return np.asarray(cand[k])

    def _layout_checkout(self, zone: Zone) -> None:
        poly = np.asarray(zone.polygon, dtype=float)
        lo, hi = poly.min(axis=0), poly.max(axis=0)
        centre = (lo + hi) / 2
        floor_centre = np.array([self.store.floor.width_m, self.store.floor.depth_m]) / 2
        # queues run from the till towards the middle of the store, along y
        sign = 1.0 if floor_centre[1] >= centre[1] else -1.0
        till_y = lo[1] + 0.8 if sign > 0 else hi[1] - 0.8
        n = max(1, self.scenario.checkout_lanes)
        for i in range(n):
            x = lo[0] + (i + 0.5) * (hi[0] - lo[0]) / n
            slots = []
            for k in range(MAX_QUEUE):
                p = np.array([x, till_y + sign * k * QUEUE_GAP_M])
                if not bool(self.nav.is_free(p[None])[0]):
                    break
                slots.append(p)
            if slots:
                self.lanes.append(self.nav.add_goals(np.asarray(slots)))
                self.till_facing.append(np.array([0.0, -sign]))

    # ------------------------------------------------------------------ spawning
    def _appearance(self) -> Appearance:
        rng = self.rng
        height = float(np.clip(rng.normal(1.70, 0.09), 1.50, 1.95))
        build = float(np.clip(rng.normal(1.0, 0.12), 0.75, 1.3))
        colours = []
        for _ in range(2):
            h, s, v = rng.uniform(0, 180), rng.uniform(0.2, 0.9), rng.uniform(0.25, 0.95)
            hsv = np.array([[[int(h), int(s * 255), int(v * 255)]]], dtype=np.uint8)
            bgr = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0]
            colours.append(tuple(int(max(8, c)) for c in bgr))
        skin = SKIN_TONES[int(rng.integers(len(SKIN_TONES)))]
        hair = HAIR_COLOURS[int(rng.integers(len(HAIR_COLOURS)))]
        return Appearance(height, build, colours[0], colours[1], skin, hair)  # type: ignore[arg-type]

    def _spawn_group(self, *, initial: bool) -> None:
        sc, rng = self.scenario, self.rng
        size = int(min(sc.max_group_size, 1 + rng.poisson(sc.group_extra_mean)))
        speed = float(np.clip(rng.normal(sc.speed_mean, sc.speed_sd), *sc.speed_range))
        n_stops = int(min(len(self.shop_zones), 1 + rng.poisson(sc.list_extra_mean)))
        zones = [self.shop_zones[int(i)] for i in rng.permutation(len(self.shop_zones))[:n_stops]]
        plan: list[tuple[int, float]] = []
        for z in zones:
            goals = self.zone_goals[z]
            g = goals[int(rng.integers(len(goals)))]
            dwell = float(rng.lognormal(math.log(sc.dwell_median_s), sc.dwell_sigma))
            plan.append((g, dwell))
        if initial:
            # already shopping: start at one of the list's stops, partway through the list
            k = int(rng.integers(len(plan)))
            base = self.nav.goals[plan[k][0]].copy()
            plan = plan[k:]
        else:
            base = self.door_in.copy()
        group = self._next_group
        self._next_group += 1
        # a group pays once: the first member's service time, companions pass straight through
        service = float(rng.lognormal(math.log(sc.service_median_s), sc.service_sigma))
        t = self.step_index * STEP_S
        for m in range(size):
            pos = base.copy()
            for _ in range(6 if m else 0):  # companions stand beside, on free floor
                trial = base + rng.normal(0.0, 0.4, size=2)
                if bool(self.nav.is_free(trial[None])[0]):
                    pos = trial
                    break
            agent = _Agent(
                pid=self._next_pid, group=group, appearance=self._appearance(), speed=speed,
                plan=list(plan),
                service_s=service if m == 0 else 1.0,
                pos=pos, arrival_t=t,
            )
            agent.heading = np.array([math.cos(a := rng.uniform(0, 2 * np.pi)), math.sin(a)])
            agent.phase = float(rng.uniform(0, 2 * np.pi))
            self._next_pid += 1
            self._start_next_stop(agent)
            if initial:
                # start mid-dwell so the first seconds already show people shopping
                agent.state = State.DWELLING
                agent.timer = float(rng.uniform(0, plan[0][1]))
                agent.heading = self.goal_facing.get(agent.goal, agent.heading)
            self.agents.append(agent)

    # ------------------------------------------------------------------ behaviour
    def _start_next_stop(self, agent: _Agent) -> None:
        if agent.plan:
            agent.goal, _ = agent.plan[0]
            agent.state = State.WALKING
        elif self.lanes and agent.state not in (State.QUEUEING, State.PAYING, State.LEAVING):
            # pick the shortest queue (counting those already on their way to it); join it
            # only on arrival, so a far-away shopper does not hold up the till
            lengths = [len(q) for q in self.queues]
            for other in self.agents:
                if other.state == State.QUEUEING and not other.joined and other.lane >= 0:
                    lengths[other.lane] += 1
            lane = int(np.argmin(lengths))
            agent.lane = lane
            agent.joined = False
            agent.state = State.QUEUEING
            slots = self.lanes[lane]
            agent.goal = slots[min(len(self.queues[lane]), len(slots) - 1)]
        else:
            agent.state = State.LEAVING
            agent.goal = self.exit_goal

    def _retarget_queue(self, lane: int) -> None:
        slots = self.lanes[lane]
        for k, a in enumerate(self.queues[lane]):
            a.goal = slots[min(k, len(slots) - 1)]

    def _update_states(self) -> list[_Agent]:
        """State transitions (arrivals at goals, dwell and service timers); returns leavers."""
        gone: list[_Agent] = []
        for a in self.agents:
            goal_pt = self.nav.goals[a.goal]
            at_goal = float(np.linalg.norm(a.pos - goal_pt)) < 0.35
            if a.state == State.WALKING and at_goal:
                a.state = State.DWELLING
                a.timer = a.plan[0][1]
            elif a.state == State.DWELLING:
                a.timer -= STEP_S
                a.heading = self.goal_facing.get(a.goal, a.heading)
                if a.timer <= 0:
                    a.plan.pop(0)
                    self._start_next_stop(a)
            elif a.state == State.QUEUEING and not a.joined:
                queue, slots = self.queues[a.lane], self.lanes[a.lane]
                a.goal = slots[min(len(queue), len(slots) - 1)]
                if float(np.linalg.norm(a.pos - self.nav.goals[a.goal])) < 1.2:
                    queue.append(a)
                    a.joined = True
                    self._retarget_queue(a.lane)
            elif a.state == State.QUEUEING and at_goal and self.queues[a.lane][0] is a:
                a.state = State.PAYING
                a.timer = a.service_s
            elif a.state == State.PAYING:
                a.timer -= STEP_S
                a.heading = self.till_facing[a.lane]
                if a.timer <= 0:
                    self.queues[a.lane].pop(0)
                    self._retarget_queue(a.lane)
                    a.state = State.LEAVING
                    a.goal = self.exit_goal
            elif a.state == State.LEAVING and at_goal:
                gone.append(a)
        return gone

    def _move(self) -> None:
        agents = self.agents
        n = len(agents)
        if n == 0:
            return
        pos = np.array([a.pos for a in agents])
        speeds = np.array([a.speed for a in agents])
        walking = np.array([a.state in (State.WALKING, State.LEAVING, State.QUEUEING)
                            for a in agents])
        queueing = np.array([a.state == State.QUEUEING for a in agents])
        goals = np.array([a.goal for a in agents], dtype=np.int64)
        target, remaining = self.nav.waypoints(goals, pos)
        v = target - pos
        d = np.sqrt((v**2).sum(axis=1))
        moving = walking & (d > 0.05)
        # slow down on the final approach so people stop at their spot
        s = speeds * np.clip(remaining / 0.8, 0.25, 1.0)
        s = np.where(queueing, np.minimum(s, 0.8), s)
        desired = np.where(moving[:, None], v / np.maximum(d, 1e-9)[:, None] * s[:, None], 0.0)
        # social force: push apart within PERSONAL_M, slow when someone is right ahead
        diff = pos[:, None, :] - pos[None, :, :]
        dist = np.sqrt((diff**2).sum(-1))
        np.fill_diagonal(dist, np.inf)
        close = dist < PERSONAL_M
        # people on the very same spot: separate them along x by index (deterministic)
        same = dist < 1e-6
        if same.any():
            idx = np.arange(n)
            diff[..., 0] = np.where(same, np.sign(idx[:, None] - idx[None, :]) * 1e-3,
                                    diff[..., 0])
            dist = np.where(same, 1e-3, dist)
        push = np.where(close[..., None],
                        diff / np.maximum(dist, 1e-6)[..., None]
                        * ((PERSONAL_M - np.minimum(dist, PERSONAL_M)) / PERSONAL_M)[..., None],
                        0.0).sum(axis=1)
        groups = np.array([a.group for a in agents])
        dir_des = desired / np.maximum(np.linalg.norm(desired, axis=1, keepdims=True), 1e-9)
        ahead = ((-diff) * dir_des[:, None, :]).sum(-1)  # >0: j is in front of i
        blocking = close & (ahead > 0.2) & (groups[:, None] != groups[None, :])
        slow = np.where(blocking.any(axis=1), 0.5, 1.0)
        vel = desired * slow[:, None] + push * 0.9
        sp = np.linalg.norm(vel, axis=1)
        vel *= (np.minimum(sp, speeds * 1.1) / np.maximum(sp, 1e-9))[:, None]
        new = pos + vel * STEP_S
        ok = self.nav.is_free(new)
        # slide along obstacles: try each axis alone before standing still
        for axis in (0, 1):
            trial = pos.copy()
            trial[:, axis] = new[:, axis]
            use = ~ok & self.nav.is_free(trial)
            new[use] = trial[use]
            ok |= use
        new[~ok] = pos[~ok]
        vel = (new - pos) / STEP_S
        for i, a in enumerate(agents):
            a.vel = vel[i]
            a.pos = new[i]
            sp_i = float(np.linalg.norm(vel[i]))
            if sp_i > 0.15 and moving[i]:
                h = a.heading * 0.7 + vel[i] / sp_i * 0.3
                a.heading = h / max(float(np.linalg.norm(h)), 1e-9)
            a.phase = (a.phase + sp_i * STEP_S / 0.7 * np.pi) % (2 * np.pi)

    def step(self) -> Crowd:
        """Advance one step of :data:`STEP_S` seconds and return the new :class:`Crowd`."""
        t = self.step_index * STEP_S
        n_new = int(self.rng.poisson(self.scenario.arrival_rate_per_s(t) * STEP_S))
        for _ in range(n_new):
            self._spawn_group(initial=False)
        gone = self._update_states()
        if gone:
            ids = {a.pid for a in gone}
            self.agents = [a for a in self.agents if a.pid not in ids]
        self._move()
        self.step_index += 1
        return self.crowd()

    def crowd(self) -> Crowd:
        """Everyone on the floor now."""
        agents = self.agents
        n = len(agents)
        colours = np.zeros((n, 4, 3), dtype=np.uint8)
        for i, a in enumerate(agents):
            ap = a.appearance
            colours[i] = (ap.shirt, ap.trousers, ap.skin, ap.hair)
        return Crowd(
            t=self.step_index * STEP_S,
            step=self.step_index,
            ids=np.array([a.pid for a in agents], dtype=np.int64),
            pos=np.array([a.pos for a in agents], dtype=float).reshape(n, 2),
            vel=np.array([a.vel for a in agents], dtype=float).reshape(n, 2),
            heading=np.array([a.heading for a in agents], dtype=float).reshape(n, 2),
            phase=np.array([a.phase for a in agents], dtype=float),
            state=np.array([int(a.state) for a in agents], dtype=np.int64),
            height=np.array([a.appearance.height_m for a in agents], dtype=float),
            build=np.array([a.appearance.build for a in agents], dtype=float),
            colours=colours,
        )
