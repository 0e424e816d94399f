"""How much of each object lies outside the image (label kind ``truncation``, objects table), per frame:
the fraction of the object's volume (its primitive or parts at rest, a fixed Halton point set:
:mod:`synthdata.scene.volume`) whose projection through the camera's lens falls outside the image —
behind the camera, past a fisheye's fold, or beyond the frame's edge. 0 wholly inside, 1 wholly outside,
as KITTI's ``truncated`` float.

``visible_fraction`` counts pixels inside the image only (visible / in-frame amodal), so a half-cropped
unoccluded object has 1.0; MOTChallenge's visibility counts cropping too, and is
``visible_fraction × (1 − truncation)`` (the MOT export writes that for rows the border cuts). A volume
fraction, not a projected-area one: a box reaching behind the camera has no finite projected area (a
visible bus crossing the camera plane came out wholly outside that way). It is taken at the frame's
time (a rolling shutter's rows are not followed), and the image is the rectangle: a field stop's circle
(endoscopes) is what ``truncated`` covers.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from .kinds import LABEL_KINDS, LabelKind

__all__ = ["truncation", "POINTS"]

#: sample points per object (the fraction's resolution is about 1/√points)
POINTS = 512


def truncation(object_poses: np.ndarray, camera_poses: np.ndarray, points: list[np.ndarray], K: np.ndarray,
               width: int, height: int, lens=None) -> np.ndarray:
    """(T·N,) float32 object rows, frame-major: the fraction of each object's ``points`` (its volume in its
    own frame, (S_i,3) m) that do not project into the image. Shape: object_poses (T,N,4,4) world,
    camera_poses (T,4,4), K (3,3)."""
    from ..scene.lens import PINHOLE
    from .visibility import project

    T, N = object_poses.shape[:2]
    out = np.ones((T, N), dtype=np.float32)  # an object with no volume points: nothing of it inside
    w2c = np.linalg.inv(camera_poses)
    for i, local in enumerate(points):
        if len(local) == 0:
            continue
        # batched matmuls (10× einsum's loops); (T,S,3) points, row vectors times Rᵀ
        world = np.matmul(local, object_poses[:, i, :3, :3].transpose(0, 2, 1)) + object_poses[:, i, None, :3, 3]
        cam = np.matmul(world, w2c[:, :3, :3].transpose(0, 2, 1)) + w2c[:, None, :3, 3]
        with np.errstate(invalid="ignore"):
            x, y, z = project(cam, K, lens or PINHOLE)
            inside = (z > 0) & (x >= 0) & (x < width) & (y >= 0) & (y < height)  # NaN (behind, past a fold): out
        out[:, i] = 1.0 - inside.mean(1)
    return out.reshape(-1)


def _compute(frames, scene, traj) -> np.ndarray:
    from ..scene.volume import object_points

    objs, cam = scene.objects, scene.camera
    pts = [object_points(objs, i, POINTS) for i in range(len(objs))]
    return truncation(traj.object_poses, traj.camera_poses, pts, traj.K, int(cam.width), int(cam.height), traj.lens)


LABEL_KINDS.register("truncation", LabelKind(
    name="truncation", table="objects", arrow_type=pa.float32(), default=True, context=0, reads=frozenset(),
    compute=_compute,
    doc="fraction of the object's volume projecting outside the image (KITTI's truncation: 0 inside, 1 outside)"))
