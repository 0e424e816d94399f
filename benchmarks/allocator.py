"""What glibc's malloc costs the ray-caster with its defaults and tuned (synthdata/run/allocator.py):
render CPU s per clip, page faults per clip, kernel time and peak RSS, each side in fresh processes,
alternated; ``--pairs 2`` runs two processes at once per side (two workers sharing the box). Prints one JSON line.

    python benchmarks/allocator.py --recipe shapes --clips 3 --rounds 2 --pairs 2
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _fresh import fresh_point  # noqa: E402
from _machine import machine  # noqa: E402

_POINT = """
import json, resource, sys, time
sys.path.insert(0, "benchmarks")
import torch
import synthdata
from synthdata.render import make_backend
from synthdata.run.allocator import keep_freed_memory
from synthdata.run.pipeline import layout_clip
from synthdata.run.timing import StageTimer
recipe, clips, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
applied = keep_freed_memory() if mode == "tuned" else False
torch.set_num_threads(1)
spec = synthdata.load_recipe(recipe, ["device=cpu"])
backend = make_backend(spec.backend, spec.device)
lays = [layout_clip(spec, i, StageTimer()) for i in range(clips + 1)]
backend.render(lays[-1].scene, lays[-1].traj)  # warm-up
r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.process_time()
for lay in lays[:clips]:
    backend.render(lay.scene, lay.traj)
r1 = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"applied": applied, "cpu_s_per_clip": (time.process_time() - t0) / clips,
                  "sys_s_per_clip": (r1.ru_stime - r0.ru_stime) / clips,
                  "faults_per_clip": (r1.ru_minflt - r0.ru_minflt) / clips, "peak_rss_mb": r1.ru_maxrss / 1024}))
"""


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--recipe", default="shapes")
    p.add_argument("--clips", type=int, default=3)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--pairs", type=int, default=1, help="processes at once per side")
    a = p.parse_args()
    sides: dict[str, list[dict]] = {"default": [], "tuned": []}
    with ThreadPoolExecutor(a.pairs) as pool:
        for _ in range(a.rounds):
            for mode in sides:
                args = [a.recipe, str(a.clips), mode]
                sides[mode] += [r[1] for r in pool.map(lambda _: fresh_point(_POINT, args), range(a.pairs))]
    out = {"benchmark": "allocator", "recipe": a.recipe, "clips": a.clips, "rounds": a.rounds, "pairs": a.pairs}
    for mode, pts in sides.items():
        out[mode] = {k: round(statistics.median(pt[k] for pt in pts), 3)
                     for k in ("cpu_s_per_clip", "sys_s_per_clip", "faults_per_clip", "peak_rss_mb")}
        out[mode]["cpu_s_per_clip_each"] = [round(pt["cpu_s_per_clip"], 3) for pt in pts]
        out[mode]["applied"] = pts[0]["applied"]
    out["machine"] = machine() | {"torch_threads": 1}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
