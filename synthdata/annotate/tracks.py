"""Point tracks (label kind ``tracks``, a table of its own): TAP-Vid-style long-range correspondences,
exact by construction.

Query points are pixel centres sampled on rendered surfaces at the query frames (0, s, 2s, … for
``query_stride`` s), stratified over the surfaces in view so small objects get points (see
:class:`~synthdata.recipe.schema.TracksSpec`). The ray-caster's G-buffer gives each one's owner and its
position in the owner's frame (``Frames.surface``); the point then follows its owner's pose through
every frame and is projected and depth-tested by :mod:`.visibility`. On a swinging part (limbs,
``Frames.part``) the point is given at the part's rest pose and moves by that part's pose
(:mod:`synthdata.motion.parts`) as well.

Table: one row per (point, frame), point-major (a track is contiguous; ``groupby("point_id")``).
Long rather than list columns because pandas, DuckDB and Polars filter and join long rows directly
(``WHERE visible``) where list columns need unnesting first; TAP-Vid's (N, T) arrays are one reshape
away (:mod:`synthdata.integrations.tapvid`).
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

__all__ = ["TRACKS_COLUMNS", "sample_queries", "point_tracks"]

TRACKS_COLUMNS = pa.schema([
    ("point_id", pa.int32()),  # the track, 0..P-1 within the clip
    ("frame_index", pa.int32()),
    ("x", pa.float32()),  # pixels, origin top-left corner (pixel centres at +0.5); NaN behind the camera
    ("y", pa.float32()),
    ("depth", pa.float32()),  # camera z of the point, metres (negative behind the camera)
    ("visible", pa.bool_()),  # in view and not hidden (depth test at its pixel)
    ("in_view", pa.bool_()),  # in front of the camera and inside the image
    ("occluded_by", pa.int32()),  # track_id of the object hiding it, -1 if visible/out of view/hidden by scenery
    ("track_id", pa.int32()),  # the object the point lies on (objects table's track_id), -1 for the environment
    ("class_id", pa.int32()),  # of that object, 0 for the environment
    ("foreground", pa.bool_()),  # on an object (not the environment)
    ("query_frame", pa.int32()),  # the frame the point was sampled in (visible there, at a pixel centre)
])

_STREAM = 0x7AC5  # spawn key of the query sampler's stream off the clip's generator seed


def _allocate(counts: np.ndarray, n: int, floor: int) -> np.ndarray:
    """Points per surface: ``floor`` each (capped at its pixels; lowered to ``n`` // surfaces when the
    floors alone would exceed ``n``), the rest of ``n`` by area (largest remainders first), so the total
    is ``n`` whenever there are enough pixels."""
    if len(counts) > n:  # fewer points than surfaces: one each for the n largest
        out = np.zeros_like(counts)
        out[np.argsort(-counts, kind="stable")[:n]] = 1
        return out
    base = np.minimum(counts, min(floor, n // max(len(counts), 1)))
    out = base.copy()
    for _ in range(3):  # a surface capped at its pixels hands its share to the others
        left = n - int(out.sum())
        room = counts - out
        if left <= 0 or not room.any():
            break
        share = left * room / room.sum()
        extra = np.minimum(np.floor(share).astype(np.int64), room)
        rest = left - int(extra.sum())
        order = np.argsort(-(share - np.floor(share)), kind="stable")
        bump = np.zeros_like(extra)
        bump[order[:rest]] = 1
        out = out + np.minimum(extra + bump, room)
    return out


def sample_queries(instance: np.ndarray, depth: np.ndarray, points: int, stride: int, floor: int,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(t, row, col) of the query pixels. Shape: instance, depth (T,H,W) → three (P,) int64 arrays,
    ordered by query frame, then surface (environment first), then pixel."""
    T = instance.shape[0]
    frames = np.arange(0, T, stride)
    share = np.full(len(frames), points // len(frames)) + (np.arange(len(frames)) < points % len(frames))
    out = []
    for t, n in zip(frames, share):
        inst = np.where(np.isfinite(depth[t]), instance[t].astype(np.int64), -1).reshape(-1)  # -1: sky
        owners, counts = np.unique(inst[inst >= 0], return_counts=True)
        for owner, k in zip(owners, _allocate(counts, int(n), floor)):
            if k:
                pix = np.sort(rng.choice(np.flatnonzero(inst == owner), size=int(k), replace=False))
                out.append(np.stack([np.full(k, t), *np.divmod(pix, instance.shape[2])]))
    if not out:
        return (np.zeros(0, np.int64),) * 3
    qt, qy, qx = np.concatenate(out, 1)
    return qt, qy, qx


def point_tracks(instance: np.ndarray, depth: np.ndarray, surface: np.ndarray, class_id: np.ndarray,
                 object_poses: np.ndarray, camera_poses: np.ndarray, K: np.ndarray, spec, seed: int,
                 lens: Lens = PINHOLE, part: np.ndarray | None = None,
                 part_motion: np.ndarray | None = None, row_time: np.ndarray | None = None,
                 poses_at: Callable | None = None, view: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Columns of the tracks table for one clip (:data:`TRACKS_COLUMNS`), P·T rows. Shape: instance,
    depth (T,H,W); surface (T,H,W,3) owner-frame hit points; class_id (N,); poses (T,N,4,4), (T,4,4);
    with swinging parts, part (T,H,W) the primitive index per pixel and part_motion (T,P',4,4). Under a
    rolling shutter, row_time (H,) and ``poses_at(delta)`` → (object_poses, camera_poses, part_motion)
    ``delta`` frames later: each point is placed where its row saw it (:mod:`.rolling`). ``view`` (H,W):
    the pixels inside a field stop (:func:`.visibility.depth_test`)."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_STREAM,)))
    qt, qy, qx = sample_queries(instance, depth, spec.points, spec.query_stride, spec.min_per_surface, rng)
    owner = instance[qt, qy, qx].astype(np.int64)
    T, P = depth.shape[0], len(qt)
    prim = None if part is None else np.where(owner > 0, part[qt, qy, qx], -1).astype(np.int64)

    def cams(object_poses, camera_poses, part_motion) -> np.ndarray:
        if part is None:
            return to_camera(surface[qt, qy, qx], owner, object_poses, camera_poses)
        # each point rides its own carrier: its object's pose times its part's motion
        carriers = carrier_poses(object_poses, part_motion, owner, prim)
        return to_camera(surface[qt, qy, qx], np.arange(1, P + 1), carriers, camera_poses)

    cam = cams(object_poses, camera_poses, part_motion)
    if row_time is None:
        x, y, z = project(cam, K, lens)  # (T,P)
    else:
        start = np.full((T, P), np.nan)
        start[qt, np.arange(P)] = qy + 0.5  # at its query frame a point is where its pixel saw it
        x, y, z = rolling_project(cam, lambda d: cams(*poses_at(d)), row_time, K, lens, start)
    t = np.broadcast_to(np.arange(T)[:, None], (T, P))
    in_view, visible, occluder = depth_test(x.reshape(-1), y.reshape(-1), z.reshape(-1), t.reshape(-1),
                                            np.broadcast_to(owner, (T, P)).reshape(-1), instance, depth, view=view)

    def rows(a: np.ndarray, dtype) -> np.ndarray:  # (T,P) → point-major (P·T,)
        return np.ascontiguousarray(np.asarray(a).reshape(T, P).T).reshape(-1).astype(dtype)

    def per_point(a: np.ndarray, dtype) -> np.ndarray:
        return np.repeat(np.asarray(a), T).astype(dtype)

    cls = np.concatenate([[0], class_id])[owner]
    return {
        "point_id": per_point(np.arange(P), np.int32), "frame_index": np.tile(np.arange(T, dtype=np.int32), P),
        "x": rows(x, np.float32), "y": rows(y, np.float32), "depth": rows(z, np.float32),
        "visible": rows(visible, bool), "in_view": rows(in_view, bool), "occluded_by": rows(occluder, np.int32),
        "track_id": per_point(owner - 1, np.int32), "class_id": per_point(cls, np.int32),
        "foreground": per_point(owner > 0, bool), "query_frame": per_point(qt, np.int32),
    }


def _compute(frames, scene, traj, spec) -> dict[str, np.ndarray]:
    part = motion = None
    if frames.part is not None:
        part, motion = frames.part.cpu().numpy(), part_poses(scene, traj).motion(traj.num_frames)
    rt = None if frames.row_time is None else frames.row_time.cpu().numpy()
    return point_tracks(frames.instance.cpu().numpy(), frames.depth.cpu().numpy(), frames.surface.cpu().numpy(),
                        scene.objects.class_id, traj.object_poses, traj.camera_poses, traj.K, spec.tracks,
                        scene.generator_seed, traj.lens, part, motion, rt, poses_at(scene, traj, part is not None),
                        field_view(scene))


LABEL_KINDS.register("tracks", LabelKind(
    name="tracks", table="tracks", columns=TRACKS_COLUMNS, compute=_compute, uses_spec=True,
    reads=frozenset({"instance", "depth", "surface", "part", "row_time"}),
    doc="point tracks (TAP-Vid conventions): one row per (point, frame); annotations.tracks sets the count"))
