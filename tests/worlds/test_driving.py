"""The driving world's plausibility invariant — no two objects interpenetrate, the camera is never in
or near an object — on hundreds of clips, and the traffic rules that keep it (IDM, MOBIL, the guard)."""

from __future__ import annotations

import numpy as np
import pytest

import synthdata
from synthdata.geometry import pose, rot_z
from synthdata.motion import rollout
from synthdata.motion.plausibility import violations
from synthdata.scene import sample_scene
from synthdata.worlds.driving.traffic import GUARD_GAP, Agents, _consider_change, simulate

from ..conftest import run_cli

DENSE = ["objects.0.count={randint: [8, 14]}", "objects.1.count={randint: [6, 10]}", "objects.5.count={randint: [2, 4]}"]


def _clips(overrides: list[str], n: int):
    spec = synthdata.load_recipe("highway", overrides)
    for s in range(n):
        rng = np.random.default_rng(s)
        scene = sample_scene(spec, rng)
        yield scene, rollout(scene, spec.clip.frames, spec.clip.fps, rng)


@pytest.mark.parametrize("overrides, n", [([], 300), ([*DENSE, "clip.frames=36"], 60)], ids=["highway", "dense"])
def test_no_interpenetration_and_no_camera_inside(overrides, n):
    vehicles = 0
    for scene, traj in _clips(overrides, n):
        v = violations(scene, traj, margin=0.5)
        assert v.ok, (v.pairs[:3], v.camera[:3])
        vehicles += len(scene.objects)
    assert vehicles > 3 * n


def test_the_checker_catches_overlaps_and_a_camera_inside():
    """The invariant's checker is itself checked: a car spawned inside a truck, a camera in a car."""
    scene, traj = next(_clips([], 1))
    P = traj.object_poses_padded.copy()
    P[:, 1] = P[:, 0]  # object 1 exactly where object 0 is
    bad = type(traj)(P, traj.camera_poses_padded, traj.K, traj.fps)
    assert {(i, j) for _, i, j in violations(scene, bad).pairs} >= {(0, 1)}
    cam = traj.camera_poses_padded.copy()
    cam[:, :3, 3] = P[:, 0, :3, 3]
    assert violations(scene, type(traj)(traj.object_poses_padded, cam, traj.K, traj.fps)).camera


def _agents(s, v, lane, v0, d=None, length=None, politeness=0.3):
    n = len(s)
    ones = np.ones(n)
    lane = np.array(lane)
    return Agents(d=np.ones(n) if d is None else np.array(d, float), s=np.array(s, float), v=np.array(v, float),
                  length=4.5 * ones if length is None else np.array(length, float), lane=lane, target=lane.copy(),
                  offset=np.zeros(n),
                  since=np.zeros(n), v0=np.array(v0, float), T=1.5 * ones, s0=2.0 * ones, a=1.5 * ones, b=2.0 * ones,
                  p=politeness * ones, bsafe=4.0 * ones)


def test_a_fast_car_slows_behind_a_slow_one_when_it_cannot_pass():
    """One lane: the follower (wants 30 m/s) closes in, brakes, and settles behind the leader (10 m/s)
    at about IDM's equilibrium gap s0 + v·T — it never reaches the leader."""
    times = np.arange(0, 30, 0.1)
    x, y, _ = simulate(_agents([60, 0], [10, 30], [0, 0], [10, 30]), times, lanes=1, lane_width=3.5)
    gap = x[:, 0] - x[:, 1] - 4.5
    speed = np.gradient(x[:, 1], times)
    assert gap.min() >= GUARD_GAP and abs(speed[-1] - 10) < 0.5
    assert 2 + 10 * 1.5 - 3 < gap[-1] < 2 + 10 * 1.5 + 6


def test_a_fast_car_changes_lanes_when_the_next_lane_is_free_and_not_when_it_is_taken():
    """Selfish drivers (politeness 0): the fast car moves over and passes; with a car alongside in the
    other lane there is no safe gap and it stays behind. Polite ones: the slow leader makes way."""
    times = np.arange(0, 12, 0.1)
    x, y, _ = simulate(_agents([40, 0], [10, 28], [0, 0], [10, 28], politeness=0), times, lanes=2, lane_width=3.5)
    assert y[-1, 1] == pytest.approx(-5.25) and y[-1, 0] == pytest.approx(-1.75) and x[-1, 1] > x[-1, 0]
    for behind, changes in ((-1, False), (-30, False), (-60, True)):  # a car in the other lane, 28 m/s
        ag = _agents([40, 0, behind], [10, 28, 28], [0, 0, 1], [10, 28, 28], politeness=0)
        _consider_change(ag, 1, lanes=2)  # alongside: no gap; 30 m back it would brake > 4 m/s²: unsafe
        assert (ag.target[1] == 1) == changes, behind
    x, y, _ = simulate(_agents([40, 0], [10, 28], [0, 0], [10, 28], politeness=0.3), times, lanes=2, lane_width=3.5)
    assert y[-1, 0] != y[-1, 1] and x[-1, 1] > x[-1, 0]


def test_oncoming_lanes_drive_the_other_way_and_vehicles_rest_on_the_road():
    """In road coordinates (the bend undone) vehicles right of the centre drive +s, left of it −s; every
    object's bottom face rests on the (graded) road surface at its contact point."""
    for scene, traj in _clips([], 30):
        shape = scene.environment.shape
        P = traj.object_poses
        s, d = shape.to_ground(P[..., 0, 3], P[..., 1, 3])
        ds = s[-1] - s[0]
        side = np.sign(d[0])
        moving = np.array([m[0] == "traffic" for m in scene.objects.motion])
        assert np.all(((side < 0) & moving) <= (ds >= 0)) and np.all(((side > 0) & moving) <= (ds <= 0))
        contact = P[..., :3, 3] - scene.objects.half_size[:, 2, None] * P[..., :3, 2]  # centre − half height · up
        np.testing.assert_allclose(contact[..., 2], shape.height(contact[..., 0]), atol=2e-3)


def test_placement_redraws_and_counts_what_does_not_fit():
    spec = synthdata.load_recipe("shapes", ["objects.0.count=40", "objects.0.placement.x={uniform: [-1, 1]}",
                                            "objects.0.placement.y={uniform: [-1, 1]}"])
    scene = sample_scene(spec, np.random.default_rng(0))
    assert scene.params["dropped"]["sphere"] > 0
    assert len(scene.objects) == sum(scene.params["counts"].values())
    P = scene.objects.pose0
    from synthdata.geometry import boxes_overlap

    h = scene.objects.half_size
    i, j = np.triu_indices(len(P), 1)
    assert not boxes_overlap(P[i, :3, 3], P[i, :3, :3], h[i] - 1e-6, P[j, :3, 3], P[j, :3, :3], h[j] - 1e-6).any()


@pytest.mark.parametrize("override, field", [
    ("objects.0.count=80", "objects.0.count"),
    ("objects.0.count={randint: [50, 60]}", "objects.0.count"),
    ("objects.0.motion.params.speed=-5", "objects.0.motion.params"),
    ("objects.0.motion.name=trafic", "objects.0.motion.name"),
    ("objects.0.placement.gap=[-1, 0, 0]", "objects.0.placement.gap"),
])
def test_bad_traffic_input_is_one_line_exit_2(override, field, tmp_path):
    r = run_cli("generate", "recipe=highway", "clips=1", f"out={tmp_path / 'out'}", override, "device=cpu")
    assert r.returncode == 2 and r.stderr.strip().count("\n") == 0 and field in r.stderr, r.stderr
    assert not (tmp_path / "out").exists()


def test_road_labels_agree_with_the_paint_and_the_ego_lane():
    """The ``road`` and ``lane`` maps come from the geometry that paints the road: white marks are lane
    lines or edges, yellow the centre line, green the verge; the pixels just ahead of the camera are in
    the ego's lane."""
    from ..conftest import make_tiny_clip, tiny_spec

    roads, rgbs = [], []
    for seed in range(3):
        c = make_tiny_clip(tiny_spec("highway", "clip.width=160", "clip.height=96", "clip.frames=3",
                                     "annotations.road=true", "annotations.lane=true", "environment.fog_density=0",
                                     "backend.shadows=false"), seed=seed)
        road, lane = c.labels.labels["road"], c.labels.labels["lane"]
        assert ((road > 0) <= ((c.frames.instance.numpy() == 0) & np.isfinite(c.frames.depth.numpy()))).all()
        roads.append(road)
        rgbs.append(c.frames.rgb.numpy().astype(int))
        expected, lanes = c.scene.params["camera"]["lane"], c.scene.params["road"]["lanes"]
        assert lane[0, -2, 80] == expected, (lane[0, -2, 75:85], expected)
        assert set(np.unique(lane)) <= set(range(-lanes, lanes + 1))
    road, rgb = np.concatenate(roads), np.concatenate(rgbs)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    yellow = road == 4
    assert yellow.sum() > 20 and np.median((r - b)[yellow]) > 60  # yellow paint: red ≫ blue
    green = road == 5
    assert green.sum() > 20 and np.median((g - r)[green]) > 10
    white, asphalt = (road == 2) | (road == 3), road == 1
    assert np.median(rgb[white].sum(-1)) > np.median(rgb[asphalt].sum(-1)) + 150


def test_velocities_are_the_motion_derivative():
    from ..conftest import make_tiny_clip, tiny_spec

    c = make_tiny_clip(tiny_spec("highway", "clip.frames=5"), seed=2)
    v = c.labels.labels["velocity"].reshape(5, -1, 3)
    P = c.traj.object_poses_padded[..., :3, 3]
    np.testing.assert_allclose(v[2], (P[4] - P[2]) * c.traj.fps / 2, rtol=1e-5, atol=1e-4)
    speeds = np.linalg.norm(v, axis=-1)[:, [m[0] == "traffic" for m in c.scene.objects.motion]]
    assert (speeds > 5).mean() > 0.8 and (speeds < 40).all()  # traffic at road speeds
    cam = c.labels.labels["camera_velocity"]
    assert cam.shape == (5, 3) and 10 < np.linalg.norm(cam[0]) < 35


def test_lane_line_polylines_lie_on_their_paint():
    """Projected road lines fall on the painted marks of the ``road`` map (edges, centre) and between
    different lanes of the ``lane`` map (dashed lane lines)."""
    from ..conftest import make_tiny_clip, tiny_spec

    c = make_tiny_clip(tiny_spec("highway", "clip.width=320", "clip.height=192", "clip.frames=2", "annotations.road=true",
                                 "annotations.lane=true", "annotations.lane_lines=true"), seed=4)
    road, lane, inst = c.labels.labels["road"], c.labels.labels["lane"], c.frames.instance.numpy()
    checked = 0
    lanes = c.scene.params["road"]["lanes"]
    kinds = ["road_edge", *["lane_line"] * (lanes - 1), "centre_line", *["lane_line"] * (lanes - 1), "road_edge"]
    for t, lines in enumerate(c.labels.labels["lane_lines"]):
        assert [l["kind"] for l in lines] == kinds
        for line in lines:
            for u, v in line["points"]:
                x, y = int(u), int(v)
                if y < 130 or not (4 <= x < 316) or (inst[t, y - 2:y + 3, x - 4:x + 5] > 0).any():
                    continue  # far (lines merge), at the border, or hidden by a vehicle
                window = road[t, y - 2:y + 3, x - 3:x + 4]
                if line["kind"] == "road_edge":
                    assert (window == 3).any()
                elif line["kind"] == "centre_line":
                    assert (window == 4).any()
                else:
                    assert lane[t, y, x - 4] != lane[t, y, x + 4]
                checked += 1
    assert checked > 20


def test_night_rain_lights_are_lit_and_the_rest_is_dark():
    """At night, lit head/tail lights (emissive parts) are the brightest red and white on the cars; the
    sky is dark; the recipe is `highway` with night conditions (same traffic, same plausibility)."""
    from ..conftest import make_tiny_clip, tiny_spec

    reds = 0
    for seed in range(3):
        c = make_tiny_clip(tiny_spec("night_rain", "clip.width=320", "clip.height=192", "clip.frames=2"), seed=seed)
        rgb, inst = c.frames.rgb.numpy().astype(int), c.frames.instance.numpy()
        sky = ~np.isfinite(c.frames.depth.numpy())
        assert rgb[sky].mean() < 25
        red = (inst > 0) & (rgb[..., 0] > 180) & (rgb[..., 1] < 0.6 * rgb[..., 0])
        reds += int(red.sum())
        assert violations(c.scene, c.traj, margin=0.5).ok
    assert reds > 5  # tail lights of the cars ahead


def test_emissive_is_checked_and_zero_changes_nothing():
    from synthdata.errors import RecipeError

    with pytest.raises(RecipeError, match="emissive"):
        synthdata.load_recipe("shapes", ["objects.0.material.emissive=-1"])
    a = synthdata.load_recipe("shapes", ["objects.0.material.emissive=0"])
    assert a.layout_hash() == synthdata.load_recipe("shapes").layout_hash()  # same clips as before emissive
