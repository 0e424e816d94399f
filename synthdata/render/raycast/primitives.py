"""Analytic primitives in their unit frame (the object frame divided by the half-size).

A primitive is a pair of functions:
``intersect(o, d) -> t``: Shape: o, d (..., 3) broadcastable → t (...), +inf where missed. ``t`` is in
units of ``d``'s length and is unchanged by the unit scaling, so it is the world ray parameter too.
``normal(p) -> n``: Shape: p (M,3) unit-frame hit points → (M,3) unit-frame normals (not normalised).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ...lazy import torch
from ...floats import sqrt

from ...registry import Registry

__all__ = ["Primitive", "PRIMITIVES", "EPS"]

EPS = 1e-4
INF = float("inf")


@dataclass(frozen=True)
class Primitive:
    intersect: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    normal: Callable[[torch.Tensor], torch.Tensor]


PRIMITIVES: Registry[Primitive] = Registry("primitive", "synthdata.primitives")


def _dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return a[..., 0] * b[..., 0] + a[..., 1] * b[..., 1] + a[..., 2] * b[..., 2]


def _nearest_positive(t0: torch.Tensor, t1: torch.Tensor, ok: torch.Tensor) -> torch.Tensor:
    t = torch.where(t0 > EPS, t0, t1)
    return torch.where(ok & (t > EPS), t, INF)


def sphere_intersect(o: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
    """Unit sphere |p| = 1 (ellipsoids after scaling)."""
    a = _dot(d, d)
    b = _dot(o, d)
    c = _dot(o, o) - 1
    disc = b * b - a * c
    s = sqrt(torch.clamp(disc, min=0))
    return _nearest_positive((-b - s) / a, (-b + s) / a, disc >= 0)


def sphere_normal(p: torch.Tensor) -> torch.Tensor:
    return p


def box_intersect(o: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
    """Unit cube [-1, 1]^3 by the slab method."""
    d = torch.where(d.abs() < 1e-12, torch.full_like(d, 1e-12), d)
    inv = 1.0 / d
    t1 = (-1 - o) * inv
    t2 = (1 - o) * inv
    lo, hi = torch.minimum(t1, t2), torch.maximum(t1, t2)
    tmin = torch.maximum(torch.maximum(lo[..., 0], lo[..., 1]), lo[..., 2])
    tmax = torch.minimum(torch.minimum(hi[..., 0], hi[..., 1]), hi[..., 2])
    return _nearest_positive(tmin, tmax, tmax >= tmin)


def box_normal(p: torch.Tensor) -> torch.Tensor:
    a = p.abs()
    axis = a.argmax(-1, keepdim=True)
    return torch.zeros_like(p).scatter_(-1, axis, torch.sign(p.gather(-1, axis)))


def cylinder_intersect(o: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
    """Unit solid cylinder x²+y² ≤ 1, |z| ≤ 1 (side and both caps)."""
    ox, oy, oz = o[..., 0], o[..., 1], o[..., 2]
    dx, dy, dz = d[..., 0], d[..., 1], d[..., 2]
    a = torch.clamp(dx * dx + dy * dy, min=1e-12)
    b = ox * dx + oy * dy
    c = ox * ox + oy * oy - 1
    disc = b * b - a * c
    s = sqrt(torch.clamp(disc, min=0))
    best = torch.full_like(disc, INF)  # the rays' broadcast shape (torch.broadcast_shapes would import sympy)
    for t in ((-b - s) / a, (-b + s) / a):
        z = oz + t * dz
        best = torch.where((disc >= 0) & (z.abs() <= 1) & (t > EPS) & (t < best), t, best)
    dz_safe = torch.where(dz.abs() < 1e-12, torch.full_like(dz, 1e-12), dz)
    for cap in (-1.0, 1.0):
        t = (cap - oz) / dz_safe
        x, y = ox + t * dx, oy + t * dy
        best = torch.where((x * x + y * y <= 1) & (t > EPS) & (t < best), t, best)
    return best


def cylinder_normal(p: torch.Tensor) -> torch.Tensor:
    r = sqrt(p[:, 0] ** 2 + p[:, 1] ** 2)
    cap = (1 - p[:, 2].abs()) < (1 - r)
    side = torch.stack([p[:, 0], p[:, 1], torch.zeros_like(r)], -1)
    top = torch.stack([torch.zeros_like(r), torch.zeros_like(r), torch.sign(p[:, 2])], -1)
    return torch.where(cap[:, None], top, side)


#: a capsule's caps are half-ellipsoids reaching CAP of the half-length along z in the unit frame: a
#: capsule of radius r and half-length h (caps included) is exactly hemispherical when r = CAP·h (limbs)
CAP = 1.0 / 3.0


def capsule_intersect(o: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
    """Unit capsule along z: the solid cylinder x²+y² ≤ 1, |z| ≤ 1 − CAP, closed by two half-ellipsoid
    caps x²+y²+((|z| − (1 − CAP))/CAP)² ≤ 1 (so it spans |z| ≤ 1). Nearest root past EPS of any piece
    (entry, or exit when the origin is inside, as for the other primitives)."""
    a_len = 1.0 - CAP
    ox, oy, oz = o[..., 0], o[..., 1], o[..., 2]
    dx, dy, dz = d[..., 0], d[..., 1], d[..., 2]
    a = torch.clamp(dx * dx + dy * dy, min=1e-12)
    b = ox * dx + oy * dy
    disc = b * b - a * (ox * ox + oy * oy - 1)
    best = torch.full_like(disc, INF)  # the rays' broadcast shape
    s = sqrt(torch.clamp(disc, min=0))
    for t in ((-b - s) / a, (-b + s) / a):
        z = oz + t * dz
        best = torch.where((disc >= 0) & (z.abs() <= a_len) & (t > EPS) & (t < best), t, best)
    for sign in (-1.0, 1.0):  # caps: unit spheres after z' = (z − sign·a_len) / CAP
        zc = (oz - sign * a_len) / CAP
        dzc = dz / CAP
        qa = dx * dx + dy * dy + dzc * dzc
        qb = ox * dx + oy * dy + zc * dzc
        qd = qb * qb - qa * (ox * ox + oy * oy + zc * zc - 1)
        qs = sqrt(torch.clamp(qd, min=0))
        for t in ((-qb - qs) / qa, (-qb + qs) / qa):
            z = oz + t * dz
            best = torch.where((qd >= 0) & (sign * z >= a_len) & (t > EPS) & (t < best), t, best)
    return best


def capsule_normal(p: torch.Tensor) -> torch.Tensor:
    a_len = 1.0 - CAP
    z = p[:, 2]
    zc = torch.sign(z) * torch.clamp(z.abs() - a_len, min=0) / (CAP * CAP)  # 0 on the side
    return torch.stack([p[:, 0], p[:, 1], zc], -1)


PRIMITIVES.register("sphere", Primitive(sphere_intersect, sphere_normal))
PRIMITIVES.register("ellipsoid", Primitive(sphere_intersect, sphere_normal))
PRIMITIVES.register("box", Primitive(box_intersect, box_normal))
PRIMITIVES.register("cylinder", Primitive(cylinder_intersect, cylinder_normal))
PRIMITIVES.register("capsule", Primitive(capsule_intersect, capsule_normal))
