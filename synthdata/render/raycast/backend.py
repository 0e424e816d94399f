"""The procedural ray-caster: analytic primitives, procedural textures, Lambert + Blinn-Phong shading
with a sun (hard shadows) and/or a camera headlight, exact flow and amodal coverage. Torch, wherever
the scene tensors live (CPU or CUDA), batched over ``frame_batch`` frames; on the CPU the hottest
stages run as compiled loops where a scene allows (:mod:`.cpu_kernels`, setting ``cpu_kernels``).

Shape conventions inside: B frames in a batch, H×W pixels, N objects, M hit pixels (flattened).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Callable, Literal

import numpy as np
from ...jit import AUTO_PIXELS
from ...lazy import torch
from ...floats import sqrt
from ...lazy import torch_F as F

from pydantic import Field

from ...motion.parts import part_poses
from ...motion.shift import shift_poses, shifted
from ...motion.types import Trajectories
from ...scene.lens import Lens
from ...scene.optics import field_view
from ...scene.types import Materials, Scene
from ..backend import BACKENDS, Backend, BackendSettings
from ..blur import Defocus, GBuffer, post_process
from ..coverage import Coverage, view_edge
from ..sensor import SensorNoise, sensor_noise
from ..types import OPTIONAL_MAPS, Frames
from .bump import bump_normals, wet_lobe
from .antialias import SUBPIXEL_FOOTPRINT, display, edge_pixels, subpixel
from .conditions import RenderConditions, expose
from .layout import soa as _soa, soa_stack as _soa_stack, take as _take
from .lumen import march
from .optics import CAST_MARGIN_PX, blank_labels, guide_light, inside, scatter_albedo, stop_gain, vignette_gain
from .primitives import EPS, PRIMITIVES
from .rolling import rolling_bands, row_times, trace_rolling
from . import cpu_kernels
from .textures import TEXTURES

if TYPE_CHECKING:
    from ...recipe.schema import RecipeSpec

__all__ = ["RaycastBackend", "RaycastSettings"]

INF = float("inf")
#: from this many render primitives on, shadows are culled by sorted light-space windows instead of a
#: pass over every point per primitive (measured: shapes' ~10 large objects are faster without, a
#: street's ~200 pieces of furniture much faster with; benchmarks/render_breakdown.py)
WINDOWED_SHADOWS = 32
#: rays an object's pass per frame over its own rectangle must save, per extra pass, against one pass
#: over the batch's rectangle (a pass costs ~50 tensor ops of Python overhead, ~0.2 ms on this CPU; a
#: ray ~50 ns in the primitive test)
OWN_SLABS_SAVE = 4096
#: ``cpu_kernels: auto`` compiles clips of at least this many pixels (2¹⁷, see synthdata.jit): the first
#: compiled render of a process loads numba and the loops (~0.45 s), which three such clips repay
AUTO_COMPILED_PIXELS = AUTO_PIXELS
#: default ``batch_kilorays``: rays of one trace pass / 1024 (2²⁰ rays: eight 256² frames with adaptive
#: anti-aliasing, the batch the memory model was fitted on, so shipped sizes keep their batches; a
#: 1280×720 frame goes alone)
BATCH_KILORAYS = 1024


def _rT(v: torch.Tensor, R: torch.Tensor) -> torch.Tensor:
    """R^T v, written out so results do not depend on BLAS threading. Shape: v (...,3), R (...,3,3)."""
    x, y, z = v[..., 0], v[..., 1], v[..., 2]
    return _soa([x * R[..., 0, j] + y * R[..., 1, j] + z * R[..., 2, j] for j in range(3)])


def _r(v: torch.Tensor, R: torch.Tensor) -> torch.Tensor:
    """R v. Shape: v (...,3), R (...,3,3)."""
    x, y, z = v[..., 0], v[..., 1], v[..., 2]
    return _soa([x * R[..., j, 0] + y * R[..., j, 1] + z * R[..., j, 2] for j in range(3)])


def _dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return a[..., 0] * b[..., 0] + a[..., 1] * b[..., 1] + a[..., 2] * b[..., 2]


#: (point or ray, primitive) pairs tested in one call at most (shadows, re-traced rays): memory stays bounded
PAIRS_PER_CALL = 1 << 18


def _pairs(group: list[tuple[int, torch.Tensor, torch.Tensor]], N: int, device) -> tuple[torch.Tensor, ...]:
    """Queued (object i, points m, their frames bm) as flat pair lists: points, objects, and rows of a
    (frame·N + object) table. Shape: → three (P,) long tensors."""
    m = torch.cat([g[1] for g in group])
    i = torch.cat([torch.full((g[1].shape[0],), g[0], dtype=torch.long, device=device) for g in group])
    return m, i, torch.cat([g[2] for g in group]) * N + i


class _NearestHits:
    """The nearest hit of re-traced rays over their culled (ray, primitive) pairs, tested in one call
    per primitive kind (as :class:`_ShadowTests`). Objects are added in index order; a chunk of
    consecutive objects (:data:`PAIRS_PER_CALL` pairs at most) resolves as the object-by-object loop
    did: the smallest ray parameter wins, a tie goes to the lower index (within a chunk: the least
    index among the pairs at the minimum; across chunks: a later chunk must be strictly nearer), and a
    NaN never wins. Each pair gets its per-object numbers (the ray origin in the object's frame per
    frame, then per ray), so t is the same to the bit."""

    def __init__(self, st, ks: torch.Tensor, o: torch.Tensor, d: torch.Tensor, prim: list[str],
                 t_near: torch.Tensor, near: torch.Tensor):
        self.d, self.prim, self.t_near, self.near, self.N = d, prim, t_near, near, st.half.shape[0]
        self.R = st.obj_R[ks].reshape(-1, 3, 3)  # (B·N,3,3): row = frame·N + object
        self.inv_half = 1.0 / st.half  # (N,3)
        self.o = (_rT(o[:, None] - st.obj_c[ks], st.obj_R[ks]) * self.inv_half).reshape(-1, 3)
        self.queued: list[tuple[int, torch.Tensor, torch.Tensor]] = []
        self.size = 0

    def add(self, i: int, m: torch.Tensor, bm: torch.Tensor) -> None:
        self.queued.append((i, m, bm))
        self.size += m.shape[0]
        if self.size >= PAIRS_PER_CALL:
            self._run()

    def flush(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self.queued:
            self._run()
        return self.t_near, self.near

    def _run(self) -> None:
        group, dev, M = self.queued, self.d.device, self.t_near.shape[0]
        self.queued, self.size = [], 0
        ms, idx, ts = [], [], []
        for kind in dict.fromkeys(self.prim[g[0]] for g in group):  # one call per kind
            m, i, row = _pairs([g for g in group if self.prim[g[0]] == kind], self.N, dev)
            t = PRIMITIVES.get(kind).intersect(_take(self.o, row),
                                               _rT(_take(self.d, m), _take(self.R, row)) * _take(self.inv_half, i))
            ms.append(m), idx.append(i), ts.append(torch.where(torch.isnan(t), INF, t))
        m, i, t = torch.cat(ms), torch.cat(idx), torch.cat(ts)
        t_min = torch.full((M,), INF, device=dev).scatter_reduce(0, m, t, "amin")
        at_min = ((t == _take(t_min, m)) & (t < INF)).nonzero().squeeze(1)
        i_min = torch.full((M,), self.N, dtype=torch.long, device=dev).scatter_reduce(
            0, _take(m, at_min), _take(i, at_min), "amin")
        rays = (i_min < self.N).nonzero().squeeze(1)
        rays = _take(rays, (_take(t_min, rays) < _take(self.t_near, rays)).nonzero().squeeze(1))
        self.t_near.index_copy_(0, rays, _take(t_min, rays))
        self.near.index_copy_(0, rays, _take(i_min, rays))


class _ShadowTests:
    """The exact shadow test of culled (point, primitive) pairs, gathered over objects and run in one
    call per primitive kind (a street has hundreds of objects of a few kinds: one call each was most
    of the pass, in per-call costs). ``add`` queues the points ``m`` of frames ``bm`` against primitive
    ``i``; a kind's queue runs once it holds :data:`PAIRS_PER_CALL` pairs (memory stays bounded) and
    ``flush`` runs the rest. Each pair gets the numbers a per-object test gave it (its object's frame
    transform and half-size, the sun's direction in the object's frame per frame, then per point), so
    the result is the same; a hit sets ``out[point]``."""

    def __init__(self, st, ks: torch.Tensor, q: torch.Tensor, L: torch.Tensor, prim: list[str], out: torch.Tensor):
        self.q, self.prim, self.out, self.N = q, prim, out, st.half.shape[0]
        self.R = st.obj_R[ks].reshape(-1, 3, 3)  # (B·N,3,3): row = frame·N + object
        self.c = st.obj_c[ks].reshape(-1, 3)
        self.inv_half = 1.0 / st.half  # (N,3)
        self.d = (_rT(L.expand_as(st.obj_c[ks]), st.obj_R[ks]) * self.inv_half).reshape(-1, 3)
        self.queued: dict[str, list[tuple[int, torch.Tensor, torch.Tensor]]] = {}
        self.sizes: dict[str, int] = {}

    def add(self, i: int, m: torch.Tensor, bm: torch.Tensor) -> None:
        kind = self.prim[i]
        self.queued.setdefault(kind, []).append((i, m, bm))
        self.sizes[kind] = self.sizes.get(kind, 0) + m.shape[0]
        if self.sizes[kind] >= PAIRS_PER_CALL:
            self._run(kind)

    def flush(self) -> torch.Tensor:
        for kind in list(self.queued):
            self._run(kind)
        return self.out

    def _run(self, kind: str) -> None:
        group, dev = self.queued.pop(kind), self.q.device
        self.sizes.pop(kind)
        m, i, row = _pairs(group, self.N, dev)
        o_u = _rT(_take(self.q, m) - _take(self.c, row), _take(self.R, row)) * _take(self.inv_half, i)
        hit = torch.isfinite(PRIMITIVES.get(kind).intersect(o_u, _take(self.d, row)))
        self.out[_take(m, hit.nonzero().squeeze(1))] = True  # a point may pair with several objects


def _normalize(v: torch.Tensor) -> torch.Tensor:
    return v / torch.clamp(sqrt(_dot(v, v)), min=1e-12)[..., None]


def _frame_slices(b: torch.Tensor, B: int) -> list[tuple[int, int]]:
    """Row range of each frame in a frame-sorted ray list (dense passes list hits frame by frame, the
    re-traced rays too), so per-frame matrices apply to slices instead of being gathered per ray
    (one host sync). Shape: b (M,) non-decreasing in [0, B) → B pairs (start, stop)."""
    edges = torch.searchsorted(b, torch.arange(B + 1, device=b.device, dtype=b.dtype)).tolist()
    return list(zip(edges[:-1], edges[1:]))


def _rT_frames(v: torch.Tensor, R: torch.Tensor, slices: list[tuple[int, int]]) -> torch.Tensor:
    """R[b]ᵀ v for frame-sorted rows: bit-identical to ``_rT(v, R[b])`` without the (M,3,3) gather.
    Shape: v (M,3), R (B,3,3) → (M,3)."""
    out = torch.empty_like(v)
    for j, (s0, s1) in enumerate(slices):
        if s1 > s0:
            out[s0:s1] = _rT(v[s0:s1], R[j])
    return out


def _rows_of_frames(v: torch.Tensor, slices: list[tuple[int, int]]) -> torch.Tensor:
    """Per-frame vectors repeated over each frame's rows: ``v[b]`` for frame-sorted rows, without
    the gather. Shape: v (B,C) → (M,C)."""
    counts = torch.tensor([s1 - s0 for s0, s1 in slices], device=v.device)
    return torch.repeat_interleave(v.t().contiguous(), counts, dim=1, output_size=slices[-1][1] if slices else 0).t()


@dataclass(frozen=True)
class _Parts:
    """The scene's objects as render primitives: one per part of a compound object, one per plain
    object. Shape: P parts; poses (T+2,P,4,4); owner (P,) object index; offset (P,4,4) part → object
    frame at rest, None when every object is a single primitive (then parts are the objects, bit for
    bit); ``animated`` when some part swings (:mod:`synthdata.motion.parts`: poses then follow it)."""

    primitive: list[str]
    half: np.ndarray
    poses: np.ndarray
    owner: np.ndarray
    offset: np.ndarray | None
    material: Materials
    animated: bool = False


def _parts(scene: Scene, traj: Trajectories) -> _Parts:
    objs = scene.objects
    if not any(objs.parts):
        return _Parts(list(objs.primitive), objs.half_size, traj.object_poses_padded, np.arange(len(objs)), None,
                      objs.material)
    prims, halves, offsets, owner, mats = [], [], [], [], []
    for i in range(len(objs)):
        own = _material_row(objs.material, i)
        for part in objs.parts[i] or (None,):
            prims.append(objs.primitive[i] if part is None else part.primitive)
            halves.append(objs.half_size[i] if part is None else part.half_size)
            offsets.append(np.eye(4) if part is None else part.offset)
            mats.append(own if part is None else part.material)
            owner.append(i)
    owner_a, offset = np.array(owner), np.array(offsets)
    pp = part_poses(scene, traj)
    if pp.offset is None:  # rigid compounds: the poses exactly as before swings existed
        poses = traj.object_poses_padded[:, owner_a] @ offset
    else:
        poses = traj.object_poses_padded[:, owner_a] @ pp.offset
    return _Parts(prims, np.array(halves), poses, owner_a, offset, _concat_materials(mats), pp.offset is not None)


def _material_row(m: Materials, i: int) -> Materials:
    return Materials(texture=[m.texture[i]], color=m.color[i:i + 1], color2=m.color2[i:i + 1], scale=m.scale[i:i + 1],
                     specular=m.specular[i:i + 1], shininess=m.shininess[i:i + 1], noise_seed=m.noise_seed[i:i + 1],
                     emissive=_emissive(m)[i:i + 1], bump=None if m.bump is None else m.bump[i:i + 1],
                     wet=None if m.wet is None else m.wet[i:i + 1],
                     texture_params=[_texture_params(m)[i]])


def _rows3(ms: list[Materials], key: str) -> np.ndarray | None:
    """An optional (N,3) material block of several entries concatenated; zeros where absent, None when
    none has it."""
    if all(getattr(m, key) is None for m in ms):
        return None
    return np.concatenate([np.zeros((len(m.texture), 3)) if getattr(m, key) is None else getattr(m, key) for m in ms])


def _emissive(m: Materials) -> np.ndarray:
    return np.zeros(len(m.texture)) if m.emissive is None else m.emissive


def _texture_params(m: Materials) -> list[dict[str, float]]:
    return [{} for _ in m.texture] if m.texture_params is None else m.texture_params


def _texture_param_tables(names: list[str], rows: list[dict[str, float]], device) -> dict[str, dict[str, torch.Tensor]]:
    """Per texture that declares parameters (``fn.params``: name → default first), each as (P+1,) over
    owners: the owner's drawn value, else the default. Textures without parameters get none."""
    out = {}
    for name in names:
        params = getattr(TEXTURES.get(name), "params", None)
        if params:
            out[name] = {k: torch.tensor([r.get(k, float(d[0])) for r in rows], dtype=torch.float32, device=device)
                         for k, d in params.items()}
    return out


def _filtered_owners(names: list[str], owner_textures: list[str], flat_ground: bool, device) -> torch.Tensor | None:
    """(P+1,) bool per owner: its texture filters all its detail over the footprint, so adaptive
    anti-aliasing need not re-trace its colour steps (``fn.filters_fully``; on the flat ground, whose
    footprints are exact, also ``fn.filters_planes``); None when no owner's does."""
    def full(i: int, name: str) -> bool:
        fn = TEXTURES.get(name)
        return getattr(fn, "filters_fully", False) or (i == 0 and flat_ground and getattr(fn, "filters_planes", False))
    rows = [full(i, t) for i, t in enumerate(owner_textures)]
    return torch.tensor(rows, device=device) if any(rows) else None


def _tissue_owners(owner_textures: list[str], device) -> torch.Tensor:
    """(P+1,) bool per owner: its texture is living tissue (``fn.tissue``), which glows red when the
    lens is against it (the scatter of :mod:`.optics`); instruments, bubbles, fluid do not."""
    return torch.tensor([bool(getattr(TEXTURES.get(t), "tissue", False)) for t in owner_textures], device=device)


def _concat_materials(ms: list[Materials]) -> Materials:
    return Materials(texture=[t for m in ms for t in m.texture], color=np.concatenate([m.color for m in ms]),
                     color2=np.concatenate([m.color2 for m in ms]), scale=np.concatenate([m.scale for m in ms]),
                     specular=np.concatenate([m.specular for m in ms]), shininess=np.concatenate([m.shininess for m in ms]),
                     noise_seed=np.concatenate([m.noise_seed for m in ms]),
                     emissive=np.concatenate([_emissive(m) for m in ms]), bump=_rows3(ms, "bump"), wet=_rows3(ms, "wet"),
                     texture_params=[d for m in ms for d in _texture_params(m)])


def _owner_rows(ground: Materials, mat: Materials, key: str, device: torch.device) -> torch.Tensor | None:
    """An optional (N,3) material block as an owner table (P+1,3), environment first; None when unused."""
    rows = _rows3([ground, mat], key)
    return None if rows is None else torch.as_tensor(rows, dtype=torch.float32, device=device)


_shift_poses, _shifted = shift_poses, shifted  # moved to motion/shift.py (labels use them too)


#: the maps post-processing (defocus, flow motion blur) reads besides the linear RGB
_POST_MAPS = ("depth", "flow_fwd", "flow_bwd")


def _batches(first: int, stop: int, step: int) -> list[tuple[int, int]]:
    """The clip's frame batches (every ``step`` frames from frame 0) that meet frames ``first`` … ``stop - 1``,
    cut to them: a window is traced in the whole clip's batches. → [(start, stop), …] clip frame indices."""
    return [(max(a, first), min(a + step, stop)) for a in range(first - first % step, stop, step)]


@dataclass
class _SceneTensors:
    """The scene and trajectories on the render device. Owner index 0 is the environment, i+1 render
    primitive i (a part of a compound object, or a plain object: see :class:`_Parts`).

    Shape: obj_R (T+2,P,3,3), obj_c (T+2,P,3), cam_R (T+2,3,3), cam_c (T+2,3), half (P,3);
    owner tables (P+1, ...); part_owner (P+1,) → object id + 1 (0 environment).
    """

    obj_R: torch.Tensor
    obj_c: torch.Tensor
    obj_c_host: np.ndarray  # (T+2,N,3) host copies for screen-space culling without device syncs
    cam_pose_host: np.ndarray  # (T+2,4,4)
    radius_host: np.ndarray  # (N,) bounding-sphere radius of each object
    radius: torch.Tensor
    cam_R: torch.Tensor
    cam_c: torch.Tensor
    K: np.ndarray
    lens: Lens
    half: torch.Tensor
    groups: dict[str, torch.Tensor]  # primitive name -> object indices
    prim_of_owner: torch.Tensor  # (N+1,) index into prim_names, -1 for environment
    prim_names: list[str]
    tex_of_owner: torch.Tensor
    tex_names: list[str]
    color: torch.Tensor
    color2: torch.Tensor
    tex_scale: torch.Tensor
    specular: torch.Tensor
    shininess: torch.Tensor
    seed: torch.Tensor
    emissive: torch.Tensor | None  # (P+1,) own light per owner; None when nothing glows
    part_owner: torch.Tensor
    num_objects: int
    offset_R: torch.Tensor | None  # (P,3,3) part → object frame at rest, None for plain objects
    offset_c: torch.Tensor | None
    cond: RenderConditions | None = None  # lights, wet ground, snow, particles (conditions.py); None: none
    animated: bool = False  # some part swings: label passes also emit the per-pixel part index
    bump: torch.Tensor | None = None  # (P+1,3) amplitude, scale, octaves per owner (bump.py); None: none
    wet: torch.Tensor | None = None  # (P+1,3) wet film specular, shininess, fresnel per owner; None: none
    #: texture name → its parameters (``fn.params``) as (P+1,) per owner, the recipe's draw or the default
    tex_params: dict[str, dict[str, torch.Tensor]] = field(default_factory=dict)
    #: (P+1,) bool: the owner's texture filters all its detail (``fn.filters_fully``, on the flat ground
    #: ``fn.filters_planes``); None: no such owner
    filtered_owner: torch.Tensor | None = None
    #: (P+1,) bool: the owner is tissue (``fn.tissue``), for the scope's scatter; None: no scatter
    tissue_owner: torch.Tensor | None = None
    stop: tuple | None = None  # (field stop, image width, height) of the camera (optics.py); None: none
    #: k where every owner's shininess is 2**k (1 ≤ k ≤ 10; the shipped default, 32): the specular lobe
    #: x**shininess is then k squarings (:func:`lobe`), not a per-pixel pow; None: pow
    shine_squarings: int | None = None

    @classmethod
    def build(cls, scene: Scene, traj: Trajectories, device: torch.device) -> "_SceneTensors":
        f32 = dict(dtype=torch.float32, device=device)
        env = scene.environment
        parts = _parts(scene, traj)
        poses = torch.as_tensor(parts.poses, **f32)
        cams = torch.as_tensor(traj.camera_poses_padded, **f32)
        prim_names = sorted(set(parts.primitive))
        tex_names = sorted(set(parts.material.texture) | set(env.ground.texture))
        groups = {p: torch.tensor([i for i, q in enumerate(parts.primitive) if q == p], device=device, dtype=torch.long)
                  for p in prim_names}
        mat = parts.material

        def table(env_val: np.ndarray, obj_val: np.ndarray, **kw) -> torch.Tensor:
            return torch.as_tensor(np.concatenate([env_val, obj_val]), device=device, **kw)

        return cls(
            obj_R=poses[..., :3, :3], obj_c=poses[..., :3, 3],
            obj_c_host=parts.poses[..., :3, 3], cam_pose_host=traj.camera_poses_padded,
            radius_host=np.linalg.norm(parts.half, axis=-1).reshape(-1),
            radius=torch.as_tensor(np.linalg.norm(parts.half, axis=-1).reshape(-1), **f32),
            cam_R=cams[:, :3, :3], cam_c=cams[:, :3, 3],
            K=scene.camera.K, lens=traj.lens, half=torch.as_tensor(parts.half, **f32).reshape(-1, 3), groups=groups,
            prim_of_owner=torch.tensor([-1] + [prim_names.index(p) for p in parts.primitive], device=device),
            prim_names=prim_names,
            tex_of_owner=torch.tensor([tex_names.index(t) for t in env.ground.texture + mat.texture], device=device),
            tex_names=tex_names,
            color=table(env.ground.color, mat.color.reshape(-1, 3), dtype=torch.float32),
            color2=table(env.ground.color2, mat.color2.reshape(-1, 3), dtype=torch.float32),
            tex_scale=table(env.ground.scale, mat.scale, dtype=torch.float32),
            specular=table(env.ground.specular, mat.specular, dtype=torch.float32),
            shininess=table(env.ground.shininess, mat.shininess, dtype=torch.float32),
            seed=table(env.ground.noise_seed, mat.noise_seed, dtype=torch.int64),
            emissive=table(_emissive(env.ground), _emissive(mat), dtype=torch.float32)
            if (_emissive(env.ground) > 0).any() or (_emissive(mat) > 0).any() else None,
            part_owner=torch.as_tensor(np.concatenate([[0], parts.owner + 1]), device=device, dtype=torch.long),
            num_objects=len(scene.objects),
            offset_R=None if parts.offset is None else torch.as_tensor(parts.offset[:, :3, :3], **f32),
            offset_c=None if parts.offset is None else torch.as_tensor(parts.offset[:, :3, 3], **f32),
            cond=RenderConditions.build(scene, traj, device),
            animated=parts.animated,
            bump=_owner_rows(env.ground, mat, "bump", device),
            wet=_owner_rows(env.ground, mat, "wet", device),
            tex_params=_texture_param_tables(tex_names, _texture_params(env.ground) + _texture_params(mat), device),
            filtered_owner=_filtered_owners(tex_names, env.ground.texture + mat.texture,
                                            env.kind == "ground" and env.shape.flat, device),
            tissue_owner=_tissue_owners(env.ground.texture + mat.texture, device) if env.scatter is not None else None,
            stop=None if scene.camera.stop is None else (scene.camera.stop, scene.camera.width, scene.camera.height),
            shine_squarings=_squarings(np.concatenate([env.ground.shininess, mat.shininess])),
        )


def _squarings(shininess: np.ndarray) -> int | None:
    """k where every value is the same 2**k, 1 ≤ k ≤ 10 (as float32, the tables' type); else None."""
    values = np.unique(np.asarray(shininess, dtype=np.float32))
    if values.size != 1:
        return None
    k = int(np.round(np.log2(values[0]))) if values[0] > 0 else 0
    return k if 1 <= k <= 10 and np.float32(2.0 ** k) == values[0] else None


def lobe(x: torch.Tensor, st: _SceneTensors, shin: torch.Tensor) -> torch.Tensor:
    """A specular lobe, ``x ** shin`` (x ≥ 0, shin the hits' shininess, broadcastable): by repeated
    squaring where every owner's shininess is the same power of two (exact float32 products, 4× cheaper
    than torch's pow at 2**5 on this CPU), else torch's pow. The CPU's compiled shading takes the same
    path, so both give the same bits."""
    k = st.shine_squarings
    if k is None:
        return x ** shin
    y = x * x
    for _ in range(k - 1):
        y.mul_(y)
    return y


class RaycastSettings(BackendSettings):
    """``backend=raycast`` settings (also the layout pass of the generator backends). ``supersample``:
    ``adaptive`` (default) filters hard-edged textures over each pixel's footprint and re-traces only
    pixels on an edge (owner or colour step to a neighbour) with 8 more rays, ``1`` one ray per pixel,
    ``2`` 2×2 rays everywhere; RGB only, labels stay at pixel centres (:mod:`.antialias`). ``motion_blur: n`` averages RGB
    over n instants spread across the open ``shutter`` (a fraction of the frame interval, centred on the
    frame time; labels stay at the shutter's centre, the frame time); ``frame_batch`` bounds how many
    frames are ray-cast at once and ``batch_kilorays`` how many rays one such pass casts, in units of
    1024 (memory: large frames go fewer at a time, at least one; a recipe at a given size always gets
    the same batches, and render the same bytes whatever the batch, but for the lumen march, whose
    bisection stops per batch: within its tolerance); ``sensor_noise: {shot, read}`` adds seeded sensor noise to RGB
    (:mod:`synthdata.render.sensor`; off by default, labels unchanged); ``rolling_shutter: rs`` reads rows
    out top to bottom over rs of the frame interval, rendered in ``rolling_bands`` bands (default one per
    8 rows) and every label at the same row instants (:mod:`.rolling`; 0, the default, is a global shutter).
    ``motion_blur: flow`` instead smears the rendered frame along its own flow over the ``shutter`` (one
    cheap pass, :mod:`synthdata.render.blur`); ``defocus: {focus_m, aperture_mm}`` blurs RGB by a thin
    lens's depth-dependent circle of confusion (same module; off by default, labels unchanged).
    ``cpu_kernels``: on the CPU, ``compiled`` runs the surface shading, the rays' hits and flow as
    compiled loops where the scene allows (:mod:`.cpu_kernels`; the same arithmetic as the torch stages,
    several times faster), ``torch`` always in tensor ops (as CUDA does), ``auto`` (default) compiled for
    clips of at least :data:`AUTO_COMPILED_PIXELS` pixels (loading numba and the loops costs a process
    ~0.45 s once, which about three clips of that size repay)."""

    supersample: Literal[1, 2, "adaptive"] = "adaptive"
    shadows: bool = True
    frame_batch: int = Field(8, ge=1, le=1024)
    batch_kilorays: int = Field(BATCH_KILORAYS, ge=1, le=1_000_000)
    motion_blur: Annotated[int, Field(ge=1, le=16)] | Literal["flow"] = 1
    shutter: float = Field(0.5, gt=0.0, le=1.0)
    sensor_noise: SensorNoise | None = None
    rolling_shutter: float = Field(0.0, ge=0.0, le=1.0)
    rolling_bands: int | None = Field(None, ge=1, le=4096)
    defocus: Defocus | None = None
    cpu_kernels: Literal["auto", "compiled", "torch"] = "auto"

    @property
    def instants(self) -> int:
        """How many instants RGB is rendered at per frame (``motion_blur: n``; 1 for ``flow``)."""
        return self.motion_blur if isinstance(self.motion_blur, int) else 1

    @property
    def rays_per_pass_pixel(self) -> int:
        """Rays per pixel of one trace pass: adaptive keeps one dense pass plus re-traced rays in chunks of
        at most one dense pass."""
        return 2 if self.supersample == "adaptive" else self.supersample ** 2

    @property
    def rays_per_pixel(self) -> int:
        """Memory-model rays per pixel: one pass's, at each of the ``motion_blur`` instants."""
        return self.rays_per_pass_pixel * self.instants

    @property
    def amodal_maps_per_clip(self) -> bool:
        return False  # the shard path's RaycastBackend.keep leaves amodal out: per-batch Coverage only

    def window_step(self, spec: "RecipeSpec") -> int:
        """One trace batch: rendering is local to a batch (a rolling shutter's bands too: each traces the
        batch's frames at its instant); auto-exposure carries its state from window to window, sensor
        noise draws frame by frame."""
        return self.frames_per_batch(spec.clip.width, spec.clip.height)

    def frames_per_batch(self, width: int, height: int) -> int:
        """Frames one trace batch holds at this frame size: ``frame_batch``, fewer when their rays would
        pass ``batch_kilorays`` × 1024 (the trace's transient memory is per ray), never less than one."""
        rays = width * height * self.rays_per_pass_pixel
        return max(1, min(self.frame_batch, self.batch_kilorays * 1024 // max(rays, 1)))


class RaycastBackend(Backend):
    """``backend=raycast``: see the module docstring and docs/backends.md."""

    name = "raycast"
    Settings = RaycastSettings
    settings: RaycastSettings
    #: Screen-space (camera rays) and light-space (shadow rays) culling; only a speed-up, the output
    #: is bit-identical with it off (tested).
    cull = True
    #: The ``Frames`` maps the caller reads (None: every map, the default). Of
    #: :data:`~synthdata.render.types.OPTIONAL_MAPS`, those not read are dropped batch by batch and left
    #: None — amodal reduced to :class:`~synthdata.render.coverage.Coverage` first (the same label
    #: numbers). The shard path makes its backend with the recipe's labels' maps (:func:`maps_read`).
    keep: frozenset[str] | None = None

    # -- public ---------------------------------------------------------------------------------------
    def dropped(self) -> frozenset[str]:
        """The optional maps this backend leaves out of ``Frames`` (see :attr:`keep`)."""
        return frozenset() if self.keep is None else OPTIONAL_MAPS - self.keep

    def lean(self, out: dict[str, torch.Tensor], coverage: list[Coverage], edge: torch.Tensor | None = None) -> None:
        """Drop one trace batch's maps the caller does not read, in place; amodal as its coverage
        (``edge``: where the picture ends, with a field stop; :func:`~..coverage.view_edge`)."""
        drop = self.dropped()
        if "coverage" in out:  # summarised as traced (the compiled dense pass)
            coverage.append(out.pop("coverage"))
        elif "amodal" in drop:
            coverage.append(Coverage.of(out.pop("amodal"), edge))
        for k in drop:
            out.pop(k, None)

    def render(self, scene: Scene, traj: Trajectories) -> Frames:
        return self.render_window(scene, traj, 0, traj.num_frames)

    def render_window(self, scene: Scene, traj: Trajectories, first: int, stop: int,
                      before: Frames | None = None, exposure_state: torch.Tensor | None = None) -> Frames:
        """Frames ``first`` … ``stop - 1`` of the clip (``traj`` the whole clip's), traced in the whole
        clip's frame batches (cut at the window's ends), so a window's frames are the whole clip's when
        the settings allow windows (:meth:`RaycastSettings.window_step`) and the window starts on a
        batch boundary. ``before``: frames rendered earlier that go ahead of these in the result (a
        window's context, carried over): written straight into the result's buffers, never copied twice.
        ``exposure_state``: auto-exposure after frame ``first - 1`` (the last window's
        ``Frames.exposure_state``), so it adapts on as in the whole clip."""
        st = _SceneTensors.build(scene, traj, self.device)
        height, width = scene.camera.height, scene.camera.width
        step = self.settings.frames_per_batch(width, height)
        n, rs = self.settings.instants, self.settings.rolling_shutter
        nb = 0 if before is None else before.num_frames
        bands = rolling_bands(self, scene, traj, st) if rs else None  # each at its own instant, whole clip
        blurred = [_SceneTensors.build(scene, _shifted(traj, self.settings.shutter * ((j + 0.5) / n - 0.5)), self.device)
                   for j in range(n)] if n > 1 and not rs else [st]
        cat: dict[str, torch.Tensor] = {}  # window-size maps, filled batch by batch (never parts + a copy)
        coverage: list[Coverage] = []  # without amodal maps: each batch's coverage summary
        batches = _batches(first, stop, step)
        edge = view_edge(field_view(scene))
        shown = self._shown_directly(scene, st)
        for lo, hi in batches:
            ks = torch.arange(lo, hi, device=self.device) + 1
            start = lo - first
            out = trace_rolling(self, scene, bands, ks) if rs else self._trace_batch(scene, st, blurred, ks, height,
                                                                                      width, shown)
            self.lean(out, coverage, edge)
            for k, v in out.items():
                lead = 0 if k in ("rgb_linear", "display") else nb  # carried frames' maps go first (their RGB is final)
                if k not in cat:
                    cat[k] = v.new_empty((lead + stop - first, *v.shape[1:]))
                    if lead:
                        cat[k][:lead] = getattr(before, k)
                cat[k][lead + start:lead + start + v.shape[0]] = v
            del out
        for k in self.dropped() - {"part"}:  # part is None anyway when nothing swings
            cat[k] = None
        if coverage:
            carried = [before.coverage] if nb and before.coverage is not None else []
            cat["coverage"] = Coverage.cat(carried + coverage)
        if "display" in cat:  # display colours already (_shown_directly): scaled to bytes, no second power
            assert "rgb_linear" not in cat  # every batch of a clip takes the same path
            rgb = cat.pop("display").mul_(255).add_(0.5).to(torch.uint8)
            if nb:
                rgb = torch.cat([before.rgb, rgb])
            return Frames(rgb=rgb, **cat, row_time=None)
        cat["rgb_linear"] = self._post({"rgb_linear": cat["rgb_linear"], **{k: cat[k][nb:] for k in _POST_MAPS}},
                                       scene.camera.K, [(lo - first, hi - first) for lo, hi in batches])
        cam = scene.camera
        if cam.vignetting is not None:  # at the lens: before exposure, so auto-exposure meters it
            gain = vignette_gain(cam.vignetting, cam.stop, self._lens_xy(st, height, width, 1), st.K, width, height,
                                 self.device)
            cat["rgb_linear"].mul_(gain[..., None])  # in place: the buffer is this clip's own
        if st.cond is not None:  # with a field stop, auto-exposure meters its circle only
            cat["rgb_linear"], cat["exposure_state"] = expose(cat["rgb_linear"], st.cond.cond.exposure,
                                                              self._inside(st, height, width, 1), exposure_state)
        linear = cat.pop("rgb_linear")
        if self.settings.sensor_noise is not None:  # after exposure: the sensor reads the exposed signal
            linear = sensor_noise(linear, self.settings.sensor_noise, scene.generator_seed, first)
        if cam.stop is not None:  # last: the border is black whatever noise or blur put there
            linear.mul_(stop_gain(cam.stop, st.K, width, height, self.device)[..., None])
        # in place on the clip's own buffer: no clip-size temporaries, the very kernels (and bits) of
        # the out-of-place expression (frame chunks would move the vector/scalar tails of pow)
        rgb = linear.clamp_(0, 1).pow_(1 / 2.2).mul_(255).add_(0.5).to(torch.uint8)
        del linear
        if nb:
            rgb = torch.cat([before.rgb, rgb])
        return Frames(rgb=rgb, **cat, row_time=torch.as_tensor(row_times(height, rs, self.settings.rolling_bands),
                                                               device=self.device) if rs else None)

    # -- internals ------------------------------------------------------------------------------------
    def _trace_batch(self, scene: Scene, st: _SceneTensors, blurred: list[_SceneTensors], ks: torch.Tensor,
                     height: int, width: int, shown: bool = False) -> dict[str, torch.Tensor]:
        """Linear RGB (anti-aliased, motion-blurred as set) and every label map of frames ``ks``, one
        trace batch; ``blurred``: the scene tensors at each motion-blur instant. ``shown``: return the
        display colours instead of linear RGB where anti-aliasing made them (``display``; see
        :meth:`_shown_directly`)."""
        n = self.settings.instants
        refine = n == 1 and self.settings.supersample == "adaptive"
        out = self._trace(scene, st, ks, height, width, scale=1, labels=True, particles=not refine)
        key, t_vis = out.pop("edge_key"), out.pop("t_vis")
        if n > 1 or self.settings.supersample == 2:
            out["rgb_linear"] = sum(self._rgb(scene, s, ks, height, width) for s in blurred) / n
        elif refine:
            kept: dict = {}
            rgb = self._refine(scene, st, ks, out["rgb_linear"], key, kept if shown else None)
            out["rgb_linear"] = self._particles(scene, st, ks, rgb, t_vis)
            if "display" in kept:
                out["display"] = kept["display"]
                del out["rgb_linear"]
        return out

    def _shown_directly(self, scene: Scene, st: _SceneTensors) -> bool:
        """Whether nothing acts on linear RGB after anti-aliasing (no motion blur, blur, weather, lens
        effects, exposure or sensor noise; no rolling shutter) and the compiled edge test runs: the
        frames' display colours are then the edge test's, refined pixels taken anew, and the final
        encode takes no second power of every pixel. The same bytes (torch's pow is lane by lane) but
        where the refined pixels' shorter tensor puts a value in pow's scalar tail (≤ 31 a batch), which
        may round it one bit apart (tests/render/test_cpu_kernels.py compares the two paths)."""
        s, cam = self.settings, scene.camera
        return (s.instants == 1 and s.supersample == "adaptive" and not s.rolling_shutter and s.defocus is None
                and s.motion_blur != "flow" and s.sensor_noise is None and st.cond is None and cam.stop is None
                and cam.vignetting is None and self._compiles(scene, st))

    def _post(self, cat: dict[str, torch.Tensor], K, batches: list[tuple[int, int]]) -> torch.Tensor:
        """Defocus and flow motion blur (:mod:`synthdata.render.blur`), batch by batch (``batches``: the
        trace's, as (start, stop) in ``cat``); the linear RGB itself when both are off."""
        linear = cat["rgb_linear"]
        if self.settings.defocus is None and self.settings.motion_blur != "flow":
            return linear
        return torch.cat([post_process(linear[a:b], GBuffer(cat["depth"][a:b], cat["flow_fwd"][a:b], cat["flow_bwd"][a:b], K),
                                       self.settings) for a, b in batches])

    def _rgb(self, scene: Scene, st: _SceneTensors, ks: torch.Tensor, H: int, W: int) -> torch.Tensor:
        """Linear RGB of frames ``ks`` (anti-aliased as set). → (B,H,W,3)."""
        s = self.settings.supersample
        out = self._trace(scene, st, ks, H, W, scale=2 if s == 2 else 1, labels=False, particles=s != "adaptive")
        if s == 2:
            return F.avg_pool2d(out["rgb_linear"].permute(0, 3, 1, 2), 2).permute(0, 2, 3, 1)
        if s == "adaptive":
            return self._particles(scene, st, ks, self._refine(scene, st, ks, out["rgb_linear"], out["edge_key"]),
                                   out["t_vis"])
        return out["rgb_linear"]

    @staticmethod
    def _particles(scene: Scene, st: _SceneTensors, ks: torch.Tensor, rgb: torch.Tensor,
                   t_vis: torch.Tensor) -> torch.Tensor:
        """Rain and snow over an anti-aliased frame (conditions.py), at the centre rays' depth."""
        return rgb if st.cond is None else st.cond.particles(scene, st, ks, rgb, t_vis, 1)

    def _refine(self, scene: Scene, st: _SceneTensors, ks: torch.Tensor, rgb: torch.Tensor,
                key: torch.Tensor, shown: dict | None = None) -> torch.Tensor:
        """Adaptive anti-aliasing: pixels on an edge get the mean of their centre ray and
        :data:`~.antialias.SUBPIXEL` more rays. Shape: rgb (B,H,W,3) linear, key (B,H,W) → (B,H,W,3).
        ``shown``: a dict that receives the result's display colours (``"display"``, as
        :func:`~.antialias.display` gives them) where the compiled edge test made them: its own, with the
        refined pixels' taken anew (what the final encode would take again otherwise)."""
        smooth = None
        if st.filtered_owner is not None:  # textures that filter all their detail: their colour steps are no edges
            smooth = st.filtered_owner[key.clamp(min=0)] & (key >= 0)
        disp = None
        if self._compiles(scene, st):  # the edge test as one loop (any scene), straight to the pixels' indices
            lin, disp = cpu_kernels.edge_pixels(rgb, key, smooth)
        else:
            lin = edge_pixels(rgb, key, smooth=smooth).reshape(-1).nonzero().squeeze(1)  # (M,) flat, ascending
        if shown is not None and disp is not None:
            shown["display"] = disp
        if lin.shape[0] == 0:
            return rgb
        _, H, W, _ = rgb.shape
        off = subpixel().to(self.device)  # (k,2)
        k, M = off.shape[0], lin.shape[0]
        b = (lin // (H * W)).repeat_interleave(k)  # pixel by pixel, so the ray list stays frame-sorted
        u = ((lin % W)[:, None] + 0.5 + off[:, 0][None]).reshape(-1)
        v = ((lin // W % H)[:, None] + 0.5 + off[:, 1][None]).reshape(-1)
        chunk = max(rgb.shape[0] * H * W // k, 1) * k  # at most one dense pass, whole pixels
        sub = torch.cat([self._trace_rays(scene, st, ks, b[i:i + chunk], u[i:i + chunk], v[i:i + chunk],
                                          SUBPIXEL_FOOTPRINT, group=k)
                         for i in range(0, k * M, chunk)])
        out = rgb.reshape(-1, 3).clone()
        refined = (_take(out, lin) + sub.reshape(M, k, 3).transpose(0, 1).contiguous().sum(0)) / (k + 1)
        out.index_copy_(0, lin, refined)
        if shown is not None and disp is not None:
            disp.reshape(-1, 3).index_copy_(0, lin, display(refined))
        return out.reshape(rgb.shape)

    def _rays(self, st: _SceneTensors, ks: torch.Tensor, H: int, W: int, scale: int) -> torch.Tensor:
        """World ray directions with camera-z = 1 (so the ray parameter t *is* z-depth). → (B,H,W,3).
        Through a lens, each pixel centre is undistorted first (float64 Newton on the host, once per clip)."""
        if not st.lens.is_pinhole:
            return _r(self._lens_rays(st, H, W, scale)[None], st.cam_R[ks][:, None, None])
        u = (torch.arange(W * scale, device=self.device, dtype=torch.float32) + 0.5) / scale
        v = (torch.arange(H * scale, device=self.device, dtype=torch.float32) + 0.5) / scale
        vv, uu = torch.meshgrid(v, u, indexing="ij")
        return self._dirs(st, st.cam_R[ks][:, None, None], uu[None], vv[None])

    @staticmethod
    def _dirs(st: _SceneTensors, cam_R: torch.Tensor, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """World directions (camera-z = 1) through image points (u, v) in pixels (0.5 = the first pixel's
        centre), for dense grids and sparse ray lists alike. Shape: cam_R (...,3,3), u, v (...) → (...,3)."""
        fx, fy, cx, cy = (float(st.K[0, 0]), float(st.K[1, 1]), float(st.K[0, 2]), float(st.K[1, 2]))
        d_cam = _soa([(u - cx) / fx, (v - cy) / fy, torch.ones_like(u)])
        return _r(d_cam, cam_R)

    def _sparse_dirs(self, st: _SceneTensors, ks: torch.Tensor, b: torch.Tensor, u: torch.Tensor,
                     v: torch.Tensor) -> torch.Tensor:
        """World directions (camera-z = 1) of a ray list through image points (u, v) of frames ks[b];
        through a lens each point is undistorted on the host in float64, as :meth:`_lens_xy` does for
        the grid (one transfer per list). Shape: b, u, v (M,) → (M,3)."""
        if st.lens.is_pinhole:
            return self._dirs(st, _take(st.cam_R[ks], b), u, v)
        uh, vh = u.cpu().double().numpy(), v.cpu().double().numpy()
        x, y = st.lens.undistort((uh - st.K[0, 2]) / st.K[0, 0], (vh - st.K[1, 2]) / st.K[1, 1])
        xy = torch.as_tensor(np.stack([x, y], -1), dtype=torch.float32, device=self.device)
        return _r(torch.cat([xy, torch.ones_like(xy[:, :1])], -1), _take(st.cam_R[ks], b))

    def _inside(self, st: _SceneTensors, rows: int, cols: int, scale: int, grow: float = 0.0) -> torch.Tensor | None:
        """(rows, cols) bool: pixel centres of the ``scale``-times grid inside the camera's field stop (its
        radius grown by ``grow`` pixels), for ``st``'s K (a rolling-shutter band's own); None: no stop."""
        return None if st.stop is None else inside(st.stop[0], st.K, st.stop[1], st.stop[2], rows, cols, scale,
                                                   self.device, grow)

    def _lens_xy(self, st: _SceneTensors, H: int, W: int, scale: int) -> np.ndarray:
        """Undistorted normalised coordinates of every pixel centre on the ``scale``-times grid, float64,
        cached per (lens, K, size, field stop); (0, 0) outside a field stop (never cast; a wide lens may
        not even reach there). → (H·scale, W·scale, 2)."""
        key = (st.lens, st.K.tobytes(), H, W, scale, st.stop)
        cache = self.__dict__.setdefault("_lens_cache", {})
        if key not in cache:
            u = (np.arange(W * scale) + 0.5) / scale
            v = (np.arange(H * scale) + 0.5) / scale
            uu, vv = np.meshgrid(u, v)
            x, y = st.lens.undistort((uu - st.K[0, 2]) / st.K[0, 0], (vv - st.K[1, 2]) / st.K[1, 1])
            if st.stop is not None:
                out = ~self._inside(st, H * scale, W * scale, scale, grow=CAST_MARGIN_PX).cpu().numpy()
                x, y = np.where(out, 0.0, x), np.where(out, 0.0, y)
            while len(cache) >= 4:  # labels (scale 1) and supersampled RGB (scale 2) alternate: keep both
                cache.pop(next(iter(cache)))
            cache[key] = np.stack([x, y], -1)
        return cache[key]

    def _lens_rays(self, st: _SceneTensors, H: int, W: int, scale: int) -> torch.Tensor:
        """Camera-frame ray directions (z = 1) of the pixel centres through the lens. → (H',W',3)."""
        xy = torch.as_tensor(self._lens_xy(st, H, W, scale), dtype=torch.float32, device=self.device)
        return torch.cat([xy, torch.ones_like(xy[..., :1])], -1)

    def _screen_boxes(self, st: _SceneTensors, ks: np.ndarray, H: int, W: int, scale: int) -> np.ndarray:
        """Conservative pixel rectangle of each object over the frames ``ks``, from the projected corners
        of the cube around its bounding sphere (host-side numpy: no device sync). → (N,4) ints
        [x0, y0, x1, y1] on the ``scale``-times grid; x1 <= x0 when the object is behind the camera."""
        x = self._box_corners(st, ks)
        if not st.lens.is_pinhole:
            return self._lens_screen_boxes(st, x, H, W, scale)
        z = x[..., 2]  # (B,N,8)
        own = self._pinhole_frame_boxes(st, x, H, W, scale)  # (B,N,4), each frame's
        boxes = np.concatenate([own[..., :2].min(0), own[..., 2:].max(0)], -1)  # their union over the frames
        boxes[(z <= 1e-3).any(axis=(0, 2))] = (0, 0, W * scale, H * scale)  # straddles the camera plane: no safe bound
        boxes[(z <= 1e-6).all(axis=(0, 2))] = 0  # wholly behind the camera in every frame
        return boxes

    @staticmethod
    def _box_corners(st: _SceneTensors, ks: np.ndarray) -> np.ndarray:
        """Camera-frame corners of the cube around each object's bounding sphere in the frames ``ks``.
        → (B,N,8,3)."""
        signs = np.array([[i, j, k] for i in (-1, 1) for j in (-1, 1) for k in (-1, 1)], dtype=np.float64)
        corners = st.obj_c_host[ks][:, :, None] + st.radius_host[None, :, None, None] * signs  # (B,N,8,3)
        cam = st.cam_pose_host[ks]  # (B,4,4)
        return np.einsum("bnkj,bji->bnki", corners - cam[:, None, None, :3, 3], cam[:, :3, :3])

    @staticmethod
    def _pinhole_uv(st: _SceneTensors, x: np.ndarray, scale: int) -> tuple[np.ndarray, np.ndarray]:
        """Pixel coordinates (``scale``-times grid) of camera-frame points (inf/NaN at or behind z = 0)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return ((st.K[0, 0] * x[..., 0] / x[..., 2] + st.K[0, 2]) * scale,
                    (st.K[1, 1] * x[..., 1] / x[..., 2] + st.K[1, 2]) * scale)

    def _frame_boxes(self, st: _SceneTensors, ks: np.ndarray, H: int, W: int, scale: int = 1) -> np.ndarray:
        """:meth:`_screen_boxes` of each frame of ``ks`` on its own (within the batch's rectangle): where
        objects cross the screen during a batch (a driving camera: 3.5× the area on highway) the object
        tests cull by each frame's own rectangle too. → (B,N,4) ints on the ``scale``-times grid."""
        if not st.lens.is_pinhole:
            return np.stack([self._screen_boxes(st, ks[j:j + 1], H, W, scale) for j in range(len(ks))])
        return self._pinhole_frame_boxes(st, self._box_corners(st, ks), H, W, scale)

    @staticmethod
    def _pinhole_frame_boxes(st: _SceneTensors, x: np.ndarray, H: int, W: int, scale: int) -> np.ndarray:
        """Each frame's pinhole rectangles from the camera-frame cube corners x (B,N,8,3) → (B,N,4)."""
        z = x[..., 2]  # (B,N,8)
        u, v = RaycastBackend._pinhole_uv(st, x, scale)
        H, W = H * scale, W * scale
        with np.errstate(invalid="ignore"):
            box = np.stack([np.floor(u.min(-1)) - 1, np.floor(v.min(-1)) - 1, np.ceil(u.max(-1)) + 2,
                            np.ceil(v.max(-1)) + 2], -1)
        box = np.where((z <= 1e-3).any(-1)[..., None], np.array([0, 0, W, H]), box)  # straddles: no safe bound
        box = np.where((z <= 1e-6).all(-1)[..., None], 0, box)  # wholly behind the camera
        box[..., [0, 2]] = box[..., [0, 2]].clip(0, W)
        box[..., [1, 3]] = box[..., [1, 3]].clip(0, H)
        return box.astype(np.int64)

    def _lens_screen_boxes(self, st: _SceneTensors, x: np.ndarray, H: int, W: int, scale: int) -> np.ndarray:
        """:meth:`_screen_boxes` through a lens. The pinhole rectangle in *undistorted* normalised
        coordinates is conservative; it is clipped to the span of the pixel rays (the only points that
        are cast), its boundary densely distorted into pixels and the bounding box padded. An object whose
        rectangle reaches beyond the lens's fold radius, or straddles the camera plane, gets the whole
        image. Shape: x (B,N,8,3) camera-frame cube corners → (N,4)."""
        full = np.array([0, 0, W * scale, H * scale])
        z = x[..., 2]
        N = x.shape[1]
        boxes = np.tile(full, (N, 1))
        behind = (z <= 1e-6).all(axis=(0, 2))
        ok = (z > 1e-3).all(axis=(0, 2))
        boxes[behind] = 0
        if not ok.any():
            return boxes
        with np.errstate(divide="ignore", invalid="ignore"):
            xn, yn = x[..., 0] / z, x[..., 1] / z
        span = self._lens_xy(st, H, W, scale)
        lo, hi = span.reshape(-1, 2).min(0), span.reshape(-1, 2).max(0)
        lo, hi = lo - 1e-6 * (1 + np.abs(lo)), hi + 1e-6 * (1 + np.abs(hi))  # the rays are float32 copies
        x0 = np.maximum(np.where(ok, xn.min(axis=(0, 2)), lo[0]), lo[0])
        x1 = np.minimum(np.where(ok, xn.max(axis=(0, 2)), hi[0]), hi[0])
        y0 = np.maximum(np.where(ok, yn.min(axis=(0, 2)), lo[1]), lo[1])
        y1 = np.minimum(np.where(ok, yn.max(axis=(0, 2)), hi[1]), hi[1])
        empty = ok & ((x1 < x0) | (y1 < y0))  # wholly outside every cast ray
        s = np.linspace(0.0, 1.0, 129)
        one, zero = np.ones_like(s), np.zeros_like(s)
        fx_, fy_ = np.concatenate([s, one, 1 - s, zero]), np.concatenate([zero, s, one, 1 - s])  # around the rectangle
        bx = x0[:, None] + (x1 - x0)[:, None] * fx_  # (N,S)
        by = y0[:, None] + (y1 - y0)[:, None] * fy_
        folded = (bx * bx + by * by >= st.lens.valid_radius ** 2).any(1)
        xd, yd = st.lens.distort(bx, by)
        u = (st.K[0, 0] * xd + st.K[0, 2]) * scale
        v = (st.K[1, 1] * yd + st.K[1, 2]) * scale
        box = np.stack([np.floor(u.min(1)) - 2, np.floor(v.min(1)) - 2, np.ceil(u.max(1)) + 3, np.ceil(v.max(1)) + 3], -1)
        use = ok & ~folded & ~empty
        boxes[use] = box[use].astype(np.int64)
        boxes[ok & empty] = 0
        boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, W * scale)
        boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, H * scale)
        return boxes

    def _hit_objects(self, st: _SceneTensors, ks: torch.Tensor, o: torch.Tensor, d: torch.Tensor, scale: int,
                     keep: torch.Tensor | None = None,
                     cover: Callable[[torch.Tensor, torch.Tensor, slice, tuple[slice, slice]], torch.Tensor] | None = None
                     ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """The nearest object hit of every camera ray, each render primitive tested only inside its
        screen rectangle and the nearest kept as it goes (no (B,P,H,W) stack of depths: with a street's
        hundreds of primitives that stack was most of a batch's memory and time). ``keep`` (H,W): rays
        cast at all (the field stop); ``cover(t, d, frames, box)``: the amodal coverage of one primitive's
        rectangle from its ray parameters (b,h,w) and directions (b,h,w,3) of frames ``frames`` (a slice),
        when labels are wanted. Where an object crosses the screen within the batch (a driving camera),
        each frame is cast over its own rectangle instead (:data:`OWN_SLABS_SAVE`).
        Shape: o (B,3), d (B,H,W,3) → t (B,H,W) (inf: none), index (B,H,W) of the nearest primitive (0
        when none; ties go to the lower index), coverage (B,P,H,W) bool or None."""
        B, H, W, _ = d.shape
        N = st.half.shape[0]
        t_near = torch.full((B, H, W), INF, device=self.device)
        near = torch.zeros((B, H, W), dtype=torch.long, device=self.device)
        covered = torch.zeros((B, N, H, W), dtype=torch.bool, device=self.device) if cover is not None else None
        ks_host = np.arange(int(ks[0]), int(ks[0]) + B)  # ks is a contiguous range
        if self.cull:
            boxes = self._screen_boxes(st, ks_host, H // scale, W // scale, scale)
            own = self._frame_boxes(st, ks_host, H // scale, W // scale, scale) if B > 1 else None
        else:
            boxes, own = np.tile(np.array([0, 0, W, H]), (N, 1)), None
        prim = [st.prim_names[int(k)] for k in st.prim_of_owner[1:].tolist()]
        for i in range(N):
            x0, y0, x1, y1 = (int(v) for v in boxes[i])
            if x1 <= x0 or y1 <= y0:
                continue
            slabs = [(slice(0, B), (x0, y0, x1, y1))]  # frames, rectangle: the batch's, all frames at once
            if own is not None:
                area = np.clip(own[:, i, 2] - own[:, i, 0], 0, None) * np.clip(own[:, i, 3] - own[:, i, 1], 0, None)
                if B * (x1 - x0) * (y1 - y0) - area.sum() > OWN_SLABS_SAVE * (B - 1):  # worth a pass per frame
                    slabs = [(slice(j, j + 1), tuple(int(v) for v in own[j, i])) for j in range(B) if area[j] > 0]
            R_all, c_all = st.obj_R[ks, i], st.obj_c[ks, i]  # (B,3,3), (B,3)
            inv_half = 1.0 / st.half[i]
            for f, (x0, y0, x1, y1) in slabs:
                box = (slice(y0, y1), slice(x0, x1))
                R, c = R_all[f], c_all[f]
                o_u = (_rT(o[f] - c, R) * inv_half)[:, None, None]  # (b,1,1,3)
                d_box = d[f, y0:y1, x0:x1]
                t = PRIMITIVES.get(prim[i]).intersect(o_u, _rT(d_box, R[:, None, None]) * inv_half)
                if keep is not None:
                    t = torch.where(keep[box], t, INF)
                closer = t < t_near[f, y0:y1, x0:x1]
                t_near[f, y0:y1, x0:x1] = torch.where(closer, t, t_near[f, y0:y1, x0:x1])
                near[f, y0:y1, x0:x1].masked_fill_(closer, i)
                if covered is not None:
                    covered[f, i, y0:y1, x0:x1] = cover(t, d_box, f, box)
        return t_near, near, covered

    def _hit_objects_sparse(self, st: _SceneTensors, ks: torch.Tensor, o: torch.Tensor, d: torch.Tensor,
                            b: torch.Tensor, u: torch.Tensor, v: torch.Tensor, H: int, W: int, group: int = 1
                            ) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`_hit_objects` for a list of rays through image points (u, v) of frames ``ks[b]``; a ray
        tests an object only when its pixel lies in the object's screen rectangle; the nearest is kept
        as it goes. Rays start at their frame's camera centre ``o`` (each object's frame gets it once per
        frame, not per ray). ``group``: the rays come in runs of ``group`` through one pixel (a re-traced
        pixel's sub-rays), so the rectangle cull runs once per pixel, on each run's first ray (the same
        rays pass it: the cull reads only the pixel). Shape: o (B,3), d (M,3), b, u, v (M,) → t (M,) (inf:
        none), index (M,) of the nearest primitive (0 when none; ties go to the lower index)."""
        N, M = st.half.shape[0], d.shape[0]
        t_near = torch.full((M,), INF, device=self.device)
        near = torch.zeros((M,), dtype=torch.long, device=self.device)
        ks_host = np.arange(int(ks[0]), int(ks[0]) + ks.shape[0])
        boxes = self._screen_boxes(st, ks_host, H, W, 1) if self.cull else np.tile(np.array([0, 0, W, H]), (N, 1))
        own = None  # (N,4,B) each frame's own rectangles, for a second cull of each object's candidates
        if self.cull and len(ks_host) > 1:
            own = torch.as_tensor(self._frame_boxes(st, ks_host, H, W).transpose(1, 2, 0).astype(np.float32),
                                  device=self.device)
        runs = torch.arange(group, device=self.device)
        px, row, b_px = torch.floor(u[::group]), torch.floor(v[::group]), b[::group]  # one per pixel
        py, order = torch.sort(row, stable=True)  # pixels by row: a box's rows are one slice
        rows = torch.searchsorted(py, torch.as_tensor(np.ascontiguousarray(boxes[:, [1, 3]]), dtype=py.dtype, device=self.device))
        rows = rows.tolist()  # one host sync for all objects
        prim = [st.prim_names[int(k)] for k in st.prim_of_owner[1:].tolist()]
        hits = _NearestHits(st, ks, o, d, prim, t_near, near)
        for i in range(N):
            x0, y0, x1, y1 = (int(q) for q in boxes[i])
            if x1 <= x0 or rows[i][1] <= rows[i][0]:
                continue
            m = order[rows[i][0]:rows[i][1]]
            pm = _take(px, m)
            m = _take(m, ((pm >= x0) & (pm < x1)).nonzero().squeeze(1))
            bm = _take(b_px, m)
            if own is not None:  # inside its own frame's rectangle (a subset of the batch's)
                x0f, y0f, x1f, y1f = own[i]
                pm, rm = _take(px, m), _take(row, m)
                keep = ((pm >= _take(x0f, bm)) & (pm < _take(x1f, bm)) & (rm >= _take(y0f, bm)) & (rm < _take(y1f, bm)))
                keep = keep.nonzero().squeeze(1)
                m, bm = _take(m, keep), _take(bm, keep)
            if group > 1:  # the candidate pixels' rays
                m = (m[:, None] * group + runs).reshape(-1)
                bm = bm.repeat_interleave(group)
            if m.numel():
                hits.add(i, m, bm)
        return hits.flush()

    def _hit_environment(self, scene: Scene, o: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
        """Ray parameter of the static world. Shape: o (...,3) broadcastable to d (...,3) → (...)."""
        env = scene.environment
        if env.kind == "ground" and not env.shape.flat:
            return self._hit_curved_ground(env.shape.vertical_curvature, env.shape.extent, o, d)
        if env.kind == "ground":
            t = -o[..., 2] / torch.where(d[..., 2].abs() < 1e-12, torch.full_like(d[..., 2], -1e-12), d[..., 2])
            return torch.where((t > EPS) & (o[..., 2] > 0), t, INF)
        if env.lumen is not None:
            return march(env.lumen, o, d)
        if env.kind == "tube":
            a = d[..., 1] ** 2 + d[..., 2] ** 2
            b = o[..., 1] * d[..., 1] + o[..., 2] * d[..., 2]
            c = o[..., 1] ** 2 + o[..., 2] ** 2 - env.tube_radius**2
            disc = b * b - a * c
            t = (-b + sqrt(torch.clamp(disc, min=0))) / torch.clamp(a, min=1e-12)
            return torch.where((disc >= 0) & (t > EPS), t, INF)
        return torch.full(d.shape[:-1], INF, device=self.device)

    @staticmethod
    def _hit_curved_ground(a: float, X0: float, o: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
        """First hit of rays with the graded ground (scene/ground.py): z = ½·a·x² for |x| ≤ X0, its
        tangent planes beyond. The parabola's roots come from ½a·dx²·t² + (a·ox·dx − dz)·t + ½a·ox² − oz
        = 0 in the cancellation-free form; each candidate counts only on its own piece; the nearest wins."""
        ox, oz, dx, dz = o[..., 0], o[..., 2], d[..., 0], d[..., 2]
        A = 0.5 * a * dx**2
        B = a * ox * dx - dz
        C = (0.5 * a * ox**2 - oz).expand_as(B)
        disc = B * B - 4 * A * C
        sq = sqrt(torch.clamp(disc, min=0))
        q = -0.5 * (B + torch.where(B >= 0, sq, -sq))
        roots = [C / torch.where(q == 0, torch.full_like(q, 1e-30), q),
                 torch.where(A != 0, q / torch.where(A == 0, torch.full_like(A, 1e-30), A), torch.full_like(A, INF))]
        best = torch.full_like(B, INF)
        for t in roots:
            ok = (disc >= 0) & (t > EPS) & ((ox + t * dx).abs() <= X0)
            best = torch.where(ok, torch.minimum(best, t), best)
        for side in (1.0, -1.0):  # z = side·a·X0·x − ½·a·X0² beyond x = side·X0
            g = side * a * X0
            den = dz - g * dx
            t = (g * ox - 0.5 * a * X0 * X0 - oz) / torch.where(den == 0, torch.full_like(den, 1e-30), den)
            ok = (t > EPS) & (side * (ox + t * dx) > X0)
            best = torch.where(ok, torch.minimum(best, t), best)
        xc = torch.clamp(ox, -X0, X0)
        above = oz > a * xc * (0.5 * xc + (ox - xc))
        return torch.where(above, best, INF)

    def _trace(self, scene: Scene, st: _SceneTensors, ks: torch.Tensor, H: int, W: int, scale: int,
               labels: bool, particles: bool = True) -> dict[str, torch.Tensor]:
        """Dense ray cast of frames ``ks``: rgb_linear, edge_key, t_vis (B,H',W') and, with ``labels``,
        every label map. ``particles=False`` leaves rain/snow out (adaptive AA adds them after
        re-tracing, so they are not averaged away)."""
        o = st.cam_c[ks]  # (B,3)
        compiled = self._compiled(scene, st, rays=True)
        if compiled:  # rays, hits and the hit list in one compiled loop
            B, Hs, Ws = ks.shape[0], H * scale, W * scale
            boxes = self._compiled_boxes(st, ks, H, W, scale)
            # no amodal maps where only their summary is kept (lean), primitives are whole objects and the
            # batch is traced whole (a rolling shutter's bands join their maps)
            maps = "amodal" not in self.dropped() or st.offset_R is not None or bool(self.settings.rolling_shutter)
            h = cpu_kernels.dense_hits(st, ks, Hs, Ws, scale, labels, boxes, maps)
            d, t_vis, owner_img, covered = h["d"], h["t_vis"], h["owner_img"], h["covered"]
            flat, b, owner, t, keep, row = h["flat"], h["b"], h["owner"], h["t"], None, h["row"]
            hit = None if flat.shape[0] == row.shape[0] else torch.isfinite(t_vis)  # None: every ray hit
        else:
            d = self._rays(st, ks, H, W, scale)  # (B,H',W',3)
            B, Hs, Ws, _ = d.shape
            t_env = self._hit_environment(scene, o[:, None, None], d)
            keep = self._inside(st, Hs, Ws, scale, grow=CAST_MARGIN_PX)
            if keep is not None:  # the field stop: no ray cast beyond the circle and its margin (optics.py)
                t_env = torch.where(keep, t_env, INF)
            cover = None
            if labels:
                def cover(t: torch.Tensor, d_box: torch.Tensor, frames: slice, box: tuple[slice, slice]) -> torch.Tensor:
                    return self._amodal_hits(scene, o[frames], d_box, t, t_env[(frames, *box)])
            t_near, near, covered = self._hit_objects(st, ks, o, d, scale, keep, cover)
            on_obj = t_near < t_env
            t_vis, owner_img = torch.where(on_obj, t_near, t_env), torch.where(on_obj, near + 1, 0)

            # flatten to hit pixels
            hit = torch.isfinite(t_vis)
            flat = hit.reshape(-1).nonzero().squeeze(1)
            b = flat // (Hs * Ws)
            owner = _take(owner_img.reshape(-1), flat)
            t = _take(t_vis.reshape(-1), flat)
            row = None
        pixel = 1.0 / scale if self.settings.supersample == "adaptive" else None
        rgb = torch.empty(3, B * Hs * Ws, device=self.device).t()  # component-major, as the hits
        if compiled:  # shaded straight into the image off the pass's own rays (no gathered copies)
            wanted = (labels and "normals" not in self.dropped(), labels, False)  # p_local: flow and surface
            _, normal, p_local, p_world = cpu_kernels.shade(scene, st, ks, o, d.reshape(-1, 3), b, t, owner, pixel,
                                                            self.settings.shadows, rows=flat, into=rgb, wanted=wanted)
        else:
            rgb_hit, normal, p_local, p_world = self._surface(scene, st, ks, _take(o, b), _take(d.reshape(-1, 3), flat),
                                                              b, t, owner, pixel, 1.0 / scale)
            if st.cond is not None:
                rgb_hit = st.cond.reflect(self, scene, st, ks, o, d, flat, owner, t, p_world, rgb_hit, scale)
            rgb.index_copy_(0, flat, rgb_hit)

        if hit is not None:
            miss = (~hit).reshape(-1).nonzero().squeeze(1)  # the sky, only where no surface is
            sky = self._sky(scene, _normalize(_take(d.reshape(-1, 3), miss)))
            if keep is not None:
                sky = torch.where(keep.expand(B, Hs, Ws).reshape(-1)[miss][:, None], sky, 0.0)
            rgb.index_copy_(0, miss, sky)
        # what adaptive anti-aliasing compares between neighbours: the render primitive, -1 for sky
        key = owner_img if hit is None else torch.where(hit, owner_img, -1)
        out = {"rgb_linear": rgb.reshape(B, Hs, Ws, 3), "edge_key": key, "t_vis": t_vis}
        if st.cond is not None and particles:
            out["rgb_linear"] = st.cond.particles(scene, st, ks, out["rgb_linear"], t_vis, scale)
        if not labels:
            return out

        out.update(
            instance=st.part_owner[owner_img].to(torch.int32),
            **({"amodal": self._object_coverage(st, covered)} if covered is not None else {"coverage": h["coverage"]}),
            depth=t_vis,
            flow_fwd=self._flow(scene, st, ks, ks + 1, d, flat, b, owner, p_local, H, W, row),
            flow_bwd=self._flow(scene, st, ks, ks - 1, d, flat, b, owner, p_local, H, W, row),
        )
        drop = self.dropped()  # maps no one reads are not even made
        if "normals" not in drop:
            normals = torch.zeros(B * H * W, 3, device=self.device).index_copy_(0, flat, normal)
            out["normals"] = normals.reshape(B, H, W, 3)
        if "surface" not in drop:
            surface = torch.zeros(B * H * W, 3, device=self.device)
            surface.index_copy_(0, flat, self._in_object_frame(st, owner, p_local))
            out["surface"] = surface.reshape(B, H, W, 3)
        if st.animated and "part" not in drop:  # surface is at the part's rest pose: tracks move it by that part's pose
            out["part"] = (owner_img - 1).to(torch.int32)
        if keep is not None:  # no label outside the field stop
            out = blank_labels(out, self._inside(st, H, W, 1))
        return out

    def _compiled_boxes(self, st: _SceneTensors, ks: torch.Tensor, H: int, W: int, scale: int) -> np.ndarray:
        """The screen rectangles the compiled hit searches cull by (:meth:`_frame_boxes` of the batch's
        frames ``ks``, consecutive; the whole image without :attr:`cull`). → (B,N,4) ints."""
        B, N = ks.shape[0], st.half.shape[0]
        if not self.cull:
            return np.tile(np.array([0, 0, W * scale, H * scale]), (B, N, 1))
        return self._frame_boxes(st, np.arange(int(ks[0]), int(ks[0]) + B), H, W, scale)

    def _compiles(self, scene: Scene, st: _SceneTensors) -> bool:
        """Whether this clip takes the compiled loops (:mod:`.cpu_kernels`) where they cover a stage: on
        the CPU, with ``cpu_kernels: compiled`` (or ``auto`` and a clip of :data:`AUTO_COMPILED_PIXELS`)."""
        mode = self.settings.cpu_kernels
        if mode == "torch" or st.obj_R.device.type != "cpu" or (
                mode == "auto" and scene.camera.width * scene.camera.height * (st.cam_pose_host.shape[0] - 2)
                < AUTO_COMPILED_PIXELS):
            return False
        return cpu_kernels.available()

    def _compiled(self, scene: Scene, st: _SceneTensors, rays: bool = False) -> bool:
        """Whether the shading stage (``rays``: also the camera-ray stages) runs compiled: a clip that
        :meth:`_compiles`, of a scene the loops cover (``rays``: through a plain pinhole)."""
        return self._compiles(scene, st) and (cpu_kernels.supports_rays if rays else cpu_kernels.supports)(scene, st)

    def _surface(self, scene: Scene, st: _SceneTensors, ks: torch.Tensor, o: torch.Tensor, d: torch.Tensor,
                 b: torch.Tensor, t: torch.Tensor, owner: torch.Tensor,
                 pixel: float | None = None, spacing: float = 1.0) -> tuple[torch.Tensor, ...]:
        """Shade hit rays (dense or sparse alike). Shape: o, d (M,3) origin and direction of each ray; b,
        t, owner (M,) its frame (index into ks), ray parameter and owner → rgb (M,3) linear, normal
        (M,3) world, p_local (M,3) the hit in its owner's frame, p_world (M,3). ``pixel``: the ray's footprint in
        pixels (side of the image square it stands for); textures that filter see it in metres, None =
        point samples. ``spacing``: the pixel's side in pixels (1/scale of a dense pass), what bumps
        fade against (:mod:`.bump`): the pixel's own, also for sub-pixel rays, so a pixel's bumps do not
        depend on whether it was refined. The returned normal is the smooth one (labels); bumps shade only."""
        if self._compiled(scene, st):
            return cpu_kernels.shade(scene, st, ks, o, d, b, t, owner, pixel, self.settings.shadows)
        p_world = o + t[:, None] * d
        env = scene.environment
        if env.kind == "ground" and env.shape.flat:  # on the plane z = 0 exactly: o_z + t·d_z rounds to ±1 ulp
            p_world[:, 2].masked_fill_(owner == 0, 0.0)  # of it, and a 3D checker's step at z = 0 flipped whole rows
        # owner frames: only hits on objects have one (the environment's is the world's: no per-hit
        # matrices for it, and x·1 + y·0 + z·0 = x, so nothing changes bit for bit)
        on = (owner > 0).nonzero().squeeze(1)
        N = st.half.shape[0]
        row = _take(b, on) * N + _take(owner, on) - 1  # (frame, primitive) row of each object hit
        R_on = _take(st.obj_R[ks].reshape(-1, 3, 3), row)  # (m,3,3)
        p_local = p_world.clone()
        p_local[on] = _rT(_take(p_world, on) - _take(st.obj_c[ks].reshape(-1, 3), row), R_on)

        normal = self._normals(scene, st, owner, p_local, p_world, on, R_on)
        foot = None
        if pixel is not None:
            foot = self._footprint(st, ks, b, d, t, normal, pixel)
            moved = _rT(_take(foot, on), R_on[:, None])  # rows copied, not index_put (slow on (M,2,3))
            foot.view(foot.shape[0], 6).index_copy_(0, on, moved.reshape(moved.shape[0], 6))
        albedo = self._albedo(scene, st, owner, p_local, foot)
        if st.cond is not None:
            albedo = st.cond.surface_albedo(st, owner, p_local, normal, albedo)
        n_shade = normal if st.bump is None else self._bumped(st, ks, b, d, t, owner, normal, p_local, on, R_on,
                                                                spacing)
        return self._shade(scene, st, ks, b, owner, p_world, n_shade, albedo, d, t), normal, p_local, p_world

    def _bumped(self, st: _SceneTensors, ks: torch.Tensor, b: torch.Tensor, d: torch.Tensor, t: torch.Tensor,
                owner: torch.Tensor, normal: torch.Tensor, p_local: torch.Tensor, on: torch.Tensor,
                R_on: torch.Tensor, pixel: float) -> torch.Tensor:
        """Shading normals of bump-mapped owners (:mod:`.bump`), the smooth normal elsewhere. ``R_on``
        (m,3,3): the owner rotations of the object hits ``on``. Shape (M,3)."""
        m = (st.bump[owner, 0] > 0).nonzero().squeeze(1)
        if m.numel() == 0:
            return normal
        R_m = torch.eye(3, device=self.device).repeat(m.numel(), 1, 1)  # identity on the environment
        obj = (owner[m] > 0).nonzero().squeeze(1)
        R_m[obj] = R_on[torch.searchsorted(on, m[obj])]
        foot = self._footprint(st, ks, b[m], d[m], t[m], normal[m], pixel)  # (m,2,3) metres
        size = sqrt(torch.maximum(_dot(foot[:, 0], foot[:, 0]), _dot(foot[:, 1], foot[:, 1])))
        out = normal.clone()
        out[m] = bump_normals(normal[m], p_local[m], R_m, st.bump[owner[m]], st.seed[owner[m]], size)
        return out

    def _trace_rays(self, scene: Scene, st: _SceneTensors, ks: torch.Tensor, b: torch.Tensor, u: torch.Tensor,
                    v: torch.Tensor, pixel: float | None = None, group: int = 1) -> torch.Tensor:
        """Linear RGB along single camera rays through image points (u, v) (pixels) of frames ``ks[b]``:
        the sparse counterpart of :meth:`_trace` (same hit, shading and sky code). ``group``: the rays
        come in runs of that many through one pixel (see :meth:`_hit_objects_sparse`). Shape: b, u, v
        (M,) → (M,3)."""
        H, W = int(scene.camera.height), int(scene.camera.width)
        compiled = self._compiled(scene, st, rays=True)
        if compiled:
            d, t_vis, owner_all = cpu_kernels.sparse_hits(st, ks, b, u, v, self._compiled_boxes(st, ks, H, W, 1))
        else:
            o = _take(st.cam_c[ks], b)
            d = self._sparse_dirs(st, ks, b, u, v)  # (M,3)
            t_near, near = self._hit_objects_sparse(st, ks, st.cam_c[ks], d, b, u, v, H, W, group)  # (M,), (M,)
            t_env = self._hit_environment(scene, o, d)
            on_obj = t_near < t_env
            t_vis, owner_all = torch.where(on_obj, t_near, t_env), torch.where(on_obj, near + 1, 0)
        hit = torch.isfinite(t_vis)
        flat, miss = hit.nonzero().squeeze(1), (~hit).nonzero().squeeze(1)
        owner = _take(owner_all, flat)
        rgb = torch.empty(3, d.shape[0], device=self.device).t()  # component-major, as the hits
        rgb.index_copy_(0, miss, self._sky(scene, _normalize(_take(d, miss))))  # the sky only where no surface is
        if compiled:  # shaded straight into rgb off the rays' own arrays
            cpu_kernels.shade(scene, st, ks, st.cam_c[ks], d, _take(b, flat), _take(t_vis, flat), owner, pixel,
                              self.settings.shadows, rows=flat, into=rgb, wanted=(False, False, False))
            return rgb
        rgb_hit, _, _, p_world = self._surface(scene, st, ks, _take(o, flat), _take(d, flat), _take(b, flat),
                                               _take(t_vis, flat), owner, pixel)
        if st.cond is not None:
            rgb_hit = st.cond.reflect(self, scene, st, ks, o, d, flat, owner, t_vis[flat], p_world, rgb_hit, 1,
                                      rays=(b, u, v, H, W))
        rgb.index_copy_(0, flat, rgb_hit)
        return rgb

    @staticmethod
    def _in_object_frame(st: _SceneTensors, owner: torch.Tensor, p_local: torch.Tensor) -> torch.Tensor:
        """Hit points in their object's frame (a part's hit moved by the part's rest offset: for a swinging
        part, where the point sits when the part is at rest; ``Frames.part`` says which part)."""
        if st.offset_R is None:
            return p_local
        on = (owner > 0).nonzero().squeeze(1)
        out = p_local.clone()
        out[on] = _r(p_local[on], st.offset_R[owner[on] - 1]) + st.offset_c[owner[on] - 1]
        return out

    @staticmethod
    def _amodal_hits(scene: Scene, o: torch.Tensor, d: torch.Tensor, t_obj: torch.Tensor,
                     t_env: torch.Tensor) -> torch.Tensor:
        """Rays that cover each render primitive amodally. In an environment whose wall objects grow
        from (a tube, a lumen: ``Environment.free``) a ray counts only where it enters the primitive in
        the free space (or before the wall: robust at the rim), so the part embedded in the wall is not
        "hidden"; folds and other objects still hide what lies behind them. Elsewhere: every ray that
        meets it. One primitive's rectangle at a time. Shape: o (B,3), d (B,h,w,3), t_obj (B,h,w), t_env
        (B,h,w) → (B,h,w) bool."""
        hit = torch.isfinite(t_obj)
        env = scene.environment
        if not env.bounds_free_space:
            return hit
        at = hit.nonzero(as_tuple=True)
        b, y, x = at
        t = t_obj[at]
        entry = o[b] + t[:, None] * d[b, y, x]
        out = torch.zeros_like(hit)
        out[at] = (t < t_env[b, y, x]) | env.free(entry)
        return out

    @staticmethod
    def _object_coverage(st: _SceneTensors, hit: torch.Tensor) -> torch.Tensor:
        """(B,P,H,W) coverage of render primitives → (B,N,H,W) of objects (any of their parts)."""
        if st.offset_R is None:
            return hit
        B, _, H, W = hit.shape
        # count covering parts in bytes while no object has 256 parts (a quarter of an int32 count to
        # write, and no conversion)
        small = int(torch.bincount(st.part_owner[1:]).max()) < 256
        out = torch.zeros(B, st.num_objects, H, W, dtype=torch.uint8 if small else torch.int32, device=hit.device)
        out.index_add_(1, st.part_owner[1:] - 1, hit.view(torch.uint8) if small else hit.to(torch.int32))
        return out > 0

    def _normals(self, scene, st, owner, p_local, p_world, on, R_on) -> torch.Tensor:
        """World normals of hits; ``R_on`` (m,3,3) the owner rotations of the object hits ``on`` (m,)."""
        n = torch.zeros_like(p_local)
        is_env = owner == 0
        if scene.environment.lumen is not None:
            n_env = scene.environment.lumen.normal(p_world)
        elif scene.environment.kind == "tube":
            n_env = -torch.stack([torch.zeros_like(p_world[:, 0]), p_world[:, 1], p_world[:, 2]], -1)
        elif not scene.environment.shape.flat:  # the graded ground's normal (−a·x, 0, 1)
            slope = scene.environment.shape.slope(p_world[:, 0])
            n_env = torch.stack([-slope, torch.zeros_like(slope), torch.ones_like(slope)], -1)
        else:
            n_env = torch.tensor([0.0, 0.0, 1.0], device=self.device).expand_as(p_world)
        n = torch.where(is_env[:, None], n_env, n)
        prim = _take(st.prim_of_owner, _take(owner, on))
        for k, name in enumerate(st.prim_names):
            j = (prim == k).nonzero().squeeze(1)
            m = _take(on, j)
            half = _take(st.half, _take(owner, m) - 1)
            n_local = PRIMITIVES.get(name).normal(_take(p_local, m) / half) / half
            n[m] = _r(n_local, _take(R_on, j))
        return _normalize(n)

    @staticmethod
    def _footprint(st: _SceneTensors, ks: torch.Tensor, b: torch.Tensor, d: torch.Tensor, t: torch.Tensor,
                   n: torch.Tensor, pixel: float) -> torch.Tensor:
        """Ray differentials: how far the hit point moves on its tangent plane for a step of ``pixel``
        along the image's u and v. Shape: d (M,3) camera-z = 1 directions, t (M,) depth, n (M,3) unit
        normals → (M,2,3) world vectors (metres)."""
        R = st.cam_R[ks]  # (B,3,3): per-frame direction steps, gathered per ray as vectors
        nd = _dot(n, d)
        nd = torch.where(nd < 0, torch.clamp(nd, max=-1e-3), torch.clamp(nd, min=1e-3))  # grazing: bounded
        out = []
        for axis, f in ((0, float(st.K[0, 0])), (1, float(st.K[1, 1]))):
            dD = _take(R[:, :, axis] * (pixel / f), b)  # change of the direction per image step
            out.append(t[:, None] * (dD - (_dot(n, dD) / nd)[:, None] * d))
        return _soa_stack(out)

    def _albedo(self, scene, st, owner, p_local, footprint=None) -> torch.Tensor:
        """Texture colours. A road scene's ground is painted in road coordinates (scene/ground.py)
        from its layout, so the paint follows the bend and matches the road labels. ``footprint``
        (M,2,3) in the owner's frame (road coordinates for such ground) goes to textures that filter
        (``takes_footprint``); others point-sample."""
        albedo = torch.zeros_like(p_local)
        tex = _take(st.tex_of_owner, owner)
        env = scene.environment
        own_ground = env.road is not None or not env.shape.straight or env.lumen is not None
        for k, name in enumerate(st.tex_names):
            m = ((tex == k) & (owner > 0) if own_ground else tex == k).nonzero().squeeze(1)
            w = _take(owner, m)
            fn = TEXTURES.get(name)
            kw = {"footprint": _take(footprint, m)} if footprint is not None and getattr(fn, "takes_footprint", False) else {}
            kw.update({k: _take(v, w) for k, v in st.tex_params.get(name, {}).items()})
            albedo.index_copy_(0, m, fn(_take(p_local, m), _take(st.color, w), _take(st.color2, w),
                                        _take(st.tex_scale, w), _take(st.seed, w), **kw))
        if own_ground:
            m = (owner == 0).nonzero().squeeze(1)
            to_surface = self._surface_map(env)
            p = to_surface(p_local[m])
            extra = {"layout": env.road} if env.road is not None else {}
            fn = TEXTURES.get(env.ground.texture[0])
            if footprint is not None and getattr(fn, "takes_footprint", False):
                extra["footprint"] = self._map_footprint(to_surface, p_local[m], p, footprint[m])
            w = owner[m]
            extra.update({k: v[w] for k, v in st.tex_params.get(env.ground.texture[0], {}).items()})
            albedo[m] = fn(p, st.color[w], st.color2[w], st.tex_scale[w], st.seed[w], **extra)
        return torch.clamp(albedo, 0, 1) ** 2.2  # display colours → linear

    @staticmethod
    def _surface_map(env):
        """World points of the environment → the coordinates its texture is painted in: road
        coordinates on a road (scene/ground.py), the unrolled straight wall in a lumen
        (scene/lumen.py). Shape: (M,3) → (M,3)."""
        if env.lumen is not None:
            return env.lumen.unrolled

        def to_ground(p: torch.Tensor) -> torch.Tensor:
            p = p.clone()
            p[:, 0], p[:, 1] = env.shape.to_ground(p[:, 0], p[:, 1])
            return p
        return to_ground

    @staticmethod
    def _map_footprint(to_surface, p_world: torch.Tensor, p_surface: torch.Tensor, footprint: torch.Tensor) -> torch.Tensor:
        """A world footprint in the texture's coordinates, by finite differences of the mapping (exact on
        straight roads, follows the bend on curved ones and in a lumen). Shape: p_world, p_surface
        (M,3), footprint (M,2,3) → (M,2,3)."""
        out = torch.stack([to_surface(p_world + footprint[:, j]) - p_surface for j in range(2)], 1)
        if to_surface.__name__ == "to_ground":  # the road map keeps heights: keep them exact
            out[..., 2] = footprint[..., 2]
        return out

    def _shade(self, scene, st, ks, b, owner, p_world, n, albedo, d, t) -> torch.Tensor:
        env = scene.environment
        v = -_normalize(d)
        if env.scatter is not None:  # tissue glow near the lens (optics.py), on tissue only
            glow = scatter_albedo(albedo, t * sqrt(_dot(d, d)), env.scatter)
            albedo = torch.where(_take(st.tissue_owner, owner)[:, None], glow, albedo)
        light = torch.full_like(albedo, env.ambient)
        spec = torch.zeros_like(albedo)
        ks_spec, shin = _take(st.specular, owner)[:, None], _take(st.shininess, owner)[:, None]
        film = None if st.wet is None else wet_lobe(n, v, _take(st.wet, owner))  # the wet film's second lobe
        if env.sun_dir is not None and env.sun_intensity > 0:
            L = torch.as_tensor(env.sun_dir, dtype=torch.float32, device=self.device)
            ndl = torch.clamp(_dot(n, L), min=0)
            lit = ndl > 0
            if self.settings.shadows and st.half.shape[0]:  # only points facing the sun can be shadowed
                m = lit.nonzero().squeeze(1)
                if m.numel():
                    q = _take(p_world, m) + _take(n, m) * 1e-3
                    lit.index_copy_(0, m, ~self._shadowed(st, ks, _take(b, m), q, L))
            sun_rgb = torch.as_tensor(env.sun_color, dtype=torch.float32, device=self.device) * env.sun_intensity
            w = (ndl * lit)[:, None]
            light = light + w * sun_rgb
            h = _normalize(L + v)
            spec = spec + ks_spec * lobe(torch.clamp(_dot(n, h), min=0)[:, None], st, shin) * lit[:, None] * sun_rgb
            if film is not None:
                spec = spec + film[0] * torch.clamp(_dot(n, h), min=0)[:, None] ** film[1] * lit[:, None] * sun_rgb
        if env.guides:  # the scope's light guides replace the point at the camera centre
            light, spec = guide_light(env.guides, st.cam_R[ks], st.cam_c[ks], b, p_world, n, v, ks_spec, shin, light, spec)
            if film is not None:  # the wet film's lobe under the guides too (their irradiance already counted)
                spec = guide_light(env.guides, st.cam_R[ks], st.cam_c[ks], b, p_world, n, v, film[0], film[1], light, spec)[1]
        elif env.headlight_intensity > 0:
            dist2 = (t * sqrt(_dot(d, d))) ** 2
            att = (env.headlight_intensity / (1 + env.headlight_falloff * dist2))[:, None]
            head_rgb = torch.as_tensor(env.headlight_color, dtype=torch.float32, device=self.device)
            ndv = torch.clamp(_dot(n, v), min=0)[:, None]
            light = light + att * ndv * head_rgb
            spec = spec + ks_spec * att * lobe(ndv, st, shin) * head_rgb
            if film is not None:
                spec = spec + film[0] * att * ndv**film[1] * head_rgb
        if st.cond is not None:  # lights carried by objects (head/tail lights, street lamps)
            wet = st.cond.wet_weight(st, owner, p_world, env.kind == "ground")
            light, spec = st.cond.add_lights(st, ks, b, owner, p_world, n, v, ks_spec, shin, light, spec, wet)
            if film is not None:  # the film's lobe under the same lights (their irradiance already counted)
                spec = st.cond.add_lights(st, ks, b, owner, p_world, n, v, film[0], film[1], light, spec, wet)[1]
        rgb = albedo * light + spec
        if st.emissive is not None:  # lamps and tail lights shine whatever lights them
            rgb = rgb + albedo * _take(st.emissive, owner)[:, None]
        if env.fog_density > 0:
            dist = t * sqrt(_dot(d, d))
            f = torch.exp(-env.fog_density * dist)[:, None]
            rgb = rgb * f + torch.as_tensor(env.sky_horizon, dtype=torch.float32, device=self.device) ** 2.2 * (1 - f)
        return rgb

    def _shadowed(self, st, ks, b, q, L) -> torch.Tensor:
        """Whether a ray from each hit point towards the sun meets any object. Shape: q (M,3) → (M,).

        Points are first culled in light space (the object's bounding sphere seen along L), so the
        exact primitive test runs only where a shadow is possible."""
        out = torch.zeros(q.shape[0], dtype=torch.bool, device=self.device)
        helper = torch.tensor([1.0, 0.0, 0.0] if abs(float(L[2])) > 0.5 else [0.0, 0.0, 1.0], device=self.device)
        e1 = _normalize(torch.linalg.cross(L, helper))
        e2 = torch.linalg.cross(L, e1)
        qa, qb, qs = _dot(q, e1), _dot(q, e2), _dot(q, L)  # light-space coordinates of every point
        c = st.obj_c[ks]  # (B,N,3)
        ca, cb, cs = _dot(c, e1), _dot(c, e2), _dot(c, L)  # (B,N)
        prim = [st.prim_names[int(k)] for k in st.prim_of_owner[1:].tolist()]
        r2 = st.radius**2
        N = st.half.shape[0]
        if self.cull and N >= WINDOWED_SHADOWS:
            return self._shadowed_windows(st, ks, b, qa, qb, qs, ca, cb, cs, _ShadowTests(st, ks, q, L, prim, out))
        tests = _ShadowTests(st, ks, q, L, prim, out)
        near = None  # (N,M): the cull of every object, frame by frame, when points come frame by frame
        if self.cull and not bool((b[1:] < b[:-1]).any()):  # (dense and re-traced lists do)
            near = torch.empty(N, q.shape[0], dtype=torch.bool, device=self.device)
            reach = cs + st.radius  # (B,N): the same numbers as per point
            for j, (s0, s1) in enumerate(_frame_slices(b, ks.shape[0])):
                if s1 > s0:  # a frame's centres against its own points: no per-point copies of them
                    da, db = qa[None, s0:s1] - ca[j][:, None], qb[None, s0:s1] - cb[j][:, None]
                    near[:, s0:s1] = ((da * da + db * db) < r2[:, None]) & (qs[None, s0:s1] < reach[j][:, None])
        for i in range(N):
            if near is not None:
                m = near[i].nonzero().squeeze(1)
            elif self.cull:  # per-frame values of object i gathered per point (a 1-D gather each)
                ca_i, cb_i, cs_i = (torch.index_select(x[:, i].contiguous(), 0, b) for x in (ca, cb, cs))
                da, db = qa - ca_i, qb - cb_i
                m = (((da * da + db * db) < r2[i]) & (qs < cs_i + st.radius[i])).nonzero().squeeze(1)
            else:  # every point against every object: the reference the culled path must equal
                m = torch.arange(q.shape[0], device=self.device)
            if m.numel():
                tests.add(i, m, _take(b, m))
        tests.flush()
        return out

    def _shadowed_windows(self, st, ks, b, qa, qb, qs, ca, cb, cs, tests: "_ShadowTests") -> torch.Tensor:
        """:meth:`_shadowed`'s cull for many objects (a street's furniture): each frame's points are
        sorted by their first light-space coordinate once, and an object tests only the window of points
        within its radius of it, then the same disc-and-depth test on that window (same result: the
        window holds every point that test can pass)."""
        B = ks.shape[0]
        by_frame = torch.argsort(b, stable=True) if bool((b[1:] < b[:-1]).any()) else None  # dense lists are sorted
        slices = _frame_slices(b if by_frame is None else _take(b, by_frame), B)
        qa_sorted, order = torch.empty_like(qa), torch.empty_like(b)
        for s0, s1 in slices:  # by frame, then by qa within the frame
            rows = torch.arange(s0, s1, device=b.device) if by_frame is None else by_frame[s0:s1]
            qa_sorted[s0:s1], idx = torch.sort(_take(qa, rows))
            order[s0:s1] = _take(rows, idx)
        pad = st.radius * 1.001 + 1e-6  # wider than the disc test, whatever the rounding
        windows = torch.stack([torch.stack([torch.searchsorted(qa_sorted[s0:s1], ca[j] - pad),
                                            torch.searchsorted(qa_sorted[s0:s1], ca[j] + pad, right=True)], -1) + s0
                               for j, (s0, s1) in enumerate(slices)]).tolist()  # (B,N,2): one host sync
        r2 = st.radius**2
        lc = torch.stack([ca, cb, cs])  # (3,B,N) light-space centres
        for i in range(st.half.shape[0]):
            spans = [(j, w0, w1) for j, (w0, w1) in enumerate(windows[j][i] for j in range(B)) if w1 > w0]
            if not spans:
                continue
            m = torch.cat([order[w0:w1] for _, w0, w1 in spans])
            frames = torch.tensor([j for j, _, _ in spans], device=self.device)
            counts = torch.tensor([w1 - w0 for _, w0, w1 in spans], device=self.device)
            # a window's points are all of its frame: the frame's values repeated, no gathers
            bm = torch.repeat_interleave(frames, counts, output_size=m.shape[0])
            ca_m, cb_m, cs_m = torch.repeat_interleave(lc[:, frames, i], counts, dim=1, output_size=m.shape[0])
            da, db = _take(qa, m) - ca_m, _take(qb, m) - cb_m
            keep = (((da * da + db * db) < r2[i]) & (_take(qs, m) < cs_m + st.radius[i])).nonzero().squeeze(1)
            if keep.numel():
                tests.add(i, _take(m, keep), _take(bm, keep))
        return tests.flush()

    def _sky(self, scene, dn: torch.Tensor) -> torch.Tensor:
        env = scene.environment
        if env.kind != "ground":
            return torch.zeros_like(dn)
        top = torch.as_tensor(env.sky_top, dtype=torch.float32, device=self.device) ** 2.2
        hor = torch.as_tensor(env.sky_horizon, dtype=torch.float32, device=self.device) ** 2.2
        w = torch.clamp(dn[..., 2], 0, 1)[..., None] ** 0.5
        sky = hor + (top - hor) * w
        if env.sun_dir is not None:
            L = torch.as_tensor(env.sun_dir, dtype=torch.float32, device=self.device)
            sky = sky + torch.clamp(_dot(dn, L), min=0)[..., None] ** 200 * env.sun_intensity
        return sky

    def _flow(self, scene, st, ks, ks_to, d, flat, b, owner, p_local, H, W, row=None) -> torch.Tensor:
        """Pixel motion of each visible surface point from frame ks to frame ks_to. → (B,H,W,2).
        ``row``: each pixel's place among the hits, where the compiled dense pass gave it (then flow is
        compiled too).

        Surface points are carried by their owner's pose at ks_to (the environment is static, so its
        points stay put); sky points are directions, moved only by the camera's rotation."""
        if row is not None:
            return cpu_kernels.flow(st, ks_to, d, row, owner, p_local, H, W)
        fx, fy, cx, cy = (float(st.K[0, 0]), float(st.K[1, 1]), float(st.K[0, 2]), float(st.K[1, 2]))
        B = d.shape[0]
        cam_R, cam_c = st.cam_R[ks_to], st.cam_c[ks_to]  # (B,3,3), (B,3)
        p_to = p_local.clone()
        on_obj = (owner > 0).nonzero().squeeze(1)
        row = _take(b, on_obj) * st.half.shape[0] + _take(owner, on_obj) - 1
        p_to[on_obj] = _r(_take(p_local, on_obj), _take(st.obj_R[ks_to].reshape(-1, 3, 3), row)) \
            + _take(st.obj_c[ks_to].reshape(-1, 3), row)
        x = torch.empty(3, B * H * W, device=self.device).t()  # component-major, as the hits
        sky = torch.ones(B * H * W, dtype=torch.bool, device=self.device)
        sky[flat] = False
        sky = sky.nonzero().squeeze(1)
        b_sky = sky // (H * W)
        x.index_copy_(0, sky, _rT_frames(_take(d.reshape(-1, 3), sky), cam_R, _frame_slices(b_sky, B)))  # both frame-sorted
        hits = _frame_slices(b, B)
        x.index_copy_(0, flat, _rT_frames(p_to - _rows_of_frames(cam_c, hits), cam_R, hits))
        x = x.reshape(B, H, W, 3)
        z = x[..., 2]
        if st.lens.is_pinhole:
            u = fx * x[..., 0] / z + cx
            v = fy * x[..., 1] / z + cy
        else:  # the distorted projection of the moved point (NaN beyond the lens's fold, like behind)
            u, v, z = st.lens.project(x, st.K)
            z = torch.where(torch.isfinite(u), z, torch.zeros_like(z))
        gu = torch.arange(W, device=self.device, dtype=torch.float32) + 0.5
        gv = torch.arange(H, device=self.device, dtype=torch.float32)[:, None] + 0.5
        flow = torch.stack([u - gu, v - gv], -1)
        return flow.masked_fill_(~(z > 1e-6)[..., None], float("nan"))  # behind the camera (or NaN)


BACKENDS.register("raycast", RaycastBackend)
