"""Render cost of the endoscopic instruments: the same 3 cm tube, fisheye and scope motion with no
instrument, and with each of forceps, snare, injection needle (256×256 by default) on the ray-caster.
Prints one JSON line: per case, render primitives, instrument pixels per frame, seconds per frame.

    python benchmarks/instruments_cost.py [--size 256] [--frames 8] [--device cpu] [--repeat 2]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1]))
from _machine import machine  # noqa: E402

from synthdata.motion import rollout  # noqa: E402
from synthdata.recipe.loading import parse_spec  # noqa: E402
from synthdata.render import make_backend  # noqa: E402
from synthdata.run.check import check_recipe  # noqa: E402
from synthdata.scene import sample_scene  # noqa: E402
from synthdata.worlds.endoscopy.instruments import INSTRUMENTS, instrument_group  # noqa: E402


def _spec(kind: str | None, frames: int, size: int):
    groups = [instrument_group(kind, start=0.008)] if kind else [{"class_name": "none", "count": 0}]
    data = {"name": "instruments_cost", "domain": "medical", "clip": {"frames": frames, "fps": 8.0, "width": size, "height": size},
            "camera": {"fov_deg": 120.0, "position": [0.0, 0.0, 0.0], "look_at": [0.1, 0.0, 0.0], "lens": {"model": "fisheye"},
                       "motion": {"name": "endoscope", "params": {"advance": 0.02, "roll_deg_per_second": 15.0, "wobble_deg": 3.0}}},
            "environment": {"kind": "tube", "tube_radius": 0.03, "sun": None, "ambient": 0.04,
                            "ground": {"texture": "tissue", "color": [0.86, 0.5, 0.45], "color2": [0.45, 0.08, 0.1], "scale": 60.0},
                            "headlight": {"intensity": 2.5, "falloff": 3000.0}},
            "objects": groups}
    return check_recipe(parse_spec(data))


def measure(kind: str | None, frames: int, size: int, device: str, repeat: int) -> dict:
    spec = _spec(kind, frames, size)
    rng = np.random.default_rng(0)
    scene = sample_scene(spec, rng)
    traj = rollout(scene, frames, spec.clip.fps, rng)
    backend = make_backend(spec.backend, device)
    f = backend.render(scene, traj)  # warm-up
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        f = backend.render(scene, traj)
        best = min(best, time.perf_counter() - t0)
    parts = sum(max(1, len(p)) for p in scene.objects.parts) if scene.objects.parts else len(scene.objects)
    return {"case": kind or "tube only", "primitives": parts, "instrument_px_per_frame": float((f.instance.cpu().numpy() > 0).sum() / frames),
            "s_per_frame": round(best / frames, 4)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--repeat", type=int, default=2)
    a = ap.parse_args()
    rows = [measure(k, a.frames, a.size, a.device, a.repeat) for k in [None, *INSTRUMENTS]]
    print(json.dumps({"benchmark": "instruments_cost", "size": a.size, "frames": a.frames, "device": a.device,
                      "machine": machine(), "rows": rows}))


if __name__ == "__main__":
    main()
