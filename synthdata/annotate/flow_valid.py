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

from ..lazy import torch

from .kinds import LABEL_KINDS, LabelKind

__all__ = ["TOLERANCE_PX", "flow_validity"]

TOLERANCE_PX = 0.5


def _valid(flow: torch.Tensor, back: torch.Tensor, owner: torch.Tensor, step: int) -> torch.Tensor:
    """(T,H,W) bool: is each pixel's flow to frame t+step valid (``back``: the flows from t+step to t)."""
    T, H, W = owner.shape
    ys = torch.arange(H, device=flow.device, dtype=flow.dtype)[:, None] + 0.5
    xs = torch.arange(W, device=flow.device, dtype=flow.dtype)[None, :] + 0.5
    fx, fy = flow[..., 0], flow[..., 1]
    finite = torch.isfinite(fx) & torch.isfinite(fy)
    tx, ty = xs + torch.nan_to_num(fx), ys + torch.nan_to_num(fy)
    inside = finite & (tx >= 0) & (tx < W) & (ty >= 0) & (ty < H)
    t = torch.arange(T, device=flow.device)[:, None, None]
    to = t + step
    has_other = (to >= 0) & (to < T)  # the other frame is rendered: check consistency there
    qx = tx.clamp(0, W - 1).long()
    qy = ty.clamp(0, H - 1).long()
    idx = (to.clamp(0, T - 1) * H + qy) * W + qx
    bx = back[..., 0].reshape(-1)[idx]
    by = back[..., 1].reshape(-1)[idx]
    err = torch.hypot(torch.nan_to_num(fx + bx, nan=float("inf")), torch.nan_to_num(fy + by, nan=float("inf")))
    same = owner.reshape(-1)[idx] == owner
    return inside & (~has_other | ((err <= TOLERANCE_PX) & same))


def flow_validity(flow_fwd: torch.Tensor, flow_bwd: torch.Tensor, instance: torch.Tensor) -> torch.Tensor:
    """(T,H,W) uint8: bit 0 forward flow valid, bit 1 backward flow valid, on the tensors' device (one
    vectorised pass over the clip). Shape: flows (T,H,W,2) float, instance (T,H,W)."""
    fwd = _valid(flow_fwd, flow_bwd, instance, +1)
    bwd = _valid(flow_bwd, flow_fwd, instance, -1)
    return fwd.to(torch.uint8) | (bwd.to(torch.uint8) << 1)


LABEL_KINDS.register("flow_valid", LabelKind(
    name="flow_valid", table="frames", map_dtype="uint8", default=True, requires=("flow",),
    compute=lambda frames, scene, traj: flow_validity(frames.flow_fwd, frames.flow_bwd, frames.instance).cpu().numpy(),
    doc="(H,W) uint8: bit 0 forward flow valid, bit 1 backward flow valid (finite, in the image, "
        "forward-backward consistent on the same surface)"))
