"""How much of each object is embedded in the environment's wall (label kind ``embedded_fraction``,
objects table): the fraction of the object's volume outside the free space (``Environment.free``: the
lumen), from a fixed quasi-random point set in the object (:mod:`synthdata.scene.volume`), per frame.
A polyp half sunk in the colon wall has 0.5 whatever the camera sees; the amodal box and
``visible_fraction`` leave that part out (it is not "occluded"). 0 where the environment bounds no
free space (ground, void)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from .kinds import LABEL_KINDS, LabelKind

__all__ = ["POINTS", "embedded_fractions"]

#: sample points per object box (the fraction's resolution is about 1/√(points inside))
POINTS = 2048


def embedded_fractions(scene, traj, points: int = POINTS) -> np.ndarray:
    """(T·N,) float32 object rows, frame-major: the fraction of each object's volume inside the wall."""
    from ..scene.volume import object_points

    objs, env = scene.objects, scene.environment
    T, N = traj.num_frames, len(objs)
    out = np.zeros((T, N), dtype=np.float32)
    if not env.bounds_free_space:
        return out.reshape(-1)
    poses = traj.object_poses  # (T,N,4,4) world
    for i in range(N):
        p = object_points(objs, i, points)
        if len(p) == 0:
            continue
        world = np.einsum("tij,sj->tsi", poses[:, i, :3, :3], p) + poses[:, i, None, :3, 3]
        out[:, i] = 1.0 - np.asarray(env.free(world)).mean(1)
    return out.reshape(-1)


LABEL_KINDS.register("embedded_fraction", LabelKind(
    name="embedded_fraction", table="objects", reads=frozenset(), arrow_type=pa.float32(), default=False, context=0,
    compute=lambda frames, scene, traj: embedded_fractions(scene, traj),
    doc="fraction of the object's volume inside the environment's wall (0: none; ground/void: 0)"))
