"""Objects as volumes: which points lie inside an object (its primitive, or the union of its parts),
sampled on a fixed quasi-random (Halton) point set, so volume labels (``embedded_fraction``) and
plausibility checks (no two objects interpenetrate) are deterministic and need no rng.

Shapes: S sample points; poses (...,4,4) object → world.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .types import ObjectSet

__all__ = ["CONTAINS", "halton", "object_points", "object_volume_grid", "undersides"]

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


def _inside_parts(primitive: str, parts, p: np.ndarray, half: np.ndarray) -> np.ndarray:
    """Whether object-frame points ``p`` lie in a primitive filling ``half`` or in any of ``parts``
    (each with ``primitive``, ``center``, ``rotation``, ``half_size``)."""
    if not parts:
        return _contains(primitive, p / half)
    keep = np.zeros(p.shape[:-1], dtype=bool)
    for q in parts:
        keep |= _contains(q.primitive, ((p - q.center) @ np.asarray(q.rotation)) / q.half_size)
    return keep


def _grid(half: np.ndarray, columns: int, levels: int) -> np.ndarray:
    """Cell centres of a box: ``columns`` × ``columns`` columns over x, y, ``levels`` along z. → (c,c,l,3)."""
    ax = (np.arange(columns) + 0.5) / columns * 2 - 1
    az = (np.arange(levels) + 0.5) / levels * 2 - 1
    return np.stack(np.meshgrid(ax * half[0], ax * half[1], az * half[2], indexing="ij"), -1)


def _lowest(pts: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """Each column's lowest inside point, for the columns holding any. (c,c,l,3), (c,c,l) → (C,3)."""
    low = np.take_along_axis(pts, inside.argmax(-1)[..., None, None].repeat(3, -1), 2)[:, :, 0]
    return low[inside.any(-1)]


def undersides(shape, columns: int = 32, levels: int = 96) -> np.ndarray:
    """The lowest point (least z, to a ``levels``-th of the box's height) of a :class:`~.shapes.Shape`'s
    volume in each of ``columns`` × ``columns`` columns over its box's x, y that it fills at all: where it
    rests on what lies below it. → (C,3) metres, its own frame."""
    half = np.asarray(shape.half_size, dtype=np.float64)
    pts = _grid(half, columns, levels)
    return _lowest(pts, _inside_parts(shape.primitive, shape.parts, pts, half))


def object_volume_grid(objects: ObjectSet, i: int, columns: int = 48, levels: int = 128) -> tuple[np.ndarray, np.ndarray]:
    """Object ``i``'s volume on a regular grid of its box, from the placed object's own parts (their
    offsets), as checks measure it independently of the placement's :func:`undersides`: (the inside
    grid points (S,3), each column's lowest inside point (C,3)), metres, its own frame."""
    half = objects.half_size[i]
    pts = _grid(half, columns, levels)
    parts = objects.parts[i] if objects.parts else ()
    inside = np.zeros(pts.shape[:-1], dtype=bool) if parts else _contains(objects.primitive[i], pts / half)
    for q in parts:
        inside |= _contains(q.primitive, ((pts - q.offset[:3, 3]) @ q.offset[:3, :3]) / q.half_size)
    return pts[inside], _lowest(pts, inside)


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
