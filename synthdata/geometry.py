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


def boxes_overlap(c1: np.ndarray, r1: np.ndarray, h1: np.ndarray, c2: np.ndarray, r2: np.ndarray, h2: np.ndarray,
                  margin: float = 0.0) -> np.ndarray:
    """Whether oriented boxes intersect (separating-axis test over the 15 axes), ``margin`` metres of
    clearance added to each half-size. Shape: centres (...,3), rotations (...,3,3) (box axes as columns),
    half-sizes (...,3), broadcast together → (...) bool. Touching boxes do not overlap."""
    h1, h2 = h1 + margin, h2 + margin
    d = c2 - c1
    axes = [r1[..., :, i] for i in range(3)] + [r2[..., :, i] for i in range(3)]
    for i in range(3):
        for j in range(3):
            axes.append(np.cross(r1[..., :, i], r2[..., :, j]))
    overlap = np.ones(np.broadcast_shapes(d.shape[:-1], r1.shape[:-2], r2.shape[:-2]), dtype=bool)
    for a in axes:
        norm = np.linalg.norm(a, axis=-1)
        ok = norm > 1e-9  # parallel edges give a zero cross product: no axis
        a = a / np.where(ok, norm, 1.0)[..., None]
        p1 = sum(h1[..., i] * np.abs((a * r1[..., :, i]).sum(-1)) for i in range(3))
        p2 = sum(h2[..., i] * np.abs((a * r2[..., :, i]).sum(-1)) for i in range(3))
        separated = ok & (np.abs((a * d).sum(-1)) >= p1 + p2)
        overlap &= ~separated
    return overlap


def point_in_box(p: np.ndarray, c: np.ndarray, r: np.ndarray, h: np.ndarray, margin: float = 0.0) -> np.ndarray:
    """Whether points (...,3) lie inside oriented boxes (centre, rotation, half-size) grown by ``margin``."""
    local = np.einsum("...ji,...j->...i", r, p - c)
    return np.all(np.abs(local) < h + margin, axis=-1)
