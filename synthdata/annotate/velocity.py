"""Velocities (label kinds ``velocity``, objects table, and ``camera_velocity``, frames table): metres
per second in the world frame, by central difference over the padded trajectories (exact for motions
linear over two frames; the motions are sampled one frame beyond each end, so the ends are central
too). ``velocity`` is nuScenes' per-object ``velocity`` (they give vx, vy; we add vz); a speed is its
norm, and ``|velocity| < 0.2`` is nuScenes' "stopped". ``camera_velocity`` is the ego's."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from .kinds import LABEL_KINDS, LabelKind

__all__ = ["VELOCITY_TYPE", "object_velocities", "camera_velocities"]

VELOCITY_TYPE = pa.list_(pa.float32(), 3)


def _central(positions: np.ndarray, fps: float) -> np.ndarray:
    """(T+2, ..., 3) padded positions → (T, ..., 3) velocities."""
    return (positions[2:] - positions[:-2]) * (fps / 2)


def object_velocities(object_poses_padded: np.ndarray, fps: float) -> np.ndarray:
    """(T·N, 3) float32 rows, frame-major. Shape: poses (T+2, N, 4, 4)."""
    v = _central(object_poses_padded[..., :3, 3], fps)
    return v.reshape(-1, 3).astype(np.float32)


def camera_velocities(camera_poses_padded: np.ndarray, fps: float) -> np.ndarray:
    """(T, 3) float32. Shape: poses (T+2, 4, 4)."""
    return _central(camera_poses_padded[:, :3, 3], fps).astype(np.float32)


def _fixed(rows: np.ndarray) -> pa.Array:
    return pa.FixedSizeListArray.from_arrays(pa.array(rows.reshape(-1), pa.float32()), 3)


LABEL_KINDS.register("velocity", LabelKind(
    name="velocity", table="objects", reads=frozenset(), arrow_type=VELOCITY_TYPE, to_arrow=_fixed, default=True, context=0,
    compute=lambda frames, scene, traj: object_velocities(traj.object_poses_padded, traj.fps),
    doc="object velocity, world frame, m/s (vx, vy, vz)"))
LABEL_KINDS.register("camera_velocity", LabelKind(
    name="camera_velocity", table="frames", reads=frozenset(), arrow_type=VELOCITY_TYPE, default=True, context=0,
    compute=lambda frames, scene, traj: camera_velocities(traj.camera_poses_padded, traj.fps),
    doc="camera (ego) velocity, world frame, m/s (vx, vy, vz)"))
