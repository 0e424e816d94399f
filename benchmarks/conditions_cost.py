"""Render cost of each driving condition (docs/driving.md) on the highway: ms per clip of the ray-cast
render alone, per variant, the same clip seeds for every variant. Prints one JSON line.

    python benchmarks/conditions_cost.py --clips 3 --width 320 --height 192 --frames 12

``lights`` is night_rain with and without its object-carried lights; ``ms_per_light`` divides the
difference by the mean number of lights per clip. Times are process CPU time on one torch thread,
the minimum over ``--repeats`` rounds that visit the variants in turn: on a machine shared with other
jobs, wall time measures the neighbours.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine  # noqa: E402

import synthdata  # noqa: E402
from synthdata.motion import rollout  # noqa: E402
from synthdata.recipe.loading import parse_spec  # noqa: E402
from synthdata.render import make_backend  # noqa: E402
from synthdata.run.check import check_recipe  # noqa: E402
from synthdata.scene import sample_scene  # noqa: E402


def _strip(node: Any, key: str) -> Any:
    if isinstance(node, dict):
        return {k: _strip(v, key) for k, v in node.items() if k != key}
    if isinstance(node, list):
        return [_strip(v, key) for v in node]
    return node


def _variant(recipe: str, size: list[str], env: dict | None = None, camera: dict | None = None, strip: str | None = None):
    data = synthdata.load_recipe(recipe, [*size, "device=cpu"]).model_dump(mode="json")
    data["environment"].update(env or {})
    data["camera"].update(camera or {})
    return check_recipe(parse_spec(_strip(data, strip) if strip else data))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--clips", type=int, default=3)
    p.add_argument("--width", type=int, default=320)
    p.add_argument("--height", type=int, default=192)
    p.add_argument("--frames", type=int, default=12)
    p.add_argument("--repeats", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(1)
    size = [f"clip.width={a.width}", f"clip.height={a.height}", f"clip.frames={a.frames}"]
    night = {"sky_model": "auto", "sun": {"elevation_deg": -20.0}}
    variants = {
        "day (highway)": _variant("highway", size),
        "dusk (sky_model auto, sun 2°)": _variant("highway", size, {"sky_model": "auto", "sun": {"elevation_deg": 2.0}}),
        "night sky (sun −20°)": _variant("highway", size, night),
        "rain 3000 drops": _variant("highway", size, {"rain": {"drops": 3000}}),
        "wet road": _variant("highway", size, {"wet": {"amount": 0.8, "puddles": 0.3}}),
        "snow 2500 flakes": _variant("highway", size, {"snow": {"flakes": 2500, "coverage": 0.5}}),
        "auto exposure": _variant("highway", size, camera={"exposure": {"auto": True}}),
        "night_rain without lights": _variant("night_rain", size, strip="light"),
        "night_rain (all)": _variant("night_rain", size),
    }
    backend = make_backend(variants["day (highway)"].backend, "cpu")
    clips = {}
    for name, spec in variants.items():  # scenes once, and a warm-up render
        clips[name] = []
        for i in range(a.clips):
            rng = np.random.default_rng(1000 + i)
            scene = sample_scene(spec, rng)
            clips[name].append((scene, rollout(scene, spec.clip.frames, spec.clip.fps, rng)))
        backend.render(*clips[name][0])
    best = {name: [float("inf")] * a.clips for name in variants}
    for _ in range(a.repeats):
        for i in range(a.clips):
            for name in variants:
                t0 = time.process_time()
                backend.render(*clips[name][i])
                best[name][i] = min(best[name][i], (time.process_time() - t0) * 1000)
    out = {name: round(float(np.mean(v)), 1) for name, v in best.items()}
    lights = {name: float(np.mean([len(s.conditions.lights) if s.conditions else 0 for s, _ in c]))
              for name, c in clips.items()}
    base = out["day (highway)"]
    diff = out["night_rain (all)"] - out["night_rain without lights"]
    print(json.dumps({
        "benchmark": "conditions_cost", "recipe": "highway / night_rain", "clips": a.clips, "frames": a.frames,
        "width": a.width, "height": a.height, "device": "cpu", "torch_threads": 1, "repeats": a.repeats,
        "note": "process CPU ms per clip, render only, min over repeats, mean over clips",
        "render_ms_per_clip": out, "x_day": {k: round(v / base, 2) for k, v in out.items()},
        "mean_lights_per_clip": lights["night_rain (all)"],
        "ms_per_light_per_clip": round(diff / max(lights["night_rain (all)"], 1), 2),
        "ms_per_light_per_frame": round(diff / max(lights["night_rain (all)"], 1) / a.frames, 3),
        "machine": machine(), "date": time.strftime("%Y-%m-%d"),
    }))


if __name__ == "__main__":
    main()
