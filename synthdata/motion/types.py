"""Trajectories: poses over time for one clip.

Poses are sampled at T+2 times: padded index 0 is one frame *before* the clip and T+1 one frame after,
so forward and backward optical flow are exact at both ends. Frame k of the clip is padded index k+1.

Shape: object_poses_padded (T+2, N, 4, 4) object-to-world; camera_poses_padded (T+2, 4, 4)
camera-to-world (OpenCV axes); K (3, 3) pixel intrinsics and ``lens`` (distortion, :mod:`synthdata.scene.lens`),
constant over the clip: project with ``lens.project(cam, K)``.

A *window* (:meth:`Trajectories.window`: frames ``first`` … of a clip, with their padding) is what a
clip made in windows of frames (``synthdata.run.pipeline.make_clip_in_windows``) renders and labels a window
with: the same per-frame poses, central differences and timestamps as the whole clip's at those
frames; what accumulates over the clip (how far a swinging part's owner has walked) is read from
``whole``.
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
    first: int = 0  # the clip's frame index of frame 0 here (a window's start; 0 for a whole clip)
    whole: "Trajectories | None" = None  # the whole clip a window was cut from (None: this is the clip)

    def window(self, start: int, stop: int) -> "Trajectories":
        """Frames ``start`` … ``stop - 1`` of this clip, padded by their neighbours (see the module
        docstring). Shape: T' = stop - start frames."""
        whole = self.whole or self
        if not 0 <= start < stop <= self.num_frames:
            raise ValueError(f"window {start}:{stop} is not inside a clip of {self.num_frames} frames")
        return Trajectories(self.object_poses_padded[start:stop + 2], self.camera_poses_padded[start:stop + 2],
                            self.K, self.fps, self.lens, first=self.first + start, whole=whole)

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
        """(T,) seconds from the clip's first frame."""
        return (self.first + np.arange(self.num_frames)) / self.fps
