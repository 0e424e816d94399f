"""Compound objects: several primitives, one object (one instance id, one track, one amodal mask)."""

from __future__ import annotations

import numpy as np
import torch

from synthdata.annotate import annotate
from synthdata.motion import rollout
from synthdata.recipe.loading import parse_spec
from synthdata.render import make_backend
from synthdata.run.check import check_recipe
from synthdata.scene import sample_scene

from ..conftest import tiny_spec


def _render(group: dict, seed: int = 0):
    data = tiny_spec("shapes", "clip.width=64", "clip.height=48", "clip.frames=3").model_dump(mode="json")
    data["objects"] = [group]
    spec = check_recipe(parse_spec(data))
    rng = np.random.default_rng(seed)
    scene = sample_scene(spec, rng)
    traj = rollout(scene, spec.clip.frames, spec.clip.fps, rng)
    frames = make_backend(spec.backend, "cpu").render(scene, traj)
    return scene, traj, frames, annotate(frames, scene, traj, spec.annotations)


BOX = {"class_name": "crate", "count": 2, "primitive": "box", "size": [2.0, 1.2, 1.0],
       "material": {"texture": "flat", "color": [0.6, 0.3, 0.2]},
       "placement": {"mode": "ground", "x": {"uniform": [-2, 2]}, "y": {"uniform": [-2, 2]}, "yaw_deg": {"uniform": [0, 90]}},
       "motion": {"name": "constant_velocity", "params": {"vx": 0.5, "yaw_rate_deg": 20}}}
HALVES = {**BOX, "parts": [{"primitive": "box", "center": [-0.5, 0, 0], "size": [0.5, 1, 1]},
                           {"primitive": "box", "center": [0.5, 0, 0], "size": [0.5, 1, 1]}]}


def test_two_halves_render_and_label_as_the_whole_box():
    """A box made of two half-boxes is the same object to every label: ids, coverage, depth, surface
    points in the object's frame, flow."""
    s1, _, a, la = _render(BOX)
    s2, _, b, lb = _render(HALVES)
    assert len(s2.objects.parts[0]) == 2 and not s1.objects.parts
    assert torch.equal(a.instance, b.instance) and torch.equal(a.amodal, b.amodal)
    for k in ("depth", "surface", "flow_fwd"):
        x, y = getattr(a, k), getattr(b, k)
        assert torch.allclose(x, y, atol=1e-4, equal_nan=True) or (torch.isfinite(x) != torch.isfinite(y)).sum() == 0, k
    np.testing.assert_array_equal(la.bbox_visible, lb.bbox_visible)
    assert (a.instance > 0).any()


def test_parts_keep_their_own_material_and_shape():
    wheel = {"primitive": "cylinder", "center": [0, 0, 0.6], "size": [0.4, 0.4, 0.4], "rotation_deg": [90, 0, 0],
             "material": {"texture": "flat", "color": [0.0, 0.9, 0.0]}}
    body = {"primitive": "box", "center": [0, 0, -0.4], "size": [1, 1, 0.6]}
    scene, _, f, _ = _render({**BOX, "count": 1, "parts": [body, wheel]})
    rgb, inst = f.rgb.numpy().astype(int), f.instance.numpy()
    green = (rgb[..., 1] > rgb[..., 0] + 40) & (inst == 1)
    brown = (rgb[..., 0] > rgb[..., 1] + 15) & (inst == 1)
    assert green.sum() > 10 and brown.sum() > 10  # two materials, one instance id
    assert f.amodal.shape[1] == 1 and inst.max() == 1
