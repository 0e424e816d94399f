"""The layout condition: G-buffer maps → the channels a generator is conditioned on.

One function serves training (maps read back from a dataset) and sampling (maps fresh from the
ray-caster), so the two can never drift apart.

Shapes: ``semantic``/``instance``/``depth`` (T,H,W), ``flow`` (T,H,W,2) → condition (T,C,H,W) float32
with ``C = condition_channels(num_classes)``:

=====================  =============================================================
channels               meaning
=====================  =============================================================
0 … num_classes        one-hot class id (0 = background)
num_classes + 1        instance boundary (1 where a 4-neighbour has another instance)
num_classes + 2        inverse depth ``1 / (1 + z)`` (0 for sky)
num_classes + 3, + 4   forward flow, ``tanh(flow / (0.05 · max(H, W)))``
=====================  =============================================================

An all-zero condition is the "no layout" input used for classifier-free guidance (a real layout
always has exactly one class channel set).

``instance`` and ``flow`` may be ``None`` (real clips often have neither): boundaries then come from
the class map and the flow channels are zero. A model records which maps it was trained with
(``condition_maps``) and sampling drops the others, so training and sampling always agree.
"""

from __future__ import annotations

from ....lazy import torch
from ....lazy import torch_F as F

__all__ = ["condition_channels", "condition_maps", "resize_condition", "EXTRA_CHANNELS", "ALL_MAPS",
           "REQUIRED_MAPS"]

#: G-buffer maps a condition can use, and those it cannot do without
ALL_MAPS = ("semantic", "instance", "depth", "flow_fwd")
REQUIRED_MAPS = ("semantic", "depth")

#: channels besides the one-hot classes: boundary, inverse depth, flow x, flow y
EXTRA_CHANNELS = 4


def condition_channels(num_classes: int) -> int:
    return num_classes + 1 + EXTRA_CHANNELS


def _boundaries(instance: torch.Tensor) -> torch.Tensor:
    """(T,H,W) ids → (T,H,W) float, 1 where a right/down/left/up neighbour differs."""
    edge = torch.zeros_like(instance, dtype=torch.bool)
    dx = instance[:, :, 1:] != instance[:, :, :-1]
    dy = instance[:, 1:, :] != instance[:, :-1, :]
    edge[:, :, 1:] |= dx
    edge[:, :, :-1] |= dx
    edge[:, 1:, :] |= dy
    edge[:, :-1, :] |= dy
    return edge.float()


def condition_maps(semantic: torch.Tensor, instance: torch.Tensor | None, depth: torch.Tensor,
                     flow: torch.Tensor | None, num_classes: int) -> torch.Tensor:
    """G-buffer of one clip → (T,C,H,W) condition (see the module docstring for the channels)."""
    T, H, W = semantic.shape
    if int(semantic.max()) > num_classes or int(semantic.min()) < 0:
        raise ValueError(f"semantic ids must be in [0, {num_classes}], got [{int(semantic.min())}, {int(semantic.max())}]")
    onehot = F.one_hot(semantic.long(), num_classes + 1).permute(0, 3, 1, 2).float()
    inv_depth = torch.where(torch.isfinite(depth), 1.0 / (1.0 + depth.clamp(min=0)), torch.zeros_like(depth))
    if flow is None:
        flow = torch.zeros(T, 2, H, W, device=semantic.device)
    else:
        flow = torch.tanh(flow.nan_to_num(0.0, 0.0, 0.0) / (0.05 * max(H, W))).permute(0, 3, 1, 2)
    edges = _boundaries(semantic if instance is None else instance)
    extra = torch.stack([edges, inv_depth.float()], dim=1)
    return torch.cat([onehot, extra, flow.float()], dim=1)


def resize_condition(cond: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """(..., C, H, W) → (..., C, height, width) by area averaging (one-hot becomes class fractions),
    for generators that work in a downsampled latent space."""
    if cond.shape[-2:] == (height, width):
        return cond
    lead = cond.shape[:-3]
    flat = cond.reshape(-1, *cond.shape[-3:])
    out = F.interpolate(flat, size=(height, width), mode="area")
    return out.reshape(*lead, *out.shape[-3:])
