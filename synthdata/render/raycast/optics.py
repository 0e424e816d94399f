"""Scope optics in the ray-caster (docs/endoscopy.md; scene side: :mod:`synthdata.scene.optics`).

- **Field stop**: rays are cast only for pixels inside the circle grown by :data:`CAST_MARGIN_PX` (so
  anti-aliasing sees every inside pixel's 4-neighbours as without the stop: inside, every pixel is what
  the camera gives without a stop, bit for bit); outside the circle itself there is no hit and no
  label (instance 0, depth +inf, no flow, no amodal coverage, :func:`blank_labels`) and RGB is exactly
  0 (:func:`stop_gain` blanks it last, after sensor noise).
- **Vignetting**: a gain per pixel on linear RGB, before exposure (:func:`vignette_gain`).
- **Light guides**: disc sources fixed in the camera frame (:func:`guide_light`), Lambert + Blinn-Phong
  with the true half vector between each guide and the lens.
- **Scatter**: the albedo tends to a deep red close to the lens (:func:`scatter_albedo`).

Shapes: M hit points, B frames in a batch, G guides, H×W image.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from ...lazy import torch
from ...floats import sqrt

__all__ = ["CAST_MARGIN_PX", "inside", "blank_labels", "stop_gain", "vignette_gain", "guide_light", "scatter_albedo"]

#: rays are cast this far (pixels) beyond the field stop's rim: the 4-neighbours of every inside pixel
CAST_MARGIN_PX = 1.0


def _radius2(K: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Squared distance (pixels²) of each pixel centre from the principal point of ``K``. → (rows, cols)."""
    u = np.arange(cols) + 0.5 - K[0, 2]
    v = np.arange(rows) + 0.5 - K[1, 2]
    return u[None, :] ** 2 + v[:, None] ** 2


def inside(stop: Any, K: np.ndarray, width: int, height: int, rows: int, cols: int, scale: int,
           device: torch.device, grow: float = 0.0) -> torch.Tensor | None:
    """(rows, cols) bool: the pixel centres (of a ``scale``-times grid) inside the field stop of a
    ``width``×``height`` camera (:meth:`FieldStop.inside`; a rolling-shutter band passes its own K),
    its radius grown by ``grow`` pixels; None without a stop."""
    if stop is None:
        return None
    return torch.as_tensor(stop.inside(K, width, height, rows, cols, scale, grow), device=device)


def blank_labels(out: dict[str, torch.Tensor], keep: torch.Tensor) -> dict[str, torch.Tensor]:
    """The label maps of a dense trace (``RaycastBackend._trace``) emptied outside ``keep`` (H,W): no hit,
    as where a ray meets nothing."""
    k3 = keep[..., None]
    out["instance"] = torch.where(keep, out["instance"], 0)
    out["amodal"] = out["amodal"] & keep
    out["depth"] = torch.where(keep, out["depth"], float("inf"))
    for key in ("normals", "surface"):
        if key in out:  # left out when the caller does not read it (RaycastBackend.keep)
            out[key] = torch.where(k3, out[key], 0.0)
    for key in ("flow_fwd", "flow_bwd"):
        out[key] = torch.where(k3, out[key], float("nan"))
    if "part" in out:
        out["part"] = torch.where(keep, out["part"], -1)
    return out


def stop_gain(stop: Any, K: np.ndarray, width: int, height: int, device: torch.device) -> torch.Tensor:
    """(H, W) float32 RGB gain of the field stop: 0 outside (pixel centres), 1 inside, ramping over
    ``feather`` pixels inside the rim."""
    r2 = _radius2(K, height, width)
    r = stop.radius_px(width, height)
    gain = stop.inside(K, width, height).astype(np.float64)
    if stop.feather > 0:
        gain *= np.clip((r - np.sqrt(r2)) / stop.feather, 0.0, 1.0)
    return torch.as_tensor(gain, dtype=torch.float32, device=device)


def vignette_gain(vignetting: Any, stop: Any, xy: np.ndarray, K: np.ndarray, width: int, height: int,
                  device: torch.device) -> torch.Tensor:
    """(H, W) float32 vignetting gain. ``xy`` (H, W, 2): each pixel centre's undistorted normalised
    coordinates (its ray through the lens), so θ is the true angle off the axis."""
    theta = np.arctan(np.hypot(xy[..., 0], xy[..., 1]))
    ref = stop.radius_px(width, height) if stop is not None else math.hypot(width, height) / 2
    rho = np.sqrt(_radius2(K, height, width)) / ref
    return torch.as_tensor(vignetting.gain(theta, rho), dtype=torch.float32, device=device)


def _dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return a[..., 0] * b[..., 0] + a[..., 1] * b[..., 1] + a[..., 2] * b[..., 2]


def guide_light(guides: tuple, cam_R: torch.Tensor, cam_c: torch.Tensor, b: torch.Tensor, p: torch.Tensor,
                n: torch.Tensor, v: torch.Tensor, ks_spec: torch.Tensor, shin: torch.Tensor,
                light: torch.Tensor, spec: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Irradiance and Blinn-Phong specular of every light guide added to ``light``/``spec`` (M,3).
    Shape: cam_R (B,3,3), cam_c (B,3) the batch's camera poses; b (M,) each hit's frame in the batch;
    p, n (M,3) world hit points and unit normals; v (M,3) unit directions to the lens; ks_spec, shin
    (M,1)."""
    f32 = dict(dtype=torch.float32, device=p.device)
    for g in guides:
        off = torch.as_tensor(g.offset, **f32)
        pos = (cam_c + torch.einsum("bij,j->bi", cam_R, off))[b]  # (M,3) the guide in the world
        axis = torch.einsum("bij,j->bi", cam_R, torch.as_tensor(g.direction, **f32))[b]
        dv = pos - p
        d2 = _dot(dv, dv)
        L = dv / sqrt(torch.clamp(d2, min=1e-30))[:, None]
        cos_a = -_dot(L, axis)
        lobe = torch.where(cos_a > 0, torch.clamp(cos_a, min=0) ** g.exponent, torch.zeros_like(cos_a))
        w = (g.intensity * lobe * (g.reference ** 2 + g.radius ** 2) / (d2 + g.radius ** 2))[:, None] \
            * torch.as_tensor(g.color, **f32)
        ndl = torch.clamp(_dot(n, L), min=0)[:, None]
        light = light + w * ndl
        h = L + v
        h = h / torch.clamp(sqrt(_dot(h, h)), min=1e-12)[:, None]
        spec = spec + ks_spec * torch.clamp(_dot(n, h), min=0)[:, None] ** shin * (ndl > 0) * w
    return light, spec


def scatter_albedo(albedo: torch.Tensor, dist: torch.Tensor, scatter: Any) -> torch.Tensor:
    """Linear albedo (M,3) moved towards the scatter colour by 1 / (1 + (dist / distance)²); dist (M,)
    metres from the lens."""
    w = (1.0 / (1.0 + (dist / scatter.distance) ** 2))[:, None]
    return albedo + w * (torch.as_tensor(scatter.color, dtype=albedo.dtype, device=albedo.device) - albedo)
