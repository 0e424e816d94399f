"""Driving conditions in the ray-caster (RGB only; no label changes): point and spot lights carried by
objects, a wet ground (mirror reflection of sky and objects, elongated highlights), snow cover on
upward-facing surfaces, rain and snow particles depth-tested against the scene, and exposure.

Lights: irradiance ``I·color·max(0, n·l) / (1 + falloff·d²)`` times the cone factor (spot lights: 1
inside 0.75 × the half-angle, a smoothstep to 0 at the half-angle, 0 outside), cut at the light's
``range``; Blinn-Phong specular with the same factor. Point lights cast **no shadows**. Each light is
culled per frame batch to the hit points within its range, so the cost per light is one distance test
over the batch plus shading of the points it reaches.

Reflections on the wet ground plane z = 0 are exact for planar mirrors: the reflected ray of a camera
ray hits object X where the camera ray hits X mirrored through z = 0, so the objects are traced once
more with mirrored poses (same screen-space culling). Reflected surfaces get ambient + sun (no shadow)
+ their own glow.

Particles: drops and flakes live in world space in a box of side 2·radius that wraps around the camera
(a drop stays put in the world, falling, while the camera drives through the rain). Their positions
come from ``Scene.generator_seed``; their alpha is accumulated in integer fixed point, so the image is
identical whatever order the scatter runs in (CPU or CUDA).

Shapes: B frames in a batch, M hit points, L lights, D drops.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
from ...lazy import torch
from ...floats import sqrt

from ...scene.conditions import Conditions, Exposure
from .textures import fbm, value_noise

__all__ = ["RenderConditions", "expose"]

_FIX = float(1 << 20)  # fixed-point unit of particle alpha
_MIRROR = (1.0, 1.0, -1.0)


def _dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return a[..., 0] * b[..., 0] + a[..., 1] * b[..., 1] + a[..., 2] * b[..., 2]


def _normalize(v: torch.Tensor) -> torch.Tensor:
    return v / torch.clamp(sqrt(_dot(v, v)), min=1e-12)[..., None]


def _smoothstep(a: float, b: float, x: torch.Tensor) -> torch.Tensor:
    t = torch.clamp((x - a) / (b - a), 0, 1)
    return t * t * (3 - 2 * t)


@dataclass
class RenderConditions:
    """A clip's conditions on the render device. Light tensors: pos, axis (T+2,L,3) world per padded
    frame; rgb (L,3) intensity × colour; falloff, range, cos_outer, cos_inner (L,) (cos_outer = -1:
    omni)."""

    cond: Conditions
    fps: float
    seed: int
    pos: torch.Tensor | None
    axis: torch.Tensor | None
    rgb: torch.Tensor | None
    falloff: torch.Tensor | None
    range: torch.Tensor | None
    cos_outer: torch.Tensor | None
    cos_inner: torch.Tensor | None
    cones: list = dataclasses.field(default_factory=list)  # host (cos_outer, cos_inner) per light: no syncs

    @classmethod
    def build(cls, scene: Any, traj: Any, device: torch.device) -> "RenderConditions | None":
        cond: Conditions | None = getattr(scene, "conditions", None)
        if cond is None:
            return None
        f32 = dict(dtype=torch.float32, device=device)
        fields: dict[str, Any] = dict.fromkeys(("pos", "axis", "rgb", "falloff", "range", "cos_outer", "cos_inner"))
        if cond.lights:
            P = traj.object_poses_padded[:, [li.owner for li in cond.lights]]  # (T+2,L,4,4)
            local = np.stack([li.position for li in cond.lights])
            axis = np.stack([li.direction for li in cond.lights])
            fields.update(
                pos=torch.as_tensor(np.einsum("tlij,lj->tli", P[..., :3, :3], local) + P[..., :3, 3], **f32),
                axis=torch.as_tensor(np.einsum("tlij,lj->tli", P[..., :3, :3], axis), **f32),
                rgb=torch.as_tensor(np.stack([li.intensity * li.color for li in cond.lights]), **f32),
                **{k: torch.as_tensor([getattr(li, k) for li in cond.lights], **f32)
                   for k in ("falloff", "range", "cos_outer", "cos_inner")})
        return cls(cond=cond, fps=float(traj.fps), seed=int(scene.generator_seed), **fields,
                   cones=[(li.cos_outer, li.cos_inner) for li in cond.lights])

    # -- surfaces -------------------------------------------------------------------------------------
    def surface_albedo(self, st: Any, owner: torch.Tensor, p_local: torch.Tensor, n: torch.Tensor,
                       albedo: torch.Tensor) -> torch.Tensor:
        """Snow cover: upward-facing surfaces (normal z > 0.7) whitened in noise patches covering about
        ``coverage`` of them. Linear albedo in and out, (M,3)."""
        snow = self.cond.snow
        if snow is None or snow.coverage <= 0:
            return albedo
        up = _smoothstep(0.7, 0.85, n[:, 2])
        noise = fbm(p_local / 0.8, st.seed[owner] + 101)
        cover = _smoothstep(1.0 - snow.coverage - 0.08, 1.0 - snow.coverage + 0.08, noise) * up
        return albedo + (0.85 - albedo) * cover[:, None]

    def wet_weight(self, st: Any, owner: torch.Tensor, p_world: torch.Tensor, ground: bool) -> torch.Tensor | None:
        """How wet each hit point is (M,): ``amount`` on the ground, 1 in puddles; None when dry."""
        wet = self.cond.wet
        if wet is None or not ground:
            return None
        w = torch.zeros_like(p_world[:, 0])
        g = (owner == 0).nonzero().squeeze(1)
        w[g] = wet.amount
        if wet.puddles > 0:
            noise = value_noise(p_world[g] / wet.puddle_scale, st.seed[owner[g]] + 202)
            lo = 1.0 - wet.puddles
            w[g] = torch.clamp(_smoothstep(lo - 0.04, lo + 0.04, noise), min=wet.amount)
        return w

    def add_lights(self, st: Any, ks: torch.Tensor, b: torch.Tensor, owner: torch.Tensor, p: torch.Tensor,
                   n: torch.Tensor, v: torch.Tensor, ks_spec: torch.Tensor, shin: torch.Tensor,
                   light: torch.Tensor, spec: torch.Tensor, wet: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """Irradiance and specular of every object-carried light added to ``light``/``spec`` (M,3).
        On wet points the highlight is a glossy lobe around the mirror direction, stretched along the
        view (the streaks of lights on a wet road)."""
        if self.pos is None:
            return light, spec
        light, spec = light.clone(), spec.clone()
        if wet is not None:
            r = v - 2 * _dot(v, n)[:, None] * n  # the view ray reflected: -v mirrored (pointing away)
            r = -r
            e_h = _normalize(torch.linalg.cross(r, n))
            e_v = torch.linalg.cross(e_h, r)
        # hit points are ordered by frame: cull each light per frame to the points within its range
        # (and cone), then shade only those
        bounds = torch.searchsorted(b, torch.arange(len(ks) + 1, device=b.device)).tolist()
        pos, axis = self.pos[ks], self.axis[ks]  # (B,L,3)
        for i in range(len(ks)):
            lo, hi = bounds[i], bounds[i + 1]
            if hi == lo:
                continue
            pi = p[lo:hi]
            for j in range(self.pos.shape[1]):
                dvec = pos[i, j] - pi  # (m,3)
                d2 = _dot(dvec, dvec)
                near = d2 < self.range[j] ** 2
                spot = self.cones[j][0] > -1
                if spot:
                    near &= -_dot(dvec, axis[i, j]) > self.cos_outer[j] * sqrt(d2)
                m = near.nonzero().squeeze(1)
                if m.numel() == 0:
                    continue
                dv, dd2, mg = dvec[m], d2[m], m + lo
                nm = n[mg]
                L = dv / sqrt(torch.clamp(dd2, min=1e-12))[:, None]
                w = self.rgb[j] / (1 + self.falloff[j] * dd2)[:, None]
                if spot:
                    w = w * _smoothstep(self.cones[j][0], self.cones[j][1], -_dot(L, axis[i, j]))[:, None]
                ndl = torch.clamp(_dot(nm, L), min=0)[:, None]
                light.index_add_(0, mg, w * ndl)
                h = _normalize(L + v[mg])
                sp = ks_spec[mg] * torch.clamp(_dot(nm, h), min=0)[:, None] ** shin[mg] * (ndl > 0)
                if wet is not None:
                    a_h, a_v = _dot(L, e_h[mg]), _dot(L, e_v[mg])
                    sp = sp + (wet[mg] * torch.exp(-(a_h / 0.04) ** 2 - (a_v / 0.3) ** 2) * (_dot(L, r[mg]) > 0))[:, None]
                spec.index_add_(0, mg, sp * w)
        return light, spec

    def reflect(self, backend: Any, scene: Any, st: Any, ks: torch.Tensor, o: torch.Tensor, d: torch.Tensor,
                flat: torch.Tensor, owner: torch.Tensor, t: torch.Tensor, p_world: torch.Tensor,
                rgb_hit: torch.Tensor, scale: int, rays: tuple | None = None) -> torch.Tensor:
        """Mix the mirror image (sky, and objects traced mirrored through the ground) into wet ground
        hits, Fresnel-weighted (Schlick, water F0 = 0.02). Shape: rgb_hit (M,3) → (M,3). Dense rays: o
        (B,3), d (B,H',W',3); a sparse ray list (adaptive anti-aliasing): o, d (R,3) per ray and
        ``rays`` = (b, u, v, H, W) as for ``backend._hit_objects_sparse``."""
        env = scene.environment
        wet = self.wet_weight(st, owner, p_world, env.kind == "ground")
        if wet is None:
            return rgb_hit
        g = (owner == 0).nonzero().squeeze(1)
        if g.numel() == 0:
            return rgb_hit
        Hs, Ws = d.shape[1:3] if rays is None else (1, 1)
        dg = d.reshape(-1, 3)[flat[g]]
        dn = _normalize(dg)
        refl = backend._sky(scene, dn * dn.new_tensor(_MIRROR))
        if st.half.shape[0]:
            mir = torch.tensor(_MIRROR, device=d.device)
            st_m = dataclasses.replace(st, obj_R=st.obj_R * mir[:, None], obj_c=st.obj_c * mir,
                                       obj_c_host=st.obj_c_host * np.array(_MIRROR))
            if rays is None:
                t_m, idx, _ = backend._hit_objects(st_m, ks, o, d, scale)
            else:
                t_m, idx = backend._hit_objects_sparse(st_m, ks, st_m.cam_c[ks], d, *rays)  # rays start at their frame's camera
            tm = t_m.reshape(-1)[flat[g]]
            hit = (torch.isfinite(tm) & (tm > t[g])).nonzero().squeeze(1)
            if hit.numel():
                gi = g[hit]
                bi = flat[gi] // (Hs * Ws) if rays is None else rays[0][flat[gi]]
                own = idx.reshape(-1)[flat[gi]] + 1
                origin = o[bi] if rays is None else o[flat[gi]]
                q = (origin + tm[hit][:, None] * dg[hit]) * mir  # the real point seen in the mirror
                R, c = st.obj_R[ks][bi, own - 1], st.obj_c[ks][bi, own - 1]
                p_local = torch.einsum("mji,mj->mi", R, q - c)
                nrm = backend._normals(scene, st, own, p_local, q, torch.arange(own.shape[0], device=own.device), R)
                alb = backend._albedo(scene, st, own, p_local)
                lit = torch.full_like(alb, env.ambient)
                if env.sun_dir is not None and env.sun_intensity > 0:
                    Ls = torch.as_tensor(env.sun_dir, dtype=torch.float32, device=d.device)
                    sun = torch.as_tensor(env.sun_color, dtype=torch.float32, device=d.device) * env.sun_intensity
                    lit = lit + torch.clamp(_dot(nrm, Ls), min=0)[:, None] * sun
                col = alb * lit
                if st.emissive is not None:
                    col = col + alb * st.emissive[own][:, None]
                if env.fog_density > 0:
                    f = torch.exp(-env.fog_density * tm[hit] * sqrt(_dot(dg[hit], dg[hit])))[:, None]
                    col = col * f + torch.as_tensor(env.sky_horizon, dtype=torch.float32, device=d.device) ** 2.2 * (1 - f)
                refl[hit] = col
        cos_t = torch.abs(dn[:, 2])
        fres = 0.02 + 0.98 * (1 - cos_t) ** 5
        w = (wet[g] * fres)[:, None]
        out = rgb_hit.clone()
        out[g] = rgb_hit[g] * (1 - w) * (1 - 0.3 * wet[g][:, None]) + w * refl
        return out

    # -- particles ------------------------------------------------------------------------------------
    def particles(self, scene: Any, st: Any, ks: torch.Tensor, rgb: torch.Tensor, depth: torch.Tensor,
                  scale: int) -> torch.Tensor:
        """Rain streaks and snow flakes over the frame, only where nearer than the scene. Shape: rgb
        (B,H',W',3) linear, depth (B,H',W') z-depth (inf on sky) → (B,H',W',3)."""
        for kind in ("rain", "snow"):
            spec = getattr(self.cond, kind)
            if spec is None:
                continue
            spec = spec if kind == "rain" else spec.spec
            count = spec.drops if kind == "rain" else spec.flakes
            if count == 0:
                continue
            alpha, colour = self._splat(scene, st, ks, depth, scale, kind, spec, count)
            rgb = rgb * (1 - alpha[..., None]) + colour * alpha[..., None]
        return rgb

    def _drops(self, kind: str, spec: Any, count: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """Base positions (D,3) in [0, 2·radius)³ and per-drop speed factors (D,), from the clip's seed."""
        rng = np.random.default_rng([self.seed, 0x5241 if kind == "rain" else 0x534E])
        base = rng.uniform(0, 2 * spec.radius, (count, 3))
        speed = rng.uniform(0.8, 1.2, count)
        return (torch.as_tensor(base, dtype=torch.float32, device=device),
                torch.as_tensor(speed, dtype=torch.float32, device=device))

    def _splat(self, scene: Any, st: Any, ks: torch.Tensor, depth: torch.Tensor, scale: int, kind: str, spec: Any,
               count: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Alpha (B,H',W') and colour (B,H',W',3) of one particle kind."""
        device = depth.device
        B, H, W = depth.shape
        base, speed = self._drops(kind, spec, count, device)
        R2 = 2 * spec.radius
        fx, fy, cx, cy = (float(st.K[0, 0]) * scale, float(st.K[1, 1]) * scale, float(st.K[0, 2]) * scale,
                          float(st.K[1, 2]) * scale)
        time = (ks.to(torch.float32) - 1) / self.fps  # (B,) seconds
        fall = spec.fall_speed * speed  # (D,)
        w = base[None].repeat(B, 1, 1)
        w[..., 2] = w[..., 2] - fall[None] * time[:, None]
        if kind == "snow":  # flakes sway as they fall
            phase = base[:, 0] * 3.7
            w[..., 0] = w[..., 0] + 0.3 * torch.sin(time[:, None] * 1.3 + phase[None])
            w[..., 1] = w[..., 1] + 0.3 * torch.cos(time[:, None] * 1.1 + phase[None])
        cc = st.cam_c[ks]  # (B,3)
        p = cc[:, None] + torch.remainder(w - cc[:, None] + spec.radius, R2) - spec.radius  # (B,D,3)
        R = st.cam_R[ks]  # (B,3,3)
        if kind == "rain":
            s = spec.shutter * self.fps / 2  # half the shutter, in frames
            c_open = cc - s * (cc - st.cam_c[ks - 1])
            c_close = cc + s * (st.cam_c[ks + 1] - cc)
            half_fall = torch.zeros_like(p)
            half_fall[..., 2] = (fall * spec.shutter / 2)[None]
            ends = [(p + half_fall, c_open), (p - half_fall, c_close)]
        else:
            ends = [(p, cc)]
        cam = [torch.einsum("bij,bdi->bdj", R, q - c[:, None]) for q, c in ends]  # (B,D,3) camera frame
        u = [fx * x[..., 0] / x[..., 2] + cx for x in cam]
        v = [fy * x[..., 1] / x[..., 2] + cy for x in cam]
        z = [x[..., 2] for x in cam]
        ok = torch.stack([zz > 0.3 for zz in z]).all(0)  # (B,D)
        tint = spec.color if kind == "rain" else (1.0, 1.0, 1.0)
        light = self._light_level(scene, ks, p, tint)  # (B,D,3)
        if kind == "rain":
            S = 12
            f = torch.linspace(0, 1, S, device=device)
            us = u[0][..., None] + (u[1] - u[0])[..., None] * f  # (B,D,S)
            vs = v[0][..., None] + (v[1] - v[0])[..., None] * f
            zs = z[0][..., None] + (z[1] - z[0])[..., None] * f
            length = sqrt((u[1] - u[0]) ** 2 + (v[1] - v[0]) ** 2)
            a = spec.alpha * torch.clamp(3.0 / torch.clamp(z[0], min=1e-3), max=1.0) * torch.clamp(length, min=1) / S
            a = torch.clamp(a, max=spec.alpha)[..., None].expand(-1, -1, S)
            offsets = [(0, 0)]
        else:
            us, vs, zs = u[0][..., None], v[0][..., None], z[0][..., None]
            rad = torch.clamp(spec.size / 2 * fy / torch.clamp(z[0], min=1e-3), 0.5, 3.0)  # pixels
            a = (spec.alpha * torch.clamp(6.0 / torch.clamp(z[0], min=1e-3), max=1.0))[..., None]
            offsets = [(i, j) for i in range(-3, 4) for j in range(-3, 4)]
        acc = torch.zeros(B * H * W, dtype=torch.int64, device=device)
        col = torch.zeros(B * H * W, 3, dtype=torch.int64, device=device)
        bidx = torch.arange(B, device=device)[:, None, None].expand_as(us)
        for du, dv in offsets:
            ui, vi = torch.floor(us).long() + du, torch.floor(vs).long() + dv
            keep = ok[..., None] & (ui >= 0) & (ui < W) & (vi >= 0) & (vi < H)
            if kind == "snow":
                keep = keep & ((du * du + dv * dv) <= rad[..., None] ** 2 + 0.25)
            lin = (bidx * H + vi.clamp(0, H - 1)) * W + ui.clamp(0, W - 1)
            keep = keep & (zs < depth.reshape(-1)[lin])  # depth test: only in front of the scene
            m = keep.nonzero(as_tuple=True)
            ai = (a[m] * _FIX).round().long()
            acc.index_add_(0, lin[m], ai)
            ci = (light[m[0], m[1]] * a[m][:, None] * _FIX).round().long()
            col.index_add_(0, lin[m], ci)
        A = acc.to(torch.float32) / _FIX
        colour = col.to(torch.float32) / _FIX / torch.clamp(A, min=1e-6)[:, None]
        return torch.clamp(A, max=0.9).reshape(B, H, W), colour.reshape(B, H, W, 3)

    def _light_level(self, scene: Any, ks: torch.Tensor, p: torch.Tensor, tint: tuple) -> torch.Tensor:
        """Linear colour of each particle (B,D,3): its tint × (ambient + sky + sun + the lights near it)."""
        env = scene.environment
        device = p.device
        hor = torch.as_tensor(env.sky_horizon, dtype=torch.float32, device=device) ** 2.2
        level = env.ambient + 0.5 * hor
        if env.sun_dir is not None and env.sun_intensity > 0:
            level = level + 0.3 * env.sun_intensity * max(float(env.sun_dir[2]), 0.0)
        out = torch.ones_like(p) * level
        if self.pos is not None:
            for j in range(self.pos.shape[1]):
                dv = self.pos[ks, j][:, None] - p  # (B,D,3)
                d2 = _dot(dv, dv)
                w = 1 / (1 + self.falloff[j] * d2)
                if self.cones[j][0] > -1:
                    cos_a = -_dot(dv / sqrt(torch.clamp(d2, min=1e-12))[..., None], self.axis[ks, j][:, None])
                    w = w * _smoothstep(self.cones[j][0], self.cones[j][1], cos_a)
                out = out + 0.5 * (w * (d2 < self.range[j] ** 2))[..., None] * self.rgb[j]
        return out * torch.as_tensor(tint, dtype=torch.float32, device=device) ** 2.2


def _log_average(Y: torch.Tensor, meter: torch.Tensor | None) -> torch.Tensor:
    """log of the log-average luminance per frame, float64 on the host. Shape: Y (T,H,W), meter (H,W)
    bool (the pixels metered; None: all) → (T,)."""
    logs = torch.log(1e-4 + Y.to(torch.float64))
    if meter is None:
        return logs.mean((1, 2)).cpu()
    return (logs[:, meter].sum(1) / max(int(meter.sum()), 1)).cpu()


def _luminance(rgb: torch.Tensor) -> torch.Tensor:
    return 0.2126 * rgb[..., 0] + 0.7152 * rgb[..., 1] + 0.0722 * rgb[..., 2]


def _scene_ev(rgb: torch.Tensor, exposure: Exposure, meter: torch.Tensor | None,
              state: float | None = None) -> tuple[np.ndarray, float]:
    """e_k tracks each frame's own target log2(key / log-average luminance) by ``adapt`` per frame.
    ``state``: the tracker after the frame before these (a clip continued in a later window); None:
    these start the clip (e_0 = frame 0's target). → (e (T,), the tracker after the last frame)."""
    target = np.log2(exposure.key) - _log_average(_luminance(rgb), meter).numpy() / np.log(2)
    e, cur = np.empty_like(target), float(target[0]) if state is None else state
    for k, tk in enumerate(target):
        cur = cur + exposure.adapt * (tk - cur) if k or state is not None else cur
        e[k] = min(max(cur, exposure.min_ev), exposure.max_ev)
    return e, cur


def _mean(Y: torch.Tensor, meter: torch.Tensor | None) -> float:
    """Mean of one frame's luminance (1,H,W) over the metered pixels (H,W) bool (None: all)."""
    Y = Y[0].to(torch.float64)
    return float(Y.mean() if meter is None else Y[meter].mean())


def _sensor_ev(rgb: torch.Tensor, exposure: Exposure, meter: torch.Tensor | None,
               state: float | None = None) -> tuple[np.ndarray, float]:
    """A closed loop on the sensor: frame 0 at its scene target (log-average, as ``scene``), then frame
    k+1's gain corrected by ``adapt`` of log2(key / m_k), m_k the mean luminance frame k measured (at its
    gain, ``ev`` included, after clipping at full scale). Lags a sudden change by a few frames; a frame
    whose red channel is clipped and green low reads near the key, so a red-out persists. ``state``:
    the gain the loop set for the first of these frames (a clip continued in a later window); None:
    these start the clip. → (e (T,), the gain it sets for the frame after the last)."""
    def step(k: int, e_k: float) -> float:  # frame k measured at gain e_k → the next frame's gain
        m = _mean(_luminance(torch.clamp(rgb[k:k + 1] * 2.0 ** (exposure.ev + e_k), 0, 1)), meter)
        return min(max(e_k + exposure.adapt * (np.log2(exposure.key) - np.log2(max(m, 1e-6))), exposure.min_ev),
                   exposure.max_ev)

    e = np.empty(rgb.shape[0])
    e[0] = _scene_ev(rgb[:1], exposure, meter)[0][0] if state is None else state
    for k in range(1, rgb.shape[0]):
        e[k] = step(k - 1, e[k - 1])
    return e, step(rgb.shape[0] - 1, e[-1])


#: auto-exposure metering (``camera.exposure.meter``): name → ``(rgb, exposure, meter, state)`` →
#: (e_k (T,) EV per frame, the state a later window of the clip continues from)
METERS = {"scene": _scene_ev, "sensor": _sensor_ev}


def expose(rgb: torch.Tensor, exposure: Exposure | None, meter: torch.Tensor | None = None,
           state: torch.Tensor | float | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Exposure of linear RGB (T,H,W,3): × 2^ev, and with ``auto`` × 2^e_k, e_k from the metering
    (:data:`METERS`; ``scene``: e_k tracks log2(key / log-average luminance of frame k) by ``adapt`` per
    frame from e_0 = frame 0's target), clamped to [min_ev, max_ev]. ``meter`` (H,W) bool: the pixels
    metered (a field stop's circle); None: all. ``state``: auto-exposure's state after the frame before
    these (a clip made in windows); None: these start the clip. → (exposed RGB, the state after the
    last frame as a 0-d float64 tensor; None without auto-exposure)."""
    if exposure is None:
        return rgb, None
    ev = torch.full((rgb.shape[0],), exposure.ev, dtype=torch.float64)
    after = None
    if exposure.auto:
        e, after = METERS[exposure.meter](rgb, exposure, meter, None if state is None else float(state))
        after = torch.tensor(after, dtype=torch.float64)  # a 0-d tensor, as every Frames field is a tensor
        ev = ev + torch.as_tensor(e)
    return rgb * (2.0 ** ev).to(rgb.dtype).to(rgb.device)[:, None, None, None], after
