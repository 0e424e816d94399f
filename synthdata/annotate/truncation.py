"""How much of each object lies outside the image (label kind ``truncation``, objects table), as KITTI
defines it: 0 wholly inside, 1 wholly outside, from the object's 3D box projected through the camera's
lens and compared with the image rectangle, per frame.

``visible_fraction`` counts pixels inside the image only (visible / in-frame amodal), so a half-cropped
unoccluded object has 1.0; MOTChallenge's visibility counts cropping too, and is
``visible_fraction × (1 − truncation)`` (the MOT export writes that). The projected box bounds the
object's silhouette, so this is the box's fraction, an estimate of the silhouette's (KITTI's is too);
a box reaching behind the camera is cut at a near plane first, so its projection stays finite and
mostly outside. A field stop's circle (endoscopes) is not the image edge here: ``truncated`` has it.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from .kinds import LABEL_KINDS, LabelKind

__all__ = ["truncation", "NEAR"]

#: the near plane (metres, camera z) a box reaching behind the camera is cut at
NEAR = 1e-3

_CORNERS = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], dtype=np.float64)
#: the box's 12 edges as pairs of corner indices (corners differing in one sign)
_EDGES = np.array([(a, b) for a in range(8) for b in range(a + 1, 8) if bin(a ^ b).count("1") == 1])


def truncation(object_poses: np.ndarray, camera_poses: np.ndarray, half_size: np.ndarray, K: np.ndarray,
               width: int, height: int, lens=None) -> np.ndarray:
    """(T·N,) float32 object rows, frame-major: 1 − (area of the projected box inside the image) / (its
    area). Shape: object_poses (T,N,4,4) world, camera_poses (T,4,4), half_size (N,3), K (3,3)."""
    from ..scene.lens import PINHOLE
    from .visibility import project

    T, N = object_poses.shape[:2]
    if N == 0:
        return np.zeros(0, np.float32)
    local = _CORNERS[None] * half_size[:, None]  # (N,8,3)
    world = np.einsum("tnij,nkj->tnki", object_poses[..., :3, :3], local) + object_poses[:, :, None, :3, 3]
    w2c = np.linalg.inv(camera_poses)
    cam = np.einsum("tij,tnkj->tnki", w2c[:, :3, :3], world) + w2c[:, None, None, :3, 3]  # (T,N,8,3)
    front = cam[..., 2] >= NEAR
    a, b = cam[..., _EDGES[:, 0], :], cam[..., _EDGES[:, 1], :]  # (T,N,12,3) edge ends
    za, zb = a[..., 2], b[..., 2]
    crosses = (za >= NEAR) != (zb >= NEAR)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(crosses, (NEAR - za) / (zb - za), np.nan)
    cut = a + s[..., None] * (b - a)  # where an edge passes the near plane (NaN elsewhere)
    pts = np.concatenate([np.where(front[..., None], cam, np.nan), cut], 2)  # (T,N,20,3)
    with np.errstate(invalid="ignore"):
        x, y, _ = project(pts, K, lens or PINHOLE)
    ok = np.isfinite(x) & np.isfinite(y)
    big = np.float64(1e30)
    x0, x1 = np.where(ok, x, big).min(-1), np.where(ok, x, -big).max(-1)
    y0, y1 = np.where(ok, y, big).min(-1), np.where(ok, y, -big).max(-1)
    area = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    inside = (np.clip(np.minimum(x1, width) - np.maximum(x0, 0), 0, None)
              * np.clip(np.minimum(y1, height) - np.maximum(y0, 0), 0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(ok.any(-1) & (area > 0), inside / area, 0.0)  # nothing in front: wholly outside
    return (1.0 - np.clip(frac, 0, 1)).reshape(-1).astype(np.float32)


def _compute(frames, scene, traj) -> np.ndarray:
    cam = scene.camera
    return truncation(traj.object_poses, traj.camera_poses, scene.objects.half_size, traj.K, int(cam.width),
                      int(cam.height), traj.lens)


LABEL_KINDS.register("truncation", LabelKind(
    name="truncation", table="objects", arrow_type=pa.float32(), default=True, context=0, reads=frozenset(),
    compute=_compute,
    doc="fraction of the object's projected 3D box outside the image (KITTI's truncation: 0 inside, 1 outside)"))
