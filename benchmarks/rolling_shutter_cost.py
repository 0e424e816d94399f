"""Cost and band error of the rolling shutter (``backend.rolling_shutter``): ms per clip for render and
annotate, global shutter vs rs = 0.5 (default bands, 16 bands), same clips; and how far the band
quantisation moves labels from the exact per-row instants (one band per row): the visible track points'
positions, max and 99th percentile in pixels (at half size, 6 frames: one band per row is H renders). Prints one JSON line.

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
from synthdata.annotate import annotate  # noqa: E402
from synthdata.motion import rollout  # noqa: E402
from synthdata.scene import sample_scene  # noqa: E402
from synthdata.render import make_backend  # noqa: E402
from synthdata.run import StageTimer, make_clip  # noqa: E402

TRACKS = ["annotations.tracks.enabled=true", "annotations.tracks.points=2000"]


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
    a = p.parse_args()
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

    small = [f"device={a.device}", f"clip.width={a.width // 2}", f"clip.height={a.height // 2}", "clip.frames=6"]

    def tracks(bands: int) -> dict:  # at half size: one band per row renders H bands
        s = synthdata.load_recipe(a.recipe, small + TRACKS + [f"backend.rolling_shutter={a.rs}", f"backend.rolling_bands={bands}"])
        rng = np.random.default_rng(0)
        scene = sample_scene(s, rng)
        traj = rollout(scene, s.clip.frames, s.clip.fps, rng)
        frames = make_backend(s.backend, s.device).render(scene, traj)
        return annotate(frames, scene, traj, s.annotations).labels["tracks"]

    H = a.height // 2
    exact = tracks(H)
    err = {}
    for bands in (4, 8, -(-H // 8), 24):
        tr = tracks(bands)
        same = tr["point_id"] == exact["point_id"]  # queries are sampled from the rendered maps: may differ
        ok = tr["visible"] & exact["visible"] & same
        d = np.hypot(tr["x"][ok] - exact["x"][ok], tr["y"][ok] - exact["y"][ok])
        err[str(bands)] = {"rows_per_band": round(H / bands, 1), "max_px": round(float(d.max()), 3),
                           "p99_px": round(float(np.percentile(d, 99)), 3), "points": int(ok.sum())}
    print(json.dumps({
        "benchmark": "rolling_shutter_cost", "recipe": a.recipe, "mode": "render+annotate", "clips": a.clips,
        "rounds": a.rounds, "frames": a.frames, "width": a.width, "height": a.height, "device": a.device,
        "rolling_shutter": a.rs, "variants": {k: " ".join(v) or "default" for k, v in variants.items()},
        "note": "median over interleaved rounds of ms per clip; band error: visible track points (same query "
                "pixel and frame) vs one band per row, clip 0 at half width and height, 6 frames",
        "ms_per_clip": med,
        "render_ratio_vs_global": {k: round(m["render"] / med["global"]["render"], 3) for k, m in med.items()},
        "band_error_vs_per_row": err,
        "machine": machine(), "date": time.strftime("%Y-%m-%d"),
    }))


if __name__ == "__main__":
    main()
