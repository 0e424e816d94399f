"""Traffic on a straight road along world +x: IDM car-following and MOBIL lane changes, ego included.

Object motion ``traffic`` moves every object that names it *together*, and the camera motion
``ego_traffic`` drives the camera as one more agent of the same simulation, so vehicles slow down
behind others (and behind the ego) instead of passing through them, and the ego slows behind its lead
car. Right-hand traffic: lanes with y < 0 drive +x, lanes with y > 0 drive −x; lane k of a direction
is centred at |y| = (k + ½)·``lane_width``. An agent starts where it is placed and settles into the
lane nearest its placement within 3 s.

- IDM (Treiber, Hennecke & Helbing 2000): a = a_max·[1 − (v/v₀)⁴ − (s*/s)²],
  s* = s₀ + max(0, v·T + v·Δv / (2√(a_max·b))), with s the bumper-to-bumper gap to the leader.
- MOBIL (Kesting, Treiber & Helbing 2007), checked once a second: change lanes when the new follower
  need not brake harder than ``safe_decel`` and both gaps stay ≥ s₀, and the own gain plus
  ``politeness`` × the followers' gains exceeds 0.2 m/s². A change takes 3 s; during it the vehicle
  occupies both lanes (followers in both see it).
- A hard guard after each step keeps every gap ≥ 0.5 m (emergency braking beyond IDM's comfort), so
  no two agents of one simulation ever overlap — the plausibility invariant, tested on hundreds of
  clips (``benchmarks/plausibility.py`` reports it).

Shapes: n agents; poses (T', n, 4, 4) as every object motion returns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydantic import Field

from ...geometry import pose, rot_z
from ...motion.camera import EgoForwardParams, _shake, _small_rotation
from ...motion.registry import CameraMotion, MotionContext, MotionParams, ObjectMotion

__all__ = ["TrafficParams", "EgoTrafficParams", "TRAFFIC", "EGO_TRAFFIC", "simulate", "EGO_LENGTH", "CAMERA_BEHIND_FRONT"]

SUBSTEPS = 4
GUARD_GAP = 0.5  # m, the hard minimum bumper-to-bumper gap
CHANGE_S = 3.0  # s, duration of a lane change
DECIDE_EVERY_S = 1.0
GAIN_THRESHOLD = 0.2  # m/s², MOBIL's switching threshold
EGO_LENGTH, EGO_WIDTH = 4.6, 1.85  # the ego vehicle the camera rides in
CAMERA_BEHIND_FRONT = 1.9  # m from the front bumper to the camera (windscreen)


class TrafficParams(MotionParams):
    """Per vehicle: desired ``speed`` (m/s, the direction comes from the lane side); road-wide values
    (``lane_width``, ``lanes`` per direction) are taken from the first vehicle."""

    speed: float = Field(25.0, ge=0.0, le=90.0)
    headway: float = Field(1.5, gt=0.0, le=10.0)  # desired time gap T (s)
    min_gap: float = Field(2.0, ge=0.5, le=50.0)  # s0 (m)
    accel: float = Field(1.5, gt=0.0, le=10.0)  # a_max (m/s²)
    decel: float = Field(2.0, gt=0.0, le=10.0)  # comfortable b (m/s²)
    politeness: float = Field(0.3, ge=0.0, le=1.0)
    safe_decel: float = Field(4.0, gt=0.0, le=10.0)
    lane_width: float = Field(3.5, ge=2.0, le=6.0)
    lanes: float = Field(2, ge=1, le=6)  # per direction (a number: motion params are numbers)
    keep_lane: float = Field(0, ge=0, le=1)  # 1: never changes lanes (cyclists in the kerb lane); others overtake


class EgoTrafficParams(TrafficParams, EgoForwardParams):
    """The ego camera as a traffic agent: ``traffic``'s params (``speed`` is its desired speed) plus
    ``ego_forward``'s road bob and shake."""


@dataclass
class Agents:
    """Simulation state, one entry per agent; ``s`` is the position along its own direction (d·x)."""

    d: np.ndarray  # (n,) ±1, travel direction along x
    s: np.ndarray  # (n,) centre, m
    v: np.ndarray  # (n,) speed ≥ 0
    length: np.ndarray  # (n,)
    lane: np.ndarray  # (n,) int, current lane index within the direction
    target: np.ndarray  # (n,) int, lane being changed into (= lane when not changing)
    since: np.ndarray  # (n,) s since the change began
    offset: np.ndarray  # (n,) lateral offset from the lane centre at the start, fading out
    v0: np.ndarray
    T: np.ndarray
    s0: np.ndarray
    a: np.ndarray
    b: np.ndarray
    p: np.ndarray
    bsafe: np.ndarray
    keep: np.ndarray | None = None  # (n,) > 0: never changes lanes


def _occupies(ag: Agents, i: int, lane: int) -> bool:
    return ag.lane[i] == lane or ag.target[i] == lane


def _neighbours(ag: Agents, i: int, lane: int) -> tuple[int, int]:
    """(leader, follower) of agent i in ``lane`` of its direction; -1 when none."""
    lead, follow, best_l, best_f = -1, -1, np.inf, np.inf
    for j in range(len(ag.s)):
        if j == i or ag.d[j] != ag.d[i] or not _occupies(ag, j, lane):
            continue
        ds = ag.s[j] - ag.s[i]
        if ds > 0 or (ds == 0 and j > i):
            if ds < best_l:
                lead, best_l = j, ds
        elif -ds < best_f:
            follow, best_f = j, -ds
    return lead, follow


def _gap(ag: Agents, back: int, front: int) -> float:
    return float(ag.s[front] - ag.s[back] - (ag.length[front] + ag.length[back]) / 2)


def _idm(ag: Agents, i: int, lead: int, s_i: float | None = None) -> float:
    """IDM acceleration of agent i behind ``lead`` (-1: free road); ``s_i`` overrides its position."""
    v, v0 = ag.v[i], max(ag.v0[i], 0.1)
    free = ag.a[i] * (1 - (v / v0) ** 4)
    if lead < 0:
        return float(free)
    pos = ag.s[i] if s_i is None else s_i
    gap = max(ag.s[lead] - pos - (ag.length[lead] + ag.length[i]) / 2, 0.1)
    dv = v - ag.v[lead]
    s_star = ag.s0[i] + max(0.0, v * ag.T[i] + v * dv / (2 * np.sqrt(ag.a[i] * ag.b[i])))
    return float(free - ag.a[i] * (s_star / gap) ** 2)


def _consider_change(ag: Agents, i: int, lanes: int) -> None:
    """MOBIL for agent i: move to the best safe adjacent lane with enough incentive."""
    if ag.target[i] != ag.lane[i] or ag.v[i] < 1.0 or (ag.keep is not None and ag.keep[i] > 0):
        return
    lead, follow = _neighbours(ag, i, ag.lane[i])
    a_self = _idm(ag, i, lead)
    a_old_follow_now = _idm(ag, follow, i) if follow >= 0 else 0.0
    best, best_gain = -1, GAIN_THRESHOLD
    for lane in (ag.lane[i] - 1, ag.lane[i] + 1):
        if not 0 <= lane < lanes:
            continue
        new_lead, new_follow = _neighbours(ag, i, lane)
        if new_lead >= 0 and _gap(ag, i, new_lead) < ag.s0[i]:
            continue
        if new_follow >= 0 and _gap(ag, new_follow, i) < ag.s0[new_follow]:
            continue
        a_new_follow_after = _idm(ag, new_follow, i) if new_follow >= 0 else 0.0
        if a_new_follow_after < -ag.bsafe[i]:
            continue
        a_new_follow_now = _idm(ag, new_follow, new_lead) if new_follow >= 0 else 0.0
        a_old_follow_after = _idm(ag, follow, lead) if follow >= 0 else 0.0
        gain = (_idm(ag, i, new_lead) - a_self
                + ag.p[i] * ((a_new_follow_after - a_new_follow_now) + (a_old_follow_after - a_old_follow_now)))
        if gain > best_gain:
            best, best_gain = lane, gain
    if best >= 0:
        ag.target[i], ag.since[i] = best, 0.0


def _guard(ag: Agents) -> None:
    """Front to back: no gap below GUARD_GAP in any lane an agent occupies."""
    for i in np.argsort(-ag.s, kind="stable"):
        for lane in {int(ag.lane[i]), int(ag.target[i])}:
            lead, _ = _neighbours(ag, i, lane)
            if lead >= 0 and _gap(ag, i, lead) < GUARD_GAP:
                ag.s[i] = ag.s[lead] - (ag.length[lead] + ag.length[i]) / 2 - GUARD_GAP
                ag.v[i] = min(ag.v[i], ag.v[lead])


def _settle_speeds(ag: Agents, stop: np.ndarray) -> None:
    """Start every agent no faster than lets it follow its leader at the placed gap, and stop at its
    red line (``stop``: +inf for none), braking at most IDM's comfortable ``decel`` (front to back, so a
    leader's own start speed counts). Agents started at their desired speed, and one placed close
    behind a slower car began the clip braking at the −9 m/s² clamp (28% of highway vehicles above
    4.5 m/s², measured by a review)."""
    for i in np.argsort(-ag.s, kind="stable"):
        leads = [lead for lead in (_neighbours(ag, i, lane)[0] for lane in {int(ag.lane[i]), int(ag.target[i])})
                 if lead >= 0]

        def ok() -> bool:
            acc = min((_idm(ag, i, lead) for lead in leads), default=np.inf)
            return min(acc, _idm_stop(ag, i, stop[i]) if np.isfinite(stop[i]) else np.inf) >= -ag.b[i]

        if (not leads and not np.isfinite(stop[i])) or ok():
            continue
        lo, hi = 0.0, float(ag.v[i])
        for _ in range(24):  # IDM's braking grows with speed: bisect to ~speed / 2^24
            ag.v[i] = (lo + hi) / 2
            lo, hi = (ag.v[i], hi) if ok() else (lo, ag.v[i])
        ag.v[i] = lo


def _smooth(u: np.ndarray | float) -> np.ndarray:
    u = np.clip(u, 0, 1)
    return u * u * (3 - 2 * u)


def _centre(d: np.ndarray, lane: np.ndarray, lane_width: float) -> np.ndarray:
    return -d * (lane + 0.5) * lane_width


def _lateral(ag: Agents, lane_width: float, clock: float) -> np.ndarray:
    """World y of every agent: its lane centre, blended (smoothstep) towards the target lane, plus the
    start offset fading over CHANGE_S."""
    here, there = _centre(ag.d, ag.lane, lane_width), _centre(ag.d, ag.target, lane_width)
    change = np.where(ag.target != ag.lane, _smooth(ag.since / CHANGE_S), 0.0)
    return here + (there - here) * change + ag.offset * (1 - _smooth(clock / CHANGE_S))


def _idm_stop(ag: Agents, i: int, line: float) -> float:
    """IDM acceleration of agent i towards a standing obstacle (a red stop line) at ``line``."""
    v, v0 = ag.v[i], max(ag.v0[i], 0.1)
    gap = max(line - ag.s[i] - ag.length[i] / 2, 0.1)
    s_star = ag.s0[i] * 0.5 + max(0.0, v * ag.T[i] + v * v / (2 * np.sqrt(ag.a[i] * ag.b[i])))
    return float(ag.a[i] * (1 - (v / v0) ** 4) - ag.a[i] * (s_star / gap) ** 2)


def stop_lines(ag: Agents, line: float) -> np.ndarray:
    """Per agent, where its front must stop (its own s coordinate), +inf for agents already past it.
    ``line`` is the stop line's distance before the crossing, which sits at s = 0 of every direction's
    coordinate once shifted (:func:`_road_sim`). Agents that must stop start no faster than lets them stop at
    ``safe_decel``."""
    front = ag.s + ag.length / 2
    stop = np.where(front <= -line + 1e-6, -line, np.inf)
    room = np.maximum(stop - front - 0.5 * ag.s0, 0.0)
    ag.v = np.where(np.isfinite(stop), np.minimum(ag.v, np.sqrt(2 * ag.bsafe * np.where(np.isfinite(room), room, 0.0))), ag.v)
    return stop


def simulate(ag: Agents, times: np.ndarray, lanes: int, lane_width: float,
             stop: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, y, yaw) of every agent at ``times``: each (T', n). ``stop`` (n,): where each agent's front
    must stop (a red light; +inf: no stop)."""
    n, Tn = len(ag.s), len(times)
    stop = np.full(n, np.inf) if stop is None else stop
    xs, ys, yaws = np.empty((Tn, n)), np.empty((Tn, n)), np.empty((Tn, n))
    dt = ((times[1] - times[0]) if Tn > 1 else 0.0) / SUBSTEPS
    _guard(ag)
    _settle_speeds(ag, stop)
    next_decision = 0.0
    clock = 0.0
    for k in range(Tn):
        y = _lateral(ag, lane_width, clock)
        xs[k], ys[k] = ag.d * ag.s, y
        for _ in range(SUBSTEPS if k < Tn - 1 else 0):
            if clock >= next_decision:
                for i in range(n):
                    _consider_change(ag, i, lanes)
                next_decision += DECIDE_EVERY_S
            acc = np.empty(n)
            for i in range(n):
                acc[i] = min(_idm(ag, i, _neighbours(ag, i, lane)[0]) for lane in {int(ag.lane[i]), int(ag.target[i])})
                if np.isfinite(stop[i]):
                    acc[i] = min(acc[i], _idm_stop(ag, i, stop[i]))
            ag.v = np.maximum(ag.v + np.maximum(acc, -9.0) * dt, 0.0)
            ag.s = ag.s + ag.v * dt
            held = ag.s + ag.length / 2 > stop  # the hard guard at a red line
            ag.s = np.where(held, stop - ag.length / 2, ag.s)
            ag.v = np.where(held, 0.0, ag.v)
            changing = ag.target != ag.lane
            ag.since = np.where(changing, ag.since + dt, 0.0)
            done = changing & (ag.since >= CHANGE_S)
            ag.lane = np.where(done, ag.target, ag.lane)
            _guard(ag)
            clock += dt
    # heading follows the path: yaw from the finite-difference velocity in the xy plane
    vx = np.gradient(xs, axis=0) if Tn > 1 else np.zeros_like(xs)
    vy = np.gradient(ys, axis=0) if Tn > 1 else np.zeros_like(ys)
    moving = np.hypot(vx, vy) > 1e-6
    heading = np.where(ag.d > 0, 0.0, np.pi)[None].repeat(Tn, 0)
    yaws[:] = np.where(moving, np.arctan2(vy, np.where(moving, vx, 1.0)), heading)
    return xs, ys, yaws


def _agents(y0: np.ndarray, x0: np.ndarray, length: np.ndarray, p: dict[str, np.ndarray], lanes: int,
            lane_width: float) -> Agents:
    d = np.where(y0 <= 0, 1.0, -1.0)
    lane = np.clip(np.round(np.abs(y0) / lane_width - 0.5), 0, lanes - 1).astype(np.int64)
    n = len(y0)
    return Agents(d=d, s=d * x0, v=p["speed"].astype(np.float64).copy(), length=length.astype(np.float64), lane=lane,
                  target=lane.copy(), since=np.zeros(n), offset=y0 - _centre(d, lane, lane_width), v0=p["speed"], T=p["headway"], s0=p["min_gap"], a=p["accel"],
                  b=p["decel"], p=p["politeness"], bsafe=p["safe_decel"], keep=p.get("keep_lane"))


_AGENT_KEYS = ("speed", "headway", "min_gap", "accel", "decel", "politeness", "safe_decel", "keep_lane")


def _ego(pose0: np.ndarray, p: EgoTrafficParams) -> tuple[dict[str, np.ndarray], np.ndarray, int, float]:
    """The ego agent's params, its centre (x, y) and its (lanes, lane_width), from the camera's pose."""
    eye = pose0[:3, 3]
    d = 1.0 if eye[1] <= 0 else -1.0
    centre = np.array([eye[0] - d * (EGO_LENGTH / 2 - CAMERA_BEHIND_FRONT), eye[1]])
    return {k: np.array([getattr(p, k)]) for k in _AGENT_KEYS}, centre, int(p.lanes), p.lane_width


def _road_sim(ctx: MotionContext, which: str, x0: np.ndarray, y0: np.ndarray, length: np.ndarray,
              agent_p: dict[str, np.ndarray], lanes: int, lane_width: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Simulate the agents of one road (x along it, y across it, in that road's own frame) with the
    road's red stop line when its light is red."""
    ag = _agents(y0, x0, length, agent_p, lanes, lane_width)
    road = ctx.road
    stop = None
    if road is not None and road.light_of(which) == "red":
        at = road.intersection.at if which == "main" else 0.0
        ag.s = ag.s - ag.d * at  # the crossing at s = 0 of both directions
        stop = stop_lines(ag, road.stop_distance(which))
        ag.s = ag.s + ag.d * at
        stop = stop + ag.d * at
    return simulate(ag, ctx.times, lanes, lane_width, stop)


def traffic(pose0, half, p, ctx: MotionContext):
    """The ``traffic`` object motion: every vehicle naming it, plus the ego if the camera is
    ``ego_traffic``. On a recipe's road (``ctx.road``) the road's lanes and lane width apply, vehicles
    heading along ±y drive the crossing road (a simulation of their own, which never meets the main
    road's: one of the two has a red light, and nothing starts in its crossing zone), and vehicles
    stop at their road's red stop line."""
    road = ctx.road
    lanes, lane_width = (road.lanes, road.lane_width) if road is not None else (int(p["lanes"][0]), float(p["lane_width"][0]))
    cross = np.abs(pose0[:, 0, 0]) < 0.5  # heading along ±y: the crossing road
    main = ~cross
    x0, y0, length = pose0[main, 0, 3], pose0[main, 1, 3], 2 * half[main, 0]
    agent_p = {k: p[k][main] for k in _AGENT_KEYS}
    rides = ctx.camera_motion is not None and ctx.camera_motion[0] == "ego_traffic"
    ego = _ego(ctx.camera_pose0, EgoTrafficParams(**ctx.camera_motion[1])) if rides else None
    if ego is not None:
        ep, centre, _, _ = ego
        x0, y0 = np.append(x0, centre[0]), np.append(y0, centre[1])
        length = np.append(length, EGO_LENGTH)
        agent_p = {k: np.append(agent_p[k], ep[k]) for k in _AGENT_KEYS}
    T = len(ctx.times)
    xs, ys, yaws = np.empty((T, len(pose0))), np.empty((T, len(pose0))), np.empty((T, len(pose0)))
    mx, my, myaw = _road_sim(ctx, "main", x0, y0, length, agent_p, lanes, lane_width)
    m = int(main.sum())
    xs[:, main], ys[:, main], yaws[:, main] = mx[:, :m], my[:, :m], myaw[:, :m]
    if ego is not None:
        ctx.shared["ego"] = (mx[:, m], my[:, m], myaw[:, m])
    if cross.any():  # the crossing road's frame: x' = y, y' = at - x (x' grows with world y)
        at = road.intersection.at if road is not None and road.intersection is not None else 0.0
        cx, cy, cyaw = _road_sim(ctx, "cross", pose0[cross, 1, 3], at - pose0[cross, 0, 3], 2 * half[cross, 0],
                                 {k: p[k][cross] for k in _AGENT_KEYS},
                                 road.intersection.lanes if road is not None and road.intersection is not None else lanes,
                                 lane_width)
        xs[:, cross], ys[:, cross], yaws[:, cross] = at - cy, cx, cyaw + np.pi / 2
    pos = np.stack([xs, ys, np.broadcast_to(pose0[:, 2, 3], (T, len(pose0)))], -1)
    return pose(rot_z(yaws), pos)


def ego_traffic(pose0, target, p: EgoTrafficParams, ctx: MotionContext):
    """The ``ego_traffic`` camera motion: the camera rides the ego agent (alone on the road when no
    object moves by ``traffic``), keeping its height and pitch, looking along the ego's heading (the
    recipe's look-at sets the pitch only), with road bob and shake."""
    if "ego" not in ctx.shared:
        ep, centre, lanes, width = _ego(pose0, p)
        if ctx.road is not None:
            lanes, width = ctx.road.lanes, ctx.road.lane_width
        xs, ys, yaws = _road_sim(ctx, "main", centre[0:1], centre[1:2], np.array([EGO_LENGTH]), ep, lanes, width)
        ctx.shared["ego"] = (xs[:, 0], ys[:, 0], yaws[:, 0])
    x, y, yaw = ctx.shared["ego"]
    yaw0 = np.arctan2(pose0[1, 2], pose0[0, 2])  # the initial view's heading: replaced by the road's
    ahead = EGO_LENGTH / 2 - CAMERA_BEHIND_FRONT  # the camera sits this far ahead of the ego's centre
    eye = np.stack([x + ahead * np.cos(yaw), y + ahead * np.sin(yaw),
                    pose0[2, 3] + p.bob * np.sin(2 * np.pi * 1.3 * ctx.times)], -1)
    jitter = _shake(ctx, 3, np.radians(p.shake_deg), 0.8)
    rot = rot_z(yaw - yaw0) @ pose0[:3, :3][None] @ _small_rotation(jitter[:, 0], jitter[:, 1], jitter[:, 2] * 0.3)
    return pose(rot, eye)


TRAFFIC = ObjectMotion(TrafficParams, traffic)
EGO_TRAFFIC = CameraMotion(EgoTrafficParams, ego_traffic)
