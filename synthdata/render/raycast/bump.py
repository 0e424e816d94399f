"""Bump-mapped shading normals and the wet film's specular lobe (``material.bump``, ``material.wet``).

Bumps tilt only the normal used for shading; hits, depth and every label (the ``normals`` label too)
stay those of the smooth surface. The height field is fractal value noise in the owner's frame (metres),
so bumps stick to the surface as it moves; its gradient is analytic (the derivative of the smoothstep
interpolation), so the normal is exact at any scale — millimetre bumps in a metre-unit world included.
Each octave fades out as its period nears two ray spacings on the surface (the ray's footprint), so
bumps far below a pixel give the smooth normal instead of sparkle noise.

Shapes: M hit points; n, p (M,3); params (M,3) per hit (amplitude m, scale 1/m, octaves); seed (M,).
"""

from __future__ import annotations

import functools
import math

from ...lazy import torch

from .textures import corner_hashes

__all__ = ["bump_normals", "wet_lobe", "value_noise_grad"]

_SEED = 7919  # offsets the bump noise's seed from the textures' (same noise_seed, different pattern)


@functools.cache  # built on first use: importing the ray-caster does not import torch
def _rotation() -> torch.Tensor:
    """A fixed rotation (axis (1,2,3), 0.7 rad) so the noise lattice lines up with no world axis (tube
    axes, roads). Shape (3,3)."""
    a = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    a = a / a.norm()
    c, s = math.cos(0.7), math.sin(0.7)
    k = torch.tensor([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]], dtype=torch.float64)
    return (torch.eye(3, dtype=torch.float64) * c + s * k + (1 - c) * torch.outer(a, a)).float()


def value_noise_grad(p: torch.Tensor, seed: torch.Tensor) -> torch.Tensor:
    """Gradient of :func:`~.textures.value_noise` (the same lattice and hash) at p, per unit of p.
    Shape: p (M,3), seed (M,) → (M,3)."""
    f = torch.floor(p)
    t = p - f
    w1 = t * t * (3 - 2 * t)  # smoothstep weights of the upper corner, per axis
    dw = 6 * t * (1 - t)  # their derivatives
    i = f.to(torch.int64)
    g = torch.zeros_like(p)
    hashes = iter(corner_hashes(i, seed))
    for dx in (0, 1):
        for dy in (0, 1):
            for dz in (0, 1):
                h = next(hashes)
                w = [w1[:, a] if d else 1 - w1[:, a] for a, d in enumerate((dx, dy, dz))]
                s = [dw[:, a] if d else -dw[:, a] for a, d in enumerate((dx, dy, dz))]
                g[:, 0] += s[0] * w[1] * w[2] * h
                g[:, 1] += w[0] * s[1] * w[2] * h
                g[:, 2] += w[0] * w[1] * s[2] * h
    return g


def _mul(x: torch.Tensor, A: torch.Tensor) -> torch.Tensor:
    """x A for row vectors, written out so results do not depend on BLAS threading. x (M,3), A (3,3)."""
    return x[:, 0:1] * A[0] + x[:, 1:2] * A[1] + x[:, 2:3] * A[2]


def _fade(x: torch.Tensor) -> torch.Tensor:
    """1 below 0.25, 0 above 0.5, smooth between: an octave's weight against (its frequency × the
    footprint in metres); 0.5 is the Nyquist limit (period = two ray spacings)."""
    u = torch.clamp((0.5 - x) / 0.25, 0, 1)
    return u * u * (3 - 2 * u)


def bump_normals(n: torch.Tensor, p: torch.Tensor, R: torch.Tensor, params: torch.Tensor, seed: torch.Tensor,
                 footprint: torch.Tensor) -> torch.Tensor:
    """Shading normals tilted by the bump height field. n (M,3) unit world normals; p (M,3) hits in the
    owner's frame; R (M,3,3) owner → world rotation; footprint (M,) metres one ray stands for on the
    surface → (M,3) unit world normals (n itself where amplitude is 0 or every octave has faded)."""
    amp, scale, octaves = params[:, 0], params[:, 1], params[:, 2]
    Q = _rotation().to(p.device)
    q = _mul(p, Q.T)  # the rotated lattice
    top = int(octaves.max().item()) if octaves.numel() else 0
    total = torch.zeros_like(amp)
    for o in range(top):
        total = total + (o < octaves).to(amp.dtype) * 0.5 ** o
    grad = torch.zeros_like(p)
    for o in range(top):
        f = scale * 2.0 ** o  # (M,) frequency, 1/m
        w = (o < octaves).to(amp.dtype) * _fade(f * footprint)
        m = (w > 0).nonzero().squeeze(1)
        if m.numel() == 0:
            continue
        g = _mul(value_noise_grad(q[m] * f[m, None], seed[m] + _SEED * (o + 1)), Q)  # d/dp of noise(Q p f), per f
        grad[m] += (w[m] * 0.5 ** o * f[m])[:, None] * g
    grad = grad * (2 * amp / torch.clamp(total, min=1))[:, None]  # heights in [-amp, amp]
    g_world = grad[:, 0:1] * R[:, :, 0] + grad[:, 1:2] * R[:, :, 1] + grad[:, 2:3] * R[:, :, 2]
    g_t = g_world - (g_world * n).sum(-1, keepdim=True) * n  # the tangential part tilts the normal
    out = n - g_t
    return out / torch.clamp(out.norm(dim=-1, keepdim=True), min=1e-12)


def wet_lobe(n: torch.Tensor, v: torch.Tensor, params: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The wet film's lobe: strength specular·(1 + fresnel·(1 − n·v)⁵) and shininess, each (M,1), from
    params (M,3) (specular, shininess, fresnel); n, v (M,3) unit shading normal and direction to the eye."""
    ndv = torch.clamp((n * v).sum(-1), 0, 1)
    k = params[:, 0] * (1 + params[:, 2] * (1 - ndv) ** 5)
    return k[:, None], torch.clamp(params[:, 1], min=1.0)[:, None]
