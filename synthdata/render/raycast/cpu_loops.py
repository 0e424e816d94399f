"""The ray-caster's compiled CPU loops (numba), in one module: numba keys a function's cache on its own
source file only, so loops that share helpers (the primitives' intersections, the rotations) live
together, or an edit to a helper would leave another file's cached loops stale.

- :func:`dense_hits`: the dense pass's camera rays and their nearest hit, amodal coverage and the hit
  list (``RaycastBackend._rays``, ``_hit_objects``, ``_hit_environment``);
- :func:`sparse_hits`: the same for a list of rays (adaptive anti-aliasing's re-traced sub-pixel rays,
  ``_trace_rays``);
- :func:`geometry` and :func:`combine`: the surface stage (``_surface``) — hit point, owner frame, smooth
  normal, ray-differential footprint, texture, the sun's shadow ray and the lights' angles; then, after
  torch takes the powers and exponentials, Lambert, Blinn-Phong, headlight, glow and fog;
- :func:`flow`: the pixel motion of every pixel of a dense pass (``_flow``);
- :func:`edges`: the pixels adaptive anti-aliasing re-traces (:func:`.antialias.edge_pixels`).

The torch stages run ~50 tensor ops over every ray and gather each owner's rows per op; these loops
touch each ray once (measured: render of shapes 256²×24 1.30 → 0.42 CPU s, docs/backends.md "Round 12").
Each is the torch stage's float32 arithmetic in the same order of operations, for the scenes
:func:`.cpu_kernels.supports` accepts; where a square root enters, torch's (MKL's) may round the last
bit differently (``tests/render/test_cpu_kernels.py``). Compiled once per machine into numba's cache.

Shape conventions: M rays or hits, P = B·H'·W' pixels of B frames; vectors (3,M) contiguous (the
renderer's component-major layout, :mod:`.layout`); N render primitives, owner 0 the environment.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["PRIM_CODES", "TEXTURE_CODES", "dense_hits", "sparse_hits", "geometry", "combine", "flow", "edges"]

#: primitive name → the kernel's code (their intersections and normals mirror :mod:`.primitives`)
PRIM_CODES = {"sphere": 0, "ellipsoid": 0, "box": 1, "cylinder": 2, "capsule": 3}
#: texture name → the kernel's code (they mirror :mod:`.textures`)
TEXTURE_CODES = {"flat": 0, "checker": 1, "stripes": 2, "noise": 3}

_F = np.float32
_0, _HALF, _1, _2, _3 = _F(0.0), _F(0.5), _F(1.0), _F(2.0), _F(3.0)
_EPS = _F(1e-4)  # primitives.EPS
_TINY = _F(1e-12)
_INF = _F(np.inf)
_MIN_EXTENT = _F(1e-4)  # textures.MIN_EXTENT
_NUDGE = _F(1e-3)  # the shadow ray's start off the surface, along the normal
_CAP = _F(1.0 / 3.0)  # primitives.CAP
_CAP2 = _F(1.0 / 3.0 * (1.0 / 3.0))
_A_LEN = _F(1.0 - 1.0 / 3.0)
_KX, _KY, _KZ, _KS = np.int64(73856093), np.int64(19349663), np.int64(83492791), np.int64(2654435761)
_AVALANCHE = np.int64(1274126177)
_LOW24 = np.int64(0xFFFFFF)
_INV24 = _F(1.0 / 0x1000000)


# -- rotations, in the torch stage's order of operations (``_rT``, ``_r`` in backend.py) --------------
@njit(cache=True, nogil=True, error_model="numpy", inline="always")  # array arguments cost ~30 ns a call
def _rT4(M, k, j, x, y, z):
    """M[k, j]ᵀ (x, y, z) of rotations M (B,N,3,3), read in place."""
    return (x * M[k, j, 0, 0] + y * M[k, j, 1, 0] + z * M[k, j, 2, 0],
            x * M[k, j, 0, 1] + y * M[k, j, 1, 1] + z * M[k, j, 2, 1],
            x * M[k, j, 0, 2] + y * M[k, j, 1, 2] + z * M[k, j, 2, 2])


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _r4(M, k, j, x, y, z):
    """M[k, j] (x, y, z), read in place."""
    return (x * M[k, j, 0, 0] + y * M[k, j, 0, 1] + z * M[k, j, 0, 2],
            x * M[k, j, 1, 0] + y * M[k, j, 1, 1] + z * M[k, j, 1, 2],
            x * M[k, j, 2, 0] + y * M[k, j, 2, 1] + z * M[k, j, 2, 2])


# -- primitives (unit frame; primitives.py) ----------------------------------------------------------
@njit(cache=True, nogil=True, error_model="numpy")
def _nearest_positive(t0, t1):
    t = t0 if t0 > _EPS else t1
    return t if t > _EPS else _INF


@njit(cache=True, nogil=True, error_model="numpy")
def _intersect(prim, ox, oy, oz, dx, dy, dz):
    """Ray parameter of the nearest hit past EPS of unit primitive ``prim``; +inf where missed."""
    if prim == 0:  # sphere
        a = dx * dx + dy * dy + dz * dz
        b = ox * dx + oy * dy + oz * dz
        c = ox * ox + oy * oy + oz * oz - _1
        disc = b * b - a * c
        if not disc >= _0:
            return _INF
        s = np.sqrt(disc)
        return _nearest_positive((-b - s) / a, (-b + s) / a)
    if prim == 1:  # box, slab method
        tmin, tmax = -_INF, _INF
        for o, d in ((ox, dx), (oy, dy), (oz, dz)):
            if abs(d) < _TINY:
                d = _TINY
            inv = _1 / d
            t1, t2 = (-_1 - o) * inv, (_1 - o) * inv
            tmin = max(tmin, min(t1, t2))
            tmax = min(tmax, max(t1, t2))
        if not tmax >= tmin:
            return _INF
        return _nearest_positive(tmin, tmax)
    best = _INF
    a = max(dx * dx + dy * dy, _TINY)
    b = ox * dx + oy * dy
    side = _1 if prim == 2 else _A_LEN  # the side's half-length: the cylinder's caps are flat, the capsule's domes
    disc = b * b - a * (ox * ox + oy * oy - _1)
    if disc >= _0:
        s = np.sqrt(disc)
        for t in ((-b - s) / a, (-b + s) / a):
            if abs(oz + t * dz) <= side and t > _EPS and t < best:
                best = t
    if prim == 2:  # solid cylinder: both flat caps
        dzs = dz if abs(dz) >= _TINY else _TINY
        for cap in (-_1, _1):
            t = (cap - oz) / dzs
            x, y = ox + t * dx, oy + t * dy
            if x * x + y * y <= _1 and t > _EPS and t < best:
                best = t
        return best
    # capsule: two half-ellipsoid caps
    for sign in (-_1, _1):
        zc = (oz - sign * _A_LEN) / _CAP
        dzc = dz / _CAP
        qa = dx * dx + dy * dy + dzc * dzc
        qb = ox * dx + oy * dy + zc * dzc
        qd = qb * qb - qa * (ox * ox + oy * oy + zc * zc - _1)
        if qd >= _0:
            qs = np.sqrt(qd)
            for t in ((-qb - qs) / qa, (-qb + qs) / qa):
                if sign * (oz + t * dz) >= _A_LEN and t > _EPS and t < best:
                    best = t
    return best


@njit(cache=True, nogil=True, error_model="numpy")
def _sign(x):
    return _1 if x > _0 else (-_1 if x < _0 else _0)


@njit(cache=True, nogil=True, error_model="numpy")
def _unit_normal(prim, x, y, z):
    """Unit-frame normal (not normalised) at unit-frame point (x, y, z)."""
    if prim == 0:
        return x, y, z
    if prim == 1:  # the axis of the largest coordinate (the first on ties, as argmax)
        ax, ay, az = abs(x), abs(y), abs(z)
        if ax >= ay and ax >= az:
            return _sign(x), _0, _0
        if ay >= az:
            return _0, _sign(y), _0
        return _0, _0, _sign(z)
    if prim == 2:
        r = np.sqrt(x * x + y * y)
        if (_1 - abs(z)) < (_1 - r):
            return _0, _0, _sign(z)
        return x, y, _0
    return x, y, _sign(z) * max(abs(z) - _A_LEN, _0) / _CAP2


# -- textures (textures.py) --------------------------------------------------------------------------
@njit(cache=True, nogil=True, error_model="numpy")
def _mod2(y):
    return np.floor(y * _HALF) * -_2 + y


@njit(cache=True, nogil=True, error_model="numpy")
def _tri(y):
    return _1 - abs(_mod2(y) - _1)


@njit(cache=True, nogil=True, error_model="numpy")
def _filtered_square(x, e):
    x = _mod2(x)
    if e < _MIN_EXTENT:
        return _1 - _2 * (_1 if x >= _1 else _0)
    return (_tri(x + e) - _tri(x - e)) / (_2 * e)


@njit(cache=True, nogil=True, error_model="numpy")
def _finish(h):
    h = (h ^ (h >> 13)) * _AVALANCHE
    h = h ^ (h >> 16)
    return _F(np.int32(h & _LOW24)) * _INV24


@njit(cache=True, nogil=True, error_model="numpy")
def _value_noise(px, py, pz, seed):
    fx, fy, fz = np.floor(px), np.floor(py), np.floor(pz)
    tx, ty, tz = px - fx, py - fy, pz - fz
    tx, ty, tz = tx * tx * (_3 - _2 * tx), ty * ty * (_3 - _2 * ty), tz * tz * (_3 - _2 * tz)
    ix, iy, iz = np.int64(fx), np.int64(fy), np.int64(fz)
    hs = seed * _KS
    out = _0
    for dx in range(2):
        hx = (ix + dx) * _KX ^ hs
        wx = tx if dx else _1 - tx
        for dy in range(2):
            hxy = hx ^ (iy + dy) * _KY
            wxy = wx * (ty if dy else _1 - ty)
            for dz in range(2):
                out = out + wxy * (tz if dz else _1 - tz) * _finish(hxy ^ (iz + dz) * _KZ)
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def _fbm(px, py, pz, seed):
    out, amp, total = _0, _1, _0
    for o in range(3):
        k = _F(2.0 ** o)
        out = out + amp * _value_noise(px * k, py * k, pz * k, seed + o)
        total += amp
        amp *= _HALF
    return out / total


@njit(cache=True, nogil=True, error_model="numpy")
def _pattern(code, px, py, pz, scale, seed, filt, ex, ey, ez):
    """The weight of color2 (0 = color) of texture ``code`` at (px, py, pz); ``filt``: box-filtered over
    half-extents (ex, ey, ez) metres, else point-sampled."""
    if code == 0:
        return _0
    if code == 1:  # checker
        sx, sy, sz = px * scale, py * scale, pz * scale
        if not filt:
            return _F((np.int64(np.floor(sx)) + np.int64(np.floor(sy)) + np.int64(np.floor(sz))) % 2)
        sq = _filtered_square(sx, ex * scale) * _filtered_square(sy, ey * scale) * _filtered_square(sz, ez * scale)
        return (_1 - sq) / _2
    if code == 2:  # stripes along z
        s = pz * scale * _2
        if not filt:
            return _F(np.int64(np.floor(s)) % 2)
        return (_1 - _filtered_square(s, ez * scale * _2)) / _2
    return _fbm(px * scale, py * scale, pz * scale, seed)


# -- shadows (RaycastBackend._shadowed) --------------------------------------------------------------
@njit(cache=True, nogil=True, error_model="numpy")
def _light_frames(obj_R, obj_c, inv_half, radius, Lx, Ly, Lz):
    """Per frame and render primitive, what every shadow ray of the frame reuses: the bounding sphere
    seen along L (centre in light-space coordinates a, b, s with an orthonormal e1, e2 ⟂ L; the radius
    with a margin, so the cull stays conservative: it only skips exact tests) and L in the primitive's
    unit frame (as the torch stage makes it per frame: R^T L / half). → e1, e2 (6,), (B,N,8): a, b, s,
    r², r, du, dv, dw."""
    if abs(Lz) > _HALF:  # e1 ∝ L × (1,0,0), else L × (0,0,1) (RaycastBackend._shadowed)
        ax, ay, az = _0, Lz, -Ly
    else:
        ax, ay, az = Ly, -Lx, _0
    n = np.sqrt(ax * ax + ay * ay + az * az)
    ax, ay, az = ax / n, ay / n, az / n
    basis = np.array([ax, ay, az, Ly * az - Lz * ay, Lz * ax - Lx * az, Lx * ay - Ly * ax], dtype=np.float32)
    B, N = obj_c.shape[0], obj_c.shape[1]
    out = np.empty((B, N, 8), dtype=np.float32)
    for bi in range(B):
        for i in range(N):
            cx, cy, cz = obj_c[bi, i, 0], obj_c[bi, i, 1], obj_c[bi, i, 2]
            r = radius[i] * _F(1.001) + _F(1e-5)
            ux, uy, uz = _rT4(obj_R, bi, i, Lx, Ly, Lz)
            out[bi, i, 0] = cx * basis[0] + cy * basis[1] + cz * basis[2]
            out[bi, i, 1] = cx * basis[3] + cy * basis[4] + cz * basis[5]
            out[bi, i, 2] = cx * Lx + cy * Ly + cz * Lz
            out[bi, i, 3], out[bi, i, 4] = r * r, r
            out[bi, i, 5], out[bi, i, 6], out[bi, i, 7] = ux * inv_half[i, 0], uy * inv_half[i, 1], uz * inv_half[i, 2]
    return basis, out


@njit(cache=True, nogil=True, error_model="numpy")
def geometry(origin, oi, d, di, b, t, owner,  # the hits: origin[:, oi], d[:, di], (M,) ×3
             obj_R, obj_c, half, radius, cam_R,  # (B,N,3,3) (B,N,3) (N,3) (N,) (B,3,3)
             prim_of, tex_of, color, color2, tex_scale, seed,  # (N+1,...) per owner
             flat_ground, pixel_fx, pixel_fy, light, shadows,
             normal, p_local, p_world, albedo, lit_ndl, nh, ndv, dist):  # outputs: (3,M) ×4, (M,) ×4
    """The surface stage up to its powers and exponentials, which torch takes (its own SIMD ``pow``
    and ``exp`` round differently from libm's in the last bit): per hit the smooth world ``normal``,
    ``p_local`` (owner frame), ``p_world``, ``albedo`` (display colours, clamped), ``lit_ndl`` (the sun's
    n·L where lit, else 0), ``nh`` (n·h, the sun's half vector, ≥ 0), ``ndv`` (n·v, ≥ 0) and ``dist``
    (the ray's length). ``pixel_fx``, ``pixel_fy``: the footprint's image step over the focal lengths
    (≤ 0: point-sampled textures). ``light`` (17,): ambient, sun direction (3), sun colour × intensity
    (3), sun on, headlight intensity, falloff, colour (3), fog density, fog colour (3, linear).
    Hit m's ray starts at ``origin[:, oi[m]]`` along ``d[:, di[m]]`` (origin (3,K), d (3,L)): the
    dense pass hands over its frames' camera centres and all its pixels' rays with the hits' indices,
    not gathered copies."""
    Lx, Ly, Lz = light[1], light[2], light[3]
    sun_on = light[7] > _0
    inv_half = _1 / half
    filt = pixel_fx > _0
    # outputs no caller reads come as (3,0) arrays and are not written (a third of the loop's stores)
    keep_normal, keep_local, keep_world = normal.shape[1] > 0, p_local.shape[1] > 0, p_world.shape[1] > 0
    basis, lf = _light_frames(obj_R, obj_c, inv_half, radius, Lx, Ly, Lz)
    test_shadows = sun_on and shadows and half.shape[0] > 0
    for m in range(t.shape[0]):
        bi, w, tm, j, k = b[m], owner[m], t[m], di[m], oi[m]
        dx, dy, dz = d[0, j], d[1, j], d[2, j]
        px, py, pz = origin[0, k] + tm * dx, origin[1, k] + tm * dy, origin[2, k] + tm * dz
        if flat_ground and w == 0:
            pz = _0
        if keep_world:
            p_world[0, m], p_world[1, m], p_world[2, m] = px, py, pz
        # the owner's frame and the smooth normal
        if w > 0:
            i = w - 1
            lx, ly, lz = _rT4(obj_R, bi, i, px - obj_c[bi, i, 0], py - obj_c[bi, i, 1], pz - obj_c[bi, i, 2])
            ux, uy, uz = _unit_normal(prim_of[w], lx / half[i, 0], ly / half[i, 1], lz / half[i, 2])
            nx, ny, nz = _r4(obj_R, bi, i, ux / half[i, 0], uy / half[i, 1], uz / half[i, 2])
        else:
            lx, ly, lz = px, py, pz
            nx, ny, nz = _0, _0, _1
        inv = max(np.sqrt(nx * nx + ny * ny + nz * nz), _TINY)
        nx, ny, nz = nx / inv, ny / inv, nz / inv
        if keep_local:
            p_local[0, m], p_local[1, m], p_local[2, m] = lx, ly, lz
        if keep_normal:
            normal[0, m], normal[1, m], normal[2, m] = nx, ny, nz
        # the footprint: the hit's movement for one image step along u and v, on its tangent plane
        ex = ey = ez = _0
        if filt:
            nd = nx * dx + ny * dy + nz * dz
            nd = min(nd, -_NUDGE) if nd < _0 else max(nd, _NUDGE)
            ux, uy, uz = cam_R[bi, 0, 0] * pixel_fx, cam_R[bi, 1, 0] * pixel_fx, cam_R[bi, 2, 0] * pixel_fx
            c = (nx * ux + ny * uy + nz * uz) / nd
            ux, uy, uz = tm * (ux - c * dx), tm * (uy - c * dy), tm * (uz - c * dz)
            wx, wy, wz = cam_R[bi, 0, 1] * pixel_fy, cam_R[bi, 1, 1] * pixel_fy, cam_R[bi, 2, 1] * pixel_fy
            c = (nx * wx + ny * wy + nz * wz) / nd
            wx, wy, wz = tm * (wx - c * dx), tm * (wy - c * dy), tm * (wz - c * dz)
            if w > 0:  # into the owner's frame
                ux, uy, uz = _rT4(obj_R, bi, w - 1, ux, uy, uz)
                wx, wy, wz = _rT4(obj_R, bi, w - 1, wx, wy, wz)
            ex = _HALF * np.sqrt(ux * ux + wx * wx)  # textures.box_extent
            ey = _HALF * np.sqrt(uy * uy + wy * wy)
            ez = _HALF * np.sqrt(uz * uz + wz * wz)
        # the texture (display colours)
        code = tex_of[w]
        mix = _pattern(code, lx, ly, lz, tex_scale[w], seed[w], filt and (code == 1 or code == 2), ex, ey, ez)
        for c in range(3):
            albedo[c, m] = min(max(color[w, c] + (color2[w, c] - color[w, c]) * mix, _0), _1)
        # the light's geometry
        vn = np.sqrt(dx * dx + dy * dy + dz * dz)
        dist[m] = tm * vn
        vn = max(vn, _TINY)
        vx, vy, vz = -(dx / vn), -(dy / vn), -(dz / vn)
        ndv[m] = max(nx * vx + ny * vy + nz * vz, _0)
        lit_ndl[m], nh[m] = _0, _0
        if sun_on:
            ndl = max(nx * Lx + ny * Ly + nz * Lz, _0)
            lit = ndl > _0
            if lit and test_shadows:  # the ray from q towards the sun: does it meet a render primitive?
                # written out here, not a helper: a call with array arguments costs more than the test
                qx, qy, qz = px + nx * _NUDGE, py + ny * _NUDGE, pz + nz * _NUDGE
                qa = qx * basis[0] + qy * basis[1] + qz * basis[2]
                qb = qx * basis[3] + qy * basis[4] + qz * basis[5]
                qs = qx * Lx + qy * Ly + qz * Lz
                for i in range(lf.shape[1]):
                    da, db = qa - lf[bi, i, 0], qb - lf[bi, i, 1]
                    if da * da + db * db >= lf[bi, i, 3] or qs >= lf[bi, i, 2] + lf[bi, i, 4]:
                        continue  # outside the bounding sphere seen along L, or it lies wholly behind q
                    ox, oy, oz = _rT4(obj_R, bi, i, qx - obj_c[bi, i, 0], qy - obj_c[bi, i, 1], qz - obj_c[bi, i, 2])
                    if _intersect(prim_of[i + 1], ox * inv_half[i, 0], oy * inv_half[i, 1], oz * inv_half[i, 2],
                                  lf[bi, i, 5], lf[bi, i, 6], lf[bi, i, 7]) < _INF:
                        lit = False
                        break
            if lit:
                lit_ndl[m] = ndl
            hx, hy, hz = Lx + vx, Ly + vy, Lz + vz
            hn = max(np.sqrt(hx * hx + hy * hy + hz * hz), _TINY)
            nh[m] = max(nx * (hx / hn) + ny * (hy / hn) + nz * (hz / hn), _0)


@njit(cache=True, nogil=True, error_model="numpy")
def combine(owner, specular, emissive, light, albedo, lit_ndl, sun_pow, ndv, head_pow, dist, fog_keep, dst, rgb):
    """Linear colour of each hit from :func:`geometry`'s terms and torch's powers: ``albedo`` linear
    (3,M), ``sun_pow`` = nh^shininess, ``head_pow`` = ndv^shininess, ``fog_keep`` = exp(−density·dist)
    (each (M,), read only where their light is on). → ``rgb[:, dst[m]]`` of hit m (rgb (3,Q): an
    image's pixels, written in place)."""
    ambient, head_i, head_f, fog = light[0], light[8], light[9], light[13]
    for m in range(owner.shape[0]):
        w = owner[m]
        ks = specular[w]
        kr = kg = kb = ambient
        sr = sg = sb = _0
        ndl = lit_ndl[m]
        if ndl > _0:  # lit by the sun
            kr, kg, kb = kr + ndl * light[4], kg + ndl * light[5], kb + ndl * light[6]
            e = ks * sun_pow[m]
            sr, sg, sb = sr + e * light[4], sg + e * light[5], sb + e * light[6]
        if head_i > _0:
            att = (_1 / (_1 + head_f * (dist[m] * dist[m]))) * head_i
            a = att * ndv[m]
            kr, kg, kb = kr + a * light[10], kg + a * light[11], kb + a * light[12]
            e = ks * att * head_pow[m]
            sr, sg, sb = sr + e * light[10], sg + e * light[11], sb + e * light[12]
        ar, ag, ab = albedo[0, m], albedo[1, m], albedo[2, m]
        cr, cg, cb = ar * kr + sr, ag * kg + sg, ab * kb + sb
        em = emissive[w]
        if em != _0:
            cr, cg, cb = cr + ar * em, cg + ag * em, cb + ab * em
        if fog > _0:
            f = fog_keep[m]
            cr = cr * f + light[14] * (_1 - f)
            cg = cg * f + light[15] * (_1 - f)
            cb = cb * f + light[16] * (_1 - f)
        q = dst[m]
        rgb[0, q], rgb[1, q], rgb[2, q] = cr, cg, cb


# -- rays and their hits, flow (RaycastBackend._trace_rays, _hit_objects, _flow) ----------------------
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
def sparse_hits(b, u, v, cam_R, cam_c, K, obj_R, obj_c, half, radius, prim_of, boxes, d, t_vis, owner):
    """Camera rays through image points (u, v) (pixels) of frames b, and their nearest hit: each
    render primitive (culled by its frame's screen rectangle, ``boxes`` as :func:`dense_hits` takes them,
    whose pixel holds the point, and by its bounding sphere; ties go to the lower index, as in torch)
    and the flat ground. ``K``: (fx, fy, cx, cy). Writes ``d`` (3,M, camera-z = 1), ``t_vis`` (M, inf:
    none) and ``owner`` (M, 0: ground or none)."""
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
        col, r = np.int64(np.floor(u[m])), np.int64(np.floor(v[m]))
        best, near = _INF, -1
        for i in range(half.shape[0]):
            if col < boxes[bi, i, 0] or col >= boxes[bi, i, 2] or r < boxes[bi, i, 1] or r >= boxes[bi, i, 3]:
                continue
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
def dense_hits(cam_R, cam_c, K, scale, Hs, Ws, obj_R, obj_c, half, radius, prim_of, boxes,
               d, t_vis, owner_img, covered, cov, flat, hit_b, hit_owner, hit_t, row):
    """The dense pass's camera rays (every pixel centre of the ``scale``-times grid of B frames, as
    ``RaycastBackend._rays``) and their nearest hit (``_hit_objects``, ``_hit_environment``; a primitive
    is tested only inside its frame's conservative screen rectangle, ``boxes`` (B,N,4) x0, y0, x1, y1,
    and its bounding sphere): ``d``
    (3,P) with P = B·H'·W' pixels in (frame, row, column) order, ``t_vis``, ``owner_img`` (P,),
    ``covered`` (B,N,H',W') every primitive each ray meets (amodal coverage, all False on entry; a
    0-size array: no maps wanted), ``cov`` (B,N,5) its summary: count, then the first and one-past-last
    column and row (0, W', H', 0, 0 on entry; a 0-size array: no labels), and the hit pixels in
    order: ``flat`` (their index), ``hit_b`` (frame), ``hit_owner``, ``hit_t``; ``row`` (P,) each pixel's place in those lists (-1: none, the sky). → how many pixels
    hit something (the lists' length)."""
    fx, fy, cx, cy = K[0], K[1], K[2], K[3]
    B = cam_R.shape[0]
    maps, labels = covered.shape[0] > 0, cov.shape[0] > 0
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
                    if labels and t < _INF:
                        if maps:
                            covered[bi, i, r, col] = True
                        c = cov[bi, i]
                        c[0] += 1
                        c[1], c[2] = min(c[1], col), min(c[2], r)
                        c[3], c[4] = max(c[3], col + 1), max(c[4], r + 1)
                    if t < best:
                        best, near = t, i
                t_env = _ground_t(oz, dz)
                if best < t_env:
                    t, w = best, near + 1
                else:
                    t, w = t_env, 0
                t_vis[q], owner_img[q], row[q] = t, w, -1
                if t < _INF:
                    flat[M], hit_b[M], hit_owner[M], hit_t[M], row[q] = q, bi, w, t, M
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
                    if w > 0:  # carried by the owner's pose there: R p + c
                        j = w - 1
                        px, py, pz = _r4(obj_R, bi, j, px, py, pz)
                        px, py, pz = px + obj_c[bi, j, 0], py + obj_c[bi, j, 1], pz + obj_c[bi, j, 2]
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


# -- adaptive anti-aliasing's edge test (antialias.edge_pixels) -------------------------------------
@njit(cache=True, nogil=True, error_model="numpy")
def edges(disp, key, smooth, contrast, mark, out):
    """The flat indices (ascending) of the pixels on an edge: ``key`` differs from a 4-neighbour's, or a
    display channel steps by more than ``contrast`` (float32, as torch compares; NaN: no step) unless
    both pixels are ``smooth`` (a (0,0,0) array: none is). ``mark`` (B,H,W) bool all False, scratch.
    Shape: disp (3,B,H,W), key (B,H,W) → the count written to ``out`` (B·H·W,) int64."""
    B, H, W = key.shape
    use_smooth = smooth.shape[0] > 0
    for b in range(B):
        for y in range(H):
            for x in range(W):
                for dy, dx in ((0, 1), (1, 0)):  # the right and the lower neighbour
                    y2, x2 = y + dy, x + dx
                    if y2 == H or x2 == W:
                        continue
                    step = key[b, y, x] != key[b, y2, x2]
                    if not step and not (use_smooth and smooth[b, y, x] and smooth[b, y2, x2]):
                        big = False
                        for c in range(3):
                            diff = abs(disp[c, b, y, x] - disp[c, b, y2, x2])
                            if diff != diff:  # NaN: torch's amax is NaN, and NaN > contrast is False
                                big = False
                                break
                            big = big or diff > contrast
                        step = big
                    if step:
                        mark[b, y, x] = True
                        mark[b, y2, x2] = True
    n = 0
    flat = mark.reshape(-1)
    for i in range(flat.shape[0]):
        if flat[i]:
            out[n] = i
            n += 1
    return n
