"""Pedestrians on the sidewalks: the ``walk`` object motion.

The road runs along world x (see :mod:`.traffic`): the carriageway's edge is at |y| = ``lanes``·``lane_width``,
then ``verge`` metres of asphalt and a ``curb``; the sidewalk band is |y| ∈ [inner, inner + ``sidewalk_width``]
with inner = lanes·lane_width + verge + curb. Each side's band is split lengthwise: people keep right
(walking +x on the y < 0 side: the outer half; walking −x: the half next to the road; mirrored on the
y > 0 side), with ``min_gap`` metres between the halves, so people walking towards each other never
meet. Within a half, people walking one way follow one another (a 1D follower with a hard guard, like
traffic's): a follower slows to keep at least ``min_gap`` metres to anyone ahead whose body overlaps
its own sideways, so no two walkers ever interpenetrate and nobody leaves the band. Everyone rests on
the ground at the height they were placed and faces the way they walk. Objects that do not move (motion
``static``: lamp posts, signal poles on the sidewalk) are obstacles: a walker whose file they block
stops behind them (no sidestepping yet). The gait (limb swings) follows
the distance walked (:mod:`synthdata.motion.parts`), so a walker held up by others slows its stride.

When the scene has a road with sidewalks (``environment.road``, ``ctx.road``), its band is used instead of
these params, and walkers work in road coordinates like every motion (rollout bends them onto the road).
Where a crossing road cuts the sidewalk, walkers wait at its kerb (an obstacle across the whole band).

Bodies (parts, swings and a COCO skeleton on the limbs) are recipe data: recipes/recipe/pedestrians.yaml.
Shapes: n walkers; poses (T', n, 4, 4) as every object motion returns.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field, model_validator

from ...errors import UserError
from ...geometry import pose, rot_z
from ...motion.registry import MotionContext, MotionParams, ObjectMotion
from ...scene.ground import VERGE

__all__ = ["WalkParams", "WALK", "walk", "sidewalk_band"]

SUBSTEPS = 4
MIN_HALF = 0.8  # m, the narrowest half-band (one per direction) a recipe may ask for: bodies up to this wide
RELAX_S = 0.5  # s, a follower closes a gap above min_gap at most this fast: v ≤ (gap − min_gap) / RELAX_S


class WalkParams(MotionParams):
    """Per walker: ``speed`` (m/s) and ``direction`` (+1 walks +x, −1 walks −x; the sign is what counts).
    Road-wide values (the road geometry and ``min_gap``) are taken from the first walker."""

    speed: float = Field(1.4, ge=0.0, le=4.0)
    direction: float = 1.0
    min_gap: float = Field(0.3, ge=0.0, le=5.0)
    lanes: float = Field(2, ge=1, le=6)
    lane_width: float = Field(3.5, ge=2.0, le=6.0)
    verge: float = Field(0.6, ge=0.0, le=10.0)
    curb: float = Field(0.15, ge=0.0, le=2.0)
    sidewalk_width: float = Field(3.0, ge=1.0, le=20.0)

    @model_validator(mode="after")
    def _halves_fit(self) -> "WalkParams":
        if (self.sidewalk_width - self.min_gap) / 2 < MIN_HALF:
            raise ValueError(f"sidewalk_width {self.sidewalk_width:g} m leaves {(self.sidewalk_width - self.min_gap) / 2:.2f} m "
                             f"per walking direction; expected at least {MIN_HALF} m (2 × {MIN_HALF} + min_gap)")
        return self


def sidewalk_band(lanes: float, lane_width: float, verge: float, curb: float, width: float) -> tuple[float, float]:
    """(inner, outer) |y| of the sidewalk, metres."""
    inner = lanes * lane_width + verge + curb
    return inner, inner + width


def _band(p: dict[str, np.ndarray], road) -> tuple[float, float]:
    """(inner, outer) |y| of the sidewalk: the scene's road's when it has sidewalks, else the params'."""
    if road is not None and getattr(road, "sidewalk", 0) > 0:
        return float(road.sidewalk_inner), float(road.sidewalk_outer)
    return sidewalk_band(*(float(p[k][0]) for k in ("lanes", "lane_width", "verge", "curb", "sidewalk_width")))


def _lateral(y0: np.ndarray, d: np.ndarray, half_y: np.ndarray, p: dict[str, np.ndarray], road=None) -> np.ndarray:
    """Each walker's y: its placed y, moved into its keep-right half of its side's band (body inside)."""
    inner, outer = _band(p, road)
    mid, gap = (inner + outer) / 2, float(p["min_gap"][0])
    side = np.where(y0 < 0, -1.0, 1.0)
    outer_half = (d * side) < 0  # +x on the y<0 side, −x on the y>0 side: the half away from the road
    lo = np.where(outer_half, mid + gap / 2, inner) + half_y
    hi = np.where(outer_half, outer, mid - gap / 2) - half_y
    if (lo > hi + 1e-9).any():
        raise UserError("motion.params.sidewalk_width", f"a walker {2 * half_y.max():.2f} m wide does not fit half "
                        f"the sidewalk ({(outer - inner - gap) / 2:.2f} m, one half per direction): widen it")
    return side * np.clip(np.abs(y0), lo, hi)


def walk(pose0, half, p, ctx: MotionContext):
    """The ``walk`` object motion (module docstring)."""
    times, n = ctx.times, pose0.shape[0]
    d = np.where(p["direction"] < 0, -1.0, 1.0)
    y = _lateral(pose0[:, 1, 3], d, half[:, 1], p, ctx.road)
    s = d * pose0[:, 0, 3]  # position along the own direction
    v0, gap = p["speed"].astype(np.float64), float(p["min_gap"][0])
    length = half[:, 0]
    # who can bump into whom: same direction (hence same half-band) and bodies overlapping sideways
    conflict = (d[:, None] == d[None]) & (np.abs(y[:, None] - y[None]) < half[:, 1][:, None] + half[:, 1][None] + gap)
    np.fill_diagonal(conflict, False)
    # static obstacles as walkers that never move: their extent along x and y from their turned boxes
    P0, H0 = ctx.shared.get("static", (np.zeros((0, 4, 4)), np.zeros((0, 3))))
    ext = np.abs(P0[:, :2, :2]) @ H0[:, :2, None] if len(P0) else np.zeros((0, 2, 1))
    ox, oy, ex, ey = P0[:, 0, 3], P0[:, 1, 3], ext[:, 0, 0], ext[:, 1, 0]
    blocks = np.abs(y[:, None] - oy[None]) < half[:, 1][:, None] + ey[None] + gap  # (n, m)
    road = ctx.road
    if road is not None and road.intersection is not None:  # walkers wait at the kerb of the crossing road
        arm = road.cross_half() + VERGE
        ox, ex = np.append(ox, road.intersection.at), np.append(ex, arm)
        blocks = np.hstack([blocks, np.ones((n, 1), bool)])
    conflict = np.hstack([conflict, blocks])  # (n, n + m): walker i's file holds walker / obstacle j
    length = np.concatenate([length, ex])
    dt = ((times[1] - times[0]) if len(times) > 1 else 0.0) / SUBSTEPS
    xs = np.empty((len(times), n))

    def along(s_w: np.ndarray) -> np.ndarray:
        """(n, n+m) every walker's and obstacle's position along walker i's own direction."""
        pos = np.concatenate([s_w * d, ox])  # world x
        return d[:, None] * pos[None]

    def guard(s: np.ndarray) -> np.ndarray:
        """Front to back: nobody closer than ``gap`` to anyone (or anything) ahead in their file (passes
        repeat until none moves: a walker pushed back may land behind one it did not conflict with)."""
        s = s.copy()
        for _ in range(n + 1):
            moved = False
            for i in np.argsort(-s, kind="stable"):
                a = along(s)[i]
                # ahead, or overlapping from just behind (a walker moved sideways into its half-band
                # can land on a lamp post): either way it must end up behind it
                ahead = conflict[i] & ((a >= s[i]) | (a + length + length[i] + gap > s[i]))
                ahead[i] = False
                if ahead.any():
                    limit = float((a[ahead] - length[ahead]).min()) - length[i] - gap
                    if limit < s[i] - 1e-12:
                        s[i], moved = limit, True
            if not moved:
                break
        return s

    s = guard(s)
    for k in range(len(times)):
        xs[k] = d * s
        for _ in range(SUBSTEPS if k < len(times) - 1 else 0):
            a = along(s)
            ahead = conflict & (a > s[:, None])
            room = np.where(ahead, a - length[None] - s[:, None] - length[:n, None] - gap, np.inf).min(1)
            v = np.minimum(v0, np.maximum(room, 0.0) / RELAX_S)
            s = guard(s + v * dt)
    pos = np.stack([xs, np.broadcast_to(y, xs.shape), np.broadcast_to(pose0[:, 2, 3], xs.shape)], -1)
    yaw = np.broadcast_to(np.where(d > 0, 0.0, np.pi), xs.shape)
    return pose(rot_z(yaw), pos)


WALK = ObjectMotion(WalkParams, walk)
