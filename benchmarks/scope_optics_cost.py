"""Render cost of each scope optic (docs/endoscopy.md) on a fisheye scope in a 3 cm tube: ms per clip
for render and annotate, one optic at a time and all together, same clips (optics change no scene).
Prints one JSON line.

    python benchmarks/scope_optics_cost.py --size 256 --frames 6 --rounds 2

Rounds interleave the configurations (a busy machine slows all of them alike); the figure is the
median round.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine  # noqa: E402

import synthdata  # noqa: E402
from synthdata.render import make_backend  # noqa: E402
from synthdata.run import StageTimer, make_clip  # noqa: E402

#: metres everywhere: a 3 cm lumen, polyps of 4–12 mm, a 120° fisheye (valid without a field stop too)
SCOPE = """
name: scope_bench
domain: medical
clip: {frames: 6, fps: 12, width: 256, height: 256}
camera:
  fov_deg: 120
  position: [0.0, 0.004, -0.003]
  look_at: [0.05, 0.0, 0.0]
  motion: {name: endoscope, params: {advance: 0.02, roll_deg_per_second: 15, wobble_deg: 2}}
  lens: {model: fisheye, k1: 0.02}
environment:
  kind: tube
  tube_radius: 0.03
  ground: {texture: tissue, color: [0.86, 0.5, 0.45], color2: [0.45, 0.08, 0.1], scale: 150, specular: 0.5, shininess: 40}
  sun: null
  headlight: {intensity: 0.8, falloff: 3000, color: [1.0, 0.97, 0.92]}
  ambient: 0.02
objects:
  - class_name: polyp
    count: 3
    primitive: ellipsoid
    size: [{uniform: [0.004, 0.012]}, {uniform: [0.004, 0.012]}, {uniform: [0.004, 0.012]}]
    material: {texture: tissue, color: [0.93, 0.6, 0.5], color2: [0.6, 0.15, 0.15], scale: 300, specular: 0.8, shininess: 60}
    placement: {mode: wall, x: {uniform: [0.01, 0.05]}, angle_deg: {uniform: [0, 360]}}
"""
GUIDES = ("environment.headlight.guides=[{offset:[0.0035,0,0],intensity:0.6,exponent:1.5},"
          "{offset:[-0.0035,0,0],intensity:0.6,exponent:1.5}]")
CONFIGS = {
    "base": [],
    "mask": ["camera.mask.radius=1.0"],
    "vignetting": ["camera.vignetting.model=cos4", "camera.vignetting.strength=0.5"],
    "guides": [GUIDES],
    "scatter": ["environment.headlight.scatter.distance=0.004"],
    "sensor_ae": ["camera.exposure.auto=true", "camera.exposure.meter=sensor", "camera.exposure.key=0.25"],
}
CONFIGS["all"] = [o for k in ("mask", "vignetting", "guides", "scatter", "sensor_ae") for o in CONFIGS[k]]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--clips", type=int, default=1)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--frames", type=int, default=6)
    p.add_argument("--device", default="cpu")
    a = p.parse_args()
    path = Path(tempfile.mkdtemp()) / "scope_bench.yaml"
    path.write_text(SCOPE)
    base = [f"device={a.device}", f"clip.width={a.size}", f"clip.height={a.size}", f"clip.frames={a.frames}"]
    specs = {k: synthdata.load_recipe(str(path), base + v) for k, v in CONFIGS.items()}
    backends = {k: make_backend(s.backend, s.device) for k, s in specs.items()}
    for k in CONFIGS:  # warm-up: allocator, and the lens's pixel rays (cached per lens, K and stop)
        make_clip(specs[k], 10_000_000, backends[k])
    rounds: dict[str, list[dict]] = {k: [] for k in CONFIGS}
    for _ in range(a.rounds):
        for k in CONFIGS:
            timer = StageTimer(sync=True)
            for i in range(a.clips):
                make_clip(specs[k], i, backends[k], timer)
            rounds[k].append(timer.ms(per=a.clips))
    med = {k: {s: round(statistics.median(r[s] for r in rs), 1) for s in ("render", "annotate")} for k, rs in rounds.items()}
    print(json.dumps({
        "benchmark": "scope_optics_cost", "recipe": "benchmarks/scope_optics_cost.py:SCOPE (fisheye 120°, 3 cm tube)",
        "mode": "render+annotate", "clips": a.clips, "rounds": a.rounds, "frames": a.frames, "width": a.size,
        "height": a.size, "device": a.device, "configs": {k: " ".join(v) or "default" for k, v in CONFIGS.items()},
        "note": "median over interleaved rounds of ms per clip",
        "ms_per_clip": med,
        "render_ratio_vs_base": {k: round(m["render"] / med["base"]["render"], 3) for k, m in med.items()},
        "machine": machine(), "date": time.strftime("%Y-%m-%d"),
    }))


if __name__ == "__main__":
    main()
