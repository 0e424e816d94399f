"""Adaptive anti-aliasing (``backend.supersample: adaptive``, the default): which pixels get more rays.

Stair-steps live where the picture has a step inside a pixel: a silhouette (another render primitive,
or sky, next door) or a hard-edged texture (lane paint, checks). One ray per pixel finds both from its
neighbours: a pixel whose owner differs from a 4-neighbour's, or whose display colour differs by more
than :data:`CONTRAST` in some channel, is re-traced with the :data:`SUBPIXEL` rays and averaged with its
centre ray. Labels never change: they come from the centre rays. Thresholds and ray counts were chosen
by measurement against 8×8 supersampling (docs/backends.md, ``benchmarks/antialias.py``).
"""

from __future__ import annotations

import functools

from ...lazy import torch

__all__ = ["CONTRAST", "SUBPIXEL", "SUBPIXEL_FOOTPRINT", "display", "edge_pixels", "reference_rgb", "subpixel"]

#: Display-space ([0,1], gamma 2.2) channel step to a neighbour that marks an edge: above the asphalt
#: grit, well below paint on asphalt (~0.5).
CONTRAST = 0.06

#: Sub-pixel offsets (pixels from the centre) of the extra rays: an 8-rook pattern (one ray in every
#: row and column of an 8×8 grid), so near-horizontal and near-vertical edges get 8 coverage levels.
#: ``subpixel()`` (2 floats per ray), also readable as ``SUBPIXEL``; built on first use so importing the
#: ray-caster does not import torch.
@functools.cache
def subpixel() -> torch.Tensor:
    return (torch.tensor([[1, 6], [5, 7], [3, 4], [7, 2], [0, 3], [4, 0], [2, 1], [6, 5]],
                         dtype=torch.float32) + 0.5) / 8 - 0.5


def __getattr__(name: str):
    if name == "SUBPIXEL":
        return subpixel()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: Footprint (pixels) a sub-pixel ray stands for, for textures that filter: 1/√(rays in the pixel).
SUBPIXEL_FOOTPRINT = 1 / 3


def display(rgb_linear: torch.Tensor) -> torch.Tensor:
    """The display colours the edge test compares (gamma 2.2, clamped). Shape: (...,3) → (...,3)."""
    return torch.clamp(rgb_linear, 0, 1) ** (1 / 2.2)


def edge_pixels(rgb_linear: torch.Tensor, key: torch.Tensor, contrast: float = CONTRAST,
                smooth: torch.Tensor | None = None) -> torch.Tensor:
    """Pixels on an edge: owner ``key`` or display colour steps to a 4-neighbour. Both sides of a step
    are marked. ``smooth`` (B,H,W) bool: pixels whose colour is already the pixel's average (a texture
    that filters all its detail over the footprint, ``fn.filters_fully``); a colour step between two
    such pixels of the same owner is no edge. Shape: rgb_linear (B,H,W,3), key (B,H,W) → (B,H,W) bool."""
    disp = display(rgb_linear)
    mark = torch.zeros(key.shape, dtype=torch.bool, device=key.device)
    for dim in (1, 2):
        n = key.shape[dim] - 1
        a, b = key.narrow(dim, 0, n), key.narrow(dim, 1, n)
        colour = (disp.narrow(dim, 0, n) - disp.narrow(dim, 1, n)).abs().amax(-1) > contrast
        if smooth is not None:
            colour &= ~(smooth.narrow(dim, 0, n) & smooth.narrow(dim, 1, n))
        step = (a != b) | colour
        mark.narrow(dim, 0, n).logical_or_(step)
        mark.narrow(dim, 1, n).logical_or_(step)
    return mark


def reference_rgb(backend, scene, traj, scale: int = 8) -> torch.Tensor:
    """Ground truth for measuring anti-aliasing: RGB from scale×scale rays per pixel (box filter), one
    frame at a time. ``backend`` is a :class:`~.backend.RaycastBackend`. → (T,H,W,3) uint8."""
    from .backend import _SceneTensors

    st = _SceneTensors.build(scene, traj, backend.device)
    H, W = scene.camera.height, scene.camera.width
    out = []
    for k in range(traj.num_frames):
        ks = torch.tensor([k + 1], device=backend.device)
        rgb = backend._trace(scene, st, ks, H, W, scale=scale, labels=False)["rgb_linear"]
        out.append(torch.nn.functional.avg_pool2d(rgb.permute(0, 3, 1, 2), scale).permute(0, 2, 3, 1))
    return (torch.clamp(torch.cat(out), 0, 1) ** (1 / 2.2) * 255 + 0.5).to(torch.uint8)
