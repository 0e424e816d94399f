"""The ground's shape and the road laid out on it.

Driving scenes are laid out in *road coordinates*: ``s`` along the road, ``d`` across it (left
positive), ``z`` up from the road surface. Placement, traffic and the road paint all work there, on a
straight flat road; :class:`GroundShape` then maps road coordinates to the world, exactly both ways:

- in plan view, an arc of ``curvature`` κ (1/m, > 0 bends left; 0 straight): the road axis is the
  circle of radius 1/κ through the origin, tangent to +x there;
- vertically, the curve z = ½·a·x² over world x within ±``extent`` (``vertical_curvature`` a, 1/m:
  > 0 a sag, < 0 a crest; the grade at x is a·x), continued by its tangent planes beyond (a real
  vertical curve joins two constant grades), which the ray-caster intersects analytically.

Poses are warped rigidly at their contact point (:meth:`GroundShape.warp`): a vehicle keeps its shape,
turns with the road's heading at its position and tilts with the local grade, and its contact point
lies on the surface. The renderer paints the environment at ``to_ground(world)`` and the road labels
read the same mapping, so paint, geometry and labels cannot disagree. A flat straight ground
(κ = a = 0) is the identity, bit for bit.

:class:`RoadLayout` says what is painted and built across the road: lanes per direction and their
width, the asphalt verge and optional parking strip, a kerb, a sidewalk, the marking styles and an
optional intersection with a traffic light for the main road (the crossing road gets the opposite).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["GroundShape", "RoadLayout", "Intersection", "VERGE", "KERB", "CROSSWALK"]

VERGE = 0.6  # m of asphalt beyond the edge line
KERB = 0.2  # m, kerb stone between asphalt and sidewalk
CROSSWALK = 3.0  # m, zebra crossing depth
STOP_MARGIN = 1.0  # m between the stop line and the crossing


def _lib(x: Any):
    """numpy or torch, whichever ``x`` belongs to (the renderer calls these on tensors)."""
    if isinstance(x, np.ndarray) or np.isscalar(x):
        return np
    import torch

    return torch


@dataclass(frozen=True)
class GroundShape:
    curvature: float = 0.0
    vertical_curvature: float = 0.0
    extent: float = 80.0  # m either side of x = 0 over which the grade changes

    @property
    def flat(self) -> bool:
        return self.vertical_curvature == 0.0

    @property
    def straight(self) -> bool:
        return self.curvature == 0.0

    @property
    def identity(self) -> bool:
        return self.flat and self.straight

    def height(self, x):
        """World z of the ground surface above world x."""
        xc = _lib(x).clip(x, -self.extent, self.extent) if not np.isscalar(x) else min(max(x, -self.extent), self.extent)
        return self.vertical_curvature * xc * (0.5 * xc + (x - xc))

    def slope(self, x):
        """dz/dx of the ground at world x (the grade)."""
        xc = _lib(x).clip(x, -self.extent, self.extent) if not np.isscalar(x) else min(max(x, -self.extent), self.extent)
        return self.vertical_curvature * xc

    def to_world_xy(self, s, d):
        """Road (s, d) → world (x, y)."""
        if self.straight:
            return s, d
        xp = _lib(s)
        R = 1.0 / self.curvature
        return (R - d) * xp.sin(self.curvature * s), R - (R - d) * xp.cos(self.curvature * s)

    def to_ground(self, x, y):
        """World (x, y) → road (s, d): the inverse of :meth:`to_world_xy` (within half a turn)."""
        if self.straight:
            return x, y
        xp = _lib(x)
        R = 1.0 / self.curvature
        sgn = 1.0 if R > 0 else -1.0
        theta = xp.atan2(sgn * x, sgn * (R - y)) if xp is not np else np.arctan2(sgn * x, sgn * (R - y))
        return theta * R, R - sgn * xp.hypot(x, R - y)

    def warp(self, poses: np.ndarray) -> np.ndarray:
        """Poses laid out in road coordinates → world poses (see module docstring). Shape: (..., 4, 4)."""
        if self.identity:
            return poses
        s, d, z = poses[..., 0, 3], poses[..., 1, 3], poses[..., 2, 3]
        X, Y = self.to_world_xy(s, d)
        yaw = self.curvature * s
        tilt = -np.arctan(self.slope(X))  # about world y: turns +z onto the ground normal
        cy, sy, ct, st = np.cos(yaw), np.sin(yaw), np.cos(tilt), np.sin(tilt)
        o, i = np.zeros_like(yaw), np.ones_like(yaw)
        Rz = np.stack([np.stack([cy, -sy, o], -1), np.stack([sy, cy, o], -1), np.stack([o, o, i], -1)], -2)
        Ry = np.stack([np.stack([ct, o, st], -1), np.stack([o, i, o], -1), np.stack([-st, o, ct], -1)], -2)
        turn = Ry @ Rz
        out = poses.copy()
        out[..., :3, :3] = turn @ poses[..., :3, :3]
        ground = np.stack([X, Y, self.height(X)], -1)
        out[..., :3, 3] = ground + z[..., None] * turn[..., :, 2]
        return out


@dataclass(frozen=True)
class Intersection:
    """A crossing road at ``at`` (m along the main road) with ``lanes`` per direction; ``light`` is
    the main road's signal (``green`` or ``red``), the crossing road shows the other."""

    at: float
    lanes: int
    light: str

    @property
    def cross_light(self) -> str:
        return "red" if self.light == "green" else "green"


@dataclass(frozen=True)
class RoadLayout:
    """What lies across the road (metres, road coordinates; see module docstring)."""

    lanes: int = 2
    lane_width: float = 3.5
    sidewalk: float = 0.0
    parking: float = 0.0
    centre_line: str = "double"  # double | solid | dashed
    lane_line: str = "dashed"  # dashed | solid
    intersection: Intersection | None = None

    @property
    def half(self) -> float:
        """|d| of the edge lines: the carriageway's half width."""
        return self.lanes * self.lane_width

    @property
    def asphalt_half(self) -> float:
        """|d| where the asphalt ends (edge line + verge + parking strip); the kerb starts there."""
        return self.half + VERGE + self.parking

    @property
    def sidewalk_inner(self) -> float:
        return self.asphalt_half + (KERB if self.sidewalk > 0 else 0.0)

    @property
    def sidewalk_outer(self) -> float:
        return self.sidewalk_inner + self.sidewalk

    def lane_centre(self, lane: int) -> float:
        """d of lane id ``lane``: +1 … +lanes drive +s (right-hand traffic: d < 0), −1 … −lanes oncoming."""
        return -np.sign(lane) * (abs(lane) - 0.5) * self.lane_width

    def lane_of_fraction(self, u: float, road: str = "main") -> int:
        """A signed lane id from a fraction in [−1, 1] (−1…0: the +s lanes, 0…1: oncoming), uniform
        over the lanes of the side whatever their number (``road``: main or the crossing's)."""
        n = self.lanes if road == "main" or self.intersection is None else self.intersection.lanes
        k = int(min(n, max(1, np.ceil(abs(u) * n))))
        return k if u <= 0 else -k

    # -- the intersection's zones along each road ------------------------------------------------------
    def cross_half(self) -> float:
        return 0.0 if self.intersection is None else self.intersection.lanes * self.lane_width

    def stop_distance(self, road: str) -> float:
        """Distance from the crossing's centre to the stop line on ``road`` (main | cross)."""
        other = self.cross_half() if road == "main" else self.half
        return other + VERGE + CROSSWALK + STOP_MARGIN

    def light_of(self, road: str) -> str | None:
        if self.intersection is None:
            return None
        return self.intersection.light if road == "main" else self.intersection.cross_light

    def as_params(self) -> dict[str, Any]:
        out = {"lanes": self.lanes, "lane_width": self.lane_width, "sidewalk": self.sidewalk, "parking": self.parking,
               "centre_line": self.centre_line, "lane_line": self.lane_line}
        if self.intersection is not None:
            out["intersection"] = {"at": self.intersection.at, "lanes": self.intersection.lanes,
                                   "light": self.intersection.light}
        return out
