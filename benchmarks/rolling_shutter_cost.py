"""Cost and band error of the rolling shutter (``backend.rolling_shutter``): ms per clip for render and
annotate, global shutter vs rs = 0.5 (default bands, 16 bands), same clips; and how far the band
quantisation moves labels from the exact per-row instants: surface points placed by the labels'
rolling projection, max / 99th percentile / median in pixels. ``--threads 1`` on a shared machine:
two torch threads competing with other jobs make big tensor ops erratic (seconds of spin-waiting). Prints one JSON line.

    python benchmarks/rolling_shutter_cost.py --recipe highway --clips 3 --width 320 --height 192 --frames 12
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine  # noqa: E402

import synthdata  # noqa: E402
import torch  # noqa: E402

from synthdata.annotate.rolling import rolling_project  # noqa: E402
from synthdata.annotate.visibility import to_camera  # noqa: E402
from synthdata.motion.shift import shifted  # noqa: E402
from synthdata.render.raycast.rolling import row_times  # noqa: E402
from synthdata.motion import rollout  # noqa: E402
from synthdata.scene import sample_scene  # noqa: E402
from synthdata.render import make_backend  # noqa: E402
from synthdata.run import StageTimer, make_clip  # noqa: E402

def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--recipe", default="highway")
    p.add_argument("--clips", type=int, default=3)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--width", type=int, default=320)
    p.add_argument("--height", type=int, default=192)
    p.add_argument("--frames", type=int, default=12)
    p.add_argument("--rs", type=float, default=0.5)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    base = [f"device={a.device}", f"clip.width={a.width}", f"clip.height={a.height}", f"clip.frames={a.frames}"]
    variants = {"global": [], "rolling": [f"backend.rolling_shutter={a.rs}"],
                "rolling_16_bands": [f"backend.rolling_shutter={a.rs}", "backend.rolling_bands=16"]}
    specs = {k: synthdata.load_recipe(a.recipe, base + v) for k, v in variants.items()}
    backends = {k: make_backend(s.backend, s.device) for k, s in specs.items()}
    for k in variants:
        make_clip(specs[k], 10_000_000, backends[k])
    rounds: dict[str, list[dict]] = {k: [] for k in variants}
    for _ in range(a.rounds):
        for k in variants:  # interleaved: a busy machine slows all alike
            timer = StageTimer(sync=True)
            for i in range(a.clips):
                make_clip(specs[k], i, backends[k], timer)
            rounds[k].append(timer.ms(per=a.clips))
    med = {k: {s: round(statistics.median(r[s] for r in rs), 1) for s in ("render", "annotate")} for k, rs in rounds.items()}

    # band error: surface points seen in frame 0 followed through the clip, placed by the labels'
    # rolling projection with each band count's row instants vs the exact per-row instants
    rng = np.random.default_rng(0)
    s = specs["rolling"]
    scene = sample_scene(s, rng)
    traj = rollout(scene, s.clip.frames, s.clip.fps, rng)
    frames = backends["rolling"].render(scene, traj)
    inst, surf = frames.instance.cpu().numpy()[0], frames.surface.cpu().numpy()[0].astype(np.float64)
    ys, xs = np.nonzero(np.isfinite(frames.depth.cpu().numpy()[0]))
    ys, xs = ys[::5], xs[::5]
    owner = inst[ys, xs].astype(np.int64)

    def cams(tr) -> np.ndarray:
        return to_camera(surf[ys, xs], owner, tr.object_poses, tr.camera_poses)

    def place(rt: np.ndarray) -> tuple:
        x, y, _ = rolling_project(cams(traj), lambda d: cams(shifted(traj, d)), rt, traj.K, traj.lens)
        return x, y

    ex, ey = place(row_times(a.height, a.rs, a.height))
    inside = (ex >= 0) & (ex < a.width) & (ey >= 0) & (ey < a.height)
    err = {}
    for bands in (8, 16, -(-a.height // 8), 48):
        x, y = place(row_times(a.height, a.rs, bands))
        d = np.hypot(x - ex, y - ey)[inside & np.isfinite(x)]
        err[str(bands)] = {"rows_per_band": round(a.height / bands, 1), "max_px": round(float(d.max()), 3),
                           "p99_px": round(float(np.percentile(d, 99)), 3), "median_px": round(float(np.median(d)), 4)}
    print(json.dumps({
        "benchmark": "rolling_shutter_cost", "recipe": a.recipe, "mode": "render+annotate", "clips": a.clips,
        "rounds": a.rounds, "frames": a.frames, "width": a.width, "height": a.height, "device": a.device,
        "rolling_shutter": a.rs, "variants": {k: " ".join(v) or "default" for k, v in variants.items()},
        "threads": torch.get_num_threads(),
        "note": "median over interleaved rounds of ms per clip; band error: where the labels' rolling projection "
                "puts surface points seen in frame 0 (every 5th hit pixel) in all frames, band instants vs exact "
                "per-row instants (in the image), clip 0",
        "ms_per_clip": med,
        "render_ratio_vs_global": {k: round(m["render"] / med["global"]["render"], 3) for k, m in med.items()},
        "band_error_vs_per_row": err,
        "machine": machine(), "date": time.strftime("%Y-%m-%d"),
    }))


if __name__ == "__main__":
    main()
