"""Rays against the bent lumen's wall (scene/lumen.py): sphere tracing of F = ρ − R(x, θ), then
bisection of the last step.

Each ray steps by −F/L (L: the wall's Lipschitz bound, so a step never crosses it), at least a small
fraction of the distance so far (grazing rays along the wall still advance), until F ≥ −tol (on the
wall to a micrometre-scale tolerance), F > 0 (stepped through: bisect the last step) or it has gone
``view_distance`` (darkness). Grazing rays crawl; after 64 steps their least step doubles every 16,
and a ray still marching after ``MAX_STEPS`` is a hit if it is within 0.1 mm of the wall. Tests
compare hits against a fine uniform march.
"""

from __future__ import annotations

from ...lazy import torch

from ...scene.lumen import Lumen

__all__ = ["march"]

MAX_STEPS = 160
BISECT = 14
MIN_STEP = 3e-3  # relative to the distance marched: a grazing ray's least step


def march(lumen: Lumen, o: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
    """Ray parameter of the first wall hit (in units of ``d``), +inf for none. Shape: o (...,3)
    broadcastable to d (...,3) → (...)."""
    shape = d.shape[:-1]
    d = d.reshape(-1, 3)
    o = o.expand(*shape, 3).reshape(-1, 3)
    scale = torch.sqrt((d * d).sum(-1))
    u = d / scale[:, None]
    M = d.shape[0]
    dist = torch.zeros(M, dtype=d.dtype, device=d.device)
    lo = torch.zeros_like(dist)
    hit = torch.full_like(dist, float("inf"))
    inv_l = 1.0 / lumen.lipschitz
    tol = 1e-5  # m of F: on the wall
    active = (lumen.field(o) < 0).nonzero().squeeze(1)  # rays from outside the lumen see nothing of it
    brackets = []  # (rays, last safe distance, first distance past the wall)
    for it in range(MAX_STEPS):
        if active.numel() == 0:
            break
        da = dist[active]
        f = lumen.field(o[active] + da[:, None] * u[active])
        through = f > 0
        on = (f >= -tol) & ~through
        hit[active[on]] = da[on]
        brackets.append((active[through], lo[active[through]], da[through]))
        floor = MIN_STEP * 2.0 ** (max(0, it - 64) // 16)  # crawlers speed up after 64 steps
        step = torch.maximum(-f * inv_l, floor * da + 1e-6)
        keep = (f < -tol) & (da + step < lumen.view_distance)
        active = active[keep]
        lo[active] = da[keep]
        dist[active] = (da + step)[keep]
    if active.numel():  # still crawling after MAX_STEPS: grazing the wall, a hit where it is on it
        near = lumen.field(o[active] + dist[active, None] * u[active]) > -1e-4
        hit[active[near]] = dist[active[near]]
    if brackets:
        idx, a, b = (torch.cat(c) for c in zip(*brackets))
        hit[idx] = _bisect(lumen, o[idx], u[idx], a, b)
    return (hit / scale).reshape(shape)


def _bisect(lumen: Lumen, o: torch.Tensor, u: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The wall crossing within [a, b] (F(a) < 0 < F(b)), to 2^-BISECT of the bracket. Shape: (M,)."""
    for _ in range(BISECT):
        m = 0.5 * (a + b)
        out = lumen.field(o + m[:, None] * u) > 0
        b = torch.where(out, m, b)
        a = torch.where(out, a, m)
    return b
