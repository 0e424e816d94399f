"""Where a rolling-shutter camera sees a 3D point: at the instant its own row is exposed.

Under ``backend.rolling_shutter`` the renderer reports each row's exposure instant (``Frames.row_time``,
frames after the frame time; quantised to its row band). A point that projects to row y at time t was
seen at t only if row y is exposed at t, so the point's image position solves y = proj(t(y)): start from
the projection at the frame time and re-project at the instant of the row it lands on until the row's
band no longer changes (the instants are the rendered bands', so a point lies exactly where the band
that shows it was rendered: "visible ⇒ the instance map shows its owner" holds as with a global
shutter). Poses at those instants come from :func:`synthdata.motion.shift.shifted`, the renderer's own
interpolation. Rows above/below the image use the first/last band; points behind the camera keep the
band of the centre row. The fixed point is reached in 1–3 steps. Bands make it ambiguous where a
point moves down the image: at a band edge it can fit both bands — the rendered image then shows it in
both, at the bottom of one band and the top of the next — and the iteration keeps the one it reaches
first (a point tracked from its query pixel starts there, so it is the pixel's point at its query
frame); a point that would flip between two bands keeps the last step's.

Shapes: cam (T,M,3) camera-frame points at frame times; row_time (H,).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..motion.parts import part_poses
from ..motion.shift import shifted
from ..motion.types import Trajectories
from ..scene.lens import Lens
from ..scene.types import Scene
from .visibility import project

__all__ = ["MAX_STEPS", "poses_at", "rolling_project"]

MAX_STEPS = 8


def rolling_project(cam0: np.ndarray, cam_at: Callable[[float], np.ndarray], row_time: np.ndarray, K: np.ndarray,
                    lens: Lens, start: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, y, z) of points seen by a rolling shutter (module docstring). ``cam0`` is the camera-frame
    points at the frame times, ``cam_at(delta)`` the same ``delta`` frames later; ``start`` (T,M) rows
    to start from instead of the frame-time projection where finite (a query point's own pixel row).
    Shape: (T,M,3) → 3×(T,M)."""
    deltas, band_of_row = np.unique(np.asarray(row_time, dtype=np.float64), return_inverse=True)
    H = len(row_time)
    X, Y, Z = (np.stack(a) for a in zip(*(project(cam_at(float(d)), K, lens) for d in deltas)))  # (nb,T,M)

    def band(y: np.ndarray) -> np.ndarray:
        row = np.clip(np.floor(np.nan_to_num(y, nan=H // 2, posinf=H - 1, neginf=0)), 0, H - 1).astype(np.int64)
        return band_of_row[row]

    _, y, _ = project(cam0, K, lens)
    if start is not None:
        y = np.where(np.isfinite(start), start, y)
    b = band(y)
    ti, mi = np.indices(b.shape)
    for _ in range(MAX_STEPS):
        nb = band(Y[b, ti, mi])
        if np.array_equal(nb, b):
            break
        b = nb
    return X[b, ti, mi], Y[b, ti, mi], Z[b, ti, mi]


def poses_at(scene: Scene, traj: Trajectories, parts: bool) -> Callable[[float], tuple]:
    """``delta`` → (object_poses (T,N,4,4), camera_poses (T,4,4), part motion (T,P,4,4) or None) at each
    frame time + ``delta`` frames, as the renderer interpolates them."""
    def at(delta: float) -> tuple:
        tr = shifted(traj, delta)
        return tr.object_poses, tr.camera_poses, part_poses(scene, tr).motion(tr.num_frames) if parts else None
    return at
