"""Peak RSS of one worker making clips, per recipe and clip size; the data behind synthdata.run.memory.

Each point runs in a fresh process (one torch thread, one in-process shard of ``--clips`` clips,
default 8 = the largest shard ``compute.shard_size: auto`` plans, encode + write included) so ru_maxrss is that clip
size's peak. A worker's peak still creeps up over a shard's first clips (glibc's heap fragments: freed
clip buffers are not all reused), so the model is fitted to whole 8-clip shards, not one clip.
Prints one JSON line with every point, the estimate ``synthdata.run.memory`` gives for it, and
whether the estimate bounds the measurement. ``--repeat``
measures each point again (glibc's heap makes peaks vary by tens of MB): the median and the largest
are kept, and the estimate must bound the largest. ``--points FILE`` re-estimates a committed result's
measurements with the current constants (after refitting them) without measuring again. Each point
compiles the numba loops into an empty cache (``--jit-cache cold``, default: a fresh machine's first
clip, the worst case; ``warm`` uses numba's usual cache).

    python benchmarks/memory_model.py
    python benchmarks/memory_model.py --recipes shapes --sizes 64x8 128x16
    python benchmarks/memory_model.py --recipes shapes --sizes 256x48 --overlap both
    python benchmarks/memory_model.py --points benchmarks/results/memory-model-cpu-2core.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(ROOT))  # this checkout's synthdata, in the estimate and in every measured point
from _machine import machine  # noqa: E402

POINT = """
import json, resource, sys, tempfile
from pathlib import Path
import torch
import synthdata
from synthdata.run.generate import generate
recipe, w, t, clips, overlap = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == "1"
torch.set_num_threads(1)
spec = synthdata.load_recipe(recipe, [f"clip.width={w}", f"clip.height={w}", f"clip.frames={t}", "device=cpu"])
with tempfile.TemporaryDirectory() as d:
    generate(spec, clips, Path(d) / "o", compute={"name": "sync", "shard_size": clips, "overlap": overlap},
             progress=False)
# VmHWM: this process's own peak (ru_maxrss would keep the launching parent's size across exec)
peak = int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM:")).split()[1]) * 1024
print(json.dumps({"recipe": recipe, "width": w, "height": w, "frames": t, "pixels": w * w * t,
                  "clips": clips, "overlap": overlap, "peak_rss_mb": round(peak / 2**20, 1)}))
"""


def estimate_mb(pt: dict) -> float:
    """What the pre-flight model (``synthdata.run.memory``) says one worker needs for this point."""
    import synthdata
    from synthdata.run.compute import ComputeSpec
    from synthdata.run.memory import estimate_run

    w, t = pt["width"], pt["frames"]
    size = [f"clip.width={w}", f"clip.height={w}", f"clip.frames={t}", "device=cpu"]
    spec = synthdata.load_recipe(pt["recipe"], size)
    compute = ComputeSpec(name="sync", overlap=pt.get("overlap", False))
    return round(estimate_run(spec, compute).per_worker / 2**20, 1)


def _measure(cmd: list[str], cold_jit: bool) -> dict:
    """One point in a fresh process; ``cold_jit``: with an empty numba cache of its own."""
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache} if cold_jit else None
        out = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT, env=env).stdout
    return {**json.loads(out.strip().splitlines()[-1]), "jit_cache": "cold" if cold_jit else "warm"}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--recipes", nargs="+", default=["shapes", "highway", "colonoscopy"])
    p.add_argument("--sizes", nargs="+", default=["64x8", "128x16", "256x24", "256x48"], help="SIDExFRAMES")
    p.add_argument("--clips", type=int, default=8, help="clips in the measured shard")
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--overlap", choices=["off", "on", "both"], default="off",
                   help="compute.overlap of the measured shard (on: encode/write in a thread, the CUDA default)")
    p.add_argument("--jit-cache", choices=["cold", "warm"], default="cold",
                   help="cold: every point compiles the numba loops into an empty cache (a fresh machine)")
    p.add_argument("--points", type=Path, help="re-estimate this result's measured points instead of measuring")
    a = p.parse_args()
    if a.points:
        points = json.loads(a.points.read_text())["points"]
    else:
        points = []
        overlaps = {"off": ["0"], "on": ["1"], "both": ["0", "1"]}[a.overlap]
        for r, size, ov in ((r, size, ov) for r in a.recipes for size in a.sizes for ov in overlaps):
            side, frames = size.split("x")
            cmd = [sys.executable, "-c", POINT, r, side, frames, str(a.clips), ov]
            runs = [_measure(cmd, a.jit_cache == "cold") for _ in range(a.repeat)]
            peaks = sorted(x["peak_rss_mb"] for x in runs)
            pt = {**runs[0], "peak_rss_mb": peaks[-1], "peak_rss_mb_median": statistics.median(peaks),
                  "repeats": len(peaks)}
            points.append(pt)
            print(json.dumps(pt), file=sys.stderr)
    for pt in points:
        pt["estimate_mb"] = estimate_mb(pt)
        pt["estimate_bounds_peak"] = pt["estimate_mb"] >= pt["peak_rss_mb"]
    print(json.dumps({"benchmark": "memory_model", "points": points,
                      "all_bounded": all(p["estimate_bounds_peak"] for p in points), "machine": machine()}))


if __name__ == "__main__":
    main()
