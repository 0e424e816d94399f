"""Small rigid-transform helpers shared by scene, motion, render and annotate (numpy, float64).

Conventions: world is z-up; a camera pose is camera-to-world with OpenCV axes (x right, y down,
z forward); an object pose is object-to-world.
"""

from __future__ import annotations

import numpy as np

__all__ = ["rot_z", "rot_x", "pose", "look_at", "intrinsics_from_fov", "boxes_overlap", "point_in_box"]


def rot_z(yaw: np.ndarray | float) -> np.ndarray:
    """Rotation(s) about +z by ``yaw`` radians. Shape: (...,) → (..., 3, 3)."""
    yaw = np.asarray(yaw, dtype=np.float64)
    c, s = np.cos(yaw), np.sin(yaw)
    z, o = np.zeros_like(yaw), np.ones_like(yaw)
    return np.stack([np.stack([c, -s, z], -1), np.stack([s, c, z], -1), np.stack([z, z, o], -1)], -2)


def rot_x(roll: np.ndarray | float) -> np.ndarray:
    """Rotation(s) about +x by ``roll`` radians. Shape: (...,) → (..., 3, 3)."""
    roll = np.asarray(roll, dtype=np.float64)
    c, s = np.cos(roll), np.sin(roll)
    z, o = np.zeros_like(roll), np.ones_like(roll)
    return np.stack([np.stack([o, z, z], -1), np.stack([z, c, -s], -1), np.stack([z, s, c], -1)], -2)


def pose(rotation: np.ndarray, translation: np.ndarray) -> np.ndarray:
    """Stack (...,3,3) rotations and (...,3) translations into (...,4,4) homogeneous poses."""
    rotation, translation = np.asarray(rotation), np.asarray(translation)
    out = np.zeros(np.broadcast_shapes(rotation.shape[:-2], translation.shape[:-1]) + (4, 4))
    out[..., :3, :3] = rotation
    out[..., :3, 3] = translation
    out[..., 3, 3] = 1.0
    return out


def look_at(eye: np.ndarray, target: np.ndarray, up: np.ndarray = np.array([0.0, 0.0, 1.0])) -> np.ndarray:
    """Camera-to-world pose(s) (OpenCV axes) looking from ``eye`` to ``target``. Shape: (...,3) → (...,4,4)."""
    eye, target = np.asarray(eye, dtype=np.float64), np.asarray(target, dtype=np.float64)
    fwd = target - eye
    fwd = fwd / np.linalg.norm(fwd, axis=-1, keepdims=True)
    right = np.cross(fwd, up)
    n = np.linalg.norm(right, axis=-1, keepdims=True)
    right = np.where(n > 1e-9, right / np.maximum(n, 1e-12), np.array([1.0, 0.0, 0.0]))  # looking straight down
    down = np.cross(fwd, right)
    return pose(np.stack([right, down, fwd], -1), eye)


def intrinsics_from_fov(fov_deg: float, width: int, height: int) -> np.ndarray:
    """3×3 pinhole K from a horizontal field of view; principal point at the image centre."""
    f = 0.5 * width / np.tan(np.radians(fov_deg) / 2)
    return np.array([[f, 0.0, width / 2], [0.0, f, height / 2], [0.0, 0.0, 1.0]])


def _dot(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Dot products over the last axis (3), summed left to right as numpy's ``(u * v).sum(-1)`` does:
    the same bits, without a reduction's per-call cost on tiny axes."""
    return (u[..., 0] * v[..., 0] + u[..., 1] * v[..., 1]) + u[..., 2] * v[..., 2]


def boxes_overlap(c1: np.ndarray, r1: np.ndarray, h1: np.ndarray, c2: np.ndarray, r2: np.ndarray, h2: np.ndarray,
                  margin: float = 0.0) -> np.ndarray:
    """Whether oriented boxes intersect (separating-axis test over the 15 axes), ``margin`` metres of
    clearance added to each half-size. Shape: centres (...,3), rotations (...,3,3) (box axes as columns),
    half-sizes (...,3), broadcast together → (...) bool. Touching boxes do not overlap.

    All 15 axes at once, as (...,15,3) arrays: scene sampling tests one placement against every
    object placed so far thousands of times per clip, where a loop over the axes was mostly numpy's
    per-call cost (5× slower, measured). Same arithmetic in the same order as that loop."""
    h1, h2 = h1 + margin, h2 + margin
    d = c2 - c1
    shape = np.broadcast_shapes(d.shape[:-1], r1.shape[:-2], r2.shape[:-2])
    a1 = np.broadcast_to(np.swapaxes(r1, -1, -2), (*shape, 3, 3))  # box axes as rows
    a2 = np.broadcast_to(np.swapaxes(r2, -1, -2), (*shape, 3, 3))
    cross = np.cross(a1[..., :, None, :], a2[..., None, :, :]).reshape(*shape, 9, 3)
    axes = np.concatenate([a1, a2, cross], -2)  # (...,15,3)
    norm = np.sqrt(_dot(axes, axes))
    ok = norm > 1e-9  # parallel edges give a zero cross product: no axis
    axes = axes / np.where(ok, norm, 1.0)[..., None]

    def reach(h: np.ndarray, a: np.ndarray) -> np.ndarray:  # a box's half-extent along each axis, (...,15)
        h = np.broadcast_to(h, (*shape, 3))[..., None, :]
        return (h[..., 0] * np.abs(_dot(axes, a[..., None, 0, :])) + h[..., 1] * np.abs(_dot(axes, a[..., None, 1, :]))) \
            + h[..., 2] * np.abs(_dot(axes, a[..., None, 2, :]))

    separated = ok & (np.abs(_dot(axes, d[..., None, :])) >= reach(h1, a1) + reach(h2, a2))
    return ~separated.any(-1)


def point_in_box(p: np.ndarray, c: np.ndarray, r: np.ndarray, h: np.ndarray, margin: float = 0.0) -> np.ndarray:
    """Whether points (...,3) lie inside oriented boxes (centre, rotation, half-size) grown by ``margin``."""
    local = np.einsum("...ji,...j->...i", r, p - c)
    return np.all(np.abs(local) < h + margin, axis=-1)
