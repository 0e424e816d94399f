"""Clutter in the colon (worlds/endoscopy/clutter.py): bubbles, fluid pools, stool, blood — each a class
with masks, placed on the wall, with the embedded fraction its construction implies."""

from __future__ import annotations

import numpy as np
import pytest

from synthdata.scene.sample import build_shape
from synthdata.scene.shapes import ShapeContext
from synthdata.recipe.schema import ShapeSpec

from .test_endoscopy_polyps import render, spec_with

MATERIALS = {
    "bubbles": {"texture": "flat", "color": [0.92, 0.95, 0.97], "specular": 2.5, "shininess": 300},
    "fluid": {"texture": "flat", "color": [0.75, 0.62, 0.3], "specular": 3.0, "shininess": 400},
    "stool": {"texture": "noise", "color": [0.45, 0.3, 0.12], "color2": [0.3, 0.18, 0.06], "scale": 800},
    "blood": {"texture": "noise", "color": [0.45, 0.03, 0.04], "color2": [0.3, 0.01, 0.02], "scale": 600,
              "specular": 0.8, "shininess": 60},
}
SHAPE = {"bubbles": "bubbles", "fluid": "fluid_pool", "stool": "stool", "blood": "blood"}


def group(cls, x=0.045, angle=60.0, params=None):
    return {"class_name": cls, "shape": {"name": SHAPE[cls], "params": params or {}}, "material": MATERIALS[cls],
            "placement": {"mode": "wall", "x": x, "angle_deg": angle, "yaw_deg": 0.0, "gap": 0.001}}


@pytest.mark.parametrize("lumen", [None, "+environment.lumen={bend_amplitude: 0.01}"], ids=["straight", "bent"])
def test_each_clutter_class_is_an_object_with_a_mask_and_its_embedded_fraction(lumen):
    groups = [group("bubbles", 0.045, 60.0), group("stool", 0.045, 150.0), group("blood", 0.05, 20.0, {"length_mm": 12.0, "width_mm": 6.0}),
              group("fluid", 0.06, 270.0, {"depth_mm": 2.5, "length_mm": 20.0})]
    spec = spec_with(groups, lumen=lumen, size=64, annotations=("embedded_fraction",))
    scene, traj, frames, ann = render(spec)
    names = [scene.class_names[c - 1] for c in scene.objects.class_id]
    assert names == ["bubbles", "stool", "blood", "fluid"]  # every one placed, each its own class
    vis = ann.visible_pixels.reshape(2, 4)
    assert (vis > 3).all()  # seen, with a mask of its own
    assert all(ann.mask_rle[i] for i in range(4))
    emb = ann.labels["embedded_fraction"].reshape(2, 4)[0]
    assert emb[0] < 0.35  # bubbles rest on the wall
    assert 0.2 < emb[1] < 0.8  # stool: lumps half sunk
    assert emb[2] > 0.9 and emb[3] > 0.7  # blood and pools lie mostly inside the wall by construction
    assert not ann.occluded.reshape(2, 4)[:, [0, 2]].any()  # their embedded part is not "occlusion"


def test_the_pool_fills_the_bottom_with_a_level_top():
    spec = spec_with([group("fluid", 0.06, 270.0, {"depth_mm": 3.0, "length_mm": 20.0})], size=32)
    scene, traj, frames, ann = render(spec)
    P, half = traj.object_poses[0, 0], scene.objects.half_size[0]
    assert P[2, 2] > 0.999  # its axis is world up (gravity: −z)
    top = P[2, 3] + half[2]
    assert abs(top - (-0.03 + 0.003)) < 2e-4  # 3 mm above the lowest line of a 3 cm tube
    assert half[1] > 0.012  # it spans the tube's chord at that depth (≈ 13 mm half-width)


def test_bubble_sizes_and_clusters():
    rng = np.random.default_rng(0)
    for _ in range(20):
        s = build_shape(ShapeSpec(name="bubbles", params={"count": 8}), rng, ShapeContext(0.03))
        assert len(s.parts) == 8
        d = np.array([2 * q.half_size[0] for q in s.parts])
        assert (d >= 0.5e-3 - 1e-12).all() and (d <= 3e-3 + 1e-12).all()
        c = np.array([q.center for q in s.parts]) + [0.0, 0.0, s.lift]  # wall frame
        bottoms = c[:, 2] - np.array([q.half_size[2] for q in s.parts])
        wall_max = 3e-3 ** 2 / (2 * 0.03)  # the curved wall rises at most this within the cluster's 3 mm
        assert (bottoms < wall_max).all() and (bottoms > -np.array([q.half_size[2] for q in s.parts])).all()
