"""3D boxes in the camera frame."""

from __future__ import annotations

import numpy as np
import torch
from kornia.geometry.conversions import rotation_matrix_to_quaternion

__all__ = ["boxes_3d"]


def boxes_3d(object_poses: np.ndarray, camera_poses: np.ndarray, half_size: np.ndarray) -> np.ndarray:
    """Centre xyz, size lwh, rotation quaternion xyzw of every object in the camera frame.

    Shape: object_poses (T,N,4,4), camera_poses (T,4,4), half_size (N,3) → (T·N, 10) float32.
    """
    T, N = object_poses.shape[:2]
    world_to_cam = np.linalg.inv(camera_poses)  # (T,4,4)
    rel = world_to_cam[:, None] @ object_poses  # (T,N,4,4)
    centre = rel[..., :3, 3]
    q_wxyz = rotation_matrix_to_quaternion(torch.from_numpy(np.ascontiguousarray(rel[..., :3, :3]))).numpy()
    q = np.concatenate([q_wxyz[..., 1:], q_wxyz[..., :1]], -1)
    q = np.where(q[..., 3:] < 0, -q, q)  # canonical sign: w >= 0
    size = np.broadcast_to(2 * half_size[None], (T, N, 3))
    return np.concatenate([centre, size, q], -1).reshape(T * N, 10).astype(np.float32)
