"""Long clips: peak RSS and wall time of one clip made whole against window by window
(``compute.window_pixels``, synthdata.run.windows). Each point is one fresh process (one torch thread,
the whole worker path: render, annotate, encode, Parquet) reading its VmHWM; the estimate is what the
pre-flight check (synthdata.run.memory) says for it. Prints one JSON line.

    python benchmarks/long_clips.py --recipe shapes --sizes 256x256x256 256x256x512
    python benchmarks/long_clips.py backend.rolling_shutter=0.5 --recipe shapes --sizes 256x256x256 256x256x512
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
from synthdata.run.generate import generate
from synthdata.run.memory import worker_bytes
from synthdata.run.windows import window_frames
pixels = int(sys.argv[1])
spec = synthdata.load_recipe(sys.argv[2], sys.argv[3:])
with tempfile.TemporaryDirectory() as d:
    generate(spec, 1, Path(d) / "o", compute={"name": "sync", "shard_size": 1, "window_pixels": pixels}, progress=False)
hwm = int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM:")).split()[1]) * 1024
print(json.dumps({"peak_rss_mb": hwm >> 20, "estimate_mb": worker_bytes(spec, pixels) >> 20,
                  "window_frames": window_frames(spec, pixels)}))
"""
WHOLE = 2**40  # pixels: no clip reaches it, so every clip is made whole (as before windows)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--recipe", default="shapes")
    p.add_argument("--sizes", nargs="+", default=["256x256x256", "256x256x512"], help="WIDTHxHEIGHTxFRAMES")
    p.add_argument("--windowed-only", action="store_true", help="skip the whole-clip points")
    p.add_argument("overrides", nargs="*", help="recipe overrides, e.g. backend.rolling_shutter=0.5")
    a = p.parse_args()
    from synthdata.run.windows import WINDOW_PIXELS

    points = []
    for size in a.sizes:
        w, h, t = (int(x) for x in size.split("x"))
        for label, px in (("windows", WINDOW_PIXELS), ("whole", WHOLE))[:1 if a.windowed_only else 2]:
            args = [str(px), a.recipe, f"clip.width={w}", f"clip.height={h}", f"clip.frames={t}", "device=cpu",
                    *a.overrides]
            wall, out = fresh_point(POINT, args)
            points.append({"size": size, "mode": label, "wall_s": round(wall, 1), **out})
            print(json.dumps(points[-1]), file=sys.stderr)
    print(json.dumps({"benchmark": "long_clips", "recipe": a.recipe, "overrides": a.overrides, "window_pixels": WINDOW_PIXELS,
                      "points": points, "machine": {**machine(), "torch_threads": 1}}))


if __name__ == "__main__":
    main()
