"""Poses at instants between frames: motion blur (instants inside the shutter) and rolling shutter
(each row band's readout instant) render from them, and labels that project 3D points (tracks,
keypoints, lane lines) use the very same interpolation, so both sides agree bit for bit.

Shape: poses (T', ..., 4, 4) sampled once per frame (the padded trajectories of :mod:`.types`).
"""

from __future__ import annotations

import numpy as np

from .types import Trajectories

__all__ = ["shift_poses", "shifted"]


def shift_poses(P: np.ndarray, delta: float) -> np.ndarray:
    """Poses ``delta`` frames later (|delta| ≤ 1), between padded samples: positions linear, rotations
    blended and re-orthonormalised (exact enough for the small turns within one frame). Shape: (T',...,4,4)."""
    k = np.arange(P.shape[0])
    other = np.clip(k + (1 if delta > 0 else -1), 0, P.shape[0] - 1)
    a = abs(delta)
    out = P.copy()
    out[..., :3, 3] = (1 - a) * P[..., :3, 3] + a * P[other][..., :3, 3]
    u, _, vt = np.linalg.svd((1 - a) * P[..., :3, :3] + a * P[other][..., :3, :3])
    out[..., :3, :3] = u @ vt
    return out


def shifted(traj: Trajectories, delta: float) -> Trajectories:
    """The trajectories at each frame time + ``delta`` frames (an instant inside the shutter). A window of
    a clip (``traj.whole``) is the whole clip's shifted, then windowed: its padding frames blend with
    their true neighbours, and parts swing with the distance covered since the clip's start."""
    if traj.whole is not None:
        return shifted(traj.whole, delta).window(traj.first, traj.first + traj.num_frames)
    return Trajectories(object_poses_padded=shift_poses(traj.object_poses_padded, delta),
                        camera_poses_padded=shift_poses(traj.camera_poses_padded, delta), K=traj.K, fps=traj.fps,
                        lens=traj.lens)
