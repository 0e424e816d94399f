"""Textures that box-filter their hard edges (checker, stripes) agree with point sampling where the
footprint has no extent, also on a face that lies exactly on a check boundary (the ground plane z = 0)."""

import pytest
import torch

from synthdata.render.raycast import RaycastBackend, RaycastSettings
from synthdata.render.raycast.backend import _SceneTensors
from synthdata.render.raycast.antialias import reference_rgb
from synthdata.render.raycast.textures import checker, filtered_square, stripes

from ..conftest import make_tiny_clip, tiny_spec


def _wave(x: torch.Tensor) -> torch.Tensor:
    """The square wave itself: +1 on [0,1), -1 on [1,2) (period 2)."""
    return 1 - 2 * (torch.floor(x).to(torch.int64) % 2).to(torch.float32)


def test_filtered_square_without_extent_is_the_wave_also_on_its_steps():
    """e → 0 gives the wave itself, also exactly on a step (where an average over [x−e, x+e] is 0)."""
    x = torch.tensor([0.0, -0.0, 1.0, 2.0, -1.0, -2.0, 3.0, 0.25, 1.5, -0.5, 7.0])
    for e in (0.0, 1e-7, 5e-5):
        assert torch.equal(filtered_square(x, torch.full_like(x, e)), _wave(x)), e


def _plane_points(gen, n=4000, z=0.0):
    """Points on the plane z = ``z``, away from the x and y check edges (their filtered value is the
    point's own there), with a small in-plane footprint and none along z."""
    p = torch.rand(n, 3, generator=gen) * 8 - 4
    p[:, 2] = z
    frac = p[:, :2] - torch.floor(p[:, :2])
    p = p[((frac > 0.05) & (frac < 0.95)).all(1)]
    foot = torch.zeros(p.shape[0], 2, 3)
    foot[:, 0, 0] = foot[:, 1, 1] = 1e-3
    return p, foot


def test_checker_on_a_check_boundary_plane_keeps_its_checks(gen):
    """The ground (z = 0 exactly) lies on a boundary of the 3D checker: filtered, it must show the same
    checks as point sampling, not the mean of both colours."""
    for z in (0.0, 1.0, -2.0):  # also a box face on a boundary (half-size × scale an integer)
        p, foot = _plane_points(gen, z=z)
        m = p.shape[0]
        c1, c2 = torch.tensor([[0.9, 0.1, 0.1]]).expand(m, 3), torch.tensor([[0.1, 0.1, 0.9]]).expand(m, 3)
        scale, seed = torch.ones(m), torch.zeros(m, dtype=torch.int64)
        point = checker(p, c1, c2, scale, seed)
        filtered = checker(p, c1, c2, scale, seed, footprint=foot)
        assert torch.allclose(filtered, point, atol=1e-4), z
        p[:, [0, 2]] = p[:, [2, 0]]  # stripes run along z: the same plane turned to face x
        foot[:, :, [0, 2]] = foot[:, :, [2, 0]]
        assert torch.allclose(stripes(p, c1, c2, scale * 0.5, seed, footprint=foot),
                              stripes(p, c1, c2, scale * 0.5, seed), atol=1e-4), z


def test_default_anti_aliasing_keeps_the_checkered_floor():
    """As a new user sees it: shapes' floor is checkered with ``supersample: 1``; under the default
    adaptive anti-aliasing it was one flat grey (every floor pixel the mean of both check colours).
    Measured against point samples on a 4×4 grid per pixel (a reference that filters nothing)."""
    spec = tiny_spec("shapes", "clip.width=96", "clip.height=96", "clip.frames=1")
    for seed in (1, 2):
        clip = make_tiny_clip(spec, seed=seed)
        ref = reference_rgb(RaycastBackend(RaycastSettings(supersample=1), "cpu"), clip.scene, clip.traj, 4).float()
        floor = (clip.frames.instance == 0) & torch.isfinite(clip.frames.depth)
        assert floor.float().mean() > 0.3
        adaptive = clip.frames.rgb.float()
        assert ref[floor].mean(-1).std() > 15  # the reference floor is checkered
        assert (adaptive - ref).abs()[floor].mean() < 10, seed  # and so is the anti-aliased one (was 17 and more)


def test_floor_hits_lie_on_the_floor_exactly():
    """Hits on the flat ground are on z = 0 exactly (o_z + t·d_z rounds to ±1 ulp, which put rows of
    pixels on the other side of the checker's step at z = 0: streaks of flipped checks)."""
    clip = make_tiny_clip(tiny_spec("shapes", "clip.width=64", "clip.height=64", "clip.frames=2"), seed=1)
    floor = (clip.frames.instance == 0) & torch.isfinite(clip.frames.depth)
    assert floor.sum() > 1000
    z = clip.frames.surface[..., 2][floor]
    assert torch.equal(z, torch.zeros_like(z))


def test_only_the_flat_floor_trusts_a_plane_filter():
    """Adaptive anti-aliasing skips the colour steps of a texture that filters on planes only on the
    flat ground (exact footprints); objects' checks and stripes, and a road, are still re-traced."""
    clip = make_tiny_clip(tiny_spec("shapes", "clip.width=32", "clip.height=32", "clip.frames=1"), seed=1)
    st = _SceneTensors.build(clip.scene, clip.traj, torch.device("cpu"))
    assert clip.scene.environment.ground.texture == ["checker"]
    assert bool(st.filtered_owner[0]) and not st.filtered_owner[1:].any()
    road = make_tiny_clip(tiny_spec("highway", "clip.width=32", "clip.height=32", "clip.frames=1"), seed=1)
    st = _SceneTensors.build(road.scene, road.traj, torch.device("cpu"))
    assert st.filtered_owner is None or not bool(st.filtered_owner[0])


@pytest.fixture
def gen():
    return torch.Generator().manual_seed(0)
