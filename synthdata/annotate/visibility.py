"""Where a surface point lands in each frame, and whether the camera sees it: the projection and the
depth test shared by point tracks and keypoints.

A point is given in its owner's frame (an object's metric frame, or the world for the environment) and
follows its owner's pose; it projects to (x, y) in pixels, origin at the image's top-left corner, so
the centre of pixel (row i, column j) is (j + 0.5, i + 0.5) — the convention of boxes and flow.

- *in view*: in front of the camera and inside the image.
- *visible*: in view, and the rendered surface at the pixel that contains (x, y) is the point's owner
  at the point's depth, within ``REL_TOL`` of the depth plus ``SLOPE_PX`` pixels' worth of the local
  depth slope (the pixel centre samples the surface up to 0.7 px away; a surface seen at a grazing
  angle changes depth fast across a pixel). So a point is never called visible where its pixel shows
  another surface; at a silhouette, where the pixel centre just misses the point's own surface, it is
  called occluded (conservative, as TAP-Vid's Kubric tracks are). ``radius=1`` also accepts the 8 neighbouring pixels:
  keypoints sit on corners and edges, where the nearest pixel centre can miss their object.
- *occluder*: when in view but not visible, the object the pixel shows (the owner itself when it
  hides its own far side), else -1 (the environment, or nothing, hides it).

Shapes: M points; maps (T,H,W) on the host (instance 0 = environment/sky, i + 1 = object i).
"""

from __future__ import annotations

import numpy as np

from ..scene.lens import PINHOLE, Lens

__all__ = ["REL_TOL", "SLOPE_PX", "to_camera", "project", "depth_test"]

REL_TOL = 0.01
SLOPE_PX = 1.5


def to_camera(points: np.ndarray, owner: np.ndarray, object_poses: np.ndarray, camera_poses: np.ndarray) -> np.ndarray:
    """Camera-frame positions of owner-frame points in every frame. Shape: points (M,3), owner (M,)
    (0 environment, i + 1 object i), object_poses (T,N,4,4), camera_poses (T,4,4) → (T,M,3) float64."""
    T = camera_poses.shape[0]
    eye = np.broadcast_to(np.eye(4), (T, 1, 4, 4))
    poses = np.concatenate([eye, object_poses], 1)[:, owner]  # (T,M,4,4) owner → world
    world = np.einsum("tmij,mj->tmi", poses[..., :3, :3], points.astype(np.float64)) + poses[..., :3, 3]
    w2c = np.linalg.inv(camera_poses)  # (T,4,4)
    return np.einsum("tij,tmj->tmi", w2c[:, :3, :3], world) + w2c[:, None, :3, 3]


def project(cam: np.ndarray, K: np.ndarray, lens: Lens = PINHOLE) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, y, z) of camera-frame points (..., 3): pixels (through ``lens``, as the renderer casts) and
    depth; x, y NaN behind the camera (and beyond a lens's fold radius)."""
    if not lens.is_pinhole:
        return lens.project(cam, K)
    z = cam[..., 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        front = z > 1e-6
        x = np.where(front, K[0, 0] * cam[..., 0] / z + K[0, 2], np.nan)
        y = np.where(front, K[1, 1] * cam[..., 1] / z + K[1, 2], np.nan)
    return x, y, z


def _slope(depth: np.ndarray, instance: np.ndarray, t: np.ndarray, py: np.ndarray, px: np.ndarray) -> np.ndarray:
    """Largest depth step from pixel (t, py, px) to a 4-neighbour on the same surface owner."""
    T, H, W = depth.shape
    d0, o0 = depth[t, py, px], instance[t, py, px]
    out = np.zeros_like(d0)
    for dy, dx in ((0, 1), (0, -1), (1, 0), (-1, 0)):
        qy, qx = np.clip(py + dy, 0, H - 1), np.clip(px + dx, 0, W - 1)
        with np.errstate(invalid="ignore"):  # sky: inf - inf
            step = np.abs(depth[t, qy, qx] - d0)
        ok = (instance[t, qy, qx] == o0) & np.isfinite(step)
        out = np.maximum(out, np.where(ok, step, 0))
    return out


def depth_test(x: np.ndarray, y: np.ndarray, z: np.ndarray, t: np.ndarray, owner: np.ndarray,
               instance: np.ndarray, depth: np.ndarray, radius: int = 0,
               view: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(in_view, visible, occluder) of M points at frames ``t`` (module docstring). ``view`` (H,W) bool:
    the pixels that are part of the picture (a field stop's circle, :func:`synthdata.scene.optics.field_view`;
    None: all). Shape: x, y, z, t, owner (M,); instance, depth (T,H,W) → three (M,) arrays (bool, bool,
    int32)."""
    T, H, W = depth.shape
    with np.errstate(invalid="ignore"):
        in_view = (z > 1e-6) & (x >= 0) & (x < W) & (y >= 0) & (y < H)
    px = np.clip(np.nan_to_num(np.floor(x), nan=0), 0, W - 1).astype(np.int64)
    py = np.clip(np.nan_to_num(np.floor(y), nan=0), 0, H - 1).astype(np.int64)
    if view is not None:
        in_view &= view[py, px]
    visible = np.zeros_like(in_view)
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            qy, qx = np.clip(py + dy, 0, H - 1), np.clip(px + dx, 0, W - 1)
            d = depth[t, qy, qx]
            tol = REL_TOL * np.abs(z) + SLOPE_PX * _slope(depth, instance, t, qy, qx)
            with np.errstate(invalid="ignore"):
                visible |= (instance[t, qy, qx] == owner) & (np.abs(d - z) <= tol)
    visible &= in_view
    shown = instance[t, py, px].astype(np.int32)
    occluder = np.where(in_view & ~visible & (shown > 0), shown - 1, -1).astype(np.int32)
    return in_view, visible, occluder
