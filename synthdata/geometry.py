"""Small rigid-transform helpers shared by scene, motion, render and annotate (numpy, float64).

Conventions: world is z-up; a camera pose is camera-to-world with OpenCV axes (x right, y down,
z forward); an object pose is object-to-world.
"""

from __future__ import annotations

import numpy as np

__all__ = ["rot_z", "rot_x", "pose", "look_at", "intrinsics_from_fov"]


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
