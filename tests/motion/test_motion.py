import numpy as np
import pytest

from synthdata.geometry import look_at, pose, rot_z
from synthdata.motion import CAMERA_MOTIONS, OBJECT_MOTIONS, MotionContext, rollout
from synthdata.scene import sample_scene

from ..conftest import tiny_spec


def ctx(T=25, fps=12.0, seed=0):
    return MotionContext(times=np.arange(T) / fps, rng=np.random.default_rng(seed), tube_radius=1.0)


def params(name, n, **kw):
    model = OBJECT_MOTIONS.get(name).params(**kw).model_dump()
    return {k: np.full(n, float(v)) for k, v in model.items()}


def test_rollout_shapes_and_padding():
    spec = tiny_spec()
    rng = np.random.default_rng(0)
    scene = sample_scene(spec, rng)
    traj = rollout(scene, 4, 12.0, rng)
    n = len(scene.objects)
    assert traj.object_poses_padded.shape == (6, n, 4, 4) and traj.object_poses.shape == (4, n, 4, 4)
    assert traj.camera_poses.shape == (4, 4, 4) and traj.K.shape == (3, 3)
    cam = scene.camera  # the camera owns its image: size and K decided once, in the scene
    assert (cam.width, cam.height) == (spec.clip.width, spec.clip.height) and traj.K is cam.K
    assert traj.K[0, 2] == cam.width / 2 and traj.K[1, 2] == cam.height / 2
    np.testing.assert_allclose(traj.timestamps, np.arange(4) / 12.0)
    R = traj.object_poses[..., :3, :3]
    np.testing.assert_allclose(R @ np.swapaxes(R, -1, -2), np.broadcast_to(np.eye(3), R.shape), atol=1e-9)


def test_every_registered_motion_returns_valid_poses():
    p0 = pose(rot_z(np.array([0.3, 1.0])), np.array([[0, 0, 0.5], [2, 1, 2.0]]))
    half = np.full((2, 3), 0.5)
    for name in OBJECT_MOTIONS.names():
        out = OBJECT_MOTIONS.get(name).fn(p0, half, params(name, 2), ctx())
        assert out.shape == (25, 2, 4, 4), name
        if name == "walk":  # steps onto its sidewalk (a placement off it is moved on), facing its way: tests/worlds
            continue
        np.testing.assert_allclose(out[0, :, :3, 3], p0[:, :3, 3], atol=1e-9, err_msg=name)  # starts where placed
        if name not in ("lane_follow", "traffic"):  # these turn the object to face its travel
            np.testing.assert_allclose(out[0], p0, atol=1e-9, err_msg=name)
    cam0 = look_at(np.array([0, -8, 4.0]), np.array([0, 0, 0.5]))
    for name in CAMERA_MOTIONS.names():
        m = CAMERA_MOTIONS.get(name)
        out = m.fn(cam0, np.array([0, 0, 0.5]), m.params(), ctx())
        assert out.shape == (25, 4, 4), name
        R = out[:, :3, :3]
        np.testing.assert_allclose(R @ np.swapaxes(R, -1, -2), np.broadcast_to(np.eye(3), R.shape), atol=1e-6)


def test_constant_velocity_moves_linearly():
    p0 = pose(np.eye(3)[None], np.zeros((1, 3)))
    out = OBJECT_MOTIONS.get("constant_velocity").fn(p0, np.ones((1, 3)), params("constant_velocity", 1, vx=2.0), ctx())
    np.testing.assert_allclose(out[:, 0, 0, 3], 2.0 * np.arange(25) / 12.0)


def test_ballistic_bounces_and_never_sinks():
    p0 = pose(np.eye(3)[None], np.array([[0, 0, 3.0]]))
    half = np.full((1, 3), 0.5)
    out = OBJECT_MOTIONS.get("ballistic").fn(p0, half, params("ballistic", 1, vx=1.0, restitution=0.7), ctx(T=48))
    z = out[:, 0, 2, 3]
    assert z.min() >= 0.5 - 1e-9
    assert z[-1] < 3.0 and np.any(np.diff(z) > 0)  # it fell and came back up


def test_lane_follow_keeps_lane_and_faces_travel():
    p0 = pose(np.eye(3)[None].repeat(2, 0), np.array([[10, -1.75, 0.75], [50, 1.75, 0.75]]))
    p = {"speed": np.array([20.0, -20.0]), "accel": np.zeros(2)}
    out = OBJECT_MOTIONS.get("lane_follow").fn(p0, np.ones((2, 3)), p, ctx())
    np.testing.assert_allclose(out[:, :, 1, 3], [[-1.75, 1.75]] * 25)
    assert np.allclose(out[:, 0, :3, 0], [1, 0, 0]) and np.allclose(out[:, 1, :3, 0], [-1, 0, 0], atol=1e-9)


def test_random_walk_is_seeded():
    p0 = pose(np.eye(3)[None], np.zeros((1, 3)))
    fn = OBJECT_MOTIONS.get("random_walk").fn
    a = fn(p0, np.ones((1, 3)), params("random_walk", 1), ctx(seed=1))
    b = fn(p0, np.ones((1, 3)), params("random_walk", 1), ctx(seed=1))
    c = fn(p0, np.ones((1, 3)), params("random_walk", 1), ctx(seed=2))
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    step = np.linalg.norm(np.diff(a[:, 0, :2, 3], axis=0), axis=1)
    assert np.all(step <= 0.5 / 12 + 1e-9)  # never faster than its speed


def test_orbit_keeps_distance_and_looks_at_target():
    target = np.array([0, 0, 0.5])
    cam0 = look_at(np.array([0, -8, 4.0]), target)
    m = CAMERA_MOTIONS.get("orbit")
    out = m.fn(cam0, target, m.params(degrees_per_second=30), ctx())
    d = np.linalg.norm(out[:, :2, 3] - target[:2], axis=1)
    np.testing.assert_allclose(d, 8.0)
    fwd = (target - out[:, :3, 3]) / np.linalg.norm(target - out[:, :3, 3], axis=1, keepdims=True)
    np.testing.assert_allclose(out[:, :3, 2], fwd, atol=1e-9)


@pytest.mark.parametrize("name, axis", [("ego_forward", 0), ("endoscope", 0)])
def test_forward_motions_advance_along_x(name, axis):
    cam0 = look_at(np.array([0, 0, 1.0]), np.array([10, 0, 1.0]))
    m = CAMERA_MOTIONS.get(name)
    out = m.fn(cam0, np.array([10, 0, 1.0]), m.params(), ctx())
    assert np.all(np.diff(out[:, axis, 3]) > 0)
