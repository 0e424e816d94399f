"""Trajectories: poses over time for one clip.

Poses are sampled at T+2 times: padded index 0 is one frame *before* the clip and T+1 one frame after,
so forward and backward optical flow are exact at both ends. Frame k of the clip is padded index k+1.

Shape: object_poses_padded (T+2, N, 4, 4) object-to-world; camera_poses_padded (T+2, 4, 4)
camera-to-world (OpenCV axes); K (3, 3) pixel intrinsics and ``lens`` (distortion, :mod:`synthdata.scene.lens`),
constant over the clip: project with ``lens.project(cam, K)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..scene.lens import PINHOLE, Lens

__all__ = ["Trajectories"]


@dataclass(frozen=True)
class Trajectories:
    object_poses_padded: np.ndarray
    camera_poses_padded: np.ndarray
    K: np.ndarray
    fps: float
    lens: Lens = PINHOLE

    @property
    def num_frames(self) -> int:
        return self.camera_poses_padded.shape[0] - 2

    @property
    def object_poses(self) -> np.ndarray:
        """(T, N, 4, 4) object-to-world per frame."""
        return self.object_poses_padded[1:-1]

    @property
    def camera_poses(self) -> np.ndarray:
        """(T, 4, 4) camera-to-world per frame."""
        return self.camera_poses_padded[1:-1]

    @property
    def timestamps(self) -> np.ndarray:
        """(T,) seconds from the first frame."""
        return np.arange(self.num_frames) / self.fps
