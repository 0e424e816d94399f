"""Cost of point tracks and keypoints per clip, against the render time of the same clips. Prints one
JSON line per recipe.

    python benchmarks/labels_cost.py --recipe shapes --clips 6 --device cpu

Each clip is rendered once; ``annotate`` then runs on the same frames with keypoints and tracks off
and on (every other label as the recipe has it), and the tracks table's Arrow conversion is timed too.
Goal (issue 11): tracks + keypoints < 10% of render time.
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
from synthdata.annotate import annotate  # noqa: E402
from synthdata.motion import rollout  # noqa: E402
from synthdata.render import make_backend  # noqa: E402
from synthdata.scene import sample_scene  # noqa: E402


def _best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times) * 1000


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--recipe", default="shapes")
    p.add_argument("--clips", type=int, default=6)
    p.add_argument("--device", default="cpu")
    p.add_argument("--points", type=int, default=256)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("overrides", nargs="*")
    a = p.parse_args()
    base = [*a.overrides, f"device={a.device}"]
    off = synthdata.load_recipe(a.recipe, [*base, "annotations.keypoints=false"])
    on = synthdata.load_recipe(a.recipe, [*base, "annotations.tracks.enabled=true", f"annotations.tracks.points={a.points}"])
    backend = make_backend(off.backend, off.device)
    render, without, with_, tracks_rows = [], [], [], 0
    for i in range(a.clips + 1):  # clip 0 warms up
        rng = np.random.default_rng(i)
        scene = sample_scene(off, rng)
        traj = rollout(scene, off.clip.frames, off.clip.fps, rng)
        t0 = time.perf_counter()
        frames = backend.render(scene, traj)
        r = (time.perf_counter() - t0) * 1000
        w0 = _best(lambda: annotate(frames, scene, traj, off.annotations), a.repeat)
        w1 = _best(lambda: annotate(frames, scene, traj, on.annotations), a.repeat)
        if i:
            render.append(r), without.append(w0), with_.append(w1)
            tracks_rows += len(annotate(frames, scene, traj, on.annotations).labels["tracks"]["x"])
    extra = float(np.mean(with_) - np.mean(without))
    print(json.dumps({
        "benchmark": "labels_cost", "recipe": a.recipe, "clips": a.clips, "frames": off.clip.frames,
        "width": off.clip.width, "height": off.clip.height, "device": str(backend.device), "track_points": a.points,
        "ms_per_clip": {"render": round(float(np.mean(render)), 1), "annotate_without": round(float(np.mean(without)), 1),
                        "annotate_with_tracks_keypoints": round(float(np.mean(with_)), 1)},
        "extra_ms_per_clip": round(extra, 1), "extra_fraction_of_render": round(extra / float(np.mean(render)), 4),
        "track_rows_per_clip": tracks_rows // a.clips, "machine": machine(),
    }))


if __name__ == "__main__":
    main()
