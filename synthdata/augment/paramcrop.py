"""ParamCrop (Qing et al., "ParamCrop: Parametric Cubic Cropping for Video Contrastive Learning"): a
crop whose centre and size move smoothly over the clip, as a low-order function of time.

As a pipeline op (``paramcrop``) the coefficients are drawn per clip from the seed. As a module
(:class:`ParamCropModule`) they are ``nn.Parameter`` s: the warp is differentiable (kornia), so the
crop can be *learned*, or trained adversarially (gradient ascent on the task loss, the paper's mode,
:meth:`ParamCropModule.adversarial_step`). Either way the crop is a per-frame homography, so every
label follows it (:func:`~.warp.warp_item`).

Crop at frame t (τ = t / (T − 1) ∈ [0, 1]): centre c(τ) = c₀ + c₁τ + c₂τ², side fraction
s(τ) = s₀ + s₁τ + s₂τ² (clamped to [s_min, 1]), the window kept inside the frame.
"""

from __future__ import annotations

import numpy as np
import torch
from pydantic import Field
from torch import nn

from .ops import Op, Params, register_op, span
from .warp import warp_item

__all__ = ["ParamCrop", "ParamCropModule", "crop_homographies"]


def crop_homographies(coef: torch.Tensor, T: int, H: int, W: int, s_min: float = 0.3) -> torch.Tensor:
    """coef (3,3): rows (cx, cy, s) × (constant, linear, quadratic) in image fractions → (T,3,3)
    homographies mapping each frame's crop window onto the full frame (differentiable in ``coef``)."""
    tau = torch.linspace(0, 1, T, dtype=coef.dtype, device=coef.device) if T > 1 else coef.new_zeros(1)
    basis = torch.stack([torch.ones_like(tau), tau, tau ** 2], -1)  # (T,3)
    cx, cy, s = (basis @ coef.T).unbind(-1)  # (T,)
    s = s.clamp(s_min, 1.0)
    half = s / 2
    cx, cy = torch.maximum(torch.minimum(cx, 1 - half), half), torch.maximum(torch.minimum(cy, 1 - half), half)
    x0, y0 = (cx - half) * W, (cy - half) * H
    sx, sy = 1 / s, 1 / s
    A = torch.zeros(T, 3, 3, dtype=coef.dtype, device=coef.device)
    A[:, 0, 0], A[:, 1, 1], A[:, 2, 2] = sx, sy, 1
    A[:, 0, 2], A[:, 1, 2] = -x0 * sx, -y0 * sy
    return A


class ParamCropParams(Params):
    scale: span(0, 1, above=True) = (0.5, 0.9)  # side fraction at the start
    drift: float = Field(0.15, ge=0, le=0.5)  # how far centre and size may move over the clip


@register_op
class ParamCrop(Op):
    """A smooth, per-frame crop (random coefficients per clip)."""

    name, kind, Params = "paramcrop", "geometric", ParamCropParams

    def sample(self, rng, T, H, W):
        p = self.params
        s0 = rng.uniform(*p.scale)
        coef = np.array([[rng.uniform(s0 / 2, 1 - s0 / 2), *rng.uniform(-p.drift, p.drift, 2)],
                         [rng.uniform(s0 / 2, 1 - s0 / 2), *rng.uniform(-p.drift, p.drift, 2)],
                         [s0, *rng.uniform(-p.drift, p.drift, 2)]])
        return {"coef": coef}

    def homography(self, d, T, H, W):
        return crop_homographies(torch.tensor(d["coef"], dtype=torch.float64), T, H, W)


class ParamCropModule(nn.Module):
    """Learnable ParamCrop: ``forward(video (T,3,H,W) float, labels)`` → the cropped clip and labels
    (RGB differentiable in the coefficients)."""

    def __init__(self, scale: float = 0.7, s_min: float = 0.3):
        super().__init__()
        self.coef = nn.Parameter(torch.tensor([[0.5, 0.0, 0.0], [0.5, 0.0, 0.0], [scale, 0.0, 0.0]]))
        self.s_min = s_min

    def homographies(self, T: int, H: int, W: int) -> torch.Tensor:
        return crop_homographies(self.coef, T, H, W, self.s_min)

    def forward(self, video: torch.Tensor, labels: dict | None = None):
        from kornia.geometry.transform import warp_perspective

        from .warp import _kornia_matrix

        T, _, H, W = video.shape
        A = self.homographies(T, H, W)
        rgb = warp_perspective(video, _kornia_matrix(A).to(video.dtype), (H, W), align_corners=True)
        if labels is None:
            return rgb, None
        _, lab = warp_item(video.detach(), labels, A.detach())
        return rgb, lab

    @torch.no_grad()
    def adversarial_step(self, lr: float = 0.05) -> None:
        """Gradient *ascent* on the loss whose ``backward`` just ran: the crop moves to where the model
        does worst (the paper's adversarial training); coefficients stay in range."""
        if self.coef.grad is not None:
            self.coef += lr * self.coef.grad.sign()
            self.coef[:2, 0].clamp_(0.0, 1.0)
            self.coef[2, 0].clamp_(self.s_min, 1.0)
            self.coef.grad = None
