"""Keypoints (label kind ``keypoints``, a column of the objects table): each object's class skeleton
(:mod:`synthdata.scene.skeletons`) projected per frame with COCO visibility — 0 out of view (behind the
camera or outside the image), 1 in view but hidden, 2 visible — decided by the depth test of
:mod:`.visibility` within one pixel (keypoints sit on corners and edges). A keypoint on a part
(skeleton ``parts``) rides that part's swing (:mod:`synthdata.motion.parts`): limbs carry their joints.

Rows: one list per (frame, object) row of the objects table, one ``{x, y, v}`` per keypoint of the
object's class in skeleton order (empty for a class without a skeleton); x, y in pixels like boxes,
NaN behind the camera. Names and edges of each class's skeleton are in the objects table's Parquet
metadata (``synthdata.skeletons``; ``SynthDataset.skeletons``).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pyarrow as pa

from ..scene.lens import PINHOLE, Lens
from ..scene.optics import field_view
from ..motion.parts import carrier_poses, part_poses
from .kinds import LABEL_KINDS, LabelKind
from .rolling import poses_at, rolling_project
from .visibility import depth_test, project, to_camera

__all__ = ["KEYPOINT_TYPE", "object_keypoints"]

KEYPOINT_TYPE = pa.list_(pa.struct([("x", pa.float32()), ("y", pa.float32()), ("v", pa.uint8())]))


def object_keypoints(skeleton_points: list[np.ndarray | None], half_size: np.ndarray, instance: np.ndarray,
                     depth: np.ndarray, object_poses: np.ndarray, camera_poses: np.ndarray, K: np.ndarray,
                     lens: Lens = PINHOLE, prims: list[np.ndarray | None] | None = None,
                     part_motion: np.ndarray | None = None, row_time: np.ndarray | None = None,
                     poses_at: Callable | None = None, view: np.ndarray | None = None) -> np.ndarray:
    """(T·N, Kmax, 3) float32 rows of (x, y, v); v = -1 pads objects with fewer than Kmax keypoints.
    Shape: skeleton_points[i] (K_i,3) in half-size units or None; half_size (N,3); maps (T,H,W); with
    keypoints on parts, prims[i] (K_i,) the primitive each rides (-1: the body) and part_motion (T,P,4,4);
    under a rolling shutter, row_time (H,) and ``poses_at`` as in :func:`.tracks.point_tracks`; ``view``
    (H,W) the pixels inside a field stop (outside it a keypoint is not in view)."""
    T, N = object_poses.shape[:2]
    counts = [0 if p is None else len(p) for p in skeleton_points]
    kmax = max(counts, default=0)
    out = np.full((T, N, kmax, 3), np.nan, dtype=np.float32)
    out[..., 2] = -1
    if kmax == 0:
        return out.reshape(T * N, 0, 3)
    owner = np.repeat(np.arange(1, N + 1), counts)
    pts = np.concatenate([p * half_size[i] for i, p in enumerate(skeleton_points) if p is not None])
    prim = None if prims is None else np.concatenate([p for p, s in zip(prims, skeleton_points) if s is not None]).astype(np.int64)

    def cams(object_poses, camera_poses, part_motion) -> np.ndarray:
        if prim is None:
            return to_camera(pts, owner, object_poses, camera_poses)
        return to_camera(pts, np.arange(1, len(owner) + 1), carrier_poses(object_poses, part_motion, owner, prim), camera_poses)

    cam = cams(object_poses, camera_poses, part_motion)
    if row_time is None:
        x, y, z = project(cam, K, lens)  # (T,M)
    else:
        x, y, z = rolling_project(cam, lambda d: cams(*poses_at(d)), row_time, K, lens)
    M = len(owner)
    t = np.broadcast_to(np.arange(T)[:, None], (T, M)).reshape(-1)
    in_view, visible, _ = depth_test(x.reshape(-1), y.reshape(-1), z.reshape(-1), t,
                                     np.broadcast_to(owner, (T, M)).reshape(-1), instance, depth, radius=1, view=view)
    v = np.where(visible, 2, np.where(in_view, 1, 0)).reshape(T, M)
    slot = np.concatenate([np.arange(c) for c in counts])  # keypoint index within its object
    out[:, owner - 1, slot] = np.stack([x, y, v], -1)
    return out.reshape(T * N, kmax, 3)


def _to_arrow(rows: np.ndarray) -> pa.Array:
    keep = rows[..., 2] >= 0  # (R,Kmax)
    offsets = np.concatenate([[0], np.cumsum(keep.sum(1))]).astype(np.int32)
    flat = rows[keep]
    xyv = pa.StructArray.from_arrays([pa.array(flat[:, 0], pa.float32()), pa.array(flat[:, 1], pa.float32()),
                                      pa.array(flat[:, 2].astype(np.uint8), pa.uint8())], names=["x", "y", "v"])
    return pa.ListArray.from_arrays(pa.array(offsets), xyv, type=KEYPOINT_TYPE)


def _compute(frames, scene, traj) -> np.ndarray:
    names = scene.class_names
    sk = [scene.skeletons.get(names[c - 1]) for c in scene.objects.class_id]
    prims = motion = None
    if any(s is not None and s.parts is not None for s in sk):
        pp = part_poses(scene, traj)
        motion = pp.motion(traj.num_frames)
        counts = np.bincount(pp.owner, minlength=len(sk))
        prims = [None if s is None else _on_parts(s, pp.first[i], pp.index[pp.first[i]] >= 0, counts[i])
                 for i, s in enumerate(sk)]
    return object_keypoints([None if s is None else s.points for s in sk], scene.objects.half_size,
                            frames.instance.cpu().numpy(), frames.depth.cpu().numpy(), traj.object_poses,
                            traj.camera_poses, traj.K, traj.lens, prims, motion,
                            None if frames.row_time is None else frames.row_time.cpu().numpy(),
                            poses_at(scene, traj, prims is not None), field_view(scene))


def _on_parts(sk, first: int, compound: bool, count: int) -> np.ndarray:
    """(K,) primitive index each keypoint rides, -1 for the body (also for a part index the object lacks)."""
    k = np.full(len(sk.names), -1) if sk.parts is None or not compound else np.asarray(sk.parts)
    return np.where((k >= 0) & (k < count), first + k, -1)


LABEL_KINDS.register("keypoints", LabelKind(
    name="keypoints", table="objects", arrow_type=KEYPOINT_TYPE, to_arrow=_to_arrow, default=True, compute=_compute, context=0,
    reads=frozenset({"instance", "depth", "row_time"}),
    doc="per (frame, object): the class skeleton's keypoints as {x, y, v} with COCO visibility 0/1/2"))
