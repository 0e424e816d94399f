"""What each driving-world feature costs: render + annotate time per clip for named configurations of
the driving recipes, measured in one process. Prints one JSON line.

    python benchmarks/driving_cost.py --width 640 --height 360 --frames 24 --clips 1 [--threads 1] [--only a,b]

CPU seconds (``time.process_time``, one torch thread by default) are reported next to wall seconds:
on a shared machine the CPU time is the comparable figure. The same script runs on an older checkout
(configurations whose recipes or fields it lacks are skipped), which is how the "before" row is made.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine  # noqa: E402

import synthdata  # noqa: E402
from synthdata.render import make_backend  # noqa: E402
from synthdata.run import StageTimer, make_clip  # noqa: E402

NO_FURNITURE = [f"objects.{i}.count=0" for i in range(6, 10)]
FLAT_TWO_LANES = ["environment.road.lanes=2", "environment.road.curvature=0", "environment.road.vertical_curvature=0"]
CONFIGS = {
    "highway": ("highway", []),
    "highway_1ray": ("highway", ["backend.supersample=1"]),
    "highway_2x2": ("highway", ["backend.supersample=2"]),
    "highway_1ray_no_furniture_straight": ("highway", ["backend.supersample=1", *NO_FURNITURE, *FLAT_TWO_LANES]),
    "highway_1ray_no_furniture": ("highway", ["backend.supersample=1", *NO_FURNITURE]),
    "highway_1ray_fisheye": ("highway", ["backend.supersample=1", "+camera.lens={model: fisheye, k1: 0.02}"]),
    "highway_1ray_barrel": ("highway", ["backend.supersample=1", "+camera.lens={model: brown_conrady, k1: -0.25, k2: 0.05}"]),
    "highway_1ray_motion_blur4": ("highway", ["backend.supersample=1", "backend.motion_blur=4"]),
    "highway_1ray_sensor_noise": ("highway", ["backend.supersample=1", "+backend.sensor_noise={shot: 0.02, read: 0.005}"]),
    "urban": ("urban", []),
    "urban_1ray": ("urban", ["backend.supersample=1"]),
    "night_rain": ("night_rain", []),
    "night_rain_1ray": ("night_rain", ["backend.supersample=1"]),
    "snow_1ray": ("snow", ["backend.supersample=1"]),
    "pedestrians_1ray": ("pedestrians", ["backend.supersample=1"]),
}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--width", type=int, default=640)
    p.add_argument("--height", type=int, default=360)
    p.add_argument("--frames", type=int, default=24)
    p.add_argument("--clips", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--only", default="")
    p.add_argument("--note", default="")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    size = [f"clip.width={a.width}", f"clip.height={a.height}", f"clip.frames={a.frames}", "device=cpu"]
    results = {}
    for name, (recipe, ov) in CONFIGS.items():
        if a.only and name not in a.only.split(","):
            continue
        try:
            spec = synthdata.load_recipe(recipe, [*size, *ov])
        except Exception as e:  # an older checkout without this recipe or field
            results[name] = {"skipped": str(e).splitlines()[0][:160]}
            continue
        backend = make_backend(spec.backend, "cpu")
        timer = StageTimer(sync=True)
        c0, w0 = time.process_time(), time.perf_counter()
        for i in range(a.clips):
            make_clip(spec, i, backend, timer)
        results[name] = {"cpu_s_per_clip": round((time.process_time() - c0) / a.clips, 2),
                         "wall_s_per_clip": round((time.perf_counter() - w0) / a.clips, 2),
                         "ms_per_clip": timer.ms(per=a.clips)}
        print(name, results[name]["cpu_s_per_clip"], file=sys.stderr, flush=True)
    print(json.dumps({"benchmark": "driving_cost", "width": a.width, "height": a.height, "frames": a.frames,
                      "clips": a.clips, "torch_threads": a.threads, "note": a.note, "configs": results,
                      "machine": machine()}))


if __name__ == "__main__":
    main()
