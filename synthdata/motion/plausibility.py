"""Is a rolled-out clip physically possible? The invariants every world keeps, as checks.

- no two objects interpenetrate at any frame (oriented boxes of their full extents; a sphere's box is
  conservative);
- the camera is never inside an object, nor within ``margin`` metres of one (objects that ride the
  camera, such as an endoscope's instruments, are part of the rig and exempt).

Used by the tests and by ``benchmarks/plausibility.py``; pure numpy on the scene and trajectories.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..geometry import boxes_overlap, point_in_box
from ..scene.types import Scene
from .registry import OBJECT_MOTIONS
from .types import Trajectories

__all__ = ["Violations", "violations"]


@dataclass(frozen=True)
class Violations:
    pairs: list[tuple[int, int, int]]  # (frame, i, j) with i < j, objects that overlap at that frame
    camera: list[tuple[int, int]]  # (frame, i): the camera is inside object i (grown by the margin)

    @property
    def ok(self) -> bool:
        return not self.pairs and not self.camera


def violations(scene: Scene, traj: Trajectories, margin: float = 0.0, tolerance: float = 1e-3) -> Violations:
    """Every interpenetrating pair and camera-inside event of one clip (frames 0…T-1). Boxes are shrunk
    by ``tolerance`` metres so touching surfaces (a car on the road, bumpers at the guard gap) pass."""
    P, cam = traj.object_poses, traj.camera_poses  # (T,N,4,4), (T,4,4)
    half = scene.objects.half_size - tolerance
    T, N = P.shape[:2]
    pairs, inside = [], []
    if N >= 2:
        i, j = np.triu_indices(N, 1)
        Pi, Pj = P[:, i], P[:, j]  # (T,K,4,4)
        hit = boxes_overlap(Pi[..., :3, 3], Pi[..., :3, :3], half[i], Pj[..., :3, 3], Pj[..., :3, :3], half[j])  # (T,K)
        pairs = [(int(t), int(i[k]), int(j[k])) for t, k in zip(*np.nonzero(hit))]
    if N:
        hit = point_in_box(cam[:, None, :3, 3], P[..., :3, 3], P[..., :3, :3], half + margin)  # (T,N)
        rig = [i for i, (name, _) in enumerate(scene.objects.motion)
               if name in OBJECT_MOTIONS and OBJECT_MOTIONS.get(name).follows_camera]
        hit[:, rig] = False
        inside = [(int(t), int(n)) for t, n in zip(*np.nonzero(hit))]
    return Violations(pairs, inside)
