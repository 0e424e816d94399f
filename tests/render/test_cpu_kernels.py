"""The compiled CPU stages (cpu_loops.py) must work as the torch stages they stand for — the
same float32 arithmetic, so the same bits (every compared row identical on the AMD box since the torch
passes take correctly rounded roots, synthdata.floats; the tolerances leave room for a CPU whose other
vector-math functions round differently) — and leave the scenes it does not cover to torch. A changed
step (another texture, light or order of operations) moves most hits, not a few in a thousand."""

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from synthdata.motion import rollout
from synthdata.render import make_backend
from synthdata.render.raycast import cpu_kernels
from synthdata.render.raycast.antialias import SUBPIXEL_FOOTPRINT
from synthdata.render.raycast.backend import _SceneTensors
from synthdata.scene import sample_scene
from tests.conftest import tiny_spec

MAPS = ("rgb", "depth", "instance", "normals", "surface", "flow_fwd", "flow_bwd", "amodal")


def _layout(spec, seed):
    rng = np.random.default_rng(seed)
    scene = sample_scene(spec, rng)
    return scene, rollout(scene, spec.clip.frames, spec.clip.fps, rng)


def _backend(spec, mode):
    backend = make_backend(spec.backend, "cpu")
    backend.settings = backend.settings.model_copy(update={"cpu_kernels": mode})
    return backend


def _same(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Bit for bit, NaN where NaN."""
    return a.shape == b.shape and a.dtype == b.dtype and bool((a == b).logical_or(a.isnan() & b.isnan()).all())


def _last_bits(a: torch.Tensor, b: torch.Tensor, rtol: float, identical: float, atol: float = 1e-5) -> None:
    """Equal to ``rtol`` (``atol`` near 0) everywhere and bit for bit on at least the fraction
    ``identical`` of the rows."""
    torch.testing.assert_close(b, a, rtol=rtol, atol=atol)
    same = (a == b).reshape(a.shape[0], -1).all(1).float().mean()
    assert float(same) >= identical, float(same)


def _assert_frames_match(ref, out) -> None:
    """``out`` (compiled) against ``ref`` (torch), map by map."""
    for name in MAPS:
        a, b = getattr(ref, name), getattr(out, name)
        assert (a is None) == (b is None), name
        if a is None:
            continue
        if name == "rgb":  # measured at 256²×24: 3 of 37.7M values one level apart over 8 clips
            assert int((a.int() - b.int()).abs().max()) <= 1 and float((a != b).float().mean()) < 1e-4
        elif a.is_floating_point():  # through a hit's square roots: to float32's last bits
            fin = torch.isfinite(a)
            assert torch.equal(fin, torch.isfinite(b)) and bool((a[~fin] == b[~fin]).all() | (a[~fin].isnan() & b[~fin].isnan()).all())
            _last_bits(a[fin].reshape(-1, 1), b[fin].reshape(-1, 1), 1e-3 if name.startswith("flow") else 3e-6, 0.999)
        else:  # which object a pixel shows, and covers: exact
            assert _same(a, b), name


@pytest.mark.parametrize("seed,overrides", [
    (0, ()), (5, ()), (0, ("backend.supersample=1",)), (0, ("backend.supersample=2",)),
    (0, ("backend.motion_blur=2",)), (0, ("backend.motion_blur=flow",)), (0, ("backend.rolling_shutter=0.5",)),
    (0, ("backend.sensor_noise.shot=0.02", "backend.sensor_noise.read=0.005")),
    (0, ("camera.look_at=[0.0,0.0,6.0]",)),  # level: sky in the upper half
])
def test_compiled_renders_the_torch_stages_frames(seed, overrides):
    spec = tiny_spec("shapes", "clip.width=48", "clip.height=40", "clip.frames=3", *overrides)
    scene, traj = _layout(spec, seed)
    st = _SceneTensors.build(scene, traj, torch.device("cpu"))
    assert cpu_kernels.supports_rays(scene, st)  # else this compares torch with torch
    ref = _backend(spec, "torch").render(scene, traj)
    _assert_frames_match(ref, _backend(spec, "compiled").render(scene, traj))
    sky = float(torch.isinf(ref.depth).float().mean())
    assert sky > 0.2 if "camera.look_at=[0.0,0.0,6.0]" in overrides else sky < 0.05


@pytest.mark.parametrize("overrides", [(), ("backend.rolling_shutter=0.5",)])
def test_compiled_coverage_summaries_are_the_maps(overrides):
    """Where the shard path keeps only the amodal maps' summary (``keep`` without amodal), the compiled
    dense pass summarises as it traces: the boxes, pixel counts and border contact the torch path
    reduces from its maps. A rolling shutter's bands still join maps."""
    from synthdata.render.types import OPTIONAL_MAPS

    spec = tiny_spec("shapes", "clip.width=48", "clip.height=40", "clip.frames=5", "backend.frame_batch=2",
                     "camera.fov_deg=30", *overrides)  # narrow: objects cut by the border
    scene, traj = _layout(spec, 3)
    frames = {}
    for mode in ("torch", "compiled"):
        backend = _backend(spec, mode)
        backend.keep = OPTIONAL_MAPS - {"amodal"}
        frames[mode] = backend.render(scene, traj)
        assert frames[mode].amodal is None and frames[mode].coverage is not None
    a, b = frames["torch"].coverage, frames["compiled"].coverage
    assert torch.equal(a.boxes.nan_to_num(-1), b.boxes.nan_to_num(-1)) and torch.equal(a.pixels, b.pixels)
    assert torch.equal(a.border, b.border) and a.border.any() and (~a.border & (a.pixels > 0)).any()
    assert a.boxes.isnan().any() or (a.pixels > 0).all()


def test_display_colours_kept_from_the_edge_test_are_the_final_encodes_bytes():
    """Where nothing acts on linear RGB after anti-aliasing, the frames' bytes come from the edge test's
    display colours (refined pixels taken anew), not a second power of every pixel: the same bytes."""
    spec = tiny_spec("shapes", "clip.width=48", "clip.height=40", "clip.frames=5", "backend.frame_batch=2")
    scene, traj = _layout(spec, 4)
    backend = _backend(spec, "compiled")
    st = _SceneTensors.build(scene, traj, torch.device("cpu"))
    assert backend._shown_directly(scene, st)
    direct = backend.render(scene, traj)
    backend._shown_directly = lambda *a: False
    assert torch.equal(direct.rgb, backend.render(scene, traj).rgb)
    assert not _backend(tiny_spec("shapes", "camera.exposure.auto=true"), "compiled")._shown_directly(
        scene, dataclasses.replace(st, cond=object()))


def test_compiled_windows_are_the_whole_clips_frames():
    """A clip made in windows of whole batches (long clips, docs/scaling.md) is the whole clip's bytes."""
    spec = tiny_spec("shapes", "clip.width=48", "clip.height=40", "clip.frames=4", "backend.frame_batch=2")
    scene, traj = _layout(spec, 1)
    backend = _backend(spec, "compiled")
    whole = backend.render(scene, traj)
    parts = [backend.render_window(scene, traj, 0, 2), backend.render_window(scene, traj, 2, 4)]
    for name in MAPS:
        a = getattr(whole, name)
        if a is not None:
            assert _same(a, torch.cat([getattr(p, name) for p in parts])), name


def _every_branch(scene, st, mixed_shine=False):
    """The scene with each primitive and texture the kernel knows on some owner, a headlight, fog and
    glowing owners: the branches the shapes recipe leaves unused (``mixed_shine``: shininess per owner
    other than one power of two, so the lobe is a pow, not squarings)."""
    env = dataclasses.replace(scene.environment, headlight_intensity=0.8, headlight_falloff=0.05,
                              headlight_color=np.array([1.0, 0.9, 0.8]), fog_density=0.02)
    scene = dataclasses.replace(scene, environment=env)
    n = st.half.shape[0]
    prims = ["box", "capsule", "cylinder", "ellipsoid", "sphere"]
    texs = ["checker", "flat", "noise", "stripes"]
    st = dataclasses.replace(
        st, prim_names=prims, prim_of_owner=torch.tensor([-1] + [i % len(prims) for i in range(n)]),
        tex_names=texs, tex_of_owner=torch.tensor([i % len(texs) for i in range(n + 1)]),
        emissive=torch.linspace(0, 0.5, n + 1), tex_scale=torch.linspace(0.7, 6.0, n + 1))
    if mixed_shine:
        st = dataclasses.replace(st, shininess=torch.linspace(5.0, 90.0, n + 1), shine_squarings=None)
    assert (st.shine_squarings is None) is mixed_shine
    return scene, st


@pytest.mark.parametrize("pixel,mixed_shine", [(None, False), (1.0, False), (SUBPIXEL_FOOTPRINT, False), (1.0, True)])
def test_every_branch_hit_by_hit(pixel, mixed_shine):
    spec = tiny_spec("shapes", "clip.width=48", "clip.height=40", "clip.frames=3")
    scene, traj = _layout(spec, 2)
    scene, st = _every_branch(scene, _SceneTensors.build(scene, traj, torch.device("cpu")), mixed_shine)
    assert cpu_kernels.supports(scene, st)
    g = torch.Generator().manual_seed(0)
    M, ks = 4000, torch.arange(1, 4)
    b = torch.sort(torch.randint(0, 3, (M,), generator=g)).values
    o = st.cam_c[ks][b]
    d = torch.randn(M, 3, generator=g)
    d[:, 2] = d[:, 2].abs() * 0.3 - 0.2  # mostly level rays, some towards the ground
    t = torch.rand(M, generator=g) * 25 + 0.5
    owner = torch.randint(0, st.half.shape[0] + 1, (M,), generator=g)
    outs = {}
    for mode in ("torch", "compiled"):
        backend = _backend(spec, mode)
        outs[mode] = backend._surface(scene, st, ks, o, d, b, t, owner, pixel)
    rgb_t, normal_t, p_local_t, p_world_t = outs["torch"]
    rgb_c, normal_c, p_local_c, p_world_c = outs["compiled"]
    assert _same(p_world_t, p_world_c) and _same(p_local_t, p_local_c)
    _last_bits(normal_t, normal_c, 3e-7, 0.99, atol=1e-7)
    _last_bits(rgb_t, rgb_c, 1e-4, 0.98, atol=1e-7)
    rgb = outs["compiled"][0]
    assert bool(torch.isfinite(rgb).all()) and float(rgb.std()) > 0.01  # shaded, not blank


@pytest.mark.parametrize("recipe", ["shapes", "highway", "colonoscopy:plain"])
def test_the_edge_loop_marks_the_torch_tests_pixels(recipe):
    """cpu_loops.edges against antialias.edge_pixels, on a real dense pass of each world (where
    textures filter, their colour steps are no edges) and on adversarial colours: NaN,
    steps at exactly the contrast and one float32 step past it, smooth pixels beside others."""
    from synthdata.render.raycast.antialias import CONTRAST, display, edge_pixels

    spec = tiny_spec(recipe, "clip.width=40", "clip.height=32", "clip.frames=3")
    scene, traj = _layout(spec, 1)
    st = _SceneTensors.build(scene, traj, torch.device("cpu"))
    backend = _backend(spec, "compiled")
    ks = torch.arange(1, 4)
    out = backend._trace(scene, st, ks, 32, 40, scale=1, labels=False)
    rgb, key = out["rgb_linear"], out["edge_key"]
    smooth = st.filtered_owner[key.clamp(min=0)] & (key >= 0) if st.filtered_owner is not None else None
    want = edge_pixels(rgb, key, smooth=smooth).reshape(-1).nonzero().squeeze(1)
    got, shown = cpu_kernels.edge_pixels(rgb, key, smooth)
    assert torch.equal(shown, display(rgb))
    assert torch.equal(want, got) and 0 < want.numel() < key.numel()

    g = torch.Generator().manual_seed(0)
    rgb = (0.4 + 0.05 * torch.rand(2, 6, 7, 3, generator=g)) ** 2.2  # display steps below the contrast…
    rgb *= 1.6 ** (torch.rand(2, 6, 7, 1, generator=g) < 0.15)  # …but at some pixels
    key = torch.randint(0, 2, (2, 6, 7), generator=g) * (torch.rand(2, 6, 7, generator=g) < 0.2)
    key[1, :2] = 0
    # display steps from black of exactly the contrast (no edge) and of one float32 step more (an edge),
    # found as the test computes them (torch's pow rounds differently in its vector and scalar paths)
    c = np.float32(CONTRAST)
    steps = [0, c, c, 0, *[np.nextafter(c, np.float32(1))] * 3]
    for x, w in enumerate(steps):
        y = np.float32(float(w) ** 2.2)
        for k in range(64):  # ulps out from the first guess, alternating sides
            guess = y + np.float32((-1) ** k * (k + 1) // 2) * np.spacing(y)
            rgb[1, :2, x] = float(guess)  # rows 0 and 1 alike: no vertical step
            if display(rgb)[1, 0, x, 0] == w:
                break
    for sm in (None, torch.rand(2, 6, 7, generator=g) < 0.5):
        if sm is not None:
            sm[1, :2] = False
        want = edge_pixels(rgb, key, smooth=sm).reshape(-1).nonzero().squeeze(1)
        assert torch.equal(want, cpu_kernels.edge_pixels(rgb, key, sm)[0]) and 0 < want.numel() < key.numel()
    assert torch.equal(display(rgb)[1, 0, :, 0], torch.tensor(steps))
    assert edge_pixels(rgb, key)[1, 0].tolist() == [False, False, False, True, True, False, False]
    # NaN in one channel beside a step in the others: torch's amax is NaN, so no step
    rgb, key = torch.tensor([[[[0.2, float("nan"), 0.2], [0.5, 0.5, 0.5]]]]), torch.zeros(1, 1, 2, dtype=torch.int64)
    assert not edge_pixels(rgb, key).any() and cpu_kernels.edge_pixels(rgb, key, None)[0].numel() == 0


def test_every_primitive_ray_by_ray():
    """The re-traced rays' hit search (cpu_loops.sparse_hits) against the torch stages it replaces:
    directions bit for bit, the same owners, ray parameters to the last bits of a square root."""
    spec = tiny_spec("shapes", "clip.width=48", "clip.height=40", "clip.frames=3")
    scene, traj = _layout(spec, 2)
    scene, st = _every_branch(scene, _SceneTensors.build(scene, traj, torch.device("cpu")))
    assert cpu_kernels.supports_rays(scene, st)
    g = torch.Generator().manual_seed(1)
    M, ks, H, W = 20000, torch.arange(1, 4), 40, 48
    b = torch.sort(torch.randint(0, 3, (M,), generator=g)).values
    u, v = torch.rand(M, generator=g) * W, torch.rand(M, generator=g) * H
    backend = _backend(spec, "torch")
    d = backend._sparse_dirs(st, ks, b, u, v)
    t_near, near = backend._hit_objects_sparse(st, ks, st.cam_c[ks], d, b, u, v, H, W)
    t_env = backend._hit_environment(scene, st.cam_c[ks][b], d)
    ref_t, ref_owner = torch.where(t_near < t_env, t_near, t_env), torch.where(t_near < t_env, near + 1, 0)
    boxes = backend._compiled_boxes(st, ks, H, W, 1)  # culling by each frame's screen rectangles…
    assert (boxes[..., 2] - boxes[..., 0]).min() < W  # …which do cut something here
    d_c, t_c, owner_c = cpu_kernels.sparse_hits(st, ks, b, u, v, boxes)
    assert _same(d, d_c) and torch.equal(owner_c, ref_owner)
    assert len(set(ref_owner.tolist())) == st.half.shape[0] + 1  # every primitive and the ground were hit
    finite = torch.isfinite(ref_t)
    assert torch.equal(finite, torch.isfinite(t_c))
    _last_bits(ref_t[finite][:, None], t_c[finite][:, None], 1e-6, 0.99, atol=1e-7)


def _tilted(st, angle: float):
    """The cameras pitched by ``angle`` (radians) about their x axis: up, for sky in the picture."""
    c, s = float(np.cos(angle)), float(np.sin(angle))
    Rx = np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])
    host = st.cam_pose_host.copy()
    host[:, :3, :3] = host[:, :3, :3] @ Rx
    return dataclasses.replace(st, cam_R=st.cam_R @ torch.as_tensor(Rx, dtype=torch.float32), cam_pose_host=host)


@pytest.mark.parametrize("scale,tilt", [(1, 0.0), (2, 0.0), (1, 0.3)])
def test_every_primitive_pixel_by_pixel(scale, tilt):
    """The dense pass's rays and hits (cpu_loops.dense_hits) against _rays, _hit_objects and
    _hit_environment: directions bit for bit, the same owners and amodal coverage, depths to the last
    bits of a square root, and the hit list nonzero() gives."""
    spec = tiny_spec("shapes", "clip.width=48", "clip.height=40", "clip.frames=3")
    scene, traj = _layout(spec, 2)
    scene, st = _every_branch(scene, _SceneTensors.build(scene, traj, torch.device("cpu")))
    st = _tilted(st, tilt)
    ks, H, W = torch.arange(1, 4), 40, 48
    backend = _backend(spec, "torch")
    d = backend._rays(st, ks, H, W, scale)
    o = st.cam_c[ks]
    t_env = backend._hit_environment(scene, o[:, None, None], d)
    cover = lambda t, d_box, f, box: backend._amodal_hits(scene, o[f], d_box, t, t_env[(f, *box)])  # noqa: E731
    t_near, near, covered = backend._hit_objects(st, ks, o, d, scale, None, cover)
    ref_t, ref_owner = torch.where(t_near < t_env, t_near, t_env), torch.where(t_near < t_env, near + 1, 0)
    h = cpu_kernels.dense_hits(st, ks, H * scale, W * scale, scale, True,
                               backend._frame_boxes(st, np.arange(1, 4), H, W, scale))
    assert _same(d, h["d"]) and torch.equal(h["owner_img"], ref_owner) and torch.equal(h["covered"], covered)
    assert len(set(ref_owner.reshape(-1).tolist())) >= (st.half.shape[0] - 1 if tilt == 0 else 2)  # primitives, ground
    finite = torch.isfinite(ref_t)
    assert torch.equal(h["flat"], finite.reshape(-1).nonzero().squeeze(1)) and bool(finite.all()) == (tilt == 0)
    assert torch.equal(h["owner"], ref_owner[finite]) and torch.equal(h["b"], h["flat"] // (H * W * scale * scale))
    _last_bits(ref_t[finite][:, None], h["t"][:, None], 1e-6, 0.99, atol=1e-7)
    assert _same(h["t_vis"][finite], h["t"]) and bool(torch.isinf(h["t_vis"][~finite]).all())


def test_scenes_it_does_not_cover_take_the_torch_stage():
    for recipe, covered in (("shapes", True), ("highway", False), ("colonoscopy", False)):
        spec = tiny_spec(recipe)
        scene, traj = _layout(spec, 0)
        st = _SceneTensors.build(scene, traj, torch.device("cpu"))
        assert cpu_kernels.supports(scene, st) is cpu_kernels.supports_rays(scene, st) is covered, recipe


def test_the_specular_lobe_squares_where_shininess_is_one_power_of_two():
    """lobe(): k squarings when every owner's shininess is 2**k (the shipped 32), else torch's pow; the
    two agree to float32 rounding (each squaring rounds once)."""
    from synthdata.render.raycast.backend import _squarings, lobe

    assert _squarings(np.array([32.0, 32.0])) == 5 and _squarings(np.array([2.0])) == 1
    assert _squarings(np.array([32.0, 64.0])) is _squarings(np.array([48.0])) is _squarings(np.array([1.0])) is None
    x = torch.rand(1000, generator=torch.Generator().manual_seed(0))
    shin = torch.full((1000,), 32.0)
    fast = lobe(x, dataclasses.make_dataclass("St", [("shine_squarings", int)])(5), shin)
    torch.testing.assert_close(fast, x ** shin, rtol=1e-5, atol=1e-30)
    assert torch.equal(lobe(x, dataclasses.make_dataclass("St", [("shine_squarings", object)])(None), shin), x ** shin)
    y = x * x
    for _ in range(4):
        y = y * y
    assert torch.equal(fast, y)


def test_the_name_tables_mirror_the_kernels_codes():
    from synthdata.render.raycast import cpu_loops, primitives, textures

    assert cpu_kernels.PRIM_NAMES == set(cpu_loops.PRIM_CODES) <= set(primitives.PRIMITIVES.names())
    assert cpu_kernels.TEXTURE_NAMES == set(cpu_loops.TEXTURE_CODES) <= set(textures.TEXTURES.names())


def test_warming_loads_what_a_clip_calls():
    """jit.warm() (compiling ahead of time, e.g. in an image's build step) must compile the very
    specialisations a render and its annotation call: else the first clip would compile again."""
    from synthdata import jit
    from synthdata.annotate import cpu_loops as annotate_loops, flow_valid, masks
    from synthdata.render.raycast import cpu_loops

    jit.warm()
    spec = tiny_spec("shapes", "clip.width=24", "clip.height=16", "clip.frames=2")
    frames = _backend(spec, "compiled").render(*_layout(spec, 1))
    flow_valid.flow_validity(frames.flow_fwd, frames.flow_bwd, frames.instance, compiled=True)
    masks.instance_stats(frames.instance, 2, compiled=True)
    kernels = (cpu_loops.geometry, cpu_loops.combine, cpu_loops.dense_hits, cpu_loops.sparse_hits, cpu_loops.flow,
               annotate_loops.flow_validity, annotate_loops.instance_stats)
    assert [len(k.signatures) for k in kernels] == [1] * len(kernels)


def test_auto_compiles_large_clips_only():
    """``cpu_kernels: auto`` (the default): a process loads numba only for clips that repay it, so a
    small run starts as fast as without it; ``compiled`` and ``torch`` force either."""
    from synthdata.render.raycast.backend import AUTO_COMPILED_PIXELS

    for size, frames in (("48", 3), ("64", 24), ("128", 8), ("256", 16)):  # 64²×24 < 2¹⁷ ≤ 128²×8
        spec = tiny_spec("shapes", f"clip.width={size}", f"clip.height={size}", f"clip.frames={frames}")
        assert spec.backend.settings.get("cpu_kernels", "auto") == "auto"
        scene, traj = _layout(spec, 0)
        st = _SceneTensors.build(scene, traj, torch.device("cpu"))
        large = int(size) ** 2 * frames >= AUTO_COMPILED_PIXELS
        assert large is (int(size) >= 128)
        assert make_backend(spec.backend, "cpu")._compiled(scene, st, rays=True) is large
        assert _backend(spec, "compiled")._compiled(scene, st, rays=True)
        assert not _backend(spec, "torch")._compiled(scene, st)


def test_an_exposure_alone_keeps_the_compiled_stages():
    """``camera.exposure`` makes conditions that act after rendering only: shading is the same."""
    spec = tiny_spec("shapes", "clip.width=48", "clip.height=40", "clip.frames=3", "camera.exposure.auto=true")
    scene, traj = _layout(spec, 0)
    st = _SceneTensors.build(scene, traj, torch.device("cpu"))
    assert st.cond is not None and cpu_kernels.supports_rays(scene, st)
    _assert_frames_match(_backend(spec, "torch").render(scene, traj), _backend(spec, "compiled").render(scene, traj))


_READ_ONLY_RUN = """
import logging, numpy as np, synthdata, numba
logging.basicConfig(level=logging.WARNING)
from synthdata.motion import rollout
from synthdata.render import make_backend
from synthdata.render.raycast import cpu_kernels
from synthdata.scene import sample_scene
assert synthdata.__file__.startswith(%(pkg)r), synthdata.__file__
spec = synthdata.load_recipe("shapes", ["clip.width=32", "clip.height=24", "clip.frames=2", "device=cpu"])
rng = np.random.default_rng(0)
scene = sample_scene(spec, rng)
traj = rollout(scene, 2, spec.clip.fps, rng)
frames = {}
for mode in ("torch", "compiled"):
    b = make_backend(spec.backend, "cpu")
    b.settings = b.settings.model_copy(update={"cpu_kernels": mode})
    frames[mode] = b.render(scene, traj)
assert cpu_kernels.available() and numba.config.CACHE_DIR.startswith("/tmp"), numba.config.CACHE_DIR
assert (frames["torch"].instance == frames["compiled"].instance).all()
from synthdata.annotate.flow_valid import flow_validity
f = frames["compiled"]
assert (flow_validity(f.flow_fwd, f.flow_bwd, f.instance, compiled=True)
        == flow_validity(f.flow_fwd, f.flow_bwd, f.instance, compiled=False)).all()
print("rendered compiled into", numba.config.CACHE_DIR)
"""


def test_a_read_only_install_compiles_into_a_private_cache(tmp_path):
    """A system-wide install (read-only package) with a read-only home: numba has nowhere to cache, so
    the loops compile into a folder of the process's own instead of the render failing. Real read-only
    mounts, in a private mount namespace (root and util-linux's unshare)."""
    import os
    import shutil
    import subprocess
    import sys

    import synthdata
    from synthdata.configs import config_dir

    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare to mount a read-only copy of the package")
    ro, home = tmp_path / "ro", tmp_path / "home"
    shutil.copytree(Path(synthdata.__file__).parent, ro / "synthdata", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(config_dir(), ro / "synthdata" / "_recipes")  # where a wheel has them
    home.mkdir()
    (tmp_path / "run.py").write_text(_READ_ONLY_RUN % {"pkg": str(ro)})
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "XDG_CACHE_HOME")}
    env.update(HOME=str(home), PYTHONPATH=str(ro), PYTHONDONTWRITEBYTECODE="1")
    mounts = " && ".join(f"mount --bind {p} {p} && mount -o remount,bind,ro {p} {p}" for p in (ro, home))
    r = subprocess.run(["unshare", "-m", "--propagation", "private", "bash", "-c",
                        f"{mounts} && {sys.executable} {tmp_path / 'run.py'}"],
                       capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    if r.returncode != 0 and "mount" in r.stderr and "permission denied" in r.stderr.lower():
        pytest.skip("this machine does not allow private mounts")
    assert r.returncode == 0, r.stderr[-2000:]
    assert "rendered compiled into /tmp" in r.stdout and "numba cannot write its cache here" in r.stderr


_NO_NUMBA_RUN = """
import logging, sys
sys.modules["numba"] = None  # import numba raises ImportError, as where it is not installed
logging.basicConfig(level=logging.WARNING)
import numpy as np, synthdata, torch
from synthdata import jit
from synthdata.annotate.flow_valid import flow_validity
from synthdata.annotate.masks import instance_stats
from synthdata.motion import rollout
from synthdata.render import make_backend
from synthdata.scene import sample_scene

jit.warm()  # nothing to compile: no error
spec = synthdata.load_recipe("shapes", ["clip.width=32", "clip.height=24", "clip.frames=2", "device=cpu"])
rng = np.random.default_rng(0)
scene = sample_scene(spec, rng)
traj = rollout(scene, 2, spec.clip.fps, rng)
b = make_backend(spec.backend, "cpu")
b.settings = b.settings.model_copy(update={"cpu_kernels": "compiled"})
f = b.render(scene, traj)
assert flow_validity(f.flow_fwd, f.flow_bwd, f.instance, compiled=True).shape == f.instance.shape
assert instance_stats(f.instance, len(scene.objects), compiled=True)[0].shape[0] == 2
print("rendered without numba", int(f.rgb.float().mean() > 0))
"""


def test_without_numba_everything_takes_the_torch_passes(tmp_path):
    """numba not installed: renders, annotation passes and jit.warm() go on in torch, with a warning."""
    import subprocess
    import sys

    (tmp_path / "run.py").write_text(_NO_NUMBA_RUN)
    r = subprocess.run([sys.executable, str(tmp_path / "run.py")], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "rendered without numba 1" in r.stdout and "numba unavailable" in r.stderr
