"""Where each pixel's surface point is in the world, and how far from the camera centre: the near
clipping check of the endoscopy world (benchmarks/endoscopy_geometry.py, tests). ``Frames.surface`` is
in the owner's frame (the world's for the environment), so object hits are posed first.

Shape: frames (T,H,W) maps; traj.object_poses (T,N,4,4) → (T,H,W,3) / (T,H,W) float64.
"""

from __future__ import annotations

import numpy as np

__all__ = ["surface_world", "surface_range"]


def surface_world(frames, traj) -> np.ndarray:
    """World position of every pixel's surface point (meaningful where ``frames.depth`` is finite)."""
    surface = np.asarray(frames.surface, dtype=np.float64)
    inst = np.asarray(frames.instance).astype(np.int64)  # track id + 1; 0: the environment
    P = traj.object_poses
    if not P.shape[1]:
        return surface
    owner = np.clip(inst - 1, 0, P.shape[1] - 1)
    pose = P[np.arange(surface.shape[0])[:, None, None], owner]  # (T,H,W,4,4)
    posed = np.einsum("thwij,thwj->thwi", pose[..., :3, :3], surface) + pose[..., :3, 3]
    return np.where((inst > 0)[..., None], posed, surface)


def surface_range(frames, traj) -> np.ndarray:
    """Distance (m) from the camera centre to every pixel's surface point (≥ its z-depth)."""
    return np.sqrt(((surface_world(frames, traj) - traj.camera_poses[:, None, None, :3, 3]) ** 2).sum(-1))
