"""Plausibility and diversity of a recipe's clips, from scenes and rollouts alone (no rendering).
Prints one JSON line.

    python benchmarks/plausibility.py --recipe highway --clips 300

Plausibility: object pairs whose oriented boxes interpenetrate at any frame, and clips where the
camera is inside (or within ``--margin`` m of) an object — both must be 0; and each clip's hardest
braking of any object (``worst_decel_mps2``: traffic stays within its safe_decel, 4 m/s²). Diversity: per-clip
statistics (objects per class, dropped placements, sun elevation, ambient light, fog, camera height /
pitch / fov / speed, lane changes, and for road recipes lanes per direction, bend radius, grade at
60 m, crossings and their light) as mean, min and max.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine  # noqa: E402

import synthdata  # noqa: E402
from synthdata.motion import rollout  # noqa: E402
from synthdata.motion.plausibility import violations  # noqa: E402
from synthdata.scene import sample_scene  # noqa: E402


def _spread(values: list[float]) -> dict[str, float]:
    a = np.asarray(values, dtype=np.float64)
    return {"mean": round(float(a.mean()), 3), "min": round(float(a.min()), 3), "max": round(float(a.max()), 3)}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--recipe", default="highway")
    p.add_argument("--clips", type=int, default=300)
    p.add_argument("--margin", type=float, default=0.5)
    p.add_argument("overrides", nargs="*")
    a = p.parse_args()
    spec = synthdata.load_recipe(a.recipe, a.overrides)
    stats: dict[str, list[float]] = {}
    pairs = pairs_at_0 = camera_clips = bad_clips = all_pairs = 0
    t0 = time.perf_counter()
    for i in range(a.clips):
        rng = np.random.default_rng(i)
        scene = sample_scene(spec, rng)
        traj = rollout(scene, spec.clip.frames, spec.clip.fps, rng)
        v = violations(scene, traj, margin=a.margin)
        n = len(scene.objects)
        all_pairs += n * (n - 1) // 2
        pairs += len({(i, j) for _, i, j in v.pairs})
        pairs_at_0 += len({(i, j) for t, i, j in v.pairs if t == 0})
        camera_clips += bool(v.camera)
        bad_clips += not v.ok
        prm = scene.params
        for cls in spec.class_names:
            stats.setdefault(f"objects.{cls}", []).append(prm["counts"].get(cls, 0))
        stats.setdefault("dropped", []).append(sum(prm.get("dropped", {}).values()))
        stats.setdefault("sun_elevation_deg", []).append(prm.get("sun", {}).get("elevation_deg", float("nan")))
        env = scene.environment
        stats.setdefault("ambient", []).append(env.ambient)
        stats.setdefault("fog_density", []).append(env.fog_density)
        cam = traj.camera_poses[:, :3, 3]
        stats.setdefault("camera_height_m", []).append(float(cam[0, 2] - env.shape.height(cam[0, 0])))
        stats.setdefault("camera_pitch_deg", []).append(float(np.degrees(np.arcsin(-traj.camera_poses[0, 2, 2]))))
        stats.setdefault("camera_fov_deg", []).append(scene.camera.fov_deg)
        stats.setdefault("camera_speed_mps", []).append(float(np.linalg.norm(cam[-1] - cam[0]) / max(
            traj.timestamps[-1], 1e-9)))
        speed = np.linalg.norm(np.diff(traj.object_poses[..., :3, 3], axis=0), axis=-1) * spec.clip.fps  # (T-1, N)
        if n and len(speed) > 1:  # the hardest braking of any object (a car near an emergency stop is implausible)
            stats.setdefault("worst_decel_mps2", []).append(float(-(np.diff(speed, axis=0) * spec.clip.fps).min()))
        _, y = env.shape.to_ground(traj.object_poses[..., 0, 3], traj.object_poses[..., 1, 3])
        stats.setdefault("lane_changes", []).append(int((np.abs(y[-1] - y[0]) > 1.75).sum()) if n else 0)
        if env.road is not None:
            road = prm["road"]
            stats.setdefault("road.lanes_per_direction", []).append(road["lanes"])
            stats.setdefault("road.lane_width_m", []).append(road["lane_width"])
            stats.setdefault("road.bend_radius_m_signed_inverse", []).append(road["curvature"])
            stats.setdefault("road.abs_bend_radius_m", []).append(min(1.0 / max(abs(road["curvature"]), 1e-9), 1e5))
            stats.setdefault("road.grade_at_60m_pct", []).append(100 * float(env.shape.slope(60.0)))
            stats.setdefault("road.sidewalk_m", []).append(road["sidewalk"])
            stats.setdefault("road.crossing", []).append(float("intersection" in road))
            if "intersection" in road:
                stats.setdefault("road.crossing_main_red", []).append(float(road["intersection"]["light"] == "red"))
            stats.setdefault("camera_lane", []).append(prm["camera"].get("lane", 0))
    print(json.dumps({
        "benchmark": "plausibility", "recipe": spec.name, "overrides": a.overrides, "clips": a.clips,
        "frames": spec.clip.frames, "camera_margin_m": a.margin,
        "plausibility": {"clips_with_violations": bad_clips, "interpenetrating_pairs": pairs,
                         "pairs_already_at_frame_0": pairs_at_0, "object_pairs": all_pairs,
                         "camera_inside_clips": camera_clips},
        "diversity": {k: _spread([x for x in v if x == x]) for k, v in stats.items() if any(x == x for x in v)},
        "seconds": round(time.perf_counter() - t0, 1), "machine": machine(),
    }))


if __name__ == "__main__":
    main()
