"""Adaptive anti-aliasing (the default ``supersample: adaptive``): RGB of edge pixels from more rays,
measured against 8×8 supersampling of the same frames; labels untouched."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from synthdata.render.raycast.antialias import SUBPIXEL_FOOTPRINT, edge_pixels, reference_rgb, subpixel
from synthdata.render.raycast.backend import RaycastBackend, RaycastSettings, _SceneTensors
from synthdata.worlds.driving.road import ROAD_CLASSES, ROAD_KIND

from ..conftest import make_tiny_clip, tiny_spec

PAINT = [ROAD_CLASSES.index(c) for c in ("lane_line", "road_edge", "centre_line", "crosswalk", "stop_line")]
LABEL_MAPS = ("instance", "depth", "normals", "surface", "amodal", "flow_fwd", "flow_bwd")


@pytest.fixture(scope="module")
def highway():
    """A highway clip at 160×96 (lane paint a few pixels wide near, sub-pixel far), rendered 1-ray,
    adaptive and 2×2, plus an 8×8 reference."""
    clip = make_tiny_clip(tiny_spec("highway", "clip.width=160", "clip.height=96", "clip.frames=2"), seed=1)
    renders = {ss: RaycastBackend(RaycastSettings(supersample=ss), "cpu").render(clip.scene, clip.traj)
               for ss in (1, "adaptive", 2)}
    ref = reference_rgb(RaycastBackend(RaycastSettings(supersample=1), "cpu"), clip.scene, clip.traj, 8)
    return clip, renders, ref


def _steps(a: np.ndarray) -> np.ndarray:
    """Pixels whose value differs from a 4-neighbour's (both sides). Shape: (T,H,W) → bool."""
    m = np.zeros(a.shape, bool)
    for ax in (1, 2):
        d = np.diff(a, axis=ax) != 0
        lo = [slice(None)] * 3
        hi = [slice(None)] * 3
        lo[ax], hi[ax] = slice(0, -1), slice(1, None)
        m[tuple(lo)] |= d
        m[tuple(hi)] |= d
    return m


def _paint_edges(clip, frames) -> np.ndarray:
    """Ground pixels next to a paint / no-paint boundary (from the road labels, so the same set for every render)."""
    cls = ROAD_KIND.compute(frames, clip.scene, clip.traj)
    ground = (frames.instance.numpy() == 0) & np.isfinite(frames.depth.numpy())
    return _steps(np.isin(cls, PAINT) & ground) & ground


def _mae(frames, ref, where) -> float:
    return float((frames.rgb.int() - ref.int()).abs().float().mean(-1).numpy()[where].mean())


def test_adaptive_cuts_lane_paint_and_silhouette_error(highway):
    """Against 8×8 supersampling, the default render's error on lane-paint edges and object silhouettes
    is ≥ 60% below the 1-ray render's and no worse than full 2×2 supersampling (measured: paint 22 → 4
    levels, 2×2 gives 7; docs/backends.md). 8 levels is half the error of a pixel one coverage step
    (1/8 of a ~130-level paint/asphalt step) off on every edge."""
    clip, r, ref = highway
    paint = _paint_edges(clip, r[1])
    sil = _steps(r[1].instance.numpy())
    assert paint.sum() > 200 and sil.sum() > 50  # the frames really show paint and vehicles
    for where in (paint, sil):
        one, ada, ss2 = (_mae(r[k], ref, where) for k in (1, "adaptive", 2))
        assert ada <= 0.4 * one and ada < 8 and ada <= ss2, (one, ada, ss2)


def test_adaptive_retraces_only_edges_and_filters_only_paint(highway):
    """Only edge pixels get more rays (every other pixel keeps its centre ray's filtered colour), they
    are few, and outside them only the ground's filtered paint differs from the 1-ray render."""
    clip, r, _ = highway
    be = RaycastBackend(RaycastSettings(), "cpu")
    st = _SceneTensors.build(clip.scene, clip.traj, be.device)
    ks = torch.arange(1, clip.traj.num_frames + 1)
    out = be._trace(clip.scene, st, ks, 96, 160, scale=1, labels=False)
    centre = (torch.clamp(out["rgb_linear"], 0, 1) ** (1 / 2.2) * 255 + 0.5).to(torch.uint8)
    edges = edge_pixels(out["rgb_linear"], out["edge_key"])
    assert torch.equal(r["adaptive"].rgb[~edges], centre[~edges])
    assert 0.01 < edges.float().mean() < 0.25
    assert ((r["adaptive"].rgb != centre).any(-1) & edges).float().mean() > 0.5 * edges.float().mean()
    filtered = (centre != r[1].rgb).any(-1) & ~edges
    assert filtered.any() and (r[1].instance[filtered] == 0).all()


@pytest.mark.parametrize("ss", ["adaptive", 2])
def test_labels_are_unchanged_by_antialiasing(highway, ss):
    _, r, _ = highway
    for k in LABEL_MAPS:
        assert torch.equal(getattr(r[1], k).nan_to_num(), getattr(r[ss], k).nan_to_num()), k
    assert not torch.equal(r[1].rgb, r[ss].rgb)


@pytest.mark.parametrize("recipe, extra", [
    ("shapes", ()), ("highway", ()), ("colonoscopy", ()),
    ("night_rain", ()),  # wet ground: the mirror image is traced for sparse rays too
    ("highway", ("camera.lens.model=fisheye", "camera.fov_deg=140", "camera.lens.k1=0.02")),  # rays through a lens
])
def test_sparse_rays_at_pixel_centres_match_the_dense_trace(recipe, extra):
    """The sparse tracer shares the dense one's hit and shading code: at pixel centres it gives the same RGB."""
    clip = make_tiny_clip(tiny_spec(recipe, "clip.width=40", "clip.height=24", "clip.frames=2", *extra), seed=2)
    be = RaycastBackend(RaycastSettings(supersample=1), "cpu")
    st = _SceneTensors.build(clip.scene, clip.traj, be.device)
    ks = torch.arange(1, 3)
    dense = be._trace(clip.scene, st, ks, 24, 40, scale=1, labels=False, particles=False)["rgb_linear"]
    b, y, x = torch.meshgrid(torch.arange(2), torch.arange(24), torch.arange(40), indexing="ij")
    sparse = be._trace_rays(clip.scene, st, ks, b.reshape(-1), x.reshape(-1) + 0.5, y.reshape(-1) + 0.5)
    inside = be._inside(st, 24, 40, 1)  # a scope's field stop: no ray is cast outside it (black there)
    keep = torch.ones(2 * 24 * 40, dtype=torch.bool) if inside is None else inside.expand(2, 24, 40).reshape(-1)
    assert keep.sum() > 400
    assert torch.allclose(sparse[keep], dense.reshape(-1, 3)[keep], atol=1e-5)


@pytest.mark.parametrize("recipe, extra", [
    ("shapes", ()), ("highway", ()), ("night_rain", ()),
    ("highway", ("camera.lens.model=fisheye", "camera.fov_deg=140", "camera.lens.k1=0.02")),
])
def test_a_pixels_sub_rays_culled_once_per_pixel_give_the_same_bits(recipe, extra):
    """Re-traced pixels' sub-rays are culled against the objects' screen rectangles once per pixel
    (``group``): exactly the rays the per-ray cull keeps, so the same RGB bit for bit."""
    clip = make_tiny_clip(tiny_spec(recipe, "clip.width=40", "clip.height=24", "clip.frames=2", *extra), seed=2)
    be = RaycastBackend(RaycastSettings(), "cpu")
    st = _SceneTensors.build(clip.scene, clip.traj, be.device)
    ks = torch.arange(1, 3)
    off = subpixel()
    k = off.shape[0]
    b, y, x = (g.reshape(-1) for g in torch.meshgrid(torch.arange(2), torch.arange(24), torch.arange(40), indexing="ij"))
    u = (x[:, None] + 0.5 + off[:, 0][None]).reshape(-1)
    v = (y[:, None] + 0.5 + off[:, 1][None]).reshape(-1)
    b = b.repeat_interleave(k)
    per_ray = be._trace_rays(clip.scene, st, ks, b, u, v, SUBPIXEL_FOOTPRINT)
    per_pixel = be._trace_rays(clip.scene, st, ks, b, u, v, SUBPIXEL_FOOTPRINT, group=k)
    assert torch.equal(per_ray, per_pixel)


def test_adaptive_with_motion_blur_keeps_labels_and_blurs():
    spec = tiny_spec("highway", "clip.width=64", "clip.height=40", "clip.frames=2", "backend.motion_blur=2")
    clip = make_tiny_clip(spec, seed=1)
    sharp = RaycastBackend(RaycastSettings(), "cpu").render(clip.scene, clip.traj)
    blur_1ray = RaycastBackend(RaycastSettings(motion_blur=2, supersample=1), "cpu").render(clip.scene, clip.traj)
    for k in LABEL_MAPS:
        assert torch.equal(getattr(sharp, k).nan_to_num(), getattr(clip.frames, k).nan_to_num()), k
    assert not torch.equal(clip.frames.rgb, sharp.rgb) and not torch.equal(clip.frames.rgb, blur_1ray.rgb)
