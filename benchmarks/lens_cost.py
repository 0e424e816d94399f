"""Render cost of the lens models on one recipe: ms per clip for render and annotate, pinhole vs
Brown–Conrady vs fisheye, same clips (a lens changes no scene). Prints one JSON line.

    python benchmarks/lens_cost.py --recipe highway --clips 3 --width 320 --height 192 --frames 12

Every lens sees the same scenes (the recipe's own fov: horizontal through the lens). Rounds interleave the lenses (a busy machine slows all of them alike); the figure is the median round.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine  # noqa: E402

import synthdata  # noqa: E402
from synthdata.render import make_backend  # noqa: E402
from synthdata.run import StageTimer, make_clip  # noqa: E402

LENSES = {
    "pinhole": [],
    "brown_conrady": ["camera.lens.model=brown_conrady", "camera.lens.k1=-0.3", "camera.lens.k2=0.08",
                      "camera.lens.p1=0.001", "camera.lens.p2=-0.001"],
    "fisheye": ["camera.lens.model=fisheye", "camera.lens.k1=0.02", "camera.lens.k2=-0.005"],
}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--recipe", default="highway")
    p.add_argument("--clips", type=int, default=3)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--width", type=int, default=320)
    p.add_argument("--height", type=int, default=192)
    p.add_argument("--frames", type=int, default=12)
    p.add_argument("--device", default="cpu")
    a = p.parse_args()
    base = [f"device={a.device}", f"clip.width={a.width}", f"clip.height={a.height}", f"clip.frames={a.frames}"]
    specs = {k: synthdata.load_recipe(a.recipe, base + v) for k, v in LENSES.items()}
    backends = {k: make_backend(s.backend, s.device) for k, s in specs.items()}
    for k in LENSES:  # warm-up: allocator, and the lens's pixel rays (cached per lens and K)
        make_clip(specs[k], 10_000_000, backends[k])
    rounds: dict[str, list[dict]] = {k: [] for k in LENSES}
    for _ in range(a.rounds):
        for k in LENSES:
            timer = StageTimer(sync=True)
            for i in range(a.clips):
                make_clip(specs[k], i, backends[k], timer)
            rounds[k].append(timer.ms(per=a.clips))
    med = {k: {s: round(statistics.median(r[s] for r in rs), 1) for s in ("render", "annotate")} for k, rs in rounds.items()}
    t0 = time.perf_counter()
    from synthdata.scene.lens import Lens

    lens = Lens("fisheye", (("k1", 0.02), ("k2", -0.005), ("k3", 0.0), ("k4", 0.0)))
    import numpy as np

    uu, vv = np.meshgrid(np.arange(a.width) + 0.5, np.arange(a.height) + 0.5)
    lens.undistort((uu - a.width / 2) / 100, (vv - a.height / 2) / 100)
    grid_ms = (time.perf_counter() - t0) * 1000
    print(json.dumps({
        "benchmark": "lens_cost", "recipe": a.recipe, "mode": "render+annotate", "clips": a.clips, "rounds": a.rounds,
        "frames": a.frames, "width": a.width, "height": a.height, "device": a.device,
        "lenses": {k: " ".join(v) or "default" for k, v in LENSES.items()},
        "note": "median over interleaved rounds of ms per clip; the pixel rays through a lens are undistorted once "
                "per (lens, K, size) on the host (float64 Newton) and cached",
        "ms_per_clip": med,
        "render_ratio_vs_pinhole": {k: round(m["render"] / med["pinhole"]["render"], 3) for k, m in med.items()},
        "undistort_grid_ms": round(grid_ms, 1),
        "machine": machine(), "date": time.strftime("%Y-%m-%d"),
    }))


if __name__ == "__main__":
    main()
