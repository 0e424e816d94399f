"""Articulated agents (recipes/recipe/pedestrians.yaml): swinging limbs, skeletons on the limbs, the
``walk`` motion on the sidewalks and cyclists in the kerb lane; tiny clips (64×48, ≤ 6 frames)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import synthdata
from synthdata.errors import RecipeError
from synthdata.motion import rollout
from synthdata.motion.parts import part_motion, part_poses
from synthdata.motion.plausibility import violations
from synthdata.recipe.loading import parse_spec
from synthdata.run.check import check_recipe
from synthdata.scene import sample_scene
from synthdata.worlds.driving.agents import sidewalk_band

from ..conftest import make_tiny_clip, tiny_spec

TINY = ("clip.width=64", "clip.height=48", "clip.frames=6")


def _walker_spec(*, speed: float = 1.5, swing: bool = True, tracks: bool = False, count: int = 1, cyclist: bool = False):
    """One pedestrian (or cyclist) seen side-on from 5 m: the legs span many pixels at 64×48."""
    data = tiny_spec("pedestrians", *TINY, "device=cpu").model_dump(mode="json")
    group = data["objects"][2 if cyclist else 0]
    group["count"] = count
    group["placement"] = {**group["placement"], "x": 0.0 if count == 1 else {"uniform": [-1.5, 2.0]},
                          "y": -5.25 if cyclist else -9.6}
    if cyclist:
        group["motion"] = {"name": "traffic", "params": {"speed": speed, "keep_lane": 1}}
    else:
        group["motion"] = {"name": "walk", "params": {"speed": speed, "direction": 1.0}}
    if not swing:
        group["parts"] = [{k: v for k, v in p.items() if k != "swing"} for p in group["parts"]]
    data["objects"] = [group]
    y = -5.25 if cyclist else -9.5
    data["camera"] = {"fov_deg": 40.0, "position": [0.2, y + 5.0, 0.9], "look_at": [0.2, y, 0.9], "motion": {"name": "static"}}
    data["environment"]["sun"] = None
    if tracks:
        data["annotations"]["tracks"] = {"enabled": True, "points": 1500, "query_stride": 3, "min_per_surface": 8}
    return check_recipe(parse_spec(data))


def _layout(spec, seed: int):
    rng = np.random.default_rng(seed)
    scene = sample_scene(spec, rng)
    return scene, rollout(scene, spec.clip.frames, spec.clip.fps, rng)


# -- bodies ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("group", [0, 2], ids=["pedestrian", "cyclist"])
def test_parts_stay_inside_the_object_box_at_every_phase(group):
    """Every corner of every part's box, at 400 distances over several gait cycles, lies within the
    object's box (which boxes, 3D boxes and plausibility use), for the smallest and largest bodies."""
    spec = tiny_spec("pedestrians")
    worst = -np.inf
    for size_z in (1.6, 1.9) if group == 0 else (1.75,):
        data = spec.model_dump(mode="json")
        g = data["objects"][group]
        g["size"] = [g["size"][0], g["size"][1], size_z]
        data["objects"] = [{**g, "count": 1}]
        scene, _ = _layout(check_recipe(parse_spec(data)), 0)
        half = scene.objects.half_size[0]
        corners = np.array([[i, j, k] for i in (-1, 1) for j in (-1, 1) for k in (-1, 1)], float)
        dist = np.linspace(0, 12, 400)
        parts = scene.objects.parts[0]
        motion = part_motion([p.swing for p in parts], dist)  # (400, J, 4, 4), parents included
        for j, part in enumerate(parts):
            pose = motion[:, j] @ part.offset
            pts = (pose[..., :3, :3] @ (corners * part.half_size).T).swapaxes(-1, -2) + pose[..., None, :3, 3]
            worst = max(worst, float((np.abs(pts) - half).max()))
    assert worst <= 1e-9, worst


def test_walking_limbs_move_while_the_object_box_keeps_its_size():
    """With swings the legs' pixels differ from the same walk with rigid limbs (both render the same
    poses); the head does not; the 3D box is the object's, the same size in every frame."""
    a = make_tiny_clip(_walker_spec(), seed=0)
    b = make_tiny_clip(_walker_spec(swing=False), seed=0)
    ia, ib = a.frames.instance.numpy(), b.frames.instance.numpy()
    assert (ia == 1).sum() > 200
    rows = np.flatnonzero((ib == 1).any((0, 2)))
    top, bottom = rows.min(), rows.max()
    legs = slice(top + (bottom - top) // 2, bottom + 1)
    head = slice(top, top + (bottom - top) // 6)
    differ = [(ia[t, legs] != ib[t, legs]).sum() for t in range(6)]
    assert sum(d > 3 for d in differ) >= 4, differ
    assert (ia[:, head] == ib[:, head]).all()
    # the walker's own legs change shape from frame to frame (in its own frame: shift by its motion)
    assert len({int((ia[t] == 1).sum()) for t in range(6)}) >= 3
    size = a.labels.labels["box3d"][:, 3:6]  # (T·N, 3) l, w, h
    np.testing.assert_allclose(size, np.broadcast_to(2 * a.scene.objects.half_size[0], size.shape), rtol=1e-6)
    np.testing.assert_array_equal(a.labels.labels["box3d"], b.labels.labels["box3d"])


def test_a_standing_pedestrian_does_not_swing():
    spec = _walker_spec(speed=0.0)
    scene, traj = _layout(spec, 0)
    pp = part_poses(scene, traj)
    assert pp.animated
    assert (pp.offset == pp.offset[:1]).all()  # the same pose at every frame, bit for bit
    np.testing.assert_allclose(pp.offset[0], pp.rest, atol=1e-12)  # phases 0 and ½ stand at rest
    f = make_tiny_clip(spec, seed=0).frames
    assert all(torch.equal(f.instance[0], f.instance[t]) for t in range(1, 6))


def test_compounds_without_swings_take_the_rigid_path():
    """A compound without swings renders through the rigid path: no part map, same bytes as a copy."""
    a = make_tiny_clip(_walker_spec(swing=False), seed=1)
    assert a.frames.part is None and not part_poses(a.scene, a.traj).animated


def test_keypoints_ride_the_animated_limbs():
    """Each joint's keypoint is the projection of its rest point turned about its limb's pivot by the
    swing angle of the distance walked so far (written out here from the recipe's numbers)."""
    spec = _walker_spec()
    c = make_tiny_clip(spec, seed=0)
    scene, traj = c.scene, c.traj
    sk = scene.skeletons["pedestrian"]
    body = spec.objects[0]
    half = scene.objects.half_size[0]
    kp = c.labels.labels["keypoints"]  # (T·N, K, 3)
    xyz = traj.object_poses_padded[:, 0, :3, 3]
    walked = np.concatenate([[0], np.cumsum(np.linalg.norm(np.diff(xyz[:, :2], axis=0), axis=1))])[1:-1]
    assert walked[-1] > 0.5
    moved = 0.0
    for k, name in enumerate(sk.names):
        part = sk.parts[k]
        p = np.asarray(sk.points[k]) * half
        out = []
        for t in range(6):
            q, j = p, part
            while j is not None and body.parts[j].swing is not None:  # own swing, then each parent's
                sw = body.parts[j].swing
                theta = np.radians(sw.amplitude_deg) * np.sin(2 * np.pi * (walked[t] / sw.stride + sw.phase))
                c_, s_ = np.cos(theta), np.sin(theta)
                Ry = np.array([[c_, 0, s_], [0, 1, 0], [-s_, 0, c_]])
                piv = np.asarray(sw.pivot) * half
                q, j = piv + Ry @ (q - piv), sw.parent
            w = traj.object_poses[t, 0] @ np.append(q, 1)
            cam = np.linalg.inv(traj.camera_poses[t]) @ w
            uv = (traj.K @ cam[:3])[:2] / cam[2]
            np.testing.assert_allclose(kp[t, k, :2], uv, atol=2e-3, err_msg=f"{name} frame {t}")
            out.append(uv)
        if name == "left_ankle":
            hip = np.array([kp[t, sk.names.index("left_hip"), :2] for t in range(6)])
            moved = np.ptp(np.array(out)[:, 0] - hip[:, 0])
    assert moved > 1.0  # the ankle swings relative to the hip by over a pixel
    assert (kp[:, :, 2] == 2).any()  # COCO visibility still decided by the depth test


def test_point_tracks_on_a_walking_pedestrian_keep_the_invariants():
    """Visible ⇒ the pixel shows the track's owner; each visible step equals the renderer's flow at the
    query pixel (< 0.01 px), for points on swinging limbs too."""
    c = make_tiny_clip(_walker_spec(tracks=True), seed=0)
    tr = c.labels.labels["tracks"]
    T = c.traj.num_frames
    P = len(tr["point_id"]) // T
    a = {k: v.reshape(P, T) for k, v in tr.items()}
    inst, part = c.frames.instance.numpy(), c.frames.part.numpy()
    q = a["query_frame"][:, 0]
    qx, qy = np.floor(a["x"][np.arange(P), q]).astype(int), np.floor(a["y"][np.arange(P), q]).astype(int)
    limb = a["foreground"][:, 0] & np.isin(part[q, qy, qx], list(range(3, 11)))
    assert limb.sum() > 30
    t = np.broadcast_to(np.arange(T), (P, T))
    m = a["visible"]
    px, py = np.floor(a["x"][m]).astype(int), np.floor(a["y"][m]).astype(int)
    assert (inst[t[m], py, px] == a["track_id"][m] + 1).all()
    worst, n, n_limb = 0.0, 0, 0
    for step, flow in ((1, c.frames.flow_fwd.numpy()), (-1, c.frames.flow_bwd.numpy())):
        i = np.flatnonzero((q + step >= 0) & (q + step < T))
        f = flow[q[i], qy[i], qx[i]]
        d = np.stack([a["x"][i, q[i] + step] - a["x"][i, q[i]], a["y"][i, q[i] + step] - a["y"][i, q[i]]], 1)
        ok = np.isfinite(f).all(1) & a["visible"][i, q[i] + step]
        worst, n, n_limb = max(worst, float(np.abs(d[ok] - f[ok]).max())), n + int(ok.sum()), n_limb + int((ok & limb[i]).sum())
    assert n > 300 and n_limb > 20 and worst < 0.01, (n, n_limb, worst)


def test_same_seed_same_bytes():
    a = make_tiny_clip(_walker_spec(tracks=True, count=2), seed=4)
    b = make_tiny_clip(_walker_spec(tracks=True, count=2), seed=4)
    for k in ("rgb", "instance", "surface", "flow_fwd", "part"):
        assert torch.equal(getattr(a.frames, k), getattr(b.frames, k)), k
    assert a.labels.labels["keypoints"].tobytes() == b.labels.labels["keypoints"].tobytes()
    assert all(np.array_equal(a.labels.labels["tracks"][k], b.labels.labels["tracks"][k]) for k in a.labels.labels["tracks"])


def test_a_cyclist_pedals_and_keeps_its_lane():
    c = make_tiny_clip(_walker_spec(cyclist=True, speed=6.0), seed=0)
    assert (c.frames.instance.numpy() == 1).sum() > 100 and c.frames.part is not None
    P = c.traj.object_poses
    np.testing.assert_allclose(P[:, 0, 1, 3], -5.25)
    pp = part_poses(c.scene, c.traj)
    legs = [j for j, p in enumerate(c.scene.objects.parts[0]) if p.swing is not None]
    assert len(legs) == 4 and not np.allclose(pp.offset[1, legs], pp.offset[-2, legs])


# -- motion ------------------------------------------------------------------------------------------------
CROWD = ("objects.0.count={randint: [10, 16]}", "objects.1.count={randint: [8, 14]}", "objects.2.count={randint: [1, 3]}",
         "objects.3.count={randint: [2, 4]}", "clip.frames=24")


def test_a_crowded_sidewalk_never_interpenetrates_and_stays_on_the_sidewalk():
    """60 seeded clips, 2 s each, 20–34 walkers + cyclists + cars: no overlapping pair at any frame; every
    walker's body stays inside its sidewalk band, at 0–1.7 m/s, facing the way it walks, on the ground."""
    spec = synthdata.load_recipe("pedestrians", list(CROWD))
    inner, outer = sidewalk_band(2, 3.5, 0.6, 0.15, 3.0)
    walkers = pairs = 0
    for seed in range(60):
        scene, traj = _layout(spec, seed)
        v = violations(scene, traj)
        assert v.ok, (seed, v.pairs[:3], v.camera[:3])
        names = np.array(scene.class_names)[scene.objects.class_id - 1]
        ped = np.flatnonzero(names == "pedestrian")
        P, half = traj.object_poses[:, ped], scene.objects.half_size[ped]
        ay = np.abs(P[..., 1, 3])
        assert (ay - half[:, 1] >= inner - 1e-9).all() and (ay + half[:, 1] <= outer + 1e-9).all()
        speed = np.linalg.norm(np.diff(P[..., :2, 3], axis=0), axis=-1) * spec.clip.fps
        assert (speed <= 1.7 + 1e-6).all()
        heading = np.sign(np.diff(P[..., 0, 3], axis=0))
        assert ((heading == 0) | (heading == np.sign(P[1:, :, 0, 0]))).all()
        np.testing.assert_allclose(P[..., 2, 3], np.broadcast_to(half[:, 2], P.shape[:2]))
        cyc = np.flatnonzero(names == "cyclist")
        np.testing.assert_allclose(np.abs(traj.object_poses[:, cyc, 1, 3]), 5.25)
        walkers += len(ped)
        pairs += len(scene.objects.class_id) * (len(scene.objects.class_id) - 1) // 2
    assert walkers > 60 * 18 and pairs > 10_000


def test_walkers_follow_instead_of_passing_through():
    """Two walkers in one file, the rear one faster and close behind: it holds back to the leader's pace
    at min_gap + speed × RELAX_S (0.8 m), never closer than min_gap."""
    spec = _walker_spec(count=2)
    scene, traj = _layout(spec, 0)
    from synthdata.worlds.driving.agents import walk
    from synthdata.motion.registry import MotionContext
    pose0 = scene.objects.pose0.copy()
    pose0[:, 0, 3] = [0.0, 1.2]
    pose0[:, 1, 3] = -9.6
    half = scene.objects.half_size
    p = {"speed": np.array([1.7, 1.0]), "direction": np.array([1.0, 1.0]), "min_gap": np.array([0.3, 0.3]),
         "lanes": np.array([2.0, 2.0]), "lane_width": np.array([3.5, 3.5]), "verge": np.array([0.6, 0.6]),
         "curb": np.array([0.15, 0.15]), "sidewalk_width": np.array([3.0, 3.0])}
    ctx = MotionContext(times=np.arange(62) / 12, rng=np.random.default_rng(0), tube_radius=1.0)
    x = walk(pose0, half, p, ctx)[..., 0, 3]
    gap = x[:, 1] - x[:, 0] - half[0, 0] - half[1, 0]
    assert gap.min() >= 0.3 - 1e-9 and abs(gap[-1] - 0.8) < 0.01
    np.testing.assert_allclose(np.diff(x[-10:], axis=0) * 12, 1.0, atol=1e-3)  # both at the leader's pace


# -- recipe errors -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("override, field", [
    ("objects.0.keypoints.parts=[0]", "keypoints: parts: expected one part index per name"),
    ("objects.0.keypoints.parts=[2,2,2,2,2,3,5,3,5,4,6,7,9,7,9,8,11]", r"keypoints.parts: expected part indices in \[-1, 10\]"),
    ("objects.0.parts.3.swing.amplitude_deg=120", "amplitude_deg"),
    ("objects.0.parts.3.swing.axis=[0,0,0]", "axis"),
])
def test_bad_swings_and_keypoint_parts_name_the_field(override, field):
    with pytest.raises(RecipeError, match=field):
        synthdata.load_recipe("pedestrians", [override])


def test_cars_overtake_a_cyclist_who_keeps_the_kerb_lane():
    """A cyclist (6 m/s, keep_lane) in the kerb lane with a car (14 m/s) behind: polite or not, the
    cyclist never moves over (without keep_lane a polite slow leader makes way); the car changes lanes,
    passes, and never comes closer than the guard gap."""
    from synthdata.worlds.driving.traffic import GUARD_GAP, Agents, simulate

    times = np.arange(0, 14, 0.1)
    for keep, politeness in ((1.0, 0.0), (1.0, 1.0), (0.0, 1.0)):
        n = 2
        ones = np.ones(n)
        lane = np.array([1, 1])
        ag = Agents(d=ones.copy(), s=np.array([30.0, 0.0]), v=np.array([6.0, 14.0]), length=np.array([1.75, 4.5]),
                    lane=lane, target=lane.copy(), since=np.zeros(n), offset=np.zeros(n), v0=np.array([6.0, 14.0]),
                    T=1.5 * ones, s0=2.0 * ones, a=1.5 * ones, b=2.0 * ones, p=politeness * ones, bsafe=4.0 * ones,
                    keep=np.array([keep, 0.0]))
        x, y, _ = simulate(ag, times, lanes=2, lane_width=3.5)
        if keep:
            assert (y[:, 0] == -5.25).all() and x[-1, 1] > x[-1, 0] + 5
            assert (y[:, 1] > -5.25).any()  # the car moved over to pass
        else:
            assert (y[:, 0] != -5.25).any()  # the check has teeth: without keep_lane the cyclist moves over
        same = np.abs(y[:, 0] - y[:, 1]) < 1.0
        gap = np.abs(x[:, 0] - x[:, 1]) - (1.75 + 4.5) / 2
        assert (gap[same] >= GUARD_GAP - 1e-9).all()


def test_a_sidewalk_too_narrow_for_walkers_names_the_field():
    with pytest.raises(RecipeError, match="objects.0.motion.params"):
        synthdata.load_recipe("pedestrians", ["objects.0.motion.params.sidewalk_width=1.2"])


def test_a_swing_parent_must_come_earlier():
    with pytest.raises(RecipeError, match=r"parts.8.swing.parent: expected an earlier part \(index < 8\), got 9"):
        synthdata.load_recipe("pedestrians", ["objects.0.parts.8.swing.parent=9"])


def test_a_shin_rides_its_thigh():
    """The knee (a point on the shin's pivot) moves exactly with the thigh; the ankle adds the shin's own swing."""
    spec = _walker_spec()
    scene, traj = _layout(spec, 0)
    pp = part_poses(scene, traj)
    m = pp.motion(traj.num_frames + 2)
    thigh, shin = 7, 8
    knee = np.append(scene.objects.parts[0][shin].swing.pivot, 1)
    np.testing.assert_allclose(m[:, shin] @ knee, m[:, thigh] @ knee, atol=1e-12)
    ankle = np.append(np.array([-0.094, 0.33, -0.898]) * scene.objects.half_size[0], 1)
    assert np.abs((m[:, shin] @ ankle) - (m[:, thigh] @ ankle)).max() > 0.005


def test_a_walker_stops_behind_a_lamp_post_in_its_file():
    """Static objects (motion ``static``) on the sidewalk are obstacles: the walker stops min_gap short."""
    from synthdata.geometry import pose as make_pose
    from synthdata.motion.registry import MotionContext
    from synthdata.worlds.driving.agents import walk

    p = {k: np.array([v]) for k, v in dict(speed=1.5, direction=1.0, min_gap=0.3, lanes=2, lane_width=3.5, verge=0.6,
                                           curb=0.15, sidewalk_width=3.0).items()}
    half = np.array([[0.375, 0.275, 0.875]])
    lamp = make_pose(np.eye(3), [2.0, -9.6, 3.5])[None]
    ctx = MotionContext(times=np.arange(50) / 12, rng=np.random.default_rng(0), tube_radius=1.0)
    ctx.shared["static"] = (lamp, np.array([[0.2, 0.8, 3.5]]))
    x = walk(make_pose(np.eye(3), [0.0, -9.6, 0.875])[None], half, p, ctx)[:, 0, 0, 3]
    assert x[-1] == pytest.approx(2.0 - 0.2 - 0.375 - 0.3, abs=1e-3) and x.max() <= x[-1] + 1e-9


def test_pedestrians_pasted_into_urban_meet_nothing():
    """The recipe's pedestrian group in the urban recipe (a road with sidewalks, lamp posts on them,
    crossings): 15 clips, no interpenetrating pair, walkers inside the road's sidewalk band."""
    spec = synthdata.load_recipe("urban", ["clip.frames=24"])
    ped = tiny_spec("pedestrians").model_dump(mode="json")["objects"][0]
    ped["placement"] = {"mode": "roadside", "x": {"uniform": [0, 60]},
                        "y": {"choice": [{"uniform": [-3.0, -0.5]}, {"uniform": [0.5, 3.0]}]}, "gap": [0.3, 0.1, 0.0]}
    ped["count"] = {"randint": [4, 10]}
    data = spec.model_dump(mode="json")
    data["objects"].append(ped)
    spec = check_recipe(parse_spec(data))
    walkers = 0
    for seed in range(15):
        scene, traj = _layout(spec, seed)
        v = violations(scene, traj)
        assert not v.pairs, (seed, v.pairs[:3])
        walkers += int((scene.objects.class_id == scene.class_names.index("pedestrian") + 1).sum())
    assert walkers > 60
