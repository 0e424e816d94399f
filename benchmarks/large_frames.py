"""Large frames: peak RSS and wall time of one clip with the trace batch bounded by rays
(``backend.batch_kilorays``, default) against ``frame_batch`` frames whatever their size (the behaviour
before the bound, reproduced with a bound no frame reaches). Each point is one fresh process (one
torch thread, the whole worker path: render, annotate, encode, Parquet) reading its VmHWM; the
estimate is what the pre-flight check (synthdata.run.memory) says for it. Prints one JSON line.

    python benchmarks/large_frames.py --recipe highway --sizes 640x360x8 1280x720x8
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(ROOT))
from _fresh import fresh_point  # noqa: E402
from _machine import machine  # noqa: E402

POINT = """
import json, sys, tempfile
from pathlib import Path
import synthdata
from synthdata.render.backend import backend_settings
from synthdata.run.generate import generate
from synthdata.run.memory import worker_bytes
spec = synthdata.load_recipe(sys.argv[1], sys.argv[2:])
with tempfile.TemporaryDirectory() as d:
    generate(spec, 1, Path(d) / "o", compute={"name": "sync", "shard_size": 1}, progress=False)
s = backend_settings(spec.backend)
hwm = int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM:")).split()[1]) * 1024
print(json.dumps({"peak_rss_mb": hwm >> 20, "estimate_mb": worker_bytes(spec) >> 20,
                  "frames_per_batch": s.frames_per_batch(spec.clip.width, spec.clip.height)}))
"""
UNBOUNDED = 1_000_000  # kilorays: no frame reaches it, so every batch is frame_batch frames (as before)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--recipe", default="highway")
    p.add_argument("--sizes", nargs="+", default=["640x360x8", "1280x720x8"], help="WIDTHxHEIGHTxFRAMES")
    p.add_argument("--bounded-only", action="store_true", help="skip the unbounded (frame_batch only) points")
    a = p.parse_args()
    from synthdata.render.raycast.backend import BATCH_KILORAYS

    points = []
    for size in a.sizes:
        w, h, t = (int(x) for x in size.split("x"))
        for label, kr in (("bounded", BATCH_KILORAYS), ("frame_batch_only", UNBOUNDED))[:1 if a.bounded_only else 2]:
            args = [a.recipe, f"clip.width={w}", f"clip.height={h}", f"clip.frames={t}", "device=cpu",
                    f"backend.batch_kilorays={kr}"]
            wall, out = fresh_point(POINT, args)
            points.append({"size": size, "batch": label, "batch_kilorays": kr, "wall_s": round(wall, 1), **out})
            print(json.dumps(points[-1]), file=sys.stderr)
    print(json.dumps({"benchmark": "large_frames", "recipe": a.recipe, "points": points, "machine": machine(),
                      "note": "wall_s includes the process start and imports (~3 s); one torch thread"}))


if __name__ == "__main__":
    main()
