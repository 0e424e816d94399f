"""World plausibility a domain review found broken (2026-12-06): vehicles braking near an emergency stop
from the first frame, and buildings standing on the sidewalk."""

from __future__ import annotations

import numpy as np
import pytest

import synthdata
from synthdata.motion import rollout
from synthdata.scene import sample_scene


@pytest.mark.parametrize("recipe", ["highway", "urban"])
def test_traffic_brakes_no_harder_than_its_safe_deceleration(recipe):
    """Agents started at their desired speed whatever the gap ahead (or the red line): 28% of highway
    vehicles braked above 4.5 m/s², 17% at the −9 m/s² clamp, one at 6 g through the gap guard. Started
    no faster than lets them follow (or stop) braking at IDM's comfortable decel, none brakes beyond the
    recipes' safe_decel (4 m/s²) — measured worst 2.2 (highway) and 2.7 (urban)."""
    spec = synthdata.load_recipe(recipe, ["clip.frames=24"])
    fps, worst = spec.clip.fps, 0.0
    for c in range(8):
        rng = np.random.default_rng(c)
        scene = sample_scene(spec, rng)
        traj = rollout(scene, 24, fps, rng)
        moving = [i for i, m in enumerate(scene.objects.motion) if m[0] == "traffic"]
        speed = np.linalg.norm(np.diff(traj.object_poses[:, moving][..., :3, 3], axis=0), axis=2) * fps  # (T-1, n)
        worst = max(worst, float(-(np.diff(speed, axis=0) * fps).min(initial=0.0)))
    assert 0 < worst <= 4.0 + 0.5, worst


def test_buildings_stand_beyond_the_sidewalk():
    """``road: outside`` put a building's centre ``y`` beyond the sidewalk, so one deeper than 2·y
    stood up to 1.2 m into it (21 of 388 in 60 urban scenes): its road-facing side is now at or beyond
    the sidewalk's back edge."""
    spec = synthdata.load_recipe("urban", ["clip.frames=2"])
    seen = 0
    for c in range(20):
        scene = sample_scene(spec, np.random.default_rng(c))
        road, objs = scene.environment.road, scene.objects
        for i, k in enumerate(objs.class_id):
            if scene.class_names[k - 1] != "building":
                continue
            P = objs.pose0[i]  # road coordinates (s, d, z): the ground's bend and grade come later
            d = P[1, 3]
            yaw = np.arctan2(P[1, 0], P[0, 0])
            h = objs.half_size[i]
            across = abs(h[0] * np.sin(yaw)) + abs(h[1] * np.cos(yaw))
            assert abs(d) - across >= road.sidewalk_outer - 1e-6, (c, i, abs(d) - across, road.sidewalk_outer)
            seen += 1
    assert seen > 20
