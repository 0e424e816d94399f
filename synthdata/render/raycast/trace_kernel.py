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

from .surface_kernel import _EPS, _F, _HALF, _INF, _intersect, _rT4, _1, _0

__all__ = ["dense_hits", "sparse_hits", "flow"]

_TINY = _F(1e-12)
_BEHIND = _F(1e-6)  # flow: points closer than this in front of the camera have none
_NAN = _F(np.nan)


@njit(cache=True, nogil=True, error_model="numpy")
def _cull_table(obj_c, cam_c, radius):
    """Per frame and render primitive: its centre from the camera and the squared radius of a sphere
    holding it, with a margin (a cull only skips exact tests, so it must never cut a hit). → (B,N,4)."""
    B, N = obj_c.shape[0], obj_c.shape[1]
    out = np.empty((B, N, 4), dtype=np.float32)
    for bi in range(B):
        for i in range(N):
            r = radius[i] * _F(1.01) + _F(1e-3)
            out[bi, i, 0] = obj_c[bi, i, 0] - cam_c[bi, 0]
            out[bi, i, 1] = obj_c[bi, i, 1] - cam_c[bi, 1]
            out[bi, i, 2] = obj_c[bi, i, 2] - cam_c[bi, 2]
            out[bi, i, 3] = r * r
    return out


@njit(cache=True, nogil=True, error_model="numpy", inline="always")  # array arguments cost ~30 ns a call
def _missed(cull, bi, i, dx, dy, dz, dd):
    """Whether the camera ray d of frame bi surely misses primitive i: its closest approach to the
    centre is outside the sphere, or the sphere lies wholly behind the camera."""
    wx, wy, wz = cull[bi, i, 0], cull[bi, i, 1], cull[bi, i, 2]
    s = (wx * dx + wy * dy + wz * dz) / dd  # the ray parameter of the closest approach
    px, py, pz = wx - s * dx, wy - s * dy, wz - s * dz
    return px * px + py * py + pz * pz >= cull[bi, i, 3] or (s < _0 and s * s * dd >= cull[bi, i, 3])


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _object_t(obj_R, obj_c, inv_half, prim_of, bi, i, ox, oy, oz, dx, dy, dz):
    """Ray parameter of the hit of the ray o + t·d with render primitive i of frame bi (inf: none), in
    its unit frame as the torch stage computes it (R^T (o − c) / half, R^T d / half)."""
    pu, pv, pw = _rT4(obj_R, bi, i, ox - obj_c[bi, i, 0], oy - obj_c[bi, i, 1], oz - obj_c[bi, i, 2])
    eu, ev, ew = _rT4(obj_R, bi, i, dx, dy, dz)
    return _intersect(prim_of[i + 1], pu * inv_half[i, 0], pv * inv_half[i, 1], pw * inv_half[i, 2],
                      eu * inv_half[i, 0], ev * inv_half[i, 1], ew * inv_half[i, 2])


@njit(cache=True, nogil=True, error_model="numpy")
def _ground_t(oz, dz):
    """The flat ground z = 0 (RaycastBackend._hit_environment), inf where it is not met."""
    t = -oz / (dz if abs(dz) >= _TINY else -_TINY)
    return t if t > _EPS and oz > _0 else _INF


@njit(cache=True, nogil=True, error_model="numpy")
def sparse_hits(b, u, v, cam_R, cam_c, K, obj_R, obj_c, half, radius, prim_of, d, t_vis, owner):
    """Camera rays through image points (u, v) (pixels) of frames b, and their nearest hit: each
    render primitive (culled by its bounding sphere; ties go to the lower index, as in torch) and the
    flat ground. ``K``: (fx, fy, cx, cy). Writes ``d`` (3,M, camera-z = 1), ``t_vis`` (M, inf: none)
    and ``owner`` (M, 0: ground or none)."""
    fx, fy, cx, cy = K[0], K[1], K[2], K[3]
    inv_half = _1 / half
    cull = _cull_table(obj_c, cam_c, radius)
    for m in range(b.shape[0]):
        bi = b[m]
        x, y = (u[m] - cx) / fx, (v[m] - cy) / fy
        dx = x * cam_R[bi, 0, 0] + y * cam_R[bi, 0, 1] + _1 * cam_R[bi, 0, 2]
        dy = x * cam_R[bi, 1, 0] + y * cam_R[bi, 1, 1] + _1 * cam_R[bi, 1, 2]
        dz = x * cam_R[bi, 2, 0] + y * cam_R[bi, 2, 1] + _1 * cam_R[bi, 2, 2]
        d[0, m], d[1, m], d[2, m] = dx, dy, dz
        ox, oy, oz = cam_c[bi, 0], cam_c[bi, 1], cam_c[bi, 2]
        dd = dx * dx + dy * dy + dz * dz
        best, near = _INF, -1
        for i in range(half.shape[0]):
            if _missed(cull, bi, i, dx, dy, dz, dd):
                continue
            t = _object_t(obj_R, obj_c, inv_half, prim_of, bi, i, ox, oy, oz, dx, dy, dz)
            if t < best:
                best, near = t, i
        t_env = _ground_t(oz, dz)
        if best < t_env:
            t_vis[m], owner[m] = best, near + 1
        else:
            t_vis[m], owner[m] = t_env, 0


@njit(cache=True, nogil=True, error_model="numpy")
def dense_hits(cam_R, cam_c, K, scale, obj_R, obj_c, half, radius, prim_of, boxes,
               d, t_vis, owner_img, covered, flat, hit_b, hit_owner, hit_t):
    """The dense pass's camera rays (every pixel centre of the ``scale``-times grid of B frames, as
    ``RaycastBackend._rays``) and their nearest hit (``_hit_objects``, ``_hit_environment``; a primitive
    is tested only inside its frame's conservative screen rectangle, ``boxes`` (B,N,4) x0, y0, x1, y1,
    and its bounding sphere): ``d``
    (3,P) with P = B·H'·W' pixels in (frame, row, column) order, ``t_vis``, ``owner_img`` (P,),
    ``covered`` (B,N,H',W') every primitive each ray meets (amodal coverage; a 0-size array: none
    wanted), and the hit pixels in order: ``flat`` (their index), ``hit_b`` (frame), ``hit_owner``,
    ``hit_t``. → how many pixels hit something (the lists' length)."""
    fx, fy, cx, cy = K[0], K[1], K[2], K[3]
    B, Hs, Ws = covered.shape[0], covered.shape[2], covered.shape[3]
    labels = covered.shape[1] > 0
    inv_half = _1 / half
    cull = _cull_table(obj_c, cam_c, radius)
    M = 0
    for bi in range(B):
        ox, oy, oz = cam_c[bi, 0], cam_c[bi, 1], cam_c[bi, 2]
        for r in range(Hs):
            y = ((_F(r) + _HALF) / scale - cy) / fy
            for col in range(Ws):
                x = ((_F(col) + _HALF) / scale - cx) / fx
                dx = x * cam_R[bi, 0, 0] + y * cam_R[bi, 0, 1] + _1 * cam_R[bi, 0, 2]
                dy = x * cam_R[bi, 1, 0] + y * cam_R[bi, 1, 1] + _1 * cam_R[bi, 1, 2]
                dz = x * cam_R[bi, 2, 0] + y * cam_R[bi, 2, 1] + _1 * cam_R[bi, 2, 2]
                q = (bi * Hs + r) * Ws + col
                d[0, q], d[1, q], d[2, q] = dx, dy, dz
                dd = dx * dx + dy * dy + dz * dz
                best, near = _INF, -1
                for i in range(half.shape[0]):
                    if col < boxes[bi, i, 0] or col >= boxes[bi, i, 2] or r < boxes[bi, i, 1] or r >= boxes[bi, i, 3]:
                        continue
                    if _missed(cull, bi, i, dx, dy, dz, dd):
                        continue
                    t = _object_t(obj_R, obj_c, inv_half, prim_of, bi, i, ox, oy, oz, dx, dy, dz)
                    if labels:
                        covered[bi, i, r, col] = t < _INF
                    if t < best:
                        best, near = t, i
                t_env = _ground_t(oz, dz)
                if best < t_env:
                    t, w = best, near + 1
                else:
                    t, w = t_env, 0
                t_vis[q], owner_img[q] = t, w
                if t < _INF:
                    flat[M], hit_b[M], hit_owner[M], hit_t[M] = q, bi, w, t
                    M += 1
    return M


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
                    if w > 0:  # R p + c, as _r in backend.py
                        j = w - 1
                        px, py, pz = (px * obj_R[bi, j, 0, 0] + py * obj_R[bi, j, 0, 1] + pz * obj_R[bi, j, 0, 2] + obj_c[bi, j, 0],
                                      px * obj_R[bi, j, 1, 0] + py * obj_R[bi, j, 1, 1] + pz * obj_R[bi, j, 1, 2] + obj_c[bi, j, 1],
                                      px * obj_R[bi, j, 2, 0] + py * obj_R[bi, j, 2, 1] + pz * obj_R[bi, j, 2, 2] + obj_c[bi, j, 2])
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
