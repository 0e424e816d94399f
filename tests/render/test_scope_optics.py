"""Scope optics (issue 13 item 2, docs/endoscopy.md): the field stop blanks pixels and labels outside its
circle and leaves every inside pixel as it was; vignetting follows its law on RGB only; light guides
in the camera frame put highlights where the half-vector geometry says and fall off as inverse
square; sensor-metered auto-exposure lags a sudden close-up and keeps a wall at 2 mm red-out. All at
mm scale in a 3 cm tube (metres everywhere)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from synthdata.annotate import annotate
from synthdata.geometry import look_at
from synthdata.motion import rollout
from synthdata.render import make_backend
from synthdata.scene import sample_scene

from ..conftest import spec_from_yaml

#: A fisheye scope in a 3 cm tube, polyps of 6–10 mm on the wall (metres).
SCOPE = """
name: scope
clip: {frames: 4, fps: 10, width: 48, height: 48}
camera:
  fov_deg: 120
  position: [0.0, 0.006, -0.004]
  look_at: [0.05, 0.0, 0.0]
  motion: {name: endoscope, params: {advance: 0.02, roll_deg_per_second: 20, wobble_deg: 2}}
  lens: {model: fisheye, k1: 0.02}
environment:
  kind: tube
  tube_radius: 0.03
  ground: {texture: tissue, color: [0.86, 0.5, 0.45], color2: [0.45, 0.08, 0.1], scale: 150, specular: 0.5, shininess: 40}
  sun: null
  headlight: {intensity: 0.8, falloff: 3000, color: [1.0, 0.97, 0.92]}
  ambient: 0.02
objects:
  - class_name: polyp
    count: 3
    primitive: ellipsoid
    size: [{uniform: [0.006, 0.01]}, {uniform: [0.006, 0.01]}, {uniform: [0.006, 0.01]}]
    material: {texture: tissue, color: [0.93, 0.6, 0.5], color2: [0.6, 0.15, 0.15], scale: 300, specular: 0.8, shininess: 60}
    placement: {mode: wall, x: {uniform: [0.01, 0.04]}, angle_deg: {uniform: [0, 360]}}
"""
GUIDES = ("environment.headlight.guides=[{offset:[0.0035,0,0],intensity:0.6,exponent:1.5},"
          "{offset:[-0.0035,0,0],intensity:0.6,exponent:1.5}]")


def _spec(tmp_path, *overrides):
    """The SCOPE recipe at 48×48 (4 frames) with ``overrides``."""
    return spec_from_yaml(tmp_path, SCOPE, "clip.width=48", "clip.height=48", *overrides)


def _clip(spec, seed=0, traj_fn=None):
    rng = np.random.default_rng(seed)
    scene = sample_scene(spec, rng)
    traj = rollout(scene, spec.clip.frames, spec.clip.fps, rng)
    if traj_fn is not None:
        traj = traj_fn(traj)
    return scene, traj, make_backend(spec.backend, "cpu").render(scene, traj)


def _circle(scene, shrink=0.0):
    """(H,W) bool: pixel centres inside the field stop (radius minus ``shrink`` pixels)."""
    cam = scene.camera
    r = cam.stop.radius * min(cam.width, cam.height) / 2 - shrink
    v, u = np.mgrid[0:cam.height, 0:cam.width] + 0.5
    return (u - cam.K[0, 2]) ** 2 + (v - cam.K[1, 2]) ** 2 < r * r


def _linear_bounds(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The linear values a uint8 display value can come from (gamma 2.2, rounding)."""
    v = v.astype(np.float64)
    return (np.clip(v - 0.5, 0, None) / 255) ** 2.2, ((v + 0.5) / 255) ** 2.2


# -- field stop ------------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", [[], ["backend.rolling_shutter=0.5", "backend.rolling_bands=6"]],
                         ids=["global", "rolling"])
def test_field_stop_blanks_labels_outside_and_keeps_inside_bit_identical(tmp_path, backend):
    plain = _spec(tmp_path, *backend)
    masked = _spec(tmp_path, "camera.mask.radius=0.8", *backend)
    assert masked.layout_hash() == plain.layout_hash()  # rendering only: the same scenes
    s0, t0, f0 = _clip(plain, seed=2)
    s1, t1, f1 = _clip(masked, seed=2)
    inside = torch.as_tensor(_circle(s1))
    out = ~inside
    assert out.sum() > 400 and (f0.amodal[:, :, out].any() or (f0.instance[:, out] > 0).any()), "polyps reach the border"
    # outside: black, no hit, no label
    assert (f1.rgb[:, out] == 0).all()
    assert (f1.instance[:, out] == 0).all() and not f1.amodal[:, :, out].any()
    assert torch.isinf(f1.depth[:, out]).all() and (f1.depth[:, out] > 0).all()
    assert torch.isnan(f1.flow_fwd[:, out]).all() and torch.isnan(f1.flow_bwd[:, out]).all()
    assert (f1.normals[:, out] == 0).all() and (f1.surface[:, out] == 0).all()
    labels = annotate(f1, s1, t1, masked.annotations)
    assert (labels.semantic[:, ~_circle(s1)] == 0).all()
    vis = labels.visible_pixels > 0
    assert vis.any()
    for box in np.concatenate([labels.bbox_visible[vis], labels.bbox_amodal[labels.amodal_pixels > 0]]):
        # every box lies within the circle's bounding square (the coverage it comes from is inside)
        c, r = s1.camera.K[:2, 2], 0.8 * 24
        assert box[0] >= c[0] - r - 1 and box[2] <= c[0] + r + 1 and box[1] >= c[1] - r - 1 and box[3] <= c[1] + r + 1
    # inside: every map exactly as without the stop
    for key in ("rgb", "instance", "depth", "normals", "surface", "flow_fwd", "flow_bwd"):
        a, b = getattr(f0, key)[:, inside], getattr(f1, key)[:, inside]
        assert torch.equal(a.nan_to_num(), b.nan_to_num()), key
    assert torch.equal(f0.amodal[:, :, inside], f1.amodal[:, :, inside])


def test_field_stop_border_stays_black_under_noise_blur_and_supersampling(tmp_path):
    spec = _spec(tmp_path, "camera.mask.radius=0.9", "backend.supersample=2", "backend.motion_blur=2",
                 "backend.sensor_noise={shot:0.05,read:0.02}", "clip.width=32", "clip.height=32", "clip.frames=2")
    scene, _, frames = _clip(spec, seed=3)
    out = torch.as_tensor(~_circle(scene))
    assert (frames.rgb[:, out] == 0).all() and (frames.instance[:, out] == 0).all()
    assert (frames.rgb[:, ~out] > 0).any(-1).float().mean() > 0.9  # inside: the lit wall


def test_points_outside_the_field_stop_are_not_in_view(tmp_path):
    """Tracks and keypoints that project into the black border are out of view, like points off the image."""
    spec = _spec(tmp_path, "camera.mask.radius=0.7", "annotations.tracks.points=300", "annotations.tracks.query_stride=2")
    scene, traj, frames = _clip(spec, seed=2)
    labels = annotate(frames, scene, traj, spec.annotations)
    view = _circle(scene)

    def where(x, y):  # in the image; and whether the pixel is inside the circle
        img = (x >= 0) & (x < 48) & (y >= 0) & (y < 48)
        px, py = np.clip(np.nan_to_num(x), 0, 47).astype(int), np.clip(np.nan_to_num(y), 0, 47).astype(int)
        return img, img & view[py, px]

    tr = labels.labels["tracks"]
    img, circ = where(tr["x"], tr["y"])
    front = tr["depth"] > 0
    assert (front & img & ~circ).sum() > 50  # points do land in the border
    assert np.array_equal(tr["in_view"], front & circ)
    assert not tr["visible"][~circ].any()
    kp = labels.labels["keypoints"]  # (T·N, K, 3) x, y, v
    img, circ = where(kp[..., 0], kp[..., 1])
    assert (img & ~circ & (kp[..., 2] >= 0)).any()
    assert (kp[..., 2][~circ & (kp[..., 2] >= 0)] == 0).all()


def test_field_stop_feather_darkens_only_rgb_at_the_rim(tmp_path):
    hard = _clip(_spec(tmp_path, "camera.mask.radius=0.9"), seed=1)
    soft = _clip(_spec(tmp_path, "camera.mask.radius=0.9", "camera.mask.feather=3"), seed=1)
    for key in ("instance", "depth", "amodal"):
        assert torch.equal(getattr(hard[2], key), getattr(soft[2], key)), key
    deep = torch.as_tensor(_circle(hard[0], shrink=3.0))
    rim = torch.as_tensor(_circle(hard[0])) & ~deep
    assert torch.equal(hard[2].rgb[:, deep], soft[2].rgb[:, deep])
    assert (soft[2].rgb[:, rim].int() <= hard[2].rgb[:, rim].int()).all()
    assert soft[2].rgb[:, rim].float().mean() < 0.8 * hard[2].rgb[:, rim].float().mean()


def test_field_stop_lets_a_wide_fisheye_cast_only_its_circle(tmp_path):
    """A 160° fisheye's image corners would look beyond 88° (refused); inside a field stop only the circle
    is cast, so it renders, and its rim looks fov/2 off the axis."""
    from synthdata.errors import RecipeError

    with pytest.raises(RecipeError, match="camera.fov_deg"):
        _spec(tmp_path, "camera.fov_deg=160")
    scene, traj, frames = _clip(_spec(tmp_path, "camera.fov_deg=160", "camera.mask.radius=1.0"))
    inside = torch.as_tensor(_circle(scene))
    assert torch.isfinite(frames.depth[:, inside]).all()  # the tube wall everywhere inside
    assert (frames.rgb[:, ~inside] == 0).all() and torch.isinf(frames.depth[:, ~inside]).all()
    cam = scene.camera
    x, _ = cam.lens.undistort(np.array([(cam.width - 0.5 - cam.K[0, 2]) / cam.K[0, 0]]), np.array([0.0]))
    assert np.degrees(np.arctan(x[0])) == pytest.approx(80, abs=2)


def test_scope_fields_off_leave_hashes(tmp_path):
    """Off by default: no scope field changes either hash of a recipe that does not use it."""
    import synthdata

    a = synthdata.load_recipe("shapes")
    b = synthdata.load_recipe("shapes", ["camera.mask=null", "camera.vignetting=null",
                                              "environment.headlight.guides=[]", "environment.headlight.scatter=null"])
    assert a.layout_hash() == b.layout_hash() and a.content_hash() == b.content_hash()
    c = synthdata.load_recipe("shapes", ["camera.mask.radius=0.9", GUIDES])
    assert c.layout_hash() == a.layout_hash() and c.content_hash() != a.content_hash()


# -- vignetting ------------------------------------------------------------------------------------
#: a uniform scene: flat albedo lit only by ambient light, so every pixel has the same radiance
UNIFORM = ("environment.ground.texture=flat", "environment.ground.color=[0.8,0.8,0.8]",
           "environment.ground.specular=0", "environment.ambient=1.0", "environment.headlight.intensity=0",
           "objects.0.count=0", "camera.mask.radius=1.0")


@pytest.mark.parametrize("model, law", [
    ("cos4", lambda th, rho: 1 - 0.6 * (1 - np.cos(th) ** 4)),
    ("radial", lambda th, rho: 1 - 0.5 * rho ** 2.5),
])
def test_vignetting_follows_its_law_on_rgb_only(tmp_path, model, law):
    base = _spec(tmp_path, *UNIFORM)
    vig = _spec(tmp_path, *UNIFORM, f"camera.vignetting.model={model}",
                         "camera.vignetting.strength=" + ("0.6" if model == "cos4" else "0.5"), "camera.vignetting.power=2.5")
    s0, _, f0 = _clip(base)
    s1, _, f1 = _clip(vig)
    for key in ("instance", "depth", "flow_fwd", "amodal", "normals"):
        assert torch.equal(getattr(f0, key).nan_to_num(), getattr(f1, key).nan_to_num()), key
    cam = s1.camera
    inside = _circle(s1)
    v0, v1 = f0.rgb.numpy()[..., 1], f1.rgb.numpy()[..., 1]
    assert (v0[:, inside] == v0[0, 24, 24]).all()  # the scene is uniform
    v, u = np.mgrid[0:cam.height, 0:cam.width] + 0.5
    x, y = cam.lens.undistort((u - cam.K[0, 2]) / cam.K[0, 0], (v - cam.K[1, 2]) / cam.K[1, 1])
    rho = np.hypot(u - cam.K[0, 2], v - cam.K[1, 2]) / (cam.stop.radius * 24)
    g = law(np.arctan(np.hypot(x, y)), rho)
    lo0, hi0 = _linear_bounds(v0)
    lo1, hi1 = _linear_bounds(v1)
    lo0, hi0, lo1, hi1 = (a[:, inside] for a in (lo0, hi0, lo1, hi1))
    assert ((g[inside] >= lo1 / hi0 - 1e-4) & (g[inside] <= hi1 / lo0 + 1e-4)).all()
    # centre / edge: the centre keeps its brightness, the rim falls to the law's value
    rim = inside & ~_circle(s1, shrink=1.5)
    assert v1[:, 24, 24].min() >= v0[0, 24, 24] - 1
    ratio = (v1[:, rim].mean() / v0[0, 24, 24]) ** 2.2
    assert abs(ratio - g[rim].mean()) < 0.03, (ratio, g[rim].mean())
    assert g[rim].mean() < 0.75


# -- light guides ----------------------------------------------------------------------------------
#: a black, glossy floor seen straight down from millimetres: only highlights are visible
FLOOR = """
name: floor
clip: {frames: 3, fps: 10, width: 64, height: 64}
camera: {fov_deg: 60, position: [0.0, 0.0, 0.02], look_at: [0.0, 0.0, 0.0], motion: {name: static}}
environment:
  kind: ground
  ground: {texture: flat, color: [0.0, 0.0, 0.0], specular: 1.0, shininess: 500}
  sun: null
  headlight: {intensity: 0.5, falloff: 0.0}
  ambient: 0.0
objects: [{class_name: thing, count: 0}]
"""
FLOOR_SIZE = ("clip.width=64", "clip.height=64", "clip.frames=3")


def _moving_camera(heights, xs):
    """Trajectory edit: frame k's camera straight down from height heights[k] above (xs[k], 0, 0)."""
    def edit(traj):
        h = np.concatenate([[heights[0]], heights, [heights[-1]]])
        x = np.concatenate([[xs[0]], xs, [xs[-1]]])
        poses = np.stack([look_at(np.array([xi, 0.0, hi]), np.array([xi, 0.0, 0.0])) for xi, hi in zip(x, h)])
        return dataclasses.replace(traj, camera_poses_padded=poses)
    return edit


def _peak(img: np.ndarray) -> np.ndarray:
    """Brightness-weighted centre (pixels, centres at +0.5) of the brightest spot of an (H,W) image."""
    iy, ix = np.unravel_index(np.argmax(img), img.shape)
    y0, y1, x0, x1 = max(iy - 2, 0), iy + 3, max(ix - 2, 0), ix + 3
    w = img[y0:y1, x0:x1].astype(np.float64)
    w = np.clip(w - w.min(), 0, None)
    yy, xx = np.mgrid[y0:y1, x0:x1] + 0.5
    return np.array([(w * xx).sum() / w.sum(), (w * yy).sum() / w.sum()])


@pytest.mark.parametrize("offset", [(0.004, 0.0, 0.0), (-0.003, 0.0025, 0.001)])
def test_guide_highlight_sits_where_the_half_vector_says(tmp_path, offset):
    """The mirror image of the guide in the floor, seen from the lens: the highlight pixel. The guide is
    fixed in the camera frame, so it moves with the camera (height and position change every frame)."""
    o = ",".join(str(v) for v in offset)
    spec = spec_from_yaml(tmp_path, FLOOR, f"environment.headlight.guides=[{{offset:[{o}],intensity:0.3,exponent:0}}]",
                          *FLOOR_SIZE)
    heights, xs = np.array([0.02, 0.012, 0.03]), np.array([0.0, 0.01, -0.02])
    scene, traj, frames = _clip(spec, traj_fn=_moving_camera(heights, xs))
    K = scene.camera.K
    for k in range(3):
        cam = traj.camera_poses[k]
        g = cam[:3, 3] + cam[:3, :3] @ np.asarray(offset)  # the guide in the world
        mirror, eye = g * [1, 1, -1], cam[:3, 3]
        p = eye + (mirror - eye) * (eye[2] / (eye[2] - mirror[2]))  # where the lens sees the mirror image
        c = cam[:3, :3].T @ (p - eye)
        predicted = K[:2, :2] @ (c[:2] / c[2]) + K[:2, 2]
        found = _peak(frames.rgb[k].numpy().max(-1))
        assert np.abs(found - predicted).max() < 0.7, (k, found, predicted)
        assert np.abs(predicted - K[:2, 2]).max() > 2  # off the image centre
    # without guides the headlight at the lens puts it at the centre
    _, _, plain = _clip(spec_from_yaml(tmp_path, FLOOR, *FLOOR_SIZE), traj_fn=_moving_camera(heights, xs))
    assert np.abs(_peak(plain.rgb[0].numpy().max(-1)) - K[:2, 2]).max() < 0.7


def test_guide_irradiance_falls_off_as_inverse_square(tmp_path):
    radius = 5e-4
    spec = spec_from_yaml(tmp_path, FLOOR, *FLOOR_SIZE, "environment.ground.color=[0.8,0.8,0.8]", "environment.ground.specular=0",
                          f"environment.headlight.guides=[{{offset:[0,0,0],intensity:0.2,exponent:0,radius:{radius},"
                          "reference:0.02}]")
    heights = np.array([0.01, 0.02, 0.04])
    _, _, frames = _clip(spec, traj_fn=_moving_camera(heights, np.zeros(3)))
    centre = frames.rgb[:, 31:33, 31:33, 1].numpy().astype(np.float64).mean((1, 2)).round()  # nadir, n·l ≈ 1
    lo, hi = _linear_bounds(centre)
    e = (0.02**2 + radius**2) / (heights**2 + radius**2)  # the law, relative to the reference distance
    for i in range(3):
        for j in range(i + 1, 3):
            want = e[i] / e[j]
            assert lo[i] / hi[j] * 0.995 <= want <= hi[i] / lo[j] * 1.005, (i, j, want, lo[i] / hi[j], hi[i] / lo[j])
    assert 0.2 * 0.8**2.2 * e[1] == pytest.approx((centre[1] / 255) ** 2.2, rel=0.03)  # reference: the intensity


# -- auto-exposure: lag and red-out ----------------------------------------------------------------
SCOPE_AE = ("camera.mask.radius=1.0", GUIDES, "environment.headlight.scatter.distance=0.005",
            "camera.exposure.auto=true", "camera.exposure.meter=sensor", "camera.exposure.key=0.25",
            "camera.exposure.adapt=0.7", "camera.exposure.min_ev=-8", "camera.exposure.max_ev=8",
            "objects.0.count=0", "clip.frames=10", "camera.lens.k1=0", "environment.ground.specular=0.1")


def _lumen_then_wall(switch: int, distances):
    """Trajectory edit: frames before ``switch`` on the tube's axis looking down the lumen, then facing
    the wall (down, −z) at ``distances[k]`` metres from it (3 cm tube)."""
    def edit(traj):
        T = traj.num_frames
        poses = []
        for k in range(-1, T + 1):
            kk = min(max(k, 0), T - 1)
            if kk < switch:
                poses.append(look_at(np.array([0.0, 0.0, 0.0]), np.array([1.0, 0.0, 0.0])))
            else:
                z = -0.03 + distances[kk - switch]
                poses.append(look_at(np.array([0.0, 0.0, z]), np.array([0.0, 0.0, -1.0]), up=np.array([1.0, 0.0, 0.0])))
        return dataclasses.replace(traj, camera_poses_padded=np.stack(poses))
    return edit


def _mean_display(frames, scene) -> np.ndarray:
    inside = _circle(scene)
    return frames.rgb.numpy()[:, inside].astype(np.float64).mean(1)  # (T,3)


def test_sudden_close_up_is_over_exposed_then_recovers(tmp_path):
    """Sensor metering lags: the first frame facing the wall (8 mm away) comes from the lumen's gain and
    is blown out, then the gain recovers. Metering each frame's own scene, unsmoothed, has no such frame."""
    edit = _lumen_then_wall(4, [0.008] * 6)
    scene, _, lag = _clip(_spec(tmp_path, *SCOPE_AE), traj_fn=edit)
    _, _, now = _clip(_spec(tmp_path, *SCOPE_AE, "camera.exposure.meter=scene", "camera.exposure.adapt=1"), traj_fn=edit)
    inside = _circle(scene)
    clipped = (lag.rgb.numpy()[:, inside] == 255).any(-1).mean(1)
    mean = _mean_display(lag, scene).mean(1)
    assert clipped[3] < 0.05 and clipped[4] > 0.5, clipped  # the jump blows the frame out
    assert all(mean[k + 1] <= mean[k] + 0.5 for k in range(4, 9)), mean  # then recovers, frame by frame
    assert mean[9] < 0.8 * mean[4] and clipped[9] < 0.5 * clipped[4], (mean, clipped)
    clipped_now = (now.rgb.numpy()[:, inside] == 255).any(-1).mean(1)
    assert clipped_now[4] < 0.5 * clipped[4]


def test_wall_at_two_millimetres_is_red_out(tmp_path):
    """Approaching the wall to 2 mm: tissue scatter turns it red and the luminance meter, seeing a
    clipped red channel and low green, keeps it there: red saturated, green and blue low."""
    edit = _lumen_then_wall(0, np.linspace(0.012, 0.002, 10))
    scene, _, frames = _clip(_spec(tmp_path, *SCOPE_AE), traj_fn=edit)
    m = _mean_display(frames, scene)
    centre = frames.rgb[-1].numpy()[_circle(scene, shrink=10)].astype(np.float64).mean(0)
    assert centre[0] >= 245 and centre[1] < 90 and centre[2] < 90, centre
    assert np.median(frames.rgb[-1].numpy()[_circle(scene)][:, 0]) == 255
    assert m[0, 1] > m[-1, 1] + 30  # far from the wall the colour is tissue pink, not red
    # without scatter the same approach is just a pink wall: red not saturated, more green per red
    _, _, pink = _clip(_spec(tmp_path, *SCOPE_AE, "environment.headlight.scatter=null"), traj_fn=edit)
    pink_centre = pink.rgb[-1].numpy()[_circle(scene, shrink=10)].astype(np.float64).mean(0)
    assert pink_centre[0] < 245 and pink_centre[1] / pink_centre[0] > 1.5 * centre[1] / centre[0], (pink_centre, centre)


def test_exposure_is_deterministic_and_labels_untouched(tmp_path):
    spec = _spec(tmp_path, *SCOPE_AE, "objects.0.count=2", "clip.frames=4")
    a, b = _clip(spec, seed=4), _clip(spec, seed=4)
    assert torch.equal(a[2].rgb, b[2].rgb)
    off = _clip(_spec(tmp_path, *SCOPE_AE, "objects.0.count=2", "clip.frames=4",
                               "camera.exposure=null", "environment.headlight.scatter=null"), seed=4)
    for key in ("instance", "depth", "amodal"):
        assert torch.equal(getattr(a[2], key), getattr(off[2], key)), key


@pytest.mark.parametrize("override, words", [
    ("camera.mask.radius=0", "camera.mask.radius"),
    ("camera.vignetting.strength=2", "camera.vignetting.strength"),
    ("environment.headlight.guides=[{direction:[0,0,0]}]", "direction"),
    ("environment.headlight.scatter.color=[2,0,0]", "scatter.color"),
    ("camera.exposure.meter=spot", "camera.exposure.meter"),
    ("camera.vignetting.model=cos3", "camera.vignetting.model"),
])
def test_bad_optics_input_is_one_line(tmp_path, override, words):
    from synthdata.errors import RecipeError

    with pytest.raises(RecipeError) as e:
        _spec(tmp_path, override)
    assert words in str(e.value) and "\n" not in str(e.value)
