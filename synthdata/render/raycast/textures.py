"""Procedural textures evaluated in object space (world space for the environment).

Each texture is ``fn(p, color, color2, scale, seed) -> albedo``. Shape: p (M,3) metres; color,
color2 (M,3); scale, seed (M,); albedo (M,3) in [0,1] (display space; shading linearises).
A hard-edged texture may filter (anti-alias): it sets ``fn.takes_footprint = True`` and then gets
``footprint`` (M,2,3), the hit's movement in metres (its own frame) for one pixel step along image u
and v, when the renderer anti-aliases (``supersample: adaptive``); it box-filters its pattern over
a box of the footprint's size (:func:`box_extent`, :func:`filtered_square`), or averages samples
spread over it (``road``). ``fn.filters_fully = True``: its filter leaves no detail for adaptive
anti-aliasing to re-trace (``fn.filters_planes``: so on the flat ground only).
Noise is a hashed value lattice in int64 arithmetic, so it is identical on CPU and CUDA.
"""

from __future__ import annotations

from typing import Callable

from ...lazy import torch
from ...floats import sqrt

from ...registry import Registry

__all__ = ["TEXTURES", "value_noise", "corner_hashes", "fbm", "box_extent", "filtered_square", "MIN_EXTENT"]

TextureFn = Callable[["torch.Tensor", "torch.Tensor", "torch.Tensor", "torch.Tensor", "torch.Tensor"], "torch.Tensor"]
TEXTURES: Registry[TextureFn] = Registry("texture", "synthdata.textures")


#: the lattice hash's multipliers per axis and for the seed
_KX, _KY, _KZ, _KS = 73856093, 19349663, 83492791, 2654435761


def _finish(h: torch.Tensor) -> torch.Tensor:
    """The hash's avalanche of an int64 lattice key → float in [0, 1). The low 24 bits go through int32 (an
    exact conversion vectorised on CPU, int64 → float32 is not) and scale by 2⁻²⁴ (exact, as dividing)."""
    h = (h ^ (h >> 13)) * 1274126177
    h = h ^ (h >> 16)
    return (h & 0xFFFFFF).to(torch.int32).to(torch.float32) * (1.0 / 0x1000000)


def corner_hashes(i: torch.Tensor, seed: torch.Tensor) -> list[torch.Tensor]:
    """The lattice hash, a float in [0, 1), of the 8 corners i + (dx, dy, dz) in the order dx, dy, dz ∈
    {0, 1}: the key of a corner (x, y, z) is x·KX ^ y·KY ^ z·KZ ^ seed·KS in int64; each axis's two
    products and the seed's are made once and XORed (associative: the same bits corner by corner).
    Shape: i (M,3) int64, seed (M,) → 8 × (M,)."""
    hs = seed * _KS
    hx = [(i[:, 0] + d) * _KX ^ hs for d in (0, 1)]
    hy = [(i[:, 1] + d) * _KY for d in (0, 1)]
    hz = [(i[:, 2] + d) * _KZ for d in (0, 1)]
    return [_finish(hx[dx] ^ hy[dy] ^ hz[dz]) for dx in (0, 1) for dy in (0, 1) for dz in (0, 1)]


def value_noise(p: torch.Tensor, seed: torch.Tensor) -> torch.Tensor:
    """Smooth 3D value noise in [0,1). Shape: p (M,3), seed (M,) → (M,)."""
    f = torch.floor(p)
    t = p - f
    t = t * t * (3 - 2 * t)
    h = iter(corner_hashes(f.to(torch.int64), seed))
    w = [(1 - t[:, a], t[:, a]) for a in range(3)]  # each axis's weights of its lower and upper corner
    out = torch.zeros_like(p[:, 0])
    for dx in (0, 1):
        for dy in (0, 1):
            wxy = w[0][dx] * w[1][dy]
            for dz in (0, 1):
                out = out + wxy * w[2][dz] * next(h)
    return out


def fbm(p: torch.Tensor, seed: torch.Tensor, octaves: int = 3) -> torch.Tensor:
    """Fractal sum of value noise, normalised to [0,1)."""
    out, amp, total = torch.zeros_like(p[:, 0]), 1.0, 0.0
    for o in range(octaves):
        out = out + amp * value_noise(p * (2.0**o), seed + o)
        total += amp
        amp *= 0.5
    return out / total


def _mix(a: torch.Tensor, b: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    return a + (b - a) * w[:, None]


@TEXTURES.register("flat")
def flat(p, color, color2, scale, seed):
    return color


def box_extent(footprint: torch.Tensor) -> torch.Tensor:
    """Half-size per axis of the box filter standing for a pixel's footprint: along each axis the
    footprint (a parallelogram) spreads as two boxes of widths |a| and |b| convolved; one box of width
    √(a²+b²) has the same variance (the bounding box, |a|+|b|, over-blurs sheared footprints).
    Shape: (M,2,3) → (M,3), metres."""
    return 0.5 * sqrt(footprint[:, 0] ** 2 + footprint[:, 1] ** 2)


def _mod2(y: torch.Tensor) -> torch.Tensor:
    """``torch.remainder(y, 2.0)`` at half its cost on CPU: the same number (every step is exact:
    halving, floor, doubling, and a difference y's own spacing allows), bit for bit except that a zero
    is +0 where remainder keeps y's sign, which :func:`filtered_square` cannot see (it adds to or
    subtracts from it)."""
    return torch.floor(y * 0.5).mul_(-2.0).add_(y)


#: half-widths (in wave units) below which :func:`filtered_square` point-samples: float32 differences
#: of the triangle wave keep the step only from about this size on
MIN_EXTENT = 1e-4


def filtered_square(x: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
    """Mean over [x-e, x+e] of the square wave +1 on [0,1), -1 on [1,2) (period 2): differences of its
    integral, a triangle wave. Below :data:`MIN_EXTENT` the wave itself (the point sample, as
    ``supersample: 1`` sees it): a surface lying exactly on a step of the wave — the ground plane z = 0
    of a 3D checker, a footprint with no extent along z — would otherwise average both sides to 0 and
    lose its pattern. Shape: x, e (...) → (...)."""
    tri = lambda y: 1 - (_mod2(y) - 1).abs()  # noqa: E731
    x = _mod2(x)  # small numbers first: float32 keeps the step
    w = torch.clamp(e, min=MIN_EXTENT)
    return torch.where(e < MIN_EXTENT, 1 - 2 * (x >= 1).to(x.dtype), (tri(x + w) - tri(x - w)) / (2 * w))


@TEXTURES.register("checker")
def checker(p, color, color2, scale, seed, footprint=None):
    """Checks of side 1/scale metres."""
    if footprint is None:
        c = torch.floor(p * scale[:, None]).to(torch.int64).sum(-1) % 2
        return _mix(color, color2, c.to(p.dtype))
    sq = filtered_square(p * scale[:, None], box_extent(footprint) * scale[:, None]).prod(-1)
    return _mix(color, color2, (1 - sq) / 2)  # the parity of the summed cells is the product of per-axis waves


@TEXTURES.register("stripes")
def stripes(p, color, color2, scale, seed, footprint=None):
    """Bands along the object's z axis, scale bands per metre."""
    if footprint is None:
        s = (torch.floor(p[:, 2] * scale * 2).to(torch.int64) % 2).to(p.dtype)
        return _mix(color, color2, s)
    return _mix(color, color2, (1 - filtered_square(p[:, 2] * scale * 2, box_extent(footprint)[:, 2] * scale * 2)) / 2)


checker.takes_footprint = stripes.takes_footprint = True
# On a plane (the flat ground) a footprint is exact and their box filter is the pixel's own average of
# the pattern: adaptive anti-aliasing trusts it there instead of re-tracing every check edge (measured
# against 8×8 point samples, shapes 192²: mean error 1.25 → 1.63 levels for 2.6× less render time at
# 256²). On objects (curved: the footprint is a tangent-plane estimate) their steps are re-traced.
checker.filters_planes = stripes.filters_planes = True


@TEXTURES.register("noise")
def noise(p, color, color2, scale, seed):
    return _mix(color, color2, fbm(p * scale[:, None], seed))


@TEXTURES.register("tissue")
def tissue(p, color, color2, scale, seed):
    """Mucosa: mottled base (color) with dark branching vessels (color2) from ridged noise."""
    base = _mix(color, color * 0.75, fbm(p * scale[:, None], seed, 3))
    ridge = 1 - (2 * fbm(p * scale[:, None] * 0.6, seed + 11, 3) - 1).abs()
    vessel = torch.clamp((ridge - 0.93) / 0.05, 0, 1) * 0.7
    return _mix(base, color2, vessel)


# The endoscopy world's texture, by name (loaded on first use). Not an entry point: an entry point is
# resolved by every checkout sharing an installed environment, and one without the module then fails
# to load any texture.
TEXTURES.register_lazy("mucosa", "synthdata.worlds.endoscopy.mucosa:mucosa_texture")

tissue.tissue = True  # living tissue: the scope's scatter reddens it near the lens
