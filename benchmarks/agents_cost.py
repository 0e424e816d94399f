"""Render cost of one articulated pedestrian (and one cyclist) against one car, alone in the same view
at the same distance (320×192 by default), on the ray-caster. Prints one JSON line: parts (render
primitives), object pixels per frame, seconds per frame, and the per-primitive pixel work (the sum over
primitives of their screen rectangles, what culling leaves the ray-caster to test).

    python benchmarks/agents_cost.py [--frames 8] [--device cpu] [--repeat 3]
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
from synthdata.recipe.loading import parse_spec  # noqa: E402
from synthdata.render import make_backend  # noqa: E402
from synthdata.render.raycast.backend import RaycastBackend, _SceneTensors  # noqa: E402
from synthdata.run.check import check_recipe  # noqa: E402
from synthdata.scene import sample_scene  # noqa: E402

GROUPS = {"pedestrian": 0, "cyclist": 2, "car": 3}  # groups of recipes/recipe/pedestrians.yaml


def _spec(group: str, frames: int, width: int, height: int):
    data = synthdata.load_recipe("pedestrians", [f"clip.frames={frames}", f"clip.width={width}",
                                                 f"clip.height={height}"]).model_dump(mode="json")
    g = data["objects"][GROUPS[group]]
    y = -9.6 if group == "pedestrian" else -5.25
    g["count"], g["placement"] = 1, {**g["placement"], "x": 0.0, "y": y}
    if group == "pedestrian":
        g["motion"] = {"name": "walk", "params": {"speed": 1.4, "direction": 1.0}}
    else:
        g["motion"] = {"name": "traffic", "params": {"speed": 6.0, "keep_lane": 1}}
    data["objects"] = [g]
    data["camera"] = {"fov_deg": 60.0, "position": [-8.0, y + 3.0, 1.6], "look_at": [0.0, y, 0.9], "motion": {"name": "static"}}
    return check_recipe(parse_spec(data))


def measure(group: str, frames: int, width: int, height: int, device: str, repeat: int) -> dict:
    spec = _spec(group, frames, width, height)
    rng = np.random.default_rng(0)
    scene = sample_scene(spec, rng)
    traj = rollout(scene, frames, spec.clip.fps, rng)
    backend = make_backend(spec.backend, device)
    backend.render(scene, traj)  # warm-up
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        f = backend.render(scene, traj)
        best = min(best, time.perf_counter() - t0)
    st = _SceneTensors.build(scene, traj, backend.device)
    boxes = RaycastBackend._screen_boxes(backend, st, np.arange(1, frames + 1), height, width, 1)
    work = int(((boxes[:, 2] - boxes[:, 0]).clip(0) * (boxes[:, 3] - boxes[:, 1]).clip(0)).sum())
    return {"parts": int(st.half.shape[0]), "object_px_per_frame": float((f.instance.cpu().numpy() == 1).sum() / frames),
            "s_per_frame": best / frames, "primitive_rect_px": work}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--width", type=int, default=320)
    ap.add_argument("--height", type=int, default=192)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    out = {g: measure(g, a.frames, a.width, a.height, a.device, a.repeat) for g in GROUPS}
    for g in ("pedestrian", "cyclist"):
        out[f"{g}_vs_car_time"] = out[g]["s_per_frame"] / out["car"]["s_per_frame"]
    print(json.dumps({"benchmark": "agents_cost", "size": [a.width, a.height], "frames": a.frames, **out,
                      "machine": machine()}))


if __name__ == "__main__":
    main()
