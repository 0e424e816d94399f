"""Render cost of each scope optic (docs/endoscopy.md) on a fisheye scope in a 3 cm tube: ms to render
one clip, one optic at a time and all together (each configuration lays out its clip once; the optics
change no scene). Prints one JSON line.

    PYTHONPATH=. python benchmarks/scope_optics_cost.py --size 256 --frames 2 --repeats 5

Repeats interleave the configurations (a busy machine slows all of them alike); the headline figure is
the minimum over repeats (other jobs only ever add time), the median is given too.
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
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--frames", type=int, default=2)
    p.add_argument("--device", default="cpu")
    a = p.parse_args()
    import numpy as np
    import torch

    from synthdata.motion import rollout
    from synthdata.scene import sample_scene

    path = Path(tempfile.mkdtemp()) / "scope_bench.yaml"
    path.write_text(SCOPE)
    base = [f"device={a.device}", f"clip.width={a.size}", f"clip.height={a.size}", f"clip.frames={a.frames}"]
    specs = {k: synthdata.load_recipe(str(path), base + v) for k, v in CONFIGS.items()}
    clips = {}
    for k, spec in specs.items():  # one layout per configuration (the optics change no scene)
        rng = np.random.default_rng(0)
        scene = sample_scene(spec, rng)
        clips[k] = (scene, rollout(scene, spec.clip.frames, spec.clip.fps, rng), make_backend(spec.backend, spec.device))
    for scene, traj, backend in clips.values():  # warm-up: allocator, the lens's pixel rays (cached)
        backend.render(scene, traj)
    times: dict[str, list[float]] = {k: [] for k in CONFIGS}
    for _ in range(a.repeats):  # interleaved: a busy machine slows every configuration alike
        for k, (scene, traj, backend) in clips.items():
            if a.device.startswith("cuda"):
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            backend.render(scene, traj)
            if a.device.startswith("cuda"):
                torch.cuda.synchronize()
            times[k].append((time.perf_counter() - t0) * 1000)
    best = {k: round(min(v), 1) for k, v in times.items()}
    parts = _optics_ms(clips["all"], a.size, a.frames, a.repeats * 4)
    med = {k: round(statistics.median(v), 1) for k, v in times.items()}
    print(json.dumps({
        "benchmark": "scope_optics_cost", "recipe": "benchmarks/scope_optics_cost.py:SCOPE (fisheye 120°, 3 cm tube)",
        "mode": "render", "repeats": a.repeats, "frames": a.frames, "width": a.size, "height": a.size,
        "device": a.device, "configs": {k: " ".join(v) or "default" for k, v in CONFIGS.items()},
        "note": "render of one clip, repeated interleaved over the configurations; min (robust on a shared "
                "machine: other jobs only add time) and median ms",
        "render_ms_min": best, "render_ms_median": med,
        "render_ratio_vs_base_min": {k: round(v / best["base"], 3) for k, v in best.items()},
        "optics_ms_per_clip_min": parts,
        "optics_note": "each optic's own work for one clip of this size, timed alone (min over repeats): the field "
                       "stop's masks, the vignetting gain map and multiply, the guides' shading and the scatter blend "
                       "of every pixel as a hit point, the sensor meter's loop over the frames",
        "machine": machine(), "date": time.strftime("%Y-%m-%d"),
    }))


def _optics_ms(clip, size: int, frames: int, repeats: int) -> dict[str, float]:
    """Min ms per clip of each optic's own work (render/raycast/optics.py, conditions.py), on the clip's
    device with every pixel of every frame as a hit point."""
    import torch

    from synthdata.render.raycast.conditions import expose
    from synthdata.render.raycast.optics import guide_light, inside, scatter_albedo, stop_gain, vignette_gain

    scene, traj, backend = clip
    cam, env, dev = scene.camera, scene.environment, backend.device
    K, M = cam.K, frames * size * size
    g = torch.Generator().manual_seed(0)
    p = (torch.rand(M, 3, generator=g) * 0.02).to(dev)
    n = torch.nn.functional.normalize(torch.rand(M, 3, generator=g) - 0.5, dim=1).to(dev)
    v = torch.nn.functional.normalize(torch.rand(M, 3, generator=g) - 0.5, dim=1).to(dev)
    rgb = torch.rand(frames, size, size, 3, generator=g).to(dev)
    b = torch.arange(frames, device=dev).repeat_interleave(size * size)
    R = torch.eye(3, device=dev).expand(frames, 3, 3)
    c = torch.zeros(frames, 3, device=dev)
    ks, shin = torch.full((M, 1), 0.5, device=dev), torch.full((M, 1), 40.0, device=dev)
    xy = backend._lens_xy(backend_st(scene, traj, dev), size, size, 1)
    work = {
        "mask": lambda: (inside(cam.stop, K, size, size, size, size, 1, dev, 1.0), stop_gain(cam.stop, K, size, size, dev)),
        "vignetting": lambda: rgb * vignette_gain(cam.vignetting, cam.stop, xy, K, size, size, dev)[..., None],
        "guides": lambda: guide_light(env.guides, R, c, b, p, n, v, ks, shin, torch.zeros_like(p), torch.zeros_like(p)),
        "scatter": lambda: scatter_albedo(torch.rand_like(p), p[:, 2], env.scatter),
        "sensor_ae": lambda: expose(rgb, scene.conditions.exposure, inside(cam.stop, K, size, size, size, size, 1, dev)),
    }
    out = {}
    for name, fn in work.items():
        best = float("inf")
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            if str(dev).startswith("cuda"):
                torch.cuda.synchronize()
            best = min(best, time.perf_counter() - t0)
        out[name] = round(best * 1000, 2)
    return out


def backend_st(scene, traj, device):
    from synthdata.render.raycast.backend import _SceneTensors

    return _SceneTensors.build(scene, traj, device)


if __name__ == "__main__":
    main()
