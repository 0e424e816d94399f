"""Peak RSS of one worker making clips, per recipe and clip size; the data behind synthdata.run.memory.

Each point runs in a fresh process (one torch thread, in-process shard of 2 clips, encode + write
included) so ru_maxrss is that clip size's peak. Prints one JSON line with every point, the estimate
``synthdata.run.memory`` gives for it, and whether the estimate bounds the measurement.

    python benchmarks/memory_model.py
    python benchmarks/memory_model.py --recipes shapes --sizes 64x8 128x16
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine  # noqa: E402

POINT = """
import json, resource, sys, tempfile
from pathlib import Path
import torch
import synthdata
from synthdata.run.generate import generate
from synthdata.run.memory import WORKER_BASE, clip_bytes
recipe, w, t = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
torch.set_num_threads(1)
spec = synthdata.load_recipe(recipe, [f"clip.width={w}", f"clip.height={w}", f"clip.frames={t}", "device=cpu"])
with tempfile.TemporaryDirectory() as d:
    generate(spec, 2, Path(d) / "o", compute={"name": "sync", "shard_size": 2}, progress=False)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"recipe": recipe, "width": w, "height": w, "frames": t, "pixels": w * w * t,
                  "peak_rss_mb": round(peak / 2**20, 1), "estimate_mb": round((WORKER_BASE + clip_bytes(spec)) / 2**20, 1)}))
"""


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--recipes", nargs="+", default=["shapes", "highway", "colonoscopy"])
    p.add_argument("--sizes", nargs="+", default=["64x8", "128x16", "256x24", "256x48"], help="SIDExFRAMES")
    a = p.parse_args()
    points = []
    for r in a.recipes:
        for size in a.sizes:
            side, frames = size.split("x")
            out = subprocess.run([sys.executable, "-c", POINT, r, side, frames], capture_output=True, text=True, check=True)
            pt = json.loads(out.stdout.strip().splitlines()[-1])
            pt["estimate_bounds_peak"] = pt["estimate_mb"] >= pt["peak_rss_mb"]
            points.append(pt)
    print(json.dumps({"benchmark": "memory_model", "points": points,
                      "all_bounded": all(p["estimate_bounds_peak"] for p in points), "machine": machine()}))


if __name__ == "__main__":
    main()
