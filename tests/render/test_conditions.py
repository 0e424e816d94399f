"""Driving conditions (docs/driving.md): object-carried lights, time of day, rain, wet ground, snow,
exposure. Each changes RGB only, deterministically; a recipe without them renders as before."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import synthdata
from synthdata.motion import rollout
from synthdata.recipe.loading import parse_spec
from synthdata.render import make_backend
from synthdata.render.raycast.conditions import expose
from synthdata.run.check import check_recipe
from synthdata.scene import sample_scene
from synthdata.scene.conditions import Exposure, time_of_day

from ..conftest import tiny_spec

W, H = 64, 48


def _spec(env: dict | None = None, objects: list | None = None, camera: dict | None = None, frames: int = 2):
    # one ray per pixel: these tests compare each pixel's colour with the light at its centre's surface
    # point; anti-aliasing (the default) blends colours across edges on purpose (tests/render/test_antialias.py)
    data = tiny_spec("shapes", f"clip.width={W}", f"clip.height={H}", f"clip.frames={frames}",
                     "backend.supersample=1").model_dump(mode="json")
    data["environment"] = {"kind": "ground", "ground": {"texture": "flat", "color": [0.5, 0.5, 0.5], "specular": 0.0},
                           "sun": None, "ambient": 0.0, **(env or {})}
    data["camera"] = camera or {"fov_deg": 60, "position": [0, -6, 3], "look_at": [0, 0, 0], "motion": {"name": "static"}}
    data["objects"] = objects or [_ball()]
    return check_recipe(parse_spec(data))


def _ball(**material) -> dict:
    return {"class_name": "ball", "count": 1, "primitive": "sphere", "size": [0.6, 0.6, 0.6],
            "material": {"texture": "flat", "color": [0.8, 0.2, 0.2], **material},
            "placement": {"mode": "free", "x": 0.0, "y": 0.0, "z": 1.5}, "motion": {"name": "static"}}


def _render(spec, seed: int = 0):
    rng = np.random.default_rng(seed)
    scene = sample_scene(spec, rng)
    traj = rollout(scene, spec.clip.frames, spec.clip.fps, rng)
    return scene, traj, make_backend(spec.backend, "cpu").render(scene, traj)


def _linear(rgb: torch.Tensor) -> np.ndarray:
    return (rgb.numpy().astype(np.float64) / 255.0) ** 2.2


def _world_points(traj, depth: torch.Tensor) -> np.ndarray:
    """World position of every pixel of frame 0 from its z-depth. → (H,W,3)."""
    K, P = traj.K, traj.camera_poses_padded[1]
    v, u = np.mgrid[0:H, 0:W] + 0.5
    d = np.stack([(u - K[0, 2]) / K[0, 0], (v - K[1, 2]) / K[1, 1], np.ones_like(u)], -1)
    return P[:3, 3] + depth[0].numpy()[..., None] * (d @ P[:3, :3].T)


def test_point_light_falls_off_as_documented():
    """A lamp 2 m above a matte grey floor: each floor pixel is albedo · I / (1 + falloff·d²) · cos θ."""
    light = {"intensity": 0.6, "falloff": 0.3}
    spec = _spec(objects=[{**_ball(emissive=0.0, light=light), "size": [0.05, 0.05, 0.05],
                           "placement": {"mode": "free", "x": 0.0, "y": 0.0, "z": 2.0}}])
    scene, traj, f = _render(spec)
    assert len(scene.conditions.lights) == 1
    p = _world_points(traj, f.depth)
    floor = (f.instance[0].numpy() == 0) & np.isfinite(f.depth[0].numpy())
    to_light = np.array([0.0, 0.0, 2.0]) - p
    d2 = (to_light**2).sum(-1)
    cos = to_light[..., 2] / np.sqrt(d2)
    expected = 0.5**2.2 * 0.6 / (1 + 0.3 * d2) * cos
    got = _linear(f.rgb[0])[..., 0]
    ok = floor & (expected > 0.02) & (expected < 0.9)  # away from 8-bit crush and clipping
    near, far = np.unravel_index(np.where(ok, d2, np.inf).argmin(), d2.shape), np.unravel_index(np.where(ok, d2, -1).argmax(), d2.shape)
    assert d2[far] > 2 * d2[near]
    for px in (near, far):
        assert got[px] == pytest.approx(expected[px], rel=0.06, abs=0.003), px
    assert np.abs(got[ok] - expected[ok]).max() < 0.02


def test_spot_light_lights_inside_its_cone_only():
    cone = {"direction": [0.0, 0.0, -1.0], "angle_deg": 20}
    spec = _spec(objects=[{**_ball(light={"intensity": 2.0, "falloff": 0.1, "cone": cone}), "size": [0.05, 0.05, 0.05],
                           "placement": {"mode": "free", "x": 0.0, "y": 0.0, "z": 3.0}}])
    _, traj, f = _render(spec)
    p = _world_points(traj, f.depth)
    floor = (f.instance[0].numpy() == 0) & np.isfinite(f.depth[0].numpy())
    angle = np.degrees(np.arctan2(np.hypot(p[..., 0], p[..., 1]), 3.0))
    lum = f.rgb[0].numpy().astype(int).sum(-1)
    assert (lum[floor & (angle > 20.5)] == 0).all()
    inner = floor & (angle < 14)
    assert inner.sum() > 10 and (lum[inner] > 30).all()


def test_night_sky_is_darker_than_day_and_continuous_in_elevation():
    day_top, day_hor = np.array([0.3, 0.5, 0.85]), np.array([0.78, 0.84, 0.9])
    es = np.arange(-30.0, 60.0, 0.05)
    vals = [time_of_day(e, day_top, day_hor, np.ones(3), 1.0, 0.3) for e in es]
    sky = np.array([v["sky_top"].sum() + v["sky_horizon"].sum() for v in vals])
    amb = np.array([v["ambient"] for v in vals])
    sun = np.array([v["sun_intensity"] for v in vals])
    for series in (sky, amb, sun):
        assert np.abs(np.diff(series)).max() < 0.02  # no jumps between 0.05° steps
    night, dusk, day = (es < -6), (np.abs(es) < 1), (es > 20)
    assert sky[night].max() < 0.2 * sky[day].min() and (sun[night] == 0).all() and amb[night].max() < 0.1 * amb[day].min()
    low = time_of_day(2.0, day_top, day_hor, np.ones(3), 1.0, 0.3)["sun_color"]
    assert low[0] > low[1] > low[2] and dusk.any()  # a low sun is red
    # rendered: the same scene at night is darker, in the sky and on the floor
    means = []
    for elev in (45.0, -20.0):
        spec = _spec(env={"sky_model": "auto", "ambient": 0.3, "sun": {"elevation_deg": elev, "intensity": 1.0}})
        means.append(_render(spec)[2].rgb.float().mean().item())
    assert means[1] < 0.3 * means[0]


def _wall(depth: float) -> dict:
    """A wide static box whose face is ``depth`` metres in front of a camera at y = -8 looking along +y,
    covering the left half of the view."""
    return {"class_name": "wall", "count": 1, "primitive": "box", "size": [4.0, 0.1, 6.0],
            "material": {"texture": "flat", "color": [0.2, 0.2, 0.2]},
            "placement": {"mode": "free", "x": -2.0, "y": -8.0 + depth + 0.05, "z": 1.5}, "motion": {"name": "static"}}


def test_rain_streaks_are_never_drawn_in_front_of_a_nearer_surface():
    cam = {"fov_deg": 70, "position": [0, -8, 1.5], "look_at": [0, 0, 1.5], "motion": {"name": "static"}}
    rain = {"drops": 20000, "radius": 8.0, "alpha": 1.0, "color": [1.0, 1.0, 1.0]}
    env = {"ambient": 0.5, "sky_top": [0.0, 0.0, 0.0], "sky_horizon": [0.0, 0.0, 0.0]}
    density = {}
    for depth in (0.25, 4.0):  # in front of every drop (they start at 0.3 m); behind some
        dry = _render(_spec(env=env, objects=[_wall(depth)], camera=cam))[2]
        scene, _, wet = _render(_spec(env={**env, "rain": rain}, objects=[_wall(depth)], camera=cam))
        changed = (wet.rgb != dry.rgb).any(-1).numpy()
        wall = wet.instance.numpy() == 1
        assert torch.equal(wet.depth, dry.depth) and torch.equal(wet.instance, dry.instance)
        density[depth] = (changed[wall].mean(), changed[~wall].mean())
    assert density[0.25][0] == 0 and density[0.25][1] > 0.05
    assert 0 < density[4.0][0] < 0.8 * density[4.0][1]


def test_wet_ground_mirrors_a_glowing_object():
    ball = {**_ball(emissive=3.0), "placement": {"mode": "free", "x": 0.0, "y": 0.0, "z": 1.0}}
    cam = {"fov_deg": 60, "position": [0, -8, 1.0], "look_at": [0, 0, 0.0], "motion": {"name": "static"}}
    env = {"ambient": 0.05, "sky_top": [0.0, 0.0, 0.0], "sky_horizon": [0.0, 0.0, 0.0]}
    _, traj, dry = _render(_spec(env=env, objects=[ball], camera=cam))
    _, _, wet = _render(_spec(env={**env, "wet": {"amount": 1.0, "puddles": 0.0}}, objects=[ball], camera=cam))
    # the mirror image of the ball's centre (0, 0, -1) on screen
    P, K = traj.camera_poses_padded[1], traj.K
    x = P[:3, :3].T @ (np.array([0.0, 0.0, -1.0]) - P[:3, 3])
    u, v = int(K[0, 0] * x[0] / x[2] + K[0, 2]), int(K[1, 1] * x[1] / x[2] + K[1, 2])
    assert dry.instance[0, v, u] == 0  # floor there, not the ball
    a, b = dry.rgb[0].numpy().astype(int), wet.rgb[0].numpy().astype(int)
    assert b[v, u, 0] > a[v, u, 0] + 20 and b[v, u, 0] > 2 * b[v, u, 1]  # the red glow seen in the road
    side = (v, 2)  # far to the side on the same row: only the black sky to mirror, and wet is darker
    assert b[side][0] <= a[side][0]


def test_snow_whitens_upward_surfaces_only():
    box = {"class_name": "crate", "count": 1, "primitive": "box", "size": [1.5, 1.5, 1.5],
           "material": {"texture": "flat", "color": [0.1, 0.1, 0.4]},
           "placement": {"mode": "ground", "x": 0.0, "y": 0.0, "yaw_deg": 30}, "motion": {"name": "static"}}
    env = {"ambient": 0.3, "sun": {"elevation_deg": 60, "azimuth_deg": 200, "intensity": 0.8}}
    plain = _spec(env=env, objects=[box])
    snowy = _spec(env={**env, "snow": {"flakes": 0, "coverage": 1.0}}, objects=[box])
    plain = plain.model_copy(update={"annotations": plain.annotations.model_copy(update={"normals": True})})
    _, _, a = _render(plain)
    _, _, b = _render(snowy)
    nz = a.normals[..., 2].numpy()
    top = (a.instance.numpy() == 1) & (nz > 0.95)
    side = (a.instance.numpy() == 1) & (np.abs(nz) < 0.3)
    assert top.sum() > 5 and side.sum() > 5
    ra, rb = a.rgb.numpy().astype(int), b.rgb.numpy().astype(int)
    assert (rb[top].sum(-1) > ra[top].sum(-1) + 100).all()
    assert (rb[side] == ra[side]).all()


def test_auto_exposure_brings_a_dark_frame_to_the_key():
    rgb = torch.rand(3, 8, 8, 3, generator=torch.Generator().manual_seed(0)) * 0.01
    out = expose(rgb, Exposure(ev=0.0, auto=True, key=0.18, adapt=1.0, min_ev=-16, max_ev=16))[0]
    Y = 0.2126 * out[..., 0] + 0.7152 * out[..., 1] + 0.0722 * out[..., 2]
    log_avg = torch.exp(torch.log(1e-4 + Y.double()).mean((1, 2)))
    assert torch.allclose(log_avg, torch.full_like(log_avg, 0.18), rtol=0.05)
    fixed = expose(rgb, Exposure(ev=1.0, auto=False, key=0.18, adapt=1.0, min_ev=-4, max_ev=4))[0]
    assert torch.allclose(fixed, rgb * 2)
    # rendered: a dark scene's mean luminance comes up near the key, and smoothing holds it steady
    env = {"ambient": 0.01, "sun": {"elevation_deg": 50, "intensity": 0.02}}
    _, _, dark = _render(_spec(env=env, frames=3))
    _, _, lit = _render(_spec(env=env, camera={**_spec().camera.model_dump(mode="json"),
                                                "exposure": {"auto": True, "key": 0.18, "max_ev": 10}}, frames=3))
    lin = _linear(lit.rgb)
    y = 0.2126 * lin[..., 0] + 0.7152 * lin[..., 1] + 0.0722 * lin[..., 2]
    assert dark.rgb.float().mean() < 30  # linear luminance ≈ 0.01
    assert 0.09 < np.exp(np.log(1e-4 + y).mean()) < 0.3


def test_conditions_leave_labels_alone_and_are_deterministic():
    flat = "environment.road.vertical_curvature=0"  # the wet mirror needs a flat ground
    base = tiny_spec("highway", f"clip.width={W}", f"clip.height={H}", "clip.frames=3", flat)
    over = [flat, "environment.sky_model=auto", "+environment.rain={drops: 2000}", "+environment.snow={flakes: 500, coverage: 0.5}",
            "+environment.wet={amount: 0.8, puddles: 0.3}", "+camera.exposure={auto: true}"]
    cond = synthdata.load_recipe("highway", [f"clip.width={W}", f"clip.height={H}", "clip.frames=3", "device=cpu", *over])
    _, _, a = _render(base)
    s1, _, b = _render(cond)
    _, _, c = _render(cond)
    assert s1.conditions is not None and s1.conditions.rain is not None
    for k in ("instance", "amodal", "depth", "flow_fwd", "flow_bwd", "surface"):
        assert torch.equal(torch.nan_to_num(getattr(a, k).float()), torch.nan_to_num(getattr(b, k).float())), k
    assert not torch.equal(a.rgb, b.rgb)
    assert torch.equal(b.rgb, c.rgb)


def test_recipes_without_conditions_are_unchanged():
    """New fields at their defaults: no conditions object, nothing more drawn, the same layout hash."""
    spec = tiny_spec("highway")
    assert _render(tiny_spec("shapes"))[0].conditions is None and _render(spec)[0].conditions is None
    same = synthdata.load_recipe("highway", ["environment.sky_model=fixed"])
    assert same.layout_hash() == synthdata.load_recipe("highway").layout_hash()


@pytest.mark.parametrize("override, field", [
    ("+environment.wet={amount: 2}", "amount"),
    ("+environment.rain={drops: -1}", "drops"),
    ("environment.sky_model=dusk", "sky_model"),
    ("+camera.exposure={ev: 40}", "ev"),
    ("+objects.0.material.light={falloff: 0}", "falloff"),
    ("+objects.0.material.light={cone: {angle_deg: 120}}", "angle_deg"),
])
def test_bad_condition_values_name_their_field(override, field):
    from synthdata.errors import RecipeError

    with pytest.raises(RecipeError, match=field):
        synthdata.load_recipe("highway", [override])


def test_car_lights_move_with_their_cars():
    """Every light sits at its part's place on its owner at every frame (headlights sweep with the car)."""
    from synthdata.render.raycast.conditions import RenderConditions

    spec = tiny_spec("night_rain", "clip.frames=4")
    rng = np.random.default_rng(0)
    scene = sample_scene(spec, rng)
    traj = rollout(scene, spec.clip.frames, spec.clip.fps, rng)
    rc = RenderConditions.build(scene, traj, torch.device("cpu"))
    lights = scene.conditions.lights
    assert len(lights) >= 8 and {scene.class_names[scene.objects.class_id[li.owner] - 1] for li in lights} >= {"car", "street_lamp"}
    for j, li in enumerate(lights):
        P = traj.object_poses_padded[:, li.owner]
        want = np.einsum("tij,j->ti", P[:, :3, :3], li.position) + P[:, :3, 3]
        np.testing.assert_allclose(rc.pos[:, j].numpy(), want, atol=1e-4)
        np.testing.assert_allclose(rc.axis[:, j].numpy(), P[:, :3, :3] @ li.direction, atol=1e-5)
    moving = [j for j, li in enumerate(lights) if scene.objects.motion[li.owner][0] != "static"]
    assert moving and all(np.linalg.norm(rc.pos[-1, j] - rc.pos[0, j]) > 0.5 for j in moving)
