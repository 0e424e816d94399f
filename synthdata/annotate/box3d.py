"""3D boxes in the camera frame (label kind ``box3d``, a column of the objects table)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from .kinds import LABEL_KINDS, LabelKind

__all__ = ["BOX3D_TYPE", "boxes_3d"]

BOX3D_TYPE = pa.struct([
    ("center", pa.list_(pa.float32(), 3)),  # camera frame, metres
    ("size", pa.list_(pa.float32(), 3)),  # length, width, height (object x, y, z extents)
    ("rotation", pa.list_(pa.float32(), 4)),  # quaternion x, y, z, w; object → camera
])


def boxes_3d(object_poses: np.ndarray, camera_poses: np.ndarray, half_size: np.ndarray) -> np.ndarray:
    """Centre xyz, size lwh, rotation quaternion xyzw of every object in the camera frame.

    Shape: object_poses (T,N,4,4), camera_poses (T,4,4), half_size (N,3) → (T·N, 10) float32.
    """
    import torch  # lazily: dataset readers import this module (for the column type) and need no torch
    from kornia.geometry.conversions import rotation_matrix_to_quaternion

    T, N = object_poses.shape[:2]
    world_to_cam = np.linalg.inv(camera_poses)  # (T,4,4)
    rel = world_to_cam[:, None] @ object_poses  # (T,N,4,4)
    centre = rel[..., :3, 3]
    q_wxyz = rotation_matrix_to_quaternion(torch.from_numpy(np.ascontiguousarray(rel[..., :3, :3]))).numpy()
    q = np.concatenate([q_wxyz[..., 1:], q_wxyz[..., :1]], -1)
    q = np.where(q[..., 3:] < 0, -q, q)  # canonical sign: w >= 0
    size = np.broadcast_to(2 * half_size[None], (T, N, 3))
    return np.concatenate([centre, size, q], -1).reshape(T * N, 10).astype(np.float32)


def _to_arrow(rows: np.ndarray) -> pa.Array:
    return pa.StructArray.from_arrays(
        [pa.FixedSizeListArray.from_arrays(pa.array(rows[:, s].reshape(-1), pa.float32()), n)
         for s, n in ((slice(0, 3), 3), (slice(3, 6), 3), (slice(6, 10), 4))],
        names=["center", "size", "rotation"])


LABEL_KINDS.register("box3d", LabelKind(
    name="box3d", table="objects", arrow_type=BOX3D_TYPE, to_arrow=_to_arrow, default=True, core=True, context=0,
    reads=frozenset(),
    compute=lambda frames, scene, traj: boxes_3d(traj.object_poses, traj.camera_poses, scene.objects.half_size),
    doc="centre xyz, size lwh, rotation quaternion xyzw in the camera frame"))
