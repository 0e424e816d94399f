"""Where optical flow can be trusted (label kind ``flow_valid``, a uint8 map of the frames table).

The ray-caster's flow is exact for every visible surface point, but not every such vector is a usable
correspondence: a point may go behind the camera (NaN), leave the image, or be hidden in the other frame
(flow is defined for occluded points too: a point passing near the camera can move 90,000 px). Per
pixel, bit 0 says the forward flow is valid, bit 1 the backward flow:

- finite (the point stays in front of the camera);
- it lands inside the image;
- forward-backward consistent: at the landing pixel q, the flow back to this frame returns within
  ``TOLERANCE_PX`` of the start (its squared length against the tolerance's, in float32: no square root
  per pixel, the same test in the torch passes and the compiled loop), and q shows the same surface
  owner (object or environment), so a point that becomes occluded is not valid.

At the clip's ends the flow points to a frame that is not rendered; there only the first two tests
apply. The consistency test is the standard one (e.g. Sundaram et al. 2010; Sintel's occlusion masks).
"""

from __future__ import annotations

import numpy as np

from ..jit import for_clip
from ..lazy import torch

from .kinds import LABEL_KINDS, LabelKind
from .chunks import frame_chunks

__all__ = ["TOLERANCE_PX", "flow_validity", "warm"]

TOLERANCE_PX = 0.5


def _valid(flow: torch.Tensor, back: torch.Tensor, owner: torch.Tensor, step: int) -> torch.Tensor:
    """(T,H,W) bool: is each pixel's flow to frame t+step valid (``back``: the flows from t+step to t),
    frame chunk by chunk (:func:`~.chunks.frame_chunks`: the per-pixel temporaries stay bounded; the
    landing pixels are looked up in the whole clip). Shape: flow, back (2,T,H,W) contiguous components
    (every pass vectorises; the landing pixel's index is int32 while the clip's pixel count fits)."""
    out = torch.empty(owner.shape, dtype=torch.bool, device=owner.device)
    for c in frame_chunks(owner.shape[0], owner.shape[1] * owner.shape[2]):
        out[c] = _valid_frames(flow[:, c], back, owner, step, c.start)
    return out


def _valid_frames(flow: torch.Tensor, back: torch.Tensor, owner: torch.Tensor, step: int, first: int) -> torch.Tensor:
    """:func:`_valid` for the frames ``first`` … ``first + flow.shape[1] - 1`` of the clip."""
    T, H, W = owner.shape
    ys = torch.arange(H, device=flow.device, dtype=flow.dtype)[:, None] + 0.5
    xs = torch.arange(W, device=flow.device, dtype=flow.dtype)[None, :] + 0.5
    fx, fy = flow
    tx, ty = xs + fx, ys + fy  # NaN / ±inf where the flow is not finite: then every comparison is False
    inside = (tx >= 0) & (tx < W) & (ty >= 0) & (ty < H)  # so "finite" needs no test of its own
    tx, ty = torch.nan_to_num(tx, nan=0.0), torch.nan_to_num(ty, nan=0.0)  # indices of such pixels: any, unused
    t = torch.arange(first, first + flow.shape[1], device=flow.device)[:, None, None]
    to = t + step
    has_other = (to >= 0) & (to < T)  # the other frame is rendered: check consistency there
    wide = T * H * W >= 2**31
    itype = torch.int64 if wide else torch.int32
    idx = tx.clamp(0, W - 1).to(itype)  # the landing pixel (t+step, qy, qx), flattened
    idx += ty.clamp(0, H - 1).to(itype) * W
    idx += (to.clamp(0, T - 1) * (H * W)).to(itype)
    idx = idx.reshape(-1)
    bx, by = torch.index_select(back.reshape(2, -1), 1, idx).reshape(2, *fx.shape)
    ex, ey = fx + bx, fy + by
    err2 = ex * ex + ey * ey  # NaN when a flow is not finite: not within the tolerance
    same = torch.index_select(owner.reshape(-1), 0, idx).reshape(fx.shape) == owner[first:first + fx.shape[0]]
    return inside & (~has_other | ((err2 <= _TOLERANCE2) & same))


#: the tolerance squared, in float32 as the passes compare it (no square root per pixel)
_TOLERANCE2 = float(np.float32(TOLERANCE_PX) ** 2)


def flow_validity(flow_fwd: torch.Tensor, flow_bwd: torch.Tensor, instance: torch.Tensor,
                  compiled: bool | None = None) -> torch.Tensor:
    """(T,H,W) uint8: bit 0 forward flow valid, bit 1 backward flow valid, on the tensors' device.
    On the CPU one compiled loop (:mod:`.cpu_loops`) for clips of :data:`~synthdata.jit.AUTO_PIXELS`
    pixels (``compiled``: force it on or off, :func:`~synthdata.jit.for_clip`), else vectorised torch
    passes, frame chunk by chunk: the same bits. Shape: flows (T,H,W,2) float, instance (T,H,W)."""
    kernel = for_clip(__package__ + ".cpu_loops", instance, compiled)
    if kernel is not None:
        out = np.empty(instance.shape, dtype=np.uint8)
        kernel.flow_validity(*(np.ascontiguousarray(x.numpy()) for x in (flow_fwd.float(), flow_bwd.float(), instance)),
                             np.float32(_TOLERANCE2), out)
        return torch.from_numpy(out)
    fwd_xy, bwd_xy = (f.movedim(-1, 0).contiguous() for f in (flow_fwd, flow_bwd))  # (2,T,H,W) each
    fwd = _valid(fwd_xy, bwd_xy, instance, +1)
    bwd = _valid(bwd_xy, fwd_xy, instance, -1)
    return fwd.to(torch.uint8) | (bwd.to(torch.uint8) << 1)


def warm() -> None:
    """Compile the loop with the types a clip passes (:func:`synthdata.jit.warm`)."""
    flow = torch.zeros(1, 1, 1, 2)
    flow_validity(flow, flow, torch.zeros(1, 1, 1, dtype=torch.int32), compiled=True)


LABEL_KINDS.register("flow_valid", LabelKind(
    name="flow_valid", table="frames", map_dtype="uint8", default=True, requires=("flow",), context=1,
    reads=frozenset({"flow_fwd", "flow_bwd", "instance"}),
    compute=lambda frames, scene, traj: flow_validity(frames.flow_fwd, frames.flow_bwd, frames.instance).cpu().numpy(),
    doc="(H,W) uint8: bit 0 forward flow valid, bit 1 backward flow valid (finite, in the image, "
        "forward-backward consistent on the same surface)"))
