"""Lens distortion: the models' round trips and conventions, and every label of a distorted render
agreeing with the lens projection of the 3D scene (rays, instance map, flow, tracks, keypoints, lane
lines), culling still exact, pinhole unchanged, bad coefficients refused."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from synthdata.annotate.visibility import project, to_camera
from synthdata.errors import RecipeError
from synthdata.render import make_backend
from synthdata.scene.lens import LENS_MODELS, Lens, lens_problems
from synthdata.scene.skeletons import SKELETONS

from ..conftest import STAGE, assert_visible_tracks_on_their_owner, make_tiny_clip, run_cli, spec_from_yaml, tiny_spec


BARREL = ("camera.lens.model=brown_conrady", "camera.lens.k1=-0.32", "camera.lens.k2=0.06", "camera.lens.p1=0.002",
          "camera.lens.p2=-0.001")
FISHEYE = ("camera.lens.model=fisheye", "camera.fov_deg=140", "camera.lens.k1=0.02", "camera.lens.k2=-0.004")
LENSES = {"barrel": BARREL, "fisheye": FISHEYE}
BC = Lens("brown_conrady", (("k1", -0.3), ("k2", 0.08), ("k3", -0.01), ("p1", 0.002), ("p2", -0.003)))
KB = Lens("fisheye", (("k1", 0.03), ("k2", -0.01), ("k3", 0.002), ("k4", -0.0005)))


@pytest.fixture(scope="module")
def clips():
    """A distorted highway and shapes clip per lens (96×64, 5 frames, point tracks on)."""
    tracks = ("annotations.tracks.enabled=true", "annotations.tracks.points=600", "annotations.tracks.query_stride=2",
              "annotations.lane_lines=true")
    return {(name, r): make_tiny_clip(tiny_spec(r, "clip.width=96", "clip.height=64", "clip.frames=5", *tracks,
                                                *LENSES[name]), seed=1)
            for name in LENSES for r in ("highway", "shapes")}


@pytest.mark.parametrize("lens, fov", [(BC, 90.0), (KB, 150.0)])
@pytest.mark.parametrize("kind", ["numpy", "torch64", "torch32"])
def test_distort_undistort_round_trip(lens, fov, kind):
    """undistort ∘ distort is the identity over the whole image: < 1e-6 px in float64."""
    W, H = 320, 192
    f = lens.focal(fov, W)
    assert lens_problems(lens, fov, W, H) == []
    uu, vv = np.meshgrid(np.linspace(0, W, 81), np.linspace(0, H, 49))
    xd, yd = (uu - W / 2) / f, (vv - H / 2) / f
    if kind != "numpy":
        xd, yd = (torch.as_tensor(a, dtype=torch.float64 if kind == "torch64" else torch.float32) for a in (xd, yd))
    x, y = lens.undistort(xd, yd)
    assert type(x) is type(xd) and x.dtype == xd.dtype
    rx, ry = lens.distort(x, y)
    err = float(np.abs(np.asarray(rx) - np.asarray(xd)).max() + np.abs(np.asarray(ry) - np.asarray(yd)).max()) * f
    assert err < (1e-6 if kind != "torch32" else 1e-3), err
    assert float(np.abs(np.asarray(x) - np.asarray(xd)).max()) * f > 5  # the lens really moves pixels


def test_brown_conrady_is_opencvs_and_fisheye_is_kannala_brandt():
    """Brown–Conrady against kornia's OpenCV-convention ``distort_points``; the fisheye puts a ray θ off
    the axis at f·θ(1 + k1θ² + …) from the principal point; fov_deg spans the image's side edges."""
    from kornia.geometry.calibration import distort_points

    K = np.array([[200.0, 0, 160], [0, 200.0, 96], [0, 0, 1]])
    rng = np.random.default_rng(0)
    xy = rng.uniform(-0.7, 0.7, (50, 2))
    c = BC.c
    ref = distort_points(torch.as_tensor(xy * 200 + [160, 96]), torch.as_tensor(K),
                         torch.tensor([c["k1"], c["k2"], c["p1"], c["p2"], c["k3"]], dtype=torch.float64)).numpy()
    xd, yd = BC.distort(xy[:, 0], xy[:, 1])
    np.testing.assert_allclose(np.stack([xd * 200 + 160, yd * 200 + 96], -1), ref, atol=1e-9)
    th = np.radians(np.array([10.0, 40.0, 70.0, 85.0]))
    cam = np.stack([np.sin(th), np.zeros_like(th), np.cos(th)], -1)
    u, v, _ = KB.project(cam, K)
    c = KB.c
    np.testing.assert_allclose(u - 160, 200 * th * (1 + c["k1"] * th**2 + c["k2"] * th**4 + c["k3"] * th**6 + c["k4"] * th**8))
    np.testing.assert_allclose(v, 96)
    radial = Lens("brown_conrady", tuple((k, 0.0 if k[0] == "p" else v) for k, v in BC.coeffs))
    for lens, fov in ((radial, 90.0), (KB, 150.0), (Lens(), 60.0)):  # the side edges look fov/2 off the axis
        f = lens.focal(fov, 320)
        edge = np.array([[math.tan(math.radians(fov / 2)), 0.0, 1.0]])
        u, _, _ = lens.project(edge, np.array([[f, 0, 160], [0, f, 96], [0, 0, 1]]))
        assert abs(float(u[0]) - 320) < 1e-6, lens.model


@pytest.mark.parametrize("name", list(LENSES))
def test_every_pixel_ray_lands_back_on_its_pixel(clips, name):
    """The rendered surface point at each pixel, projected through the lens, is that pixel's centre: the
    instance map agrees with the lens projection of the 3D scene (rays and labels share one model)."""
    for r in ("highway", "shapes"):
        c = clips[(name, r)]
        inst, surf = c.frames.instance.numpy(), c.frames.surface.numpy().astype(np.float64)
        T, H, W = inst.shape
        hit = np.isfinite(c.frames.depth.numpy())
        err = []
        for t in range(T):
            ys, xs = np.nonzero(hit[t])
            cam = to_camera(surf[t, ys, xs], inst[t, ys, xs].astype(np.int64), c.traj.object_poses[t:t + 1],
                            c.traj.camera_poses[t:t + 1])[0]
            u, v, _ = project(cam, c.traj.K, c.traj.lens)
            err.append(np.hypot(u - xs - 0.5, v - ys - 0.5))
        err = np.concatenate(err)
        assert (inst > 0).sum() > 50 and len(err) > 1000
        assert np.nanmax(err) < 0.05 and np.isfinite(err).all(), (r, np.nanmax(err))


@pytest.mark.parametrize("lens", [(), BARREL, FISHEYE])
def test_straight_edges_bend_and_the_instance_map_follows(tmp_path, lens):
    """A wide box's straight bottom edge, as the rendered instance map shows it: straight for the pinhole,
    bowed by barrel and fisheye lenses; and in every case exactly where the lens puts the 3D edge."""
    spec = spec_from_yaml(tmp_path, STAGE + """
objects:
  - {class_name: wall, primitive: box, size: [24, 1, 8], placement: {mode: free, x: 0, y: 0, z: -1}}
""", "clip.width=128", "clip.height=96", "clip.frames=1", "camera.fov_deg=90",
        *(o for o in lens if not o.startswith("camera.fov_deg")))
    c = make_tiny_clip(spec)
    inst = c.frames.instance[0].numpy()
    cols = np.arange(4, 124, 8)
    bottom = np.array([np.nonzero(inst[:, j] == 1)[0].max() + 1 for j in cols])  # first row below the edge
    # the edge in 3D: the box's bottom front edge (world y = -0.5, z = -5), through the lens
    xs = np.linspace(-12, 12, 4001)
    cam = to_camera(np.stack([xs, np.full_like(xs, -0.5), np.full_like(xs, -5.0)], -1), np.zeros(len(xs), np.int64),
                    c.traj.object_poses[:1], c.traj.camera_poses[:1])[0]
    u, v, _ = project(cam, c.traj.K, c.traj.lens)
    ok = np.isfinite(u)
    edge = np.interp(cols + 0.5, u[ok], v[ok])  # the projected edge's row at each column centre
    np.testing.assert_array_less(np.abs(bottom - 0.5 - edge), 1.0)  # the mask ends at the projected edge
    sag = bottom[len(cols) // 2] - bottom[[0, -1]].mean()
    assert (abs(sag) <= 1) if not lens else (sag > 6), (lens, bottom)


@pytest.mark.parametrize("name", list(LENSES))
def test_flow_is_the_distorted_projection_of_the_moved_point(clips, name):
    c = clips[(name, "highway")]
    inst, surf = c.frames.instance.numpy(), c.frames.surface.numpy().astype(np.float64)
    flow = c.frames.flow_fwd.numpy()
    T = inst.shape[0]
    checked = 0
    for t in range(T - 1):
        ys, xs = np.nonzero(np.isfinite(c.frames.depth.numpy()[t]))
        owner = inst[t, ys, xs].astype(np.int64)
        cam = to_camera(surf[t, ys, xs], owner, c.traj.object_poses[t + 1:t + 2], c.traj.camera_poses[t + 1:t + 2])[0]
        u, v, _ = project(cam, c.traj.K, c.traj.lens)
        ok = np.isfinite(u)
        np.testing.assert_allclose(flow[t, ys, xs, 0][ok], (u - xs - 0.5)[ok], atol=0.02, rtol=1e-5)
        np.testing.assert_allclose(flow[t, ys, xs, 1][ok], (v - ys - 0.5)[ok], atol=0.02, rtol=1e-5)
        checked += int(ok.sum())
    assert checked > 5000 and np.abs(flow[np.isfinite(flow)]).max() > 0.5


@pytest.mark.parametrize("name", list(LENSES))
def test_tracks_visible_means_the_instance_map_shows_the_owner(clips, name):
    for r in ("highway", "shapes"):
        c = clips[(name, r)]
        assert_visible_tracks_on_their_owner(c)
        assert len(c.labels.labels["tracks"]["x"]) % c.traj.num_frames == 0


@pytest.mark.parametrize("name", list(LENSES))
def test_box_corner_keypoints_are_the_distorted_corners_of_the_3d_box(clips, name):
    c = clips[(name, "highway")]
    kp, b3 = c.labels.labels["keypoints"], c.labels.labels["box3d"]
    lens, K = c.traj.lens, c.traj.K
    checked = 0
    for r in range(len(c.labels.class_id)):
        if c.scene.objects.primitive[r % len(c.scene.objects)] != "box":
            continue
        centre, size, q = b3[r, :3].astype(np.float64), b3[r, 3:6], b3[r, 6:].astype(np.float64)
        unit = SKELETONS.get("box").points * size / 2
        cam = centre + unit + 2 * q[3] * np.cross(q[:3], unit) + 2 * np.cross(q[:3], np.cross(q[:3], unit))
        u, v, _ = lens.project(cam, K)
        ok = np.isfinite(u) & (cam[:, 2] > 0.05)
        np.testing.assert_allclose(kp[r, :8, 0][ok], u[ok], atol=2e-2, rtol=1e-5)  # float32 box3d
        np.testing.assert_allclose(kp[r, :8, 1][ok], v[ok], atol=2e-2, rtol=1e-5)
        checked += int(ok.sum())
    assert checked > 40


@pytest.mark.parametrize("name", list(LENSES))
@pytest.mark.parametrize("recipe, extra", [("highway", ()), ("colonoscopy:plain", ()),
                                           ("highway", ("backend.supersample=2", "backend.motion_blur=2"))])
def test_culling_changes_nothing_through_a_lens(name, recipe, extra):
    """Screen-space culling stays conservative under distortion (also for the supersampled and
    motion-blurred RGB rays): bit-identical output without it."""
    spec = tiny_spec(recipe, "clip.width=48", *LENSES[name], *extra)
    clip = make_tiny_clip(spec, seed=2)
    brute = make_backend(spec.backend, "cpu")
    brute.cull = False
    full = brute.render(clip.scene, clip.traj)
    for key, value in vars(clip.frames).items():
        if value is None:  # Frames.part: only when some part swings
            assert getattr(full, key) is None, key
            continue
        assert torch.equal(value.nan_to_num(), getattr(full, key).nan_to_num()), key


def test_pinhole_lens_is_the_old_camera():
    """An explicit pinhole lens is the default: same hashes (seeds), same bytes; a lens keeps the scene."""
    a, b = tiny_spec("highway"), tiny_spec("highway", "camera.lens.model=pinhole")
    assert a.layout_hash() == b.layout_hash() and a.content_hash() == b.content_hash()
    c = tiny_spec("highway", *BARREL)
    assert c.layout_hash() == a.layout_hash() and c.content_hash() != a.content_hash()
    x, y, z = make_tiny_clip(a, 1), make_tiny_clip(b, 1), make_tiny_clip(c, 1)
    for key, value in vars(x.frames).items():
        other = getattr(y.frames, key)
        assert (value is None and other is None) or torch.equal(value.nan_to_num(), other.nan_to_num()), key
    assert "lens" not in x.scene.params["camera"] and z.scene.params["camera"]["lens"]["model"] == "brown_conrady"
    np.testing.assert_array_equal(x.traj.object_poses, z.traj.object_poses)  # same world, other lens
    assert not torch.equal(x.frames.instance, z.frames.instance)


@pytest.mark.parametrize("overrides, field, words", [
    (["camera.lens.model=fishey"], "camera.lens.model", "did you mean 'fisheye'"),
    (["camera.lens.model=brown_conrady", "camera.lens.k1=-0.9"], "camera.lens", "fold"),
    (["camera.lens.model=brown_conrady", "camera.lens.k1={uniform: [-0.9, 0]}"], "camera.lens", "fold"),
    (["camera.lens.model=fisheye", "camera.fov_deg=170"], "camera.fov_deg", "expected fov_deg ≤"),
    (["camera.lens.model=fisheye", "camera.lens.p1=0.1"], "camera.lens.p1", "not a coefficient of fisheye"),
    (["camera.lens.model=brown_conrady", "camera.lens.k1={normal: [0, 1]}"], "camera.lens.k1", "bounded"),
    (["camera.lens.k1=0.1"], "camera.lens.k1", "not a coefficient of pinhole"),
])
def test_bad_lenses_name_the_field(overrides, field, words):
    with pytest.raises(RecipeError) as e:
        tiny_spec("shapes", *overrides)
    assert e.value.field == field and words in e.value.message, e.value.message


def test_bad_lens_via_cli_is_one_line_exit_2(tmp_path):
    out = tmp_path / "never"
    r = run_cli("generate", "recipe=highway", "clips=1", f"out={out}", "clip.frames=2", "clip.width=32",
                "clip.height=32", "device=cpu", "camera.lens.model=brown_conrady", "camera.lens.k1=-0.9")
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: camera.lens"), r.stderr
    assert not out.exists()


def test_models_are_a_registry():
    assert {"pinhole", "brown_conrady", "fisheye"} <= set(LENS_MODELS.names())
