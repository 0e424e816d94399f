"""Objects as volumes: which points lie inside an object (its primitive, or the union of its parts),
sampled on a fixed quasi-random (Halton) point set, so volume labels (``embedded_fraction``) and
plausibility checks (no two objects interpenetrate) are deterministic and need no rng.

Shapes: S sample points; poses (...,4,4) object → world.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .types import ObjectSet

__all__ = ["CONTAINS", "halton", "object_points", "shape_points", "undersides"]

#: a capsule's caps, as the renderer's (render/raycast/primitives.py CAP)
_CAP = 1.0 / 3.0


def _capsule(u: np.ndarray) -> np.ndarray:
    a = 1.0 - _CAP
    z = np.clip(np.abs(u[..., 2]) - a, 0.0, None) / _CAP
    return (u[..., 0] ** 2 + u[..., 1] ** 2 + z**2 <= 1.0) & (np.abs(u[..., 2]) <= 1.0)


#: primitive name → inside test in its unit frame (the renderer's primitives); a primitive missing here
#: counts as its whole box (conservative)
CONTAINS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "sphere": lambda u: (u**2).sum(-1) <= 1.0,
    "ellipsoid": lambda u: (u**2).sum(-1) <= 1.0,
    "box": lambda u: (np.abs(u) <= 1.0).all(-1),
    "cylinder": lambda u: (u[..., 0] ** 2 + u[..., 1] ** 2 <= 1.0) & (np.abs(u[..., 2]) <= 1.0),
    "capsule": _capsule,
}


def _contains(primitive: str, u: np.ndarray) -> np.ndarray:
    return CONTAINS.get(primitive, lambda v: (np.abs(v) <= 1.0).all(-1))(u)


def halton(n: int, dims: int = 3) -> np.ndarray:
    """The first ``n`` points (after 20) of the Halton sequence in [0, 1)^dims (bases 2, 3, 5, …). → (n,dims)."""
    primes = [2, 3, 5, 7, 11, 13][:dims]
    idx = np.arange(20, 20 + n)
    out = np.zeros((n, dims))
    for j, b in enumerate(primes):
        f, i, r = 1.0, idx.copy(), np.zeros(n)
        while (i > 0).any():
            f = f / b
            r = r + f * (i % b)
            i = i // b
        out[:, j] = r
    return out


def shape_points(shape, n: int = 2048) -> np.ndarray:
    """Points of a :class:`~.shapes.Shape`'s volume in its own frame (as :func:`object_points` of the
    object it becomes). → (S,3) metres."""
    half = np.asarray(shape.half_size, dtype=np.float64)
    p = (halton(n) * 2.0 - 1.0) * half
    if not shape.parts:
        return p[_contains(shape.primitive, p / half)]
    keep = np.zeros(len(p), dtype=bool)
    for q in shape.parts:
        keep |= _contains(q.primitive, ((p - q.center) @ np.asarray(q.rotation)) / q.half_size)
    return p[keep]


def undersides(points: np.ndarray, cell: float) -> np.ndarray:
    """The lowest point (least z) of each column of ``cell``-wide squares in x, y. Shape: (S,3) → (C,3)."""
    key = np.floor(points[:, :2] / cell).astype(np.int64)
    order = np.lexsort((points[:, 2], key[:, 1], key[:, 0]))
    k = key[order]
    first = np.ones(len(k), dtype=bool)
    first[1:] = (k[1:] != k[:-1]).any(1)
    return points[order[first]]


def object_points(objects: ObjectSet, i: int, n: int = 2048) -> np.ndarray:
    """Points of object ``i``'s volume in its own frame: the fixed Halton points of its box that lie in
    its primitive or any of its parts (parts at rest). → (S,3) metres, S ≤ n."""
    half = objects.half_size[i]
    p = (halton(n) * 2.0 - 1.0) * half
    parts = objects.parts[i] if objects.parts else ()
    if not parts:
        return p[_contains(objects.primitive[i], p / half)]
    keep = np.zeros(len(p), dtype=bool)
    for q in parts:
        local = (p - q.offset[:3, 3]) @ q.offset[:3, :3]  # R^T (p - c)
        keep |= _contains(q.primitive, local / q.half_size)
    return p[keep]
