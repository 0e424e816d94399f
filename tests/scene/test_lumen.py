"""The bent lumen (scene/lumen.py) and its ray-marcher (render/raycast/lumen.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ..conftest import TUBE_POLYPS
import synthdata
from synthdata.motion.rollout import rollout
from synthdata.recipe.schema import LumenSpec
from synthdata.render.backend import make_backend
from synthdata.render.raycast.lumen import march
from synthdata.scene.lumen import sample_lumen, wall_pose
from synthdata.scene.sample import sample_scene

COLON = LumenSpec(bend_amplitude=0.02, fold_height=0.006, taenia_depth=0.1, radius_variation=0.1)


def _lumen(seed: int = 0):
    return sample_lumen(COLON, 0.03, np.random.default_rng(seed))


def _rays(lumen, n: int, seed: int):
    g = torch.Generator().manual_seed(seed)
    f, h = lumen.centre(np.float64(0.0))
    o = torch.tensor([0.0, float(f) + 0.004, float(h) - 0.003]).expand(n, 3)
    d = torch.randn(n, 3, generator=g)
    d[:, 0] = d[:, 0].abs() * 1.5 + 0.2
    return o, d / d.norm(dim=1, keepdim=True)


@pytest.mark.parametrize("seed", [0, 1])
def test_march_agrees_with_a_fine_uniform_march(seed):
    lumen = _lumen(seed)
    o, d = _rays(lumen, 4096, seed)
    t = march(lumen, o, d)
    steps = torch.arange(0, lumen.view_distance, 1e-4)
    f = lumen.field(o[:, None] + steps[None, :, None] * d[:, None])
    out = f > 0
    ref = torch.where(out.any(1), steps[out.float().argmax(1)], torch.tensor(float("inf")))
    assert (torch.isfinite(t) == torch.isfinite(ref)).float().mean() > 0.999
    both = torch.isfinite(t) & torch.isfinite(ref)
    assert ((t - ref).abs()[both] < 2e-4).float().mean() > 0.995  # within a 0.1 mm step, grazing rays aside
    assert (lumen.field(o + t[:, None] * d)[both].abs() < 5e-5).all()  # hits are on the wall


def test_warp_keeps_points_inside_and_wall_poses_on_the_wall():
    lumen = _lumen(2)
    rng = np.random.default_rng(0)
    x, th = rng.uniform(0, 0.3, 500), rng.uniform(0, 2 * np.pi, 500)
    R = lumen.wall_radius(x, th)
    for frac, inside in ((0.9, True), (1.1, False)):
        poses = np.tile(np.eye(4), (500, 1, 1))
        poses[:, 1, 3], poses[:, 2, 3], poses[:, 0, 3] = frac * R * np.cos(th), frac * R * np.sin(th), x
        world = lumen.warp(poses)
        assert (lumen.inside(world[:, :3, 3]) == inside).all()
    for xi, a, yaw in zip(x[:20], th[:20], rng.uniform(0, 6, 20)):
        w = lumen.warp(wall_pose(lumen, xi, a, yaw)[None])[0]
        assert abs(lumen.field(w[:3, 3])) < 1e-9
        np.testing.assert_allclose(w[:3, 2], lumen.normal(w[:3, 3]), atol=1e-6)  # +z: the inward normal
        np.testing.assert_allclose(w[:3, :3] @ w[:3, :3].T, np.eye(3), atol=1e-9)


def _spec(*extra):
    return synthdata.load_recipe(TUBE_POLYPS, ["clip.width=48", "clip.height=48", "clip.frames=3", "environment.tube_radius=0.03",
                                                 "camera.position=[0.0,0.004,0.0]", "camera.look_at=[0.1,0.0,0.0]",
                                                 "+environment.lumen={bend_amplitude: 0.02, fold_height: 0.006, taenia_depth: 0.1}",
                                                 "camera.motion.params.advance=0.02", *extra])


def test_rendered_wall_lies_on_the_lumen_and_the_camera_inside():
    spec = _spec()
    rng = np.random.default_rng(0)
    scene = sample_scene(spec, rng)
    traj = rollout(scene, spec.clip.frames, spec.clip.fps, rng)
    lumen = scene.environment.lumen
    assert lumen is not None
    cams = traj.camera_poses_padded[:, :3, 3]
    assert (lumen.field(cams) < -0.005).all()  # ≥ 5 mm from the wall on every frame
    frames = make_backend(spec.backend, "cpu").render(scene, traj)
    depth = np.asarray(frames.depth)
    wall = np.isfinite(depth) & (np.asarray(frames.instance) == 0)  # polyps aside
    assert wall.mean() > 0.5
    pts = np.asarray(frames.surface)[wall].astype(np.float64)
    off = np.abs(lumen.field(pts))
    assert off.max() < 2e-4
    assert np.nanmax(np.where(np.isfinite(depth), depth, np.nan)) < lumen.view_distance  # metres: a colon, not a hall


def test_lumen_outside_a_tube_is_one_line_exit_2(tmp_path):
    from synthdata.errors import UserError

    with pytest.raises(Exception, match="environment.lumen needs kind: tube"):
        synthdata.load_recipe("shapes", ["+environment.lumen={fold_height: 0.004}"])
