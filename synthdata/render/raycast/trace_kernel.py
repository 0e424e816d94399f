"""Two more of the ray-caster's CPU stages as compiled loops (numba), beside :mod:`.surface_kernel`:
:func:`sparse_hits`, the nearest hit of a list of camera rays (adaptive anti-aliasing's re-traced
sub-pixel rays, ``RaycastBackend._trace_rays``), and :func:`flow`, the pixel motion of every pixel of
a dense pass (``RaycastBackend._flow``). The torch stages spend ~1 µs per re-traced ray in per-object
gathers and ~60 tensor ops per flow map; these loops touch each ray once.

Same float32 arithmetic as the torch stages, step for step: flow has no square root and comes out bit
for bit; a hit's ray parameter goes through the primitives' square roots, where torch's (MKL's) may
round the last bit differently. Scenes: a flat ground, a pinhole camera, the primitives of
:data:`~.surface_kernel.PRIM_CODES` (:func:`.cpu_kernels.supports_rays`).

Shape conventions: B frames of the batch, N render primitives, M rays; vectors (3,M) contiguous.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .surface_kernel import _EPS, _F, _INF, _intersect, _1, _0

__all__ = ["sparse_hits", "flow"]

_TINY = _F(1e-12)
_BEHIND = _F(1e-6)  # flow: points closer than this in front of the camera have none
_NAN = _F(np.nan)


@njit(cache=True, nogil=True, error_model="numpy")
def sparse_hits(b, u, v, cam_R, cam_c, K, obj_R, obj_c, half, radius, prim_of, d, t_vis, owner):
    """Camera rays through image points (u, v) (pixels) of frames b, and their nearest hit: each
    object's primitive (culled by its bounding sphere, conservatively: a cull only skips exact tests;
    ties go to the lower index, as in torch) and the flat ground z = 0. ``K``: (fx, fy, cx, cy). Writes
    ``d`` (3,M, camera-z = 1), ``t_vis`` (M, inf: none) and ``owner`` (M, 0: ground or none)."""
    fx, fy, cx, cy = K[0], K[1], K[2], K[3]
    N = half.shape[0]
    inv_half = _1 / half
    for m in range(b.shape[0]):
        bi = b[m]
        x, y = (u[m] - cx) / fx, (v[m] - cy) / fy
        R = cam_R[bi]
        dx = x * R[0, 0] + y * R[0, 1] + _1 * R[0, 2]
        dy = x * R[1, 0] + y * R[1, 1] + _1 * R[1, 2]
        dz = x * R[2, 0] + y * R[2, 1] + _1 * R[2, 2]
        d[0, m], d[1, m], d[2, m] = dx, dy, dz
        ox, oy, oz = cam_c[bi, 0], cam_c[bi, 1], cam_c[bi, 2]
        dd = dx * dx + dy * dy + dz * dz
        best, near = _INF, -1
        for i in range(N):
            wx, wy, wz = obj_c[bi, i, 0] - ox, obj_c[bi, i, 1] - oy, obj_c[bi, i, 2] - oz
            s = wx * dx + wy * dy + wz * dz
            r = radius[i] * _F(1.001) + _F(1e-6)
            if s < -r * np.sqrt(dd) or (wx * wx + wy * wy + wz * wz) * dd - s * s >= r * r * dd:
                continue
            Ro = obj_R[bi, i]
            qx, qy, qz = ox - obj_c[bi, i, 0], oy - obj_c[bi, i, 1], oz - obj_c[bi, i, 2]
            pu = (qx * Ro[0, 0] + qy * Ro[1, 0] + qz * Ro[2, 0]) * inv_half[i, 0]
            pv = (qx * Ro[0, 1] + qy * Ro[1, 1] + qz * Ro[2, 1]) * inv_half[i, 1]
            pw = (qx * Ro[0, 2] + qy * Ro[1, 2] + qz * Ro[2, 2]) * inv_half[i, 2]
            eu = (dx * Ro[0, 0] + dy * Ro[1, 0] + dz * Ro[2, 0]) * inv_half[i, 0]
            ev = (dx * Ro[0, 1] + dy * Ro[1, 1] + dz * Ro[2, 1]) * inv_half[i, 1]
            ew = (dx * Ro[0, 2] + dy * Ro[1, 2] + dz * Ro[2, 2]) * inv_half[i, 2]
            t = _intersect(prim_of[i + 1], pu, pv, pw, eu, ev, ew)
            if t < best:
                best, near = t, i
        # the ground plane z = 0 (RaycastBackend._hit_environment)
        t_env = -oz / (dz if abs(dz) >= _TINY else -_TINY)
        if not (t_env > _EPS and oz > _0):
            t_env = _INF
        if best < t_env:
            t_vis[m], owner[m] = best, near + 1
        else:
            t_vis[m], owner[m] = t_env, 0


@njit(cache=True, nogil=True, error_model="numpy")
def flow(d, hit, owner, p_local, obj_R, obj_c, cam_R, cam_c, K, out):
    """Pixel motion of each pixel to the frames whose poses are given (``RaycastBackend._flow``): a hit
    point carried by its owner's pose there (the ground stays), a sky direction turned by the camera,
    projected through the pinhole, minus the pixel centre; NaN behind the camera. ``d`` (3,P) the
    pixels' directions, P = B·H·W; ``hit`` (P,) each pixel's row in ``owner``/``p_local`` (-1: sky);
    poses (B,N,3,3) (B,N,3) (B,3,3) (B,3) at the target frames; ``K`` (fx, fy, cx, cy). → ``out``
    (B,H,W,2)."""
    fx, fy, cx, cy = K[0], K[1], K[2], K[3]
    B, H, W = out.shape[0], out.shape[1], out.shape[2]
    for bi in range(B):
        R = cam_R[bi]
        c0, c1, c2 = cam_c[bi, 0], cam_c[bi, 1], cam_c[bi, 2]
        for r in range(H):
            gv = _F(r) + _F(0.5)
            for col in range(W):
                q = (bi * H + r) * W + col
                m = hit[q]
                if m < 0:
                    px, py, pz = d[0, q], d[1, q], d[2, q]
                else:
                    w = owner[m]
                    px, py, pz = p_local[0, m], p_local[1, m], p_local[2, m]
                    if w > 0:
                        Ro = obj_R[bi, w - 1]
                        px, py, pz = (px * Ro[0, 0] + py * Ro[0, 1] + pz * Ro[0, 2] + obj_c[bi, w - 1, 0],
                                      px * Ro[1, 0] + py * Ro[1, 1] + pz * Ro[1, 2] + obj_c[bi, w - 1, 1],
                                      px * Ro[2, 0] + py * Ro[2, 1] + pz * Ro[2, 2] + obj_c[bi, w - 1, 2])
                    px, py, pz = px - c0, py - c1, pz - c2
                x = px * R[0, 0] + py * R[1, 0] + pz * R[2, 0]
                y = px * R[0, 1] + py * R[1, 1] + pz * R[2, 1]
                z = px * R[0, 2] + py * R[1, 2] + pz * R[2, 2]
                if z > _BEHIND:
                    out[bi, r, col, 0] = fx * x / z + cx - (_F(col) + _F(0.5))
                    out[bi, r, col, 1] = fy * y / z + cy - gv
                else:
                    out[bi, r, col, 0] = _NAN
                    out[bi, r, col, 1] = _NAN
