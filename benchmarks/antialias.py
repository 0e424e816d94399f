"""Anti-aliasing cost and quality: render seconds, fraction of pixels re-traced and error against an
n×n-supersampled reference of the same frames, for ``supersample`` 1, 2 and ``adaptive``. Prints one
JSON line.

    python benchmarks/antialias.py --width 320 --height 192 --frames 12 --ref-scale 4
    python benchmarks/antialias.py --width 640 --height 360 --frames 12 --ref-scale 0   # timing only

Errors are mean absolute differences in 8-bit levels (mean over channels) on: every pixel, ground
pixels next to a paint / no-paint boundary (``paint_edge``, from the labels) and pixels next to an
instance boundary (``silhouette``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine  # noqa: E402

import synthdata  # noqa: E402
from synthdata.motion import rollout  # noqa: E402
from synthdata.render.raycast.antialias import CONTRAST, SUBPIXEL, edge_pixels, reference_rgb  # noqa: E402
from synthdata.render.raycast.backend import RaycastBackend, RaycastSettings, _SceneTensors  # noqa: E402
from synthdata.scene.sample import sample_scene  # noqa: E402
from synthdata.worlds.driving.road import ROAD_CLASSES, ROAD_KIND  # noqa: E402

PAINT = [ROAD_CLASSES.index(c) for c in ("lane_line", "road_edge", "centre_line", "crosswalk", "stop_line")]


def _steps(a: np.ndarray) -> np.ndarray:
    """Pixels whose value differs from a 4-neighbour's. Shape: (T,H,W) → bool."""
    m = np.zeros(a.shape, bool)
    d = a[:, 1:] != a[:, :-1]
    m[:, 1:] |= d
    m[:, :-1] |= d
    d = a[:, :, 1:] != a[:, :, :-1]
    m[:, :, 1:] |= d
    m[:, :, :-1] |= d
    return m


def _regions(scene, traj, frames) -> dict[str, np.ndarray]:
    inst = frames.instance.cpu().numpy()
    ground = (inst == 0) & np.isfinite(frames.depth.cpu().numpy())
    paint = np.isin(ROAD_KIND.compute(frames, scene, traj), PAINT) & ground
    return {"all": np.ones(inst.shape, bool), "paint_edge": _steps(paint) & ground, "silhouette": _steps(inst)}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--recipe", default="highway")
    p.add_argument("--width", type=int, default=320)
    p.add_argument("--height", type=int, default=192)
    p.add_argument("--frames", type=int, default=12)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--repeats", type=int, default=3, help="timed renders per mode, interleaved (the fastest counts)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (1: CPU seconds are stable on a shared machine)")
    p.add_argument("--ref-scale", type=int, default=4, help="n×n rays per pixel for the reference; 0 = no errors")
    p.add_argument("--device", default="cpu")
    p.add_argument("--note", default="")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    spec = synthdata.load_recipe(a.recipe, [f"clip.width={a.width}", f"clip.height={a.height}",
                                            f"clip.frames={a.frames}", f"device={a.device}"])
    rng = np.random.default_rng(a.seed)
    scene = sample_scene(spec, rng)
    traj = rollout(scene, a.frames, spec.clip.fps, rng)
    sync = torch.cuda.synchronize if a.device.startswith("cuda") else (lambda: None)
    base = RaycastBackend(RaycastSettings(supersample=1), a.device)
    ref = None
    if a.ref_scale:
        t0 = time.perf_counter()
        ref = reference_rgb(base, scene, traj, a.ref_scale).cpu().int()
        ref_s = time.perf_counter() - t0
    modes, backends, frames = {}, {}, {}
    for ss in (1, 2, "adaptive"):
        backends[ss] = RaycastBackend(RaycastSettings(supersample=ss), a.device)
        backends[ss].render(scene, traj)  # warm-up
        modes[str(ss)] = {"render_s": float("inf"), "cpu_s": float("inf")}
    for _ in range(a.repeats):  # interleaved, so load from other processes hits every mode alike
        for ss, backend in backends.items():
            sync()
            t0, c0 = time.perf_counter(), time.process_time()
            frames[ss] = backend.render(scene, traj)
            sync()
            row = modes[str(ss)]
            row["render_s"] = min(row["render_s"], round(time.perf_counter() - t0, 3))
            row["cpu_s"] = min(row["cpu_s"], round(time.process_time() - c0, 3))
    for ss, row in modes.items():
        row["ms_per_frame"] = round(1000 * row["render_s"] / a.frames, 1)
        row["cost_vs_1"] = round(row["cpu_s"] / modes["1"]["cpu_s"], 2)
        if ref is not None:
            f = frames[1 if ss == "1" else 2 if ss == "2" else ss]
            err = (f.rgb.cpu().int() - ref).abs().float().mean(-1).numpy()
            row["mae_levels"] = {k: round(float(err[m].mean()), 2) for k, m in _regions(scene, traj, f).items()}
    st = _SceneTensors.build(scene, traj, base.device)
    ks = torch.arange(1, a.frames + 1, device=base.device)
    out = backends["adaptive"]._trace(scene, st, ks, a.height, a.width, scale=1, labels=False)  # filtered
    frac = float(edge_pixels(out["rgb_linear"], out["edge_key"]).float().mean())
    modes["adaptive"]["retraced_fraction"] = round(frac, 4)
    modes["adaptive"]["rays_per_pixel"] = round(1 + frac * SUBPIXEL.shape[0], 3)
    modes["1"]["rays_per_pixel"], modes["2"]["rays_per_pixel"] = 1, 4
    if ref is not None:
        one = modes["1"]["mae_levels"]
        for m in ("2", "adaptive"):
            modes[m]["error_reduction_vs_1"] = {k: round(1 - v / one[k], 3) for k, v in modes[m]["mae_levels"].items()}
    print(json.dumps({
        "benchmark": "antialias", "recipe": spec.name, "frames": a.frames, "width": a.width, "height": a.height,
        "seed": a.seed, "device": str(base.device), "reference": f"{a.ref_scale}x{a.ref_scale}" if a.ref_scale else None,
        "reference_s": round(ref_s, 1) if ref is not None else None,
        "adaptive": {"subpixel_rays": int(SUBPIXEL.shape[0]), "contrast": CONTRAST},
        "note": a.note, "modes": modes, "machine": machine(), "date": date.today().isoformat(),
    }))


if __name__ == "__main__":
    main()
