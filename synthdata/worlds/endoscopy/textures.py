"""Surface textures of the endoscopy world's objects (registered as ``synthdata.textures``).

``polyp``: an adenoma's surface — a mottled base (``color``) crossed by a dense, fine pattern of dark
tubular pits (``color2``) from ridged noise at ``scale`` features per metre (2000: pits ~0.5 mm apart,
denser than the wall's vessels), so a polyp reads apart from the mucosa it grows from. With a pixel
footprint (adaptive anti-aliasing) the pits fade to their mean where a pixel spans more than a pit
(no shimmer far away).
"""

from __future__ import annotations

__all__ = ["polyp_texture"]

PIT_MEAN = 0.12  # mean pit weight of the pattern: what a pixel spanning many pits sees


def polyp_texture(p, color, color2, scale, seed, footprint=None):
    import torch

    from ...render.raycast.textures import box_extent, fbm  # the renderer's noise, loaded with the renderer

    q = p * scale[:, None]
    base = color + (color * 0.82 - color) * fbm(q * 0.15, seed, 3)[:, None]
    ridge = 1 - (2 * fbm(q, seed + 7, 2) - 1).abs()
    pits = torch.clamp((ridge - 0.8) / 0.12, 0, 1) * 0.6
    if footprint is not None:  # contrast fades as a pixel grows past a pit
        keep = torch.clamp(1.5 - box_extent(footprint).amax(-1) * scale, 0, 1)
        pits = pits * keep + PIT_MEAN * (1 - keep)
    return base + (color2 - base) * pits[:, None]


polyp_texture.takes_footprint = True
polyp_texture.tissue = True  # living tissue: the scope's scatter reddens it near the lens
