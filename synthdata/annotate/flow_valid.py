"""Where optical flow can be trusted (label kind ``flow_valid``, a uint8 map of the frames table).

The ray-caster's flow is exact for every visible surface point, but not every such vector is a usable
correspondence: a point may go behind the camera (NaN), leave the image, or be hidden in the other frame
(flow is defined for occluded points too: a point passing near the camera can move 90,000 px). Per
pixel, bit 0 says the forward flow is valid, bit 1 the backward flow:

- finite (the point stays in front of the camera);
- it lands inside the image;
- forward-backward consistent: at the landing pixel q, the flow back to this frame returns within
  ``TOLERANCE_PX`` of the start, and q shows the same surface owner (object or environment), so a point
  that becomes occluded is not valid.

At the clip's ends the flow points to a frame that is not rendered; there only the first two tests
apply. The consistency test is the standard one (e.g. Sundaram et al. 2010; Sintel's occlusion masks).
"""

from __future__ import annotations

import numpy as np

from .kinds import LABEL_KINDS, LabelKind

__all__ = ["TOLERANCE_PX", "flow_validity"]

TOLERANCE_PX = 0.5


def _valid(flow: np.ndarray, back: np.ndarray | None, owner: np.ndarray, owner_to: np.ndarray | None) -> np.ndarray:
    """(H,W) bool for one frame's flow into another (``back``/``owner_to``: that frame's return flow
    and instance map, None beyond the clip)."""
    H, W = owner.shape
    ys, xs = np.mgrid[0:H, 0:W]
    fx, fy = flow[..., 0], flow[..., 1]
    finite = np.isfinite(fx) & np.isfinite(fy)
    tx, ty = xs + 0.5 + np.nan_to_num(fx), ys + 0.5 + np.nan_to_num(fy)
    inside = finite & (tx >= 0) & (tx < W) & (ty >= 0) & (ty < H)
    if back is None:
        return inside
    qx, qy = np.clip(tx.astype(np.int64), 0, W - 1), np.clip(ty.astype(np.int64), 0, H - 1)
    bx, by = back[qy, qx, 0], back[qy, qx, 1]
    err = np.hypot(np.nan_to_num(fx + bx, nan=np.inf), np.nan_to_num(fy + by, nan=np.inf))
    return inside & (err <= TOLERANCE_PX) & (owner_to[qy, qx] == owner)


def flow_validity(flow_fwd: np.ndarray, flow_bwd: np.ndarray, instance: np.ndarray) -> np.ndarray:
    """(T,H,W) uint8: bit 0 forward flow valid, bit 1 backward flow valid. Shape: flows (T,H,W,2), instance (T,H,W)."""
    T = flow_fwd.shape[0]
    out = np.zeros(instance.shape, dtype=np.uint8)
    for t in range(T):
        nxt, prv = (t + 1 if t + 1 < T else None), (t - 1 if t > 0 else None)
        fwd = _valid(flow_fwd[t], None if nxt is None else flow_bwd[nxt], instance[t],
                     None if nxt is None else instance[nxt])
        bwd = _valid(flow_bwd[t], None if prv is None else flow_fwd[prv], instance[t],
                     None if prv is None else instance[prv])
        out[t] = fwd.astype(np.uint8) | (bwd.astype(np.uint8) << 1)
    return out


LABEL_KINDS.register("flow_valid", LabelKind(
    name="flow_valid", table="frames", map_dtype="uint8", default=True, requires=("flow",),
    compute=lambda frames, scene, traj: flow_validity(frames.flow_fwd.cpu().numpy(), frames.flow_bwd.cpu().numpy(),
                                                      frames.instance.cpu().numpy()),
    doc="(H,W) uint8: bit 0 forward flow valid, bit 1 backward flow valid (finite, in the image, "
        "forward-backward consistent on the same surface)"))
