"""Road scenes: the bent and graded ground (one mapping for geometry, paint and labels), lanes that
follow the clip's lane count, crossings with traffic lights that traffic obeys, and the urban recipe's
plausibility."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import synthdata
from synthdata.motion import rollout
from synthdata.motion.plausibility import violations
from synthdata.scene import sample_scene
from synthdata.scene.ground import GroundShape, RoadLayout

from ..conftest import make_tiny_clip, run_cli, tiny_spec


def _clips(recipe: str, overrides: list[str], n: int, start: int = 0):
    spec = synthdata.load_recipe(recipe, overrides)
    for s in range(start, start + n):
        rng = np.random.default_rng(s)
        scene = sample_scene(spec, rng)
        yield scene, rollout(scene, spec.clip.frames, spec.clip.fps, rng)


@pytest.mark.parametrize("k", [0.004, -0.004, 1 / 80])
def test_the_bend_maps_road_coordinates_both_ways_in_numpy_and_torch(k):
    shape = GroundShape(curvature=k)
    s, d = np.meshgrid(np.linspace(-150, 150, 31), np.linspace(-30, 30, 13))
    x, y = shape.to_world_xy(s, d)
    s2, d2 = shape.to_ground(x, y)
    np.testing.assert_allclose(s2, s, atol=1e-9)
    np.testing.assert_allclose(d2, d, atol=1e-9)
    st, dt = shape.to_ground(torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.float32))
    np.testing.assert_allclose(st.numpy(), s, atol=5e-3)
    np.testing.assert_allclose(dt.numpy(), d, atol=5e-3)
    # the road's heading at s is κ·s: a unit step along s moves the world point along it
    x1, y1 = shape.to_world_xy(s + 1e-4, d)
    heading = np.arctan2(y1 - y, x1 - x)
    np.testing.assert_allclose(heading, k * s, atol=1e-5)


def test_warped_poses_rest_on_the_graded_ground_and_identity_is_exact():
    shape = GroundShape(curvature=0.003, vertical_curvature=-0.0008)
    P = np.tile(np.eye(4), (5, 1, 1))
    P[:, 0, 3] = [-150, -60, 0, 60, 150]
    P[:, 1, 3] = [-5, 2, 0, 7, -3]
    P[:, 2, 3] = 0.8  # a centre 0.8 m above its contact point
    W = shape.warp(P)
    contact = W[:, :3, 3] - 0.8 * W[:, :3, 2]
    np.testing.assert_allclose(contact[:, 2], shape.height(contact[:, 0]), atol=1e-9)
    up = np.stack([-shape.slope(contact[:, 0]), np.zeros(5), np.ones(5)], -1)
    np.testing.assert_allclose(W[:, :3, 2], up / np.linalg.norm(up, axis=-1, keepdims=True), atol=1e-9)
    np.testing.assert_allclose(W[:, :3, :3] @ W[:, :3, :3].transpose(0, 2, 1), np.broadcast_to(np.eye(3), (5, 3, 3)), atol=1e-12)
    assert GroundShape().warp(P) is P
    # tangent planes continue the vertical curve beyond its extent: height and grade are continuous
    e = shape.extent
    for x in (e, -e):
        np.testing.assert_allclose(shape.height(x - 1e-6), shape.height(x + 1e-6), atol=1e-6)
        np.testing.assert_allclose(shape.slope(x - 1e-6), shape.slope(x + 1e-6), atol=1e-6)


@pytest.mark.parametrize("a", [0.0008, -0.0008])
def test_rendered_ground_lies_on_the_graded_surface(a):
    """The ray-caster's ground hits (depth + surface) lie on z = height(x), sags and crests alike, out
    beyond the vertical curve's extent."""
    c = make_tiny_clip(tiny_spec("highway", "clip.width=160", "clip.height=96", "clip.frames=2",
                                 f"environment.road.vertical_curvature={a}", "environment.road.curvature=0.003"), seed=1)
    ground = (c.frames.instance.numpy() == 0) & np.isfinite(c.frames.depth.numpy())
    p = c.frames.surface.numpy()[ground].astype(np.float64)
    shape = c.scene.environment.shape
    if a > 0:  # a sag: the view reaches the tangent plane beyond (over a crest the road drops from view)
        assert np.abs(p[:, 0]).max() > shape.extent
    err = np.abs(p[:, 2] - shape.height(p[:, 0]))
    assert (err <= 2e-3 + 2e-4 * np.abs(p[:, 0])).all(), err.max()  # float32 rays, hits up to ~1 km away


def test_lanes_follow_the_lane_count_whatever_it_is():
    """camera.lane and placement.lane are fractions of the side: every lane of a 1-4 lane road gets
    used, each vehicle sits on a lane centre, the ego too."""
    seen: dict[int, set[int]] = {}
    for scene, traj in _clips("highway", [], 60):
        road = scene.environment.road
        seen.setdefault(road.lanes, set()).add(scene.params["camera"]["lane"])
        assert scene.camera.pose0[1, 3] == pytest.approx(road.lane_centre(scene.params["camera"]["lane"]))
        moving = [i for i, m in enumerate(scene.objects.motion) if m[0] == "traffic"]
        centres = {round(road.lane_centre(k), 6) for k in [*range(1, road.lanes + 1), *range(-road.lanes, 0)]}
        assert {round(scene.objects.pose0[i, 1, 3], 6) for i in moving} <= centres
    assert set(seen) == {1, 2, 3, 4}
    assert all(seen[n] == set(range(1, n + 1)) for n in seen if n <= 2)


def test_paint_and_labels_agree_on_a_bent_road_with_a_crossing():
    """White paint (lane lines, edges, zebra bars, stop lines) is bright where the road map says so and
    the asphalt dark, on a bent urban street with a crossing, sidewalks and a parking strip."""
    white, asphalt, classes = [], [], set()
    for seed in range(4):
        c = make_tiny_clip(tiny_spec("urban", "clip.width=240", "clip.height=144", "clip.frames=2",
                                     "annotations.road=true", "environment.fog_density=0", "backend.shadows=false",
                                     "environment.road.intersection.probability=1", "environment.road.intersection.at=20",
                                     "environment.road.curvature=0.003"), seed=seed)
        road, rgb = c.labels.labels["road"], c.frames.rgb.numpy().astype(int).sum(-1)
        classes |= set(np.unique(road).tolist())
        inner = np.zeros_like(road, bool)
        inner[:, 1:-1, 1:-1] = True
        for cls in (2, 3, 7, 8):
            same = inner & (road == cls) & (np.roll(road, 1, 1) == cls) & (np.roll(road, -1, 1) == cls) \
                & (np.roll(road, 1, 2) == cls) & (np.roll(road, -1, 2) == cls)
            white.append(rgb[same])
        asphalt.append(rgb[inner & (road == 1)])
    white, asphalt = np.concatenate(white), np.concatenate(asphalt)
    assert {1, 6, 7, 8, 9} <= classes  # drivable, sidewalk, crosswalk, stop line, kerb all seen
    assert len(white) > 50 and np.quantile(white, 0.05) > np.quantile(asphalt, 0.95), (np.quantile(white, 0.05), np.quantile(asphalt, 0.95))


def test_red_means_stop_green_means_go_and_the_lamps_say_which():
    """With the main road's light red, no main-road agent (the ego included) crosses its stop line while
    the crossing road's traffic drives through the crossing; with green the opposite. Each traffic light
    shows its road's state: the lamp of that colour glows, the others are dark, and ``signal_state``
    says the same."""
    passed = {"main": 0, "cross": 0}
    for light in ("red", "green"):
        ov = ["environment.road.intersection.probability=1", f"environment.road.intersection.light={light}",
              "environment.road.intersection.at=35", "objects.2.count=4"]
        for scene, traj in _clips("urban", ov, 12):
            road = scene.environment.road
            at = road.intersection.at
            P = traj.object_poses
            s, d = scene.environment.shape.to_ground(P[..., 0, 3], P[..., 1, 3])
            for i, (name, _) in enumerate(scene.objects.motion):
                if name != "traffic":
                    continue
                cross = abs(scene.objects.pose0[i, 0, 0]) < 0.5
                which = "cross" if cross else "main"
                direction = np.sign(scene.objects.pose0[i, 1, 0]) if cross else np.sign(scene.objects.pose0[i, 0, 0])
                along = (d[:, i] if cross else s[:, i] - at) * direction  # signed distance past the crossing
                front = along + scene.objects.half_size[i, 0]
                stop = -road.stop_distance(which)
                if road.light_of(which) == "red" and front[0] <= stop:
                    assert front.max() <= stop + 1e-6, (which, front.max(), stop)
                elif road.light_of(which) == "green" and along[0] < 0 < along[-1]:
                    passed[which] += 1
            cam_s, _ = scene.environment.shape.to_ground(traj.camera_poses[:, 0, 3], traj.camera_poses[:, 1, 3])
            if light == "red":
                assert cam_s.max() < at - road.stop_distance("main")
            lights = [i for i, c in enumerate(scene.objects.class_id) if scene.class_names[c - 1] == "traffic_light"]
            assert len(lights) == 4
            for n, i in enumerate(lights):
                state = scene.objects.state[i]
                assert state == road.light_of("main" if n < 2 else "cross")
                lamps = {p.material.color[0].round(3).tobytes(): p for p in scene.objects.parts[i] if p.primitive == "ellipsoid"}
                glowing = [p for p in scene.objects.parts[i] if p.material.emissive is not None and p.material.emissive[0] > 0]
                assert len(glowing) == 1 and len(lamps) == 3
                r, g = glowing[0].material.color[0][:2]
                assert (r > g) == (state == "red")
    assert passed["main"] > 0 and passed["cross"] > 0


def test_signal_state_label_is_written_per_traffic_light(tmp_path):
    out = tmp_path / "ds"
    synthdata.generate("urban", clips=1, out=out, compute="sync", progress=False,
                       overrides=["clip.width=64", "clip.height=48", "clip.frames=2", "device=cpu",
                                  "environment.road.intersection.probability=1"])
    objs = synthdata.open_dataset(out).objects.to_pandas()
    lights = objs[objs.class_name == "traffic_light"]
    assert len(lights) == 8 and set(lights.signal_state) <= {"red", "green"} and lights.signal_state.nunique() == 2
    assert objs[objs.class_name != "traffic_light"].signal_state.isna().all()


@pytest.mark.parametrize("recipe, n", [("urban", 150)])
def test_urban_never_interpenetrates_and_the_camera_stays_clear(recipe, n):
    objects = 0
    for scene, traj in _clips(recipe, [], n):
        v = violations(scene, traj, margin=0.5)
        assert v.ok, (v.pairs[:3], v.camera[:3])
        objects += len(scene.objects)
    assert objects > 10 * n


@pytest.mark.parametrize("override, field", [
    ("environment.road.lanes=5", "environment.road.lanes"),
    ("environment.road.curvature=0.05", "environment.road.curvature"),
    ("environment.ground.texture=flat", "environment.road"),
    ("objects.0.placement.road=verge", "objects.0.placement: road"),
    ("environment.road.intersection.light=purple", "environment.road.intersection.light"),
])
def test_bad_road_input_is_one_line_exit_2(override, field, tmp_path):
    r = run_cli("generate", "recipe=urban", "clips=1", f"out={tmp_path / 'out'}", override, "device=cpu")
    assert r.returncode == 2 and r.stderr.strip().count("\n") == 0 and field in r.stderr, r.stderr
    assert not (tmp_path / "out").exists()


def test_a_road_placement_without_a_road_is_refused(tmp_path):
    r = run_cli("generate", "recipe=shapes", "clips=1", f"out={tmp_path / 'out'}", "objects.0.placement.mode=lane")
    assert r.returncode == 2 and "needs environment.road" in r.stderr and r.stderr.strip().count("\n") == 0, r.stderr


def test_a_wet_mirror_on_a_graded_road_is_refused(tmp_path):
    """The wet ground mirrors in a flat plane; a graded road would reflect wrongly, so it is refused."""
    r = run_cli("validate", "highway", "+environment.wet={amount: 0.5}")
    assert r.returncode == 2 and "environment.wet" in r.stderr and r.stderr.strip().count("\n") == 0, r.stderr
    assert len(r.stderr) < 300  # the message, not the whole recipe
    assert run_cli("validate", "highway", "+environment.wet={amount: 0.5}",
                   "environment.road.vertical_curvature=0").returncode == 0


def test_lane_polylines_carry_world_points_on_the_bent_graded_road_and_their_lanes():
    """Each line's ``world`` points lie on the ground at the line's offset across the road, project to
    its image ``points``, and ``lanes`` names the lanes either side as the ``lane`` map does."""
    c = make_tiny_clip(tiny_spec("highway", "clip.width=320", "clip.height=192", "clip.frames=2", "annotations.lane=true",
                                 "annotations.lane_lines=true", "environment.road.lanes=3",
                                 "environment.road.curvature=0.004", "environment.road.vertical_curvature=0.0008"), seed=5)
    shape, lane, inst = c.scene.environment.shape, c.labels.labels["lane"], c.frames.instance.numpy()
    checked = 0
    for t, lines in enumerate(c.labels.labels["lane_lines"]):
        w2c = np.linalg.inv(c.traj.camera_poses[t])
        for line in lines:
            if not line["points"]:
                continue
            W, P = np.array(line["world"], float), np.array(line["points"], float)
            s, d = shape.to_ground(W[:, 0], W[:, 1])
            np.testing.assert_allclose(d, line["y"], atol=1e-3)
            np.testing.assert_allclose(W[:, 2], shape.height(W[:, 0]), atol=1e-3)
            cam = W @ w2c[:3, :3].T + w2c[:3, 3]
            K = c.traj.K
            np.testing.assert_allclose(P[:, 0], K[0, 0] * cam[:, 0] / cam[:, 2] + K[0, 2], atol=1e-2)
            np.testing.assert_allclose(P[:, 1], K[1, 1] * cam[:, 1] / cam[:, 2] + K[1, 2], atol=1e-2)
            right, left = line["lanes"]
            for u, v in P:
                x, y = int(u), int(v)
                if y < 120 or not (8 <= x < 312) or (inst[t, y - 3:y + 4, x - 8:x + 9] > 0).any():
                    continue
                # the lane map a few pixels either side of the line: right lane (−y side) is where +x drivers
                # see it on their right, i.e. towards larger image x when looking along +s
                sides = {int(lane[t, y, x - 6]), int(lane[t, y, x + 6])}
                assert sides == {right, left}, (line["kind"], sides, (right, left))
                checked += 1
    assert checked > 20
