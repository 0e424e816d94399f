"""How fast could the ray-caster's CPU render be as one fused compiled kernel? A measured lower bound,
not a renderer: the shapes scenes' own cameras, poses, primitives and materials traced per pixel in a
numba kernel (one thread, no temporaries, helpers inlined): nearest hit over the unit-frame sphere/box/cylinder and the
ground plane, normals, textures (flat, point-sampled checker and stripes, 3-octave value noise with the
renderer's int64 hash), sun shading with a shadow ray over every object, Blinn-Phong specular, sky; then
the adaptive anti-aliasing's 8 sub-rays on every pixel whose owner differs from a 4-neighbour's, and
forward and backward flow of each hit. It leaves out what the renderer also does (filtered textures'
footprints, amodal coverage, label maps, exposure, encode), so the real kernel would cost more.

    (numba is a dependency since round 12: the renderer's compiled CPU stages, render/raycast/cpu_kernels.py,
    grew out of this experiment)
    python benchmarks/fused_bound.py --clips 3

Prints one JSON line: CPU seconds per clip for the torch renderer and for the kernel, on one thread.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from _clips import one_thread_clips  # noqa: E402
from _machine import machine  # noqa: E402

import numba  # noqa: E402
from numba import njit  # noqa: E402

from synthdata.render.raycast.backend import _SceneTensors  # noqa: E402

EPS = 1e-4
INF = np.float32(np.inf)
PRIM = {"sphere": 0, "ellipsoid": 0, "box": 1, "cylinder": 2}
TEX = {"flat": 0, "checker": 1, "stripes": 2, "noise": 3}


@njit(cache=True, error_model="numpy", inline="always")
def _hit_unit(prim, ox, oy, oz, dx, dy, dz):
    if prim == 0:
        a = dx * dx + dy * dy + dz * dz
        b = ox * dx + oy * dy + oz * dz
        c = ox * ox + oy * oy + oz * oz - 1
        disc = b * b - a * c
        if disc < 0:
            return INF
        s = math.sqrt(disc)
        t = (-b - s) / a
        if t <= EPS:
            t = (-b + s) / a
        return t if t > EPS else INF
    if prim == 1:
        tmin, tmax = -INF, INF
        for o, d in ((ox, dx), (oy, dy), (oz, dz)):
            if abs(d) < 1e-12:
                d = 1e-12
            t1, t2 = (-1 - o) / d, (1 - o) / d
            tmin = max(tmin, min(t1, t2))
            tmax = min(tmax, max(t1, t2))
        if tmax < tmin:
            return INF
        t = tmin if tmin > EPS else tmax
        return t if t > EPS else INF
    best = INF
    a = max(dx * dx + dy * dy, 1e-12)
    b = ox * dx + oy * dy
    c = ox * ox + oy * oy - 1
    disc = b * b - a * c
    if disc >= 0:
        s = math.sqrt(disc)
        for t in ((-b - s) / a, (-b + s) / a):
            if abs(oz + t * dz) <= 1 and EPS < t < best:
                best = t
    dzs = dz if abs(dz) >= 1e-12 else 1e-12
    for cap in (-1.0, 1.0):
        t = (cap - oz) / dzs
        x, y = ox + t * dx, oy + t * dy
        if x * x + y * y <= 1 and EPS < t < best:
            best = t
    return best


@njit(cache=True, error_model="numpy", inline="always")
def _nearest(f, ox, oy, oz, dx, dy, dz, R, c, half, prim, rad):
    """Nearest object hit of one ray in frame f: (t, object index or -1)."""
    best, who = INF, -1
    for i in range(half.shape[0]):
        # bounding sphere first (the renderer culls by screen rectangles instead)
        qx, qy, qz = c[f, i, 0] - ox, c[f, i, 1] - oy, c[f, i, 2] - oz
        dd = dx * dx + dy * dy + dz * dz
        tc = (qx * dx + qy * dy + qz * dz) / dd
        ex, ey, ez = qx - tc * dx, qy - tc * dy, qz - tc * dz
        if ex * ex + ey * ey + ez * ez > rad[i] * rad[i]:
            continue
        R0, R1, R2 = R[f, i, 0], R[f, i, 1], R[f, i, 2]  # into the unit frame: R^T (o - c) / half
        lx = (R0[0] * -qx + R1[0] * -qy + R2[0] * -qz) / half[i, 0]
        ly = (R0[1] * -qx + R1[1] * -qy + R2[1] * -qz) / half[i, 1]
        lz = (R0[2] * -qx + R1[2] * -qy + R2[2] * -qz) / half[i, 2]
        mx = (R0[0] * dx + R1[0] * dy + R2[0] * dz) / half[i, 0]
        my = (R0[1] * dx + R1[1] * dy + R2[1] * dz) / half[i, 1]
        mz = (R0[2] * dx + R1[2] * dy + R2[2] * dz) / half[i, 2]
        t = _hit_unit(prim[i], lx, ly, lz, mx, my, mz)
        if t < best:
            best, who = t, i
    return best, who


@njit(cache=True, error_model="numpy", inline="always")
def _hash(x, y, z, seed):
    h = (x * 73856093) ^ (y * 19349663) ^ (z * 83492791) ^ (seed * 2654435761)
    h = (h ^ (h >> 13)) * 1274126177
    h = h ^ (h >> 16)
    return np.float32(h & 0xFFFFFF) * np.float32(1.0 / 0x1000000)


@njit(cache=True, error_model="numpy", inline="always")
def _noise(px, py, pz, seed):
    out, amp, tot = 0.0, 1.0, 0.0
    for o in range(3):
        s = 2.0 ** o
        x, y, z = px * s, py * s, pz * s
        fx, fy, fz = math.floor(x), math.floor(y), math.floor(z)
        tx, ty, tz = x - fx, y - fy, z - fz
        tx, ty, tz = tx * tx * (3 - 2 * tx), ty * ty * (3 - 2 * ty), tz * tz * (3 - 2 * tz)
        ix, iy, iz = np.int64(fx), np.int64(fy), np.int64(fz)
        v = 0.0
        for a in range(2):
            wa = tx if a else 1 - tx
            for b in range(2):
                wb = ty if b else 1 - ty
                for c in range(2):
                    wc = tz if c else 1 - tz
                    v += wa * wb * wc * _hash(ix + a, iy + b, iz + c, seed + o)
        out += amp * v
        tot += amp
        amp *= 0.5
    return out / tot


@njit(cache=True, error_model="numpy", inline="always")
def _shade_ray(f, ox, oy, oz, dx, dy, dz, R, c, half, prim, rad, tex, col, col2, scale, spec, shin, seed,
               L, sun, amb, sky_top, sky_hor, rgb):
    """Linear RGB of one ray into rgb (3,); returns (t, owner) — owner 0 the ground, -1 the sky."""
    t, who = _nearest(f, ox, oy, oz, dx, dy, dz, R, c, half, prim, rad)
    tg = -oz / dz if dz < 0 else INF
    if tg < t:
        t, who = tg, -1
        owner = 0
    elif who >= 0:
        owner = who + 1
    else:
        dn = math.sqrt(dx * dx + dy * dy + dz * dz)
        w = math.sqrt(min(max(dz / dn, 0.0), 1.0))
        s = max((dx * L[0] + dy * L[1] + dz * L[2]) / dn, 0.0) ** 200
        for k in range(3):
            rgb[k] = sky_hor[k] + (sky_top[k] - sky_hor[k]) * w + s * sun
        return INF, -1
    px, py, pz = ox + t * dx, oy + t * dy, oz + t * dz
    if owner == 0:
        pz = 0.0
        nx, ny, nz = 0.0, 0.0, 1.0
        lx, ly, lz = px, py, pz
    else:
        i = who
        qx, qy, qz = px - c[f, i, 0], py - c[f, i, 1], pz - c[f, i, 2]
        lx = R[f, i, 0, 0] * qx + R[f, i, 1, 0] * qy + R[f, i, 2, 0] * qz
        ly = R[f, i, 0, 1] * qx + R[f, i, 1, 1] * qy + R[f, i, 2, 1] * qz
        lz = R[f, i, 0, 2] * qx + R[f, i, 1, 2] * qy + R[f, i, 2, 2] * qz
        ux, uy, uz = lx / half[i, 0], ly / half[i, 1], lz / half[i, 2]
        if prim[i] == 0:
            mx, my, mz = ux, uy, uz
        elif prim[i] == 1:
            ax, ay, az = abs(ux), abs(uy), abs(uz)
            mx = math.copysign(1.0, ux) if ax >= ay and ax >= az else 0.0
            my = math.copysign(1.0, uy) if ay > ax and ay >= az else 0.0
            mz = math.copysign(1.0, uz) if az > ax and az > ay else 0.0
        else:
            r = math.sqrt(ux * ux + uy * uy)
            if 1 - abs(uz) < 1 - r:
                mx, my, mz = 0.0, 0.0, math.copysign(1.0, uz)
            else:
                mx, my, mz = ux, uy, 0.0
        mx, my, mz = mx / half[i, 0], my / half[i, 1], mz / half[i, 2]
        nx = R[f, i, 0, 0] * mx + R[f, i, 0, 1] * my + R[f, i, 0, 2] * mz
        ny = R[f, i, 1, 0] * mx + R[f, i, 1, 1] * my + R[f, i, 1, 2] * mz
        nz = R[f, i, 2, 0] * mx + R[f, i, 2, 1] * my + R[f, i, 2, 2] * mz
        nn = math.sqrt(nx * nx + ny * ny + nz * nz)
        nx, ny, nz = nx / nn, ny / nn, nz / nn
    k = tex[owner]
    s = scale[owner]
    if k == 0:
        w = 0.0
    elif k == 1:
        w = float((np.int64(math.floor(lx * s)) + np.int64(math.floor(ly * s)) + np.int64(math.floor(lz * s))) % 2)
    elif k == 2:
        w = float(np.int64(math.floor(lz * s * 2)) % 2)
    else:
        w = _noise(lx * s, ly * s, lz * s, seed[owner])
    ndl = max(nx * L[0] + ny * L[1] + nz * L[2], 0.0)
    lit = ndl > 0
    if lit:  # shadow ray
        qx, qy, qz = px + nx * 1e-3, py + ny * 1e-3, pz + nz * 1e-3
        ts, _ = _nearest(f, qx, qy, qz, L[0], L[1], L[2], R, c, half, prim, rad)
        lit = ts == INF
    dn = math.sqrt(dx * dx + dy * dy + dz * dz)
    hx, hy, hz = L[0] - dx / dn, L[1] - dy / dn, L[2] - dz / dn
    hn = math.sqrt(hx * hx + hy * hy + hz * hz)
    nh = max((nx * hx + ny * hy + nz * hz) / hn, 0.0)
    light = amb + (ndl * sun if lit else 0.0)
    sp = spec[owner] * nh ** shin[owner] * sun if lit else 0.0
    for j in range(3):
        a = min(max(col[owner, j] + (col2[owner, j] - col[owner, j]) * w, 0.0), 1.0) ** 2.2
        rgb[j] = a * light + sp
    return t, owner


@njit(cache=True, error_model="numpy")
def render_clip(cam_R, cam_c, K, H, W, R, c, half, prim, rad, tex, col, col2, scale, spec, shin, seed,
                L, sun, amb, sky_top, sky_hor, img, depth, own, flow):
    """Every frame: dense pass, then 8 sub-rays where a pixel's owner differs from a neighbour's, then
    forward flow of each hit. Shape: img (T,H,W,3), depth/own (T,H,W), flow (T,H,W,2)."""
    T = img.shape[0]
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    rgb = np.empty(3, np.float32)
    acc = np.empty(3, np.float32)
    refined = 0
    for f in range(T):
        for y in range(H):
            for x in range(W):
                u, v = (x + 0.5 - cx) / fx, (y + 0.5 - cy) / fy
                dx = cam_R[f, 0, 0] * u + cam_R[f, 0, 1] * v + cam_R[f, 0, 2]
                dy = cam_R[f, 1, 0] * u + cam_R[f, 1, 1] * v + cam_R[f, 1, 2]
                dz = cam_R[f, 2, 0] * u + cam_R[f, 2, 1] * v + cam_R[f, 2, 2]
                t, o = _shade_ray(f, cam_c[f, 0], cam_c[f, 1], cam_c[f, 2], dx, dy, dz, R, c, half, prim, rad,
                                  tex, col, col2, scale, spec, shin, seed, L, sun, amb, sky_top, sky_hor, rgb)
                img[f, y, x, 0], img[f, y, x, 1], img[f, y, x, 2] = rgb[0], rgb[1], rgb[2]
                depth[f, y, x], own[f, y, x] = t, o
                if o > 0 and f + 1 < c.shape[0]:  # flow: the hit carried by its owner's next pose
                    i = o - 1
                    px, py, pz = cam_c[f, 0] + t * dx, cam_c[f, 1] + t * dy, cam_c[f, 2] + t * dz
                    qx, qy, qz = px - c[f, i, 0], py - c[f, i, 1], pz - c[f, i, 2]
                    wx, wy, wz = c[f + 1, i, 0] - cam_c[f + 1, 0], c[f + 1, i, 1] - cam_c[f + 1, 1], c[f + 1, i, 2] - cam_c[f + 1, 2]
                    for a in range(3):
                        la = R[f, i, 0, a] * qx + R[f, i, 1, a] * qy + R[f, i, 2, a] * qz
                        wx += R[f + 1, i, 0, a] * la
                        wy += R[f + 1, i, 1, a] * la
                        wz += R[f + 1, i, 2, a] * la
                    zc = cam_R[f + 1, 0, 2] * wx + cam_R[f + 1, 1, 2] * wy + cam_R[f + 1, 2, 2] * wz
                    xc = cam_R[f + 1, 0, 0] * wx + cam_R[f + 1, 1, 0] * wy + cam_R[f + 1, 2, 0] * wz
                    yc = cam_R[f + 1, 0, 1] * wx + cam_R[f + 1, 1, 1] * wy + cam_R[f + 1, 2, 1] * wz
                    flow[f, y, x, 0] = fx * xc / zc + cx - (x + 0.5)
                    flow[f, y, x, 1] = fy * yc / zc + cy - (y + 0.5)
        for y in range(H):  # adaptive anti-aliasing: 8 sub-rays where owners change
            for x in range(W):
                o = own[f, y, x]
                edge = (x > 0 and own[f, y, x - 1] != o) or (x + 1 < W and own[f, y, x + 1] != o) or \
                       (y > 0 and own[f, y - 1, x] != o) or (y + 1 < H and own[f, y + 1, x] != o)
                if not edge:
                    continue
                refined += 1
                acc[:] = 0
                for s in range(8):
                    u = (x + (s % 4 + 0.5) / 4 - cx) / fx
                    v = (y + (s // 4 + 0.5) / 2 - cy) / fy
                    dx = cam_R[f, 0, 0] * u + cam_R[f, 0, 1] * v + cam_R[f, 0, 2]
                    dy = cam_R[f, 1, 0] * u + cam_R[f, 1, 1] * v + cam_R[f, 1, 2]
                    dz = cam_R[f, 2, 0] * u + cam_R[f, 2, 1] * v + cam_R[f, 2, 2]
                    _shade_ray(f, cam_c[f, 0], cam_c[f, 1], cam_c[f, 2], dx, dy, dz, R, c, half, prim, rad,
                               tex, col, col2, scale, spec, shin, seed, L, sun, amb, sky_top, sky_hor, rgb)
                    for j in range(3):
                        acc[j] += rgb[j] / 8
                img[f, y, x, 0], img[f, y, x, 1], img[f, y, x, 2] = acc[0], acc[1], acc[2]
    return refined


def _arrays(scene, traj):
    st = _SceneTensors.build(scene, traj, torch.device("cpu"))
    env = scene.environment
    prim = np.array([PRIM[st.prim_names[k]] for k in st.prim_of_owner[1:].tolist()], np.int64)
    tex = np.array([TEX[st.tex_names[k]] for k in st.tex_of_owner.tolist()], np.int64)
    f32 = lambda a: np.ascontiguousarray(np.asarray(a, np.float32))  # noqa: E731
    return (f32(st.cam_R), f32(st.cam_c), f32(st.K), int(scene.camera.height), int(scene.camera.width),
            f32(st.obj_R), f32(st.obj_c), f32(st.half), prim, f32(st.radius_host), tex, f32(st.color), f32(st.color2),
            f32(st.tex_scale), f32(st.specular), f32(st.shininess), st.seed.numpy(), f32(env.sun_dir),
            float(env.sun_intensity), float(env.ambient), f32(np.asarray(env.sky_top) ** 2.2),
            f32(np.asarray(env.sky_horizon) ** 2.2))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--clips", type=int, default=3)
    a = p.parse_args()
    spec, backend, lays = one_thread_clips("shapes", a.clips, [])
    T, H, W = spec.clip.frames, spec.clip.height, spec.clip.width
    backend.render(lays[-1].scene, lays[-1].traj)  # warm-up
    t0 = time.process_time()
    for lay in lays[:a.clips]:
        backend.render(lay.scene, lay.traj)
    torch_s = (time.process_time() - t0) / a.clips

    def run(lay):
        args = _arrays(lay.scene, lay.traj)
        out = (np.zeros((T, H, W, 3), np.float32), np.zeros((T, H, W), np.float32),
               np.zeros((T, H, W), np.int64), np.zeros((T, H, W, 2), np.float32))
        return render_clip(*args, *out)

    t0 = time.perf_counter()
    run(lays[-1])  # compile (or load numba's cache)
    compile_s = time.perf_counter() - t0
    t0, refined = time.process_time(), 0
    for lay in lays[:a.clips]:
        refined += run(lay)
    kernel_s = (time.process_time() - t0) / a.clips
    print(json.dumps({"benchmark": "fused_bound", "recipe": "shapes", "clips": a.clips, "size": [W, H, T],
                      "torch_render_cpu_s_per_clip": round(torch_s, 3),
                      "fused_kernel_cpu_s_per_clip": round(kernel_s, 3),
                      "kernel_first_call_s": round(compile_s, 2),
                      "refined_pixel_fraction": round(refined / a.clips / (T * H * W), 4),
                      "numba": numba.__version__, "machine": machine()}))


if __name__ == "__main__":
    main()
