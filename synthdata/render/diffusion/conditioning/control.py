"""Control images for pretrained ControlNets, drawn from the G-buffer.

``depth``: inverse depth normalised per clip to [0, 1], near = bright (the MiDaS convention that depth
ControlNets are trained on), grey RGB. ``semantic``: one colour per class from :func:`palette`.

Shapes: depth (T,H,W), semantic (T,H,W) → (T,H,W,3) uint8.
"""

from __future__ import annotations

import math

import numpy as np
import torch

__all__ = ["palette", "depth_control", "semantic_control", "CONTROLS"]


def palette(n: int) -> np.ndarray:
    """(n+1, 3) uint8 colours for class ids 0…n (0 is dark grey); golden-angle hues."""
    out = [(40, 40, 40)]
    for i in range(n):
        h = (i * 0.618034) % 1.0
        r, g, b = (abs(math.sin(math.pi * (h + s))) for s in (0.0, 1 / 3, 2 / 3))
        out.append((int(60 + 195 * r), int(60 + 195 * g), int(60 + 195 * b)))
    return np.array(out, dtype=np.uint8)


def depth_control(depth: torch.Tensor, semantic: torch.Tensor, num_classes: int) -> torch.Tensor:
    inv = torch.where(torch.isfinite(depth), 1.0 / depth.clamp(min=1e-3), torch.zeros_like(depth))
    lo, hi = float(inv.min()), float(inv.max())
    g = ((inv - lo) / max(hi - lo, 1e-6) * 255).round().to(torch.uint8)
    return g[..., None].expand(*g.shape, 3).contiguous()


def semantic_control(depth: torch.Tensor, semantic: torch.Tensor, num_classes: int) -> torch.Tensor:
    return torch.from_numpy(palette(num_classes)).to(semantic.device)[semantic.long()]


#: ``backend.control`` → function(depth, semantic, num_classes) → (T,H,W,3) uint8
CONTROLS = {"depth": depth_control, "semantic": semantic_control}
