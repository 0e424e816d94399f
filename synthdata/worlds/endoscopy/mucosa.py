"""The ``mucosa`` texture: colonic mucosa at metric scale, with a submucosal vessel network,
anti-aliased, and bowel-prep residue.

Appearance (at ``scale`` 1, ``density`` 1; sizes shrink with ``scale``, the network's cells with
``density``):

- base: ``color`` (pinkish orange), mottled at 2.5 mm and varied at 9 mm;
- vessels (``color2``, red-purple) in three levels (:data:`LEVELS`) of branching lines
  (:mod:`~synthdata.render.raycast.cellular`, domain-warped so they wind): a few large deep vessels
  (≈0.9 mm wide, cells ≈12 mm, bluish and blurred), a branching network (≈0.22 mm, cells ≈3 mm) and
  fine capillaries (≈0.07 mm, cells ≈1.2 mm); widths taper smoothly along a vessel (×0.55 … 1.45) and a
  share of the cell edges is left out (branches that end, not closed polygons);
- prep residue: a yellow-to-brown film and patches (``prep``: 0 clean … 1 poor preparation).

Parameters (recipe ``material.texture_params``, each a number or a distribution drawn per clip):
:data:`PARAMS`. Anti-aliasing: with a ``footprint`` every vessel line is box-filtered across itself
and each level, the mottle and the warp fade to their mean once the pixel spans the level's cells, so
the lumen's far end shows the average colour instead of rings.

Coordinates: 3D mode (``circumference`` None) takes points in metres in the owner's frame (objects,
the straight tube's world points, the bent lumen's unrolled wall points); the pattern is solid 3D
noise, so it is continuous on any surface. Surface mode (``circumference`` given, scalar or (M,)) takes lumen-wall coordinates p[:,0]
along the centreline, p[:,1] arc length around the wall (period ``circumference``), p[:,2] height
above the wall, all metres, and wraps them onto a cylinder of that circumference before the 3D
pattern: seamless across the wrap by construction, and isometric on the wall (arc length and length
along are kept), so sizes stay metric however the lumen bends; footprints are converted alike.
"""

from __future__ import annotations

import math
from typing import NamedTuple

__all__ = ["mucosa_texture", "PARAMS", "LEVELS"]


class Param(NamedTuple):
    default: float
    low: float
    high: float
    doc: str


#: texture parameters (recipe ``texture_params``): default, allowed range, meaning
PARAMS = {
    "contrast": Param(1.0, 0.0, 3.0, "vessel visibility (0: none)"),
    "density": Param(1.0, 0.25, 4.0, "vessel network density: cells per length × density"),
    "prep": Param(0.0, 0.0, 1.0, "bowel-prep residue: 0 clean … 1 poor (yellow-brown film and patches)"),
    "prep_hue": Param(0.3, 0.0, 1.0, "residue colour: 0 yellow … 1 brown"),
}


class Level(NamedTuple):
    cell: float  # mm, network cell size
    width: float  # mm, mean vessel width
    keep: float  # share of cell edges drawn
    soft: float  # mm, intrinsic blur (deep vessels are blurred by the mucosa above them)
    opacity: float
    tone: tuple[float, float, float]  # colour multiplier on color2 (bluish: deep)
    toward_base: float  # share of the base colour in the vessel colour (lower contrast)
    warp: float  # meander amplitude, cells (noise at the cell's wavelength)
    density: float  # mean coverage / (width × keep / cell): edge length per area of the warped network in a
    #               surface, 1/cell; Monte Carlo over random planes (benchmarks/mucosa_texture.py --calibrate)


#: big deep vessels, the branching network, capillaries (mm at scale 1, density 1)
LEVELS = (
    Level(12.0, 0.9, 0.8, 0.5, 0.4, (0.8, 0.8, 1.3), 0.35, 0.25, 2.06),
    Level(3.0, 0.22, 0.55, 0.05, 0.6, (1.0, 1.0, 1.0), 0.0, 0.2, 2.11),
    Level(1.2, 0.07, 0.6, 0.03, 0.45, (1.05, 1.0, 1.0), 0.3, 0.2, 2.11),
)
_MOTTLE, _PATCH = 2.5, 9.0  # mm: wavelength of the fine mottle (and warp), of colour variation and residue patches
_WARP = (0.25, 1.2)  # mm: warp amplitude of the fine and coarse noise
_FADE = (0.5, 1.5)  # fade a pattern to its mean as the footprint grows from _FADE[0] to _FADE[1] × its size
_YELLOW, _BROWN = (0.86, 0.72, 0.3), (0.5, 0.33, 0.13)


def _wrap(p, circumference, footprint):
    """Surface coordinates (along, arc, height) → 3D points on a cylinder of that circumference
    (isometric), footprints through the same map's Jacobian. Shape: p (M,3), footprint (M,2,3)."""
    import torch

    c = torch.as_tensor(circumference, dtype=p.dtype, device=p.device).expand(p.shape[0])
    r = c / (2 * math.pi)
    theta = p[:, 1] / r
    cos, sin = torch.cos(theta), torch.sin(theta)
    rh = r + p[:, 2]
    q = torch.stack([p[:, 0], rh * cos, rh * sin], -1)
    normal = torch.stack([torch.zeros_like(cos), cos, sin], -1)
    if footprint is None:
        return q, None, normal
    k = rh / r  # arc step at height h
    fa, fs, fh = footprint[..., 0], footprint[..., 1], footprint[..., 2]
    foot = torch.stack([fa, -fs * (k * sin)[:, None] + fh * cos[:, None], fs * (k * cos)[:, None] + fh * sin[:, None]], -1)
    return q, foot, normal


def _level_cover(k, warped, fine, seed, cell, alpha, foot, normal):
    """Coverage (M,) of vessel level k: its network where resolved, blended towards its mean coverage
    by ``alpha`` (M,) (1: the footprint spans its cells; not evaluated there). Cell units = mm / cell."""
    import torch

    from ...render.raycast.cellular import network, vector_noise

    lv = LEVELS[k]
    w = torch.full_like(cell, lv.width) / cell  # mean width, cell units
    keep = torch.full_like(cell, lv.keep)
    mean = torch.clamp(lv.density * w * keep, max=1.0)
    cover = mean.clone()
    m = (alpha < 1).nonzero().squeeze(1)
    if m.numel():
        qk = warped[m] / cell[m, None]
        qk = qk + lv.warp * 2 * (vector_noise(qk, seed[m] + 7 * k) - 0.5)  # its own meander, at its cell size
        taper = 0.55 + 0.9 * fine[m, 2]  # widths vary smoothly along a vessel (mean 1)
        c = network(qk, seed[m] + 1000 * (k + 1), w[m] * taper, keep[m], LEVELS[k].soft / cell[m],
                    None if foot is None else foot[m] / cell[m, None, None], None if normal is None else normal[m])
        cover[m] = c + (mean[m] - c) * alpha[m]
    return cover


def mucosa_texture(p, color, color2, scale, seed, footprint=None, circumference=None, contrast=None, density=None,
                   prep=None, prep_hue=None):
    """Shape: p (M,3) metres (3D or surface mode, see the module); color, color2 (M,3); scale, seed and
    the parameters (M,) (None: :data:`PARAMS` default); footprint (M,2,3) in p's coordinates → (M,3)."""
    import torch

    from ...render.raycast.cellular import smoothstep, vector_noise  # the renderer's, loaded with it

    def param(v, name):
        return torch.full_like(p[:, 0], PARAMS[name].default) if v is None else v.to(p.dtype)

    contrast, density, prep, prep_hue = (param(v, n) for v, n in ((contrast, "contrast"), (density, "density"),
                                                                   (prep, "prep"), (prep_hue, "prep_hue")))
    normal = None
    if circumference is not None:
        p, footprint, normal = _wrap(p, circumference, footprint)
    elif footprint is not None:  # the tangent plane, from the pixel's footprint
        cross = torch.linalg.cross(footprint[:, 0], footprint[:, 1])
        length = torch.linalg.vector_norm(cross, dim=-1, keepdim=True)
        normal = torch.where(length > 0, cross / length.clamp(min=1e-30), cross)  # degenerate: no projection
    mm = scale[:, None] * 1e3  # metres → mm of the pattern
    q = p * mm
    foot = None if footprint is None else footprint * mm[:, None]
    size = None if foot is None else torch.sqrt((foot**2).sum((1, 2)))  # mm: the footprint's diagonal

    def fade(length):  # 0: pattern of this size resolved … 1: averaged to its mean
        return torch.zeros_like(q[:, 0]) if size is None else smoothstep(_FADE[0], _FADE[1], size / length)

    fine = vector_noise(q / _MOTTLE, seed)
    coarse = vector_noise(q / _PATCH, seed + 1)
    a_fine, a_coarse = (1 - fade(_MOTTLE))[:, None], (1 - fade(_PATCH))[:, None]
    base = color * (0.9 + 0.2 * (0.5 + a_fine * (fine[:, :1] - 0.5))) * (1 + 0.12 * a_coarse * (coarse[:, 2:] - 0.5))
    warped = q + _WARP[0] * 2 * a_fine * (fine - 0.5) + _WARP[1] * 2 * a_coarse * (coarse - 0.5)
    albedo = base
    for k, lv in enumerate(LEVELS):
        cell = lv.cell / density
        tone = torch.tensor(lv.tone, dtype=p.dtype, device=p.device)
        vessel = torch.clamp(color2 * tone, 0, 1) * (1 - lv.toward_base) + base * lv.toward_base
        cover = _level_cover(k, warped, fine, seed, cell, fade(cell), foot, normal)
        albedo = albedo + (vessel - albedo) * torch.clamp(lv.opacity * contrast * cover, 0, 1)[:, None]
    if bool((prep > 0).any()):
        hue = prep_hue[:, None]
        residue = torch.tensor(_YELLOW, dtype=p.dtype, device=p.device) * (1 - hue) + torch.tensor(_BROWN, dtype=p.dtype, device=p.device) * hue
        albedo = albedo + (residue - albedo) * (0.15 * prep)[:, None]  # a thin film everywhere
        n = 0.5 + a_coarse[:, 0] * (0.7 * coarse[:, 1] + 0.3 * fine[:, 1] - 0.5)
        th = 0.78 - 0.4 * prep
        patch = torch.clamp((n - th + 0.08) / 0.16, 0, 1) * torch.clamp(2 * prep, 0, 1) * 0.9
        albedo = albedo + (residue * (0.85 + 0.3 * fine[:, 2:]) - albedo) * patch[:, None]
    return torch.clamp(albedo, 0, 1)


mucosa_texture.takes_footprint = True
mucosa_texture.params = PARAMS
#: every detail is filtered over the footprint: adaptive anti-aliasing re-traces only geometric edges on
#: it (its vessels made 73% of a 256² lumen frame "edges", 7x the render time, for nothing)
mucosa_texture.filters_fully = True
mucosa_texture.tissue = True  # living tissue: the scope's scatter reddens it near the lens
