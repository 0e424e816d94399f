"""The ray-caster's compiled CPU stages: which scenes they cover, and the calls into the loops
(:mod:`.cpu_loops`) — the renderer's tensors in, the torch stage's outputs back. :func:`shade` stands
for ``RaycastBackend._surface``, :func:`dense_hits` for the dense pass's rays and hit search
(``_rays``, ``_hit_objects``, ``_hit_environment``), :func:`sparse_hits` for those of ``_trace_rays``
and :func:`flow` for ``_flow``.

numba is imported only when a CPU render first calls one (or :func:`warm`), so commands that do not
render, and CUDA renders, never load it. Where it cannot run (not installed) the torch stages render,
with one warning (:func:`available`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ...jit import loops
from ...lazy import torch
from .layout import take as _take

if TYPE_CHECKING:
    from ...scene.types import Scene
    from .backend import _SceneTensors

__all__ = ["available", "supports", "supports_rays", "shade", "dense_hits", "sparse_hits", "flow", "edge_pixels",
           "warm"]

#: mirrored from cpu_loops (which imports numba): kept equal by a test
PRIM_NAMES = frozenset({"sphere", "ellipsoid", "box", "cylinder", "capsule"})
TEXTURE_NAMES = frozenset({"flat", "checker", "stripes", "noise"})


def available() -> bool:
    """Whether the compiled loops can run in this process (imported on first call, :func:`synthdata.jit.loops`:
    without numba, False, and the torch stages render)."""
    return loops(__package__ + ".cpu_loops") is not None


def _effectless(cond) -> bool:
    """Conditions that leave shading alone: no lights carried by objects, rain, snow or wet ground (an
    exposure alone acts after rendering)."""
    c = cond.cond
    return not c.lights and c.rain is None and c.snow is None and c.wet is None


def supports(scene: "Scene", st: "_SceneTensors") -> bool:
    """Whether the compiled stage shades this scene exactly as the torch stage does: on the CPU, a
    flat straight ground with no road painted on it, its primitives and textures, and none of the
    effects it leaves to torch (weather and lights carried by objects, bumps, wet film, the scope's
    light guides and scatter)."""
    env = scene.environment
    return (st.obj_R.device.type == "cpu" and env.kind == "ground" and env.shape.flat and env.shape.straight
            and env.road is None and env.lumen is None and env.scatter is None and not env.guides
            and (st.cond is None or _effectless(st.cond)) and st.bump is None and st.wet is None
            and set(st.prim_names) <= PRIM_NAMES and set(st.tex_names) <= TEXTURE_NAMES
            and not any(st.tex_params.get(name) for name in st.tex_names) and available())


def supports_rays(scene: "Scene", st: "_SceneTensors") -> bool:
    """:func:`supports`, through a plain pinhole camera (no lens to undistort, no field stop): the
    scenes whose camera rays and flow the compiled stages trace."""
    return supports(scene, st) and st.lens.is_pinhole and st.stop is None


def _pinhole(st: "_SceneTensors") -> np.ndarray:
    """(fx, fy, cx, cy) in float32, as torch takes Python floats into float32 tensor ops."""
    return np.array([st.K[0, 0], st.K[1, 1], st.K[0, 2], st.K[1, 2]], dtype=np.float32)


def _host(x: "torch.Tensor") -> np.ndarray:
    return np.ascontiguousarray(x.numpy())


def _columns(x: "torch.Tensor") -> np.ndarray:
    """(M,3) → (3,M) contiguous: a view of a component-major tensor, else one copy."""
    return x.t().contiguous().numpy()


def _light(scene: "Scene") -> np.ndarray:
    """The kernel's ``light`` vector, each number made as the torch stage makes it (float32 tensors
    times Python floats), so both shade with the same bits."""
    env = scene.environment
    f32 = dict(dtype=torch.float32)
    out = torch.zeros(17, **f32)
    out[0] = env.ambient
    if env.sun_dir is not None and env.sun_intensity > 0:
        out[1:4] = torch.as_tensor(env.sun_dir, **f32)
        out[4:7] = torch.as_tensor(env.sun_color, **f32) * env.sun_intensity
        out[7] = 1.0
    if env.headlight_intensity > 0:
        out[8], out[9] = env.headlight_intensity, env.headlight_falloff
        out[10:13] = torch.as_tensor(env.headlight_color, **f32)
    if env.fog_density > 0:
        out[13] = env.fog_density
        out[14:17] = torch.as_tensor(env.sky_horizon, **f32) ** 2.2
    return out.numpy()


def _codes(names: list[str], of_owner: "torch.Tensor", table: dict[str, int]) -> np.ndarray:
    """Per-owner indices into ``names`` → the kernel's codes (-1, the environment's primitive, stays)."""
    lut = np.array([table[n] for n in names] + [-1], dtype=np.int64)
    return lut[of_owner.numpy()]


def shade(scene: "Scene", st: "_SceneTensors", ks: "torch.Tensor", o: "torch.Tensor", d: "torch.Tensor",
          b: "torch.Tensor", t: "torch.Tensor", owner: "torch.Tensor", pixel: float | None,
          shadows: bool, rows: "torch.Tensor | None" = None, into: "torch.Tensor | None" = None,
          wanted: tuple[bool, bool, bool] = (True, True, True)) -> tuple["torch.Tensor | None", ...]:
    """``RaycastBackend._surface`` for a scene :func:`supports` accepts (its shapes and meaning).
    → rgb, normal, p_local, p_world (M,3) each, component-major.

    ``rows`` (M,): the hits index a ray set instead of being gathered from it (the dense pass's and the
    re-traced rays' own arrays): ``o`` (B,3) the frames' ray origins (hit m's is ``o[b[m]]``), ``d``
    (L,3) every ray (hit m's is ``d[rows[m]]``); and ``into`` (L,3), component-major, takes hit m's
    colour at ``rows[m]`` in place (rgb then comes back None). ``wanted``: whether normal, p_local,
    p_world are made (None when not)."""
    from .cpu_loops import PRIM_CODES, TEXTURE_CODES, combine, geometry

    env = scene.environment
    M = t.shape[0]
    normal, p_local, p_world = (torch.empty(3, M if want else 0) for want in wanted)
    albedo = torch.empty(3, M)
    lit_ndl, nh, ndv, dist = (torch.empty(M) for _ in range(4))
    fx, fy = float(st.K[0, 0]), float(st.K[1, 1])
    step = (-1.0, -1.0) if pixel is None else (pixel / fx, pixel / fy)
    light = _light(scene)
    owner_np, b_np = _host(owner), _host(b)
    each = np.arange(M, dtype=np.int64)
    oi, di = (each, each) if rows is None else (b_np, _host(rows))
    rgb = torch.empty(3, M) if into is None else into.t()
    assert rgb.is_contiguous(), "into: (L,3) component-major"
    geometry(_columns(o), oi, _columns(d), di, b_np, _host(t), owner_np,
             _host(st.obj_R[ks]), _host(st.obj_c[ks]), _host(st.half), _host(st.radius), _host(st.cam_R[ks]),
             _codes(st.prim_names, st.prim_of_owner, PRIM_CODES), _codes(st.tex_names, st.tex_of_owner, TEXTURE_CODES),
             _host(st.color), _host(st.color2), _host(st.tex_scale), _host(st.seed),
             True, np.float32(step[0]), np.float32(step[1]), light, bool(shadows),
             *(x.numpy() for x in (normal, p_local, p_world, albedo, lit_ndl, nh, ndv, dist)))
    # torch's own pow and exp, on tensors shaped as the torch stage's (the same SIMD/tail split)
    albedo = albedo.t() ** 2.2
    from .backend import lobe

    shin = _take(st.shininess, owner) if st.shine_squarings is None else None
    sun_pow = lobe(nh, st, shin) if light[7] > 0 else nh
    head_pow = lobe(ndv, st, shin) if env.headlight_intensity > 0 else ndv
    fog_keep = torch.exp(-env.fog_density * dist) if env.fog_density > 0 else dist
    emissive = torch.zeros(st.color.shape[0]) if st.emissive is None else st.emissive
    combine(owner_np, _host(st.specular), _host(emissive), light, albedo.t().numpy(), _host(lit_ndl),
            _host(sun_pow), _host(ndv), _host(head_pow), _host(dist), _host(fog_keep), di, rgb.numpy())
    normal, p_local, p_world = (x.t() if want else None for x, want in zip((normal, p_local, p_world), wanted))
    return None if into is not None else rgb.t(), normal, p_local, p_world


def dense_hits(st: "_SceneTensors", ks: "torch.Tensor", Hs: int, Ws: int, scale: int, labels: bool,
               boxes: np.ndarray, maps: bool = True) -> dict:
    """The dense pass's rays and hits for a scene :func:`supports_rays` accepts, as
    ``RaycastBackend._trace`` names them (``boxes`` (B,N,4): each frame's conservative screen rectangle
    of each primitive on the H'×W' grid, ``RaycastBackend._frame_boxes``): d (B,H',W',3)
    component-major, t_vis (B,H',W'), owner_img (B,H',W') (0: ground or none), covered (B,N,H',W')
    bool (None without ``labels`` or ``maps``) and its per-frame summary, coverage (a
    :class:`~..coverage.Coverage` of the primitives, as :func:`~..coverage.coverage_boxes` gives it;
    None without ``labels``), the hit pixels: flat (M,) their index, b, owner, t (M,), and row
    (B·H'·W',) each pixel's place among them (-1: the sky), what :func:`flow` looks hits up by."""
    from ..coverage import Coverage
    from .cpu_loops import PRIM_CODES
    from .cpu_loops import dense_hits as kernel

    B, N = ks.shape[0], st.half.shape[0]
    P = B * Hs * Ws
    d, t_vis, owner_img = torch.empty(3, P), torch.empty(P), torch.empty(P, dtype=torch.int64)
    covered = torch.zeros((B, N, Hs, Ws) if labels and maps else (0, 0, 0, 0), dtype=torch.bool)
    cov = np.zeros((B, N, 5) if labels else (0, 0, 5), dtype=np.int64)
    cov[..., 1], cov[..., 2] = Ws, Hs
    flat, b, owner, row = (torch.empty(P, dtype=torch.int64) for _ in range(4))
    t = torch.empty(P)
    M = kernel(_host(st.cam_R[ks]), _host(st.cam_c[ks]), _pinhole(st), np.float32(scale), Hs, Ws, _host(st.obj_R[ks]),
               _host(st.obj_c[ks]), _host(st.half), _host(st.radius),
               _codes(st.prim_names, st.prim_of_owner, PRIM_CODES), np.ascontiguousarray(boxes, dtype=np.int64),
               *(x.numpy() for x in (d, t_vis, owner_img, covered)), cov,
               *(x.numpy() for x in (flat, b, owner, t, row)))
    coverage = None
    if labels:
        count, ext = torch.from_numpy(cov[..., 0]), torch.from_numpy(cov[..., 1:]).to(torch.float32)
        seen = count > 0
        border = seen & ((ext[..., 0] == 0) | (ext[..., 1] == 0) | (ext[..., 2] == Ws) | (ext[..., 3] == Hs))
        coverage = Coverage(torch.where(seen[..., None], ext, torch.full_like(ext, float("nan"))), count, border)
    return {"d": d.t().reshape(B, Hs, Ws, 3), "t_vis": t_vis.reshape(B, Hs, Ws),
            "owner_img": owner_img.reshape(B, Hs, Ws), "covered": covered if labels and maps else None,
            "coverage": coverage, "flat": flat[:M], "b": b[:M], "owner": owner[:M], "t": t[:M], "row": row}


def sparse_hits(st: "_SceneTensors", ks: "torch.Tensor", b: "torch.Tensor", u: "torch.Tensor",
                v: "torch.Tensor", boxes: np.ndarray) -> tuple["torch.Tensor", "torch.Tensor", "torch.Tensor"]:
    """Camera rays through image points (u, v) of frames ``ks[b]`` and their nearest hit, for a scene
    :func:`supports_rays` accepts (``boxes`` as :func:`dense_hits` takes them, on the pixel grid).
    Shape: b, u, v (M,) → d (M,3) component-major (camera-z = 1), t_vis (M,) (inf: none), owner (M,)
    (0: the ground or none)."""
    from .cpu_loops import sparse_hits as kernel
    from .cpu_loops import PRIM_CODES

    M = b.shape[0]
    d, t_vis, owner = torch.empty(3, M), torch.empty(M), torch.empty(M, dtype=torch.int64)
    kernel(_host(b), _host(u), _host(v), _host(st.cam_R[ks]), _host(st.cam_c[ks]), _pinhole(st),
           _host(st.obj_R[ks]), _host(st.obj_c[ks]), _host(st.half), _host(st.radius),
           _codes(st.prim_names, st.prim_of_owner, PRIM_CODES), np.ascontiguousarray(boxes, dtype=np.int64),
           d.numpy(), t_vis.numpy(), owner.numpy())
    return d.t(), t_vis, owner


def flow(st: "_SceneTensors", ks_to: "torch.Tensor", d: "torch.Tensor", row: "torch.Tensor",
         owner: "torch.Tensor", p_local: "torch.Tensor", H: int, W: int) -> "torch.Tensor":
    """``RaycastBackend._flow`` for a scene :func:`supports_rays` accepts (its shapes and meaning), with
    :func:`dense_hits`'s ``row`` of each pixel. → (B,H,W,2)."""
    from .cpu_loops import flow as kernel

    B = d.shape[0]
    out = torch.empty(B, H, W, 2)
    kernel(_columns(d.reshape(-1, 3)), _host(row), _host(owner), _columns(p_local), _host(st.obj_R[ks_to]),
           _host(st.obj_c[ks_to]), _host(st.cam_R[ks_to]), _host(st.cam_c[ks_to]), _pinhole(st), out.numpy())
    return out


def edge_pixels(rgb_linear: "torch.Tensor", key: "torch.Tensor",
                smooth: "torch.Tensor | None") -> tuple["torch.Tensor", "torch.Tensor"]:
    """:func:`.antialias.edge_pixels` as the flat indices of its marked pixels (ascending, what
    ``mask.reshape(-1).nonzero()`` gives), for any scene on the CPU, and the display colours it
    compared. Shape: rgb_linear (B,H,W,3), key, smooth (B,H,W) → (M,) int64, (B,H,W,3)."""
    from .antialias import CONTRAST, display
    from .cpu_loops import edges

    disp = display(rgb_linear)  # torch's pow, as the torch test takes it
    out = torch.empty(key.numel(), dtype=torch.int64)
    none = np.zeros((0, 0, 0), dtype=np.bool_)
    n = edges(np.ascontiguousarray(disp.permute(3, 0, 1, 2).numpy()), _host(key),
              none if smooth is None else _host(smooth), np.float32(CONTRAST), np.zeros(key.shape, dtype=np.bool_),
              out.numpy())
    return out[:n], disp


def warm() -> None:
    """Compile the loops into numba's cache (~5 s, once per machine), or load them from it, with the
    argument types the renderer passes, on no rays: e.g. in an image's build step
    (:func:`synthdata.jit.warm`), so the first large render on a fresh machine does not compile. Without
    numba, nothing (the torch stages render)."""
    if not available():
        return
    from .cpu_loops import combine, geometry

    f, i = np.zeros(0, np.float32), np.zeros(0, np.int64)
    v, m3 = np.zeros((3, 0), np.float32), np.zeros((0, 3), np.float32)
    light = np.zeros(17, np.float32)
    geometry(v, i, v, i, i, f, i, np.zeros((0, 0, 3, 3), np.float32), np.zeros((0, 0, 3), np.float32), m3, f,
             np.zeros((0, 3, 3), np.float32), i, i, m3, m3, f, i, True, np.float32(1), np.float32(1), light, True,
             v, v, v, v, f, f, f, f)
    combine(i, f, f, light, v, f, f, f, f, f, f, i, v)
    from .cpu_loops import dense_hits as dense_kernel, flow as flow_kernel, sparse_hits as hits_kernel

    k = np.zeros(4, np.float32)
    R4, c3, R3 = np.zeros((0, 0, 3, 3), np.float32), np.zeros((0, 0, 3), np.float32), np.zeros((0, 3, 3), np.float32)
    hits_kernel(i, f, f, R3, m3, k, R4, c3, m3, f, i, np.zeros((0, 0, 4), np.int64), v, f, i)
    dense_kernel(R3, m3, k, np.float32(1), 0, 0, R4, c3, m3, f, i, np.zeros((0, 0, 4), np.int64), v, f, i,
                 np.zeros((0, 0, 0, 0), np.bool_), np.zeros((0, 0, 5), np.int64), i, i, i, f, i)
    flow_kernel(v, i, i, v, np.zeros((0, 0, 3, 3), np.float32), np.zeros((0, 0, 3), np.float32),
                np.zeros((0, 3, 3), np.float32), m3, k, np.zeros((0, 0, 0, 2), np.float32))
    edge_pixels(torch.zeros(1, 1, 1, 3), torch.zeros(1, 1, 1, dtype=torch.int64), None)
