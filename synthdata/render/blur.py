"""Optical post-processes on a rendered frame: defocus (thin lens) and motion blur along the flow.

They act on *linear* RGB before exposure and sensor noise (light is blurred by the lens and during the
exposure before the sensor reads it), use the frame's own G-buffer (depth, forward/backward flow), and
never change a label. Each is a named entry of :data:`POSTPROCESSES`, run in the fixed :data:`ORDER`
(through the lens, then integrated over the exposure); an entry that is off leaves the frame untouched
bit for bit. All of it is plain torch arithmetic (no random numbers), so it is deterministic and runs on
any device.

Shapes: B frames of H×W; linear (B,H,W,3); depth (B,H,W) camera z in metres (+inf for sky); flows
(B,H,W,2) pixels, NaN where undefined.

**Defocus** (``defocus: {focus_m, aperture_mm}``): a thin lens focused at ``focus_m`` with an entrance
pupil ``aperture_mm`` across (focal length / f-number: a 1.8 mm scope lens at f/8 has 0.225 mm) blurs a
point at depth z into a disk of diameter c = A·f_px·|1/z − 1/z_f| pixels (A the aperture in metres,
f_px = K[0,0]: exact for the thin lens whose image distance is f_px pixel pitches). The disk is spread
by scatter-as-gather: a pixel receives a neighbour's light when it lies inside the neighbour's disk,
each disk carrying unit energy; a neighbour *behind* the pixel reaches it only within the pixel's own
disk, so a sharp surface in front is never covered by a blurred one behind it, while a blurred one in
front spreads over what is behind. Disks are capped at ``max_radius_px``. Endoscopes have a large depth
of field: with ``focus_m: 0.03, aperture_mm: 0.2`` and f_px ≈ 100, a wall 5 mm away blurs over ~3 px and
everything beyond 2 cm stays under one pixel.

**Motion blur from flow** (``motion_blur: flow``): every pixel averages the image along its own motion
during the open shutter (``shutter``, a fraction of the frame interval centred on the frame time): for
the later half it looks back along the forward flow (p − τ·flow_fwd), for the earlier half along the
backward flow (p − τ·flow_bwd), τ ∈ [0, shutter/2], with samples ≤ 1 px apart (at most
:data:`MAX_SAMPLES`) read bilinearly. One extra pass instead of n re-renders (``motion_blur: n``), but
a velocity-buffer approximation: motion is linear within the shutter and occlusion edges smear only
from the moving side. A pixel that does not move keeps its value exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
from ..lazy import torch
from ..lazy import torch_F as F
from pydantic import BaseModel, ConfigDict, Field

from ..registry import Registry

__all__ = ["Defocus", "GBuffer", "PostProcess", "POSTPROCESSES", "ORDER", "post_process", "coc_px", "defocus",
           "flow_motion_blur", "MAX_SAMPLES"]

#: The most samples motion blur takes along one pixel's path (paths longer than this many pixels are
#: sampled more sparsely).
MAX_SAMPLES = 64


class Defocus(BaseModel):
    """``defocus: {focus_m, aperture_mm, max_radius_px}`` (backend setting): the thin lens of the module
    docstring. Off when absent."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    focus_m: float = Field(gt=0.0, le=1e4)
    aperture_mm: float = Field(gt=0.0, le=1000.0)
    max_radius_px: int = Field(16, ge=1, le=64)


@dataclass(frozen=True)
class GBuffer:
    """What the post-processes read besides the colour. Shapes in the module docstring; K (3,3)."""

    depth: torch.Tensor
    flow_fwd: torch.Tensor
    flow_bwd: torch.Tensor
    K: np.ndarray


@dataclass(frozen=True)
class PostProcess:
    """A registered post-process: ``on(settings)`` says whether the backend's settings turn it on,
    ``apply(linear, gbuffer, settings)`` returns the new linear RGB."""

    on: Callable[[Any], bool]
    apply: Callable[[torch.Tensor, GBuffer, Any], torch.Tensor]


POSTPROCESSES: Registry[PostProcess] = Registry("post-process", "synthdata.postprocesses")

#: The order they run in: through the lens first, then integrated over the exposure. A new post-process
#: (vignetting, a lens mask, …) registers itself and takes its place here, next to the backend setting
#: that turns it on.
ORDER = ("defocus", "motion_blur")


def post_process(linear: torch.Tensor, g: GBuffer, settings: Any) -> torch.Tensor:
    """Every post-process that ``settings`` turns on, in :data:`ORDER`. → (B,H,W,3)."""
    for name in ORDER:
        step = POSTPROCESSES.get(name)
        if step.on(settings):
            linear = step.apply(linear, g, settings)
    return linear


# -- defocus ----------------------------------------------------------------------------------------------
def coc_px(depth: torch.Tensor, lens: Defocus, fx: float) -> torch.Tensor:
    """Circle-of-confusion diameter in pixels of each depth (metres; +inf for sky). Shape: (...) → (...)."""
    inv = torch.where(torch.isfinite(depth), 1.0 / torch.clamp(depth, min=1e-9), torch.zeros_like(depth))
    return (lens.aperture_mm * 1e-3 * fx) * (inv - 1.0 / lens.focus_m).abs()


def _shift(x: torch.Tensor, R: int, dy: int, dx: int, H: int, W: int) -> torch.Tensor:
    """The value at (y + dy, x + dx) of a map padded by R on both image axes. x (B,H+2R,W+2R,...)."""
    return x[:, R + dy:R + dy + H, R + dx:R + dx + W]


def defocus(linear: torch.Tensor, g: GBuffer, lens: Defocus) -> torch.Tensor:
    """Thin-lens defocus of linear RGB (module docstring). Shape: (B,H,W,3) → (B,H,W,3)."""
    B, H, W, _ = linear.shape
    r = torch.clamp(coc_px(g.depth, lens, float(g.K[0, 0])) / 2, max=float(lens.max_radius_px))
    R = int(math.ceil(float(r.max()) - 0.5)) if r.numel() else 0  # a disk of radius r reaches |o| < r + 0.5
    if R <= 0:
        return linear
    z = torch.where(torch.isfinite(g.depth), g.depth, torch.full_like(g.depth, 3e38))
    offsets = [(dy, dx, math.hypot(dy, dx)) for dy in range(-R, R + 1) for dx in range(-R, R + 1)
               if math.hypot(dy, dx) < R + 0.5]
    cover = lambda rad, dist: torch.clamp(rad + 0.5 - dist, 0, 1)  # noqa: E731  anti-aliased disk
    area = sum(cover(r, dist) for _, _, dist in offsets)  # each disk's pixel area: it carries unit energy
    pad = lambda x: F.pad(x.movedim(-1, 1), (R, R, R, R), mode="replicate").movedim(1, -1)  # noqa: E731
    rp, zp, ap = (pad(x[..., None])[..., 0] for x in (r, z, area))
    cp = pad(linear)
    acc = torch.zeros_like(linear)
    wsum = torch.zeros_like(r)
    for dy, dx, dist in offsets:
        rq, zq, aq = _shift(rp, R, dy, dx, H, W), _shift(zp, R, dy, dx, H, W), _shift(ap, R, dy, dx, H, W)
        behind = zq > z  # a neighbour behind reaches this pixel only within this pixel's own disk
        rad = torch.where(behind, torch.minimum(rq, r), rq)
        w = cover(rad, dist) / torch.where(behind & (r < rq), area, aq)
        acc = acc + w[..., None] * _shift(cp, R, dy, dx, H, W)
        wsum = wsum + w
    return acc / wsum[..., None]


# -- motion blur along the flow ---------------------------------------------------------------------------
def flow_motion_blur(linear: torch.Tensor, g: GBuffer, shutter: float) -> torch.Tensor:
    """Linear RGB averaged along each pixel's motion during the shutter (module docstring). Each frame
    takes samples ≤ 1 px apart along its own longest path, so its picture does not depend on which
    frames are blurred with it (``frame_batch``). Shape: (B,H,W,3) → (B,H,W,3)."""
    B, H, W, _ = linear.shape
    half = shutter / 2
    fwd, bwd = _mirrored(g.flow_fwd, g.flow_bwd), _mirrored(g.flow_bwd, g.flow_fwd)
    fwd, bwd = fwd * half, bwd * half  # where the point goes by +s/2, and came from at −s/2
    path = fwd.norm(dim=-1) + bwd.norm(dim=-1)  # (B,H,W) pixels swept
    moving = path > 1e-3
    if not bool(moving.any()):
        return linear
    ns = [min(MAX_SAMPLES, int(math.ceil(p)) + 1) for p in path.flatten(1).amax(1).tolist()]  # per frame
    out = linear.clone()
    for n in sorted(set(ns)):  # frames with the same sample count together (each frame on its own)
        f = torch.tensor([b for b in range(B) if ns[b] == n], device=linear.device)
        out[f] = torch.where(moving[f][..., None], _along_flow(linear[f], fwd[f], bwd[f], n), linear[f])
    return out


def _along_flow(linear: torch.Tensor, fwd: torch.Tensor, bwd: torch.Tensor, n: int) -> torch.Tensor:
    """The mean of ``n`` bilinear samples of each frame along its pixels' paths over the shutter.
    Shape: linear (b,H,W,3), fwd, bwd (b,H,W,2) pixels moved by ±half the shutter → (b,H,W,3)."""
    _, H, W, _ = linear.shape
    img = linear.permute(0, 3, 1, 2)
    gx = torch.arange(W, device=linear.device, dtype=linear.dtype) + 0.5
    gy = torch.arange(H, device=linear.device, dtype=linear.dtype)[:, None] + 0.5
    acc = torch.zeros_like(img)
    for j in range(n):
        tau = 2 * (j + 0.5) / n - 1  # in (−1, 1): the instant, in units of half the shutter
        back = -abs(tau) * (fwd if tau > 0 else bwd)  # where this pixel's surface was at that instant
        u, v = gx + back[..., 0], gy + back[..., 1]
        grid = torch.stack([u / W * 2 - 1, v / H * 2 - 1], -1)  # align_corners=False normalised coordinates
        acc = acc + F.grid_sample(img, grid, mode="bilinear", padding_mode="border", align_corners=False)
    return (acc / n).permute(0, 2, 3, 1)


def _mirrored(flow: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
    """A flow with its undefined pixels (the point goes behind the camera) taken as the other
    direction's flow reversed, and 0 where both are undefined."""
    ok = torch.isfinite(flow).all(-1, keepdim=True)
    alt = torch.where(torch.isfinite(other).all(-1, keepdim=True), -other, torch.zeros_like(other))
    return torch.where(ok, flow, alt)


POSTPROCESSES.register("defocus", PostProcess(on=lambda s: getattr(s, "defocus", None) is not None,
                                              apply=lambda x, g, s: defocus(x, g, s.defocus)))
POSTPROCESSES.register("motion_blur", PostProcess(on=lambda s: getattr(s, "motion_blur", 1) == "flow",
                                                  apply=lambda x, g, s: flow_motion_blur(x, g, s.shutter)))
