"""End-to-end throughput of one recipe: clips/s, frames/s, ms per stage, peak RSS. Prints one JSON line.

    python benchmarks/throughput.py --recipe shapes --clips 8 --device cpu
    python benchmarks/throughput.py --recipe shapes --clips 64 --device cuda --render-only

``--render-only`` times render + annotate alone (frames/s of the GPU target), skipping encode/write.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine  # noqa: E402

import synthdata  # noqa: E402
from synthdata.render import make_backend  # noqa: E402
from synthdata.run import StageTimer, make_clip  # noqa: E402
from synthdata.run.generate import generate  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--recipe", default="shapes")
    p.add_argument("--clips", type=int, default=8)
    p.add_argument("--width", type=int)
    p.add_argument("--height", type=int)
    p.add_argument("--frames", type=int)
    p.add_argument("--device", default="auto")
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--render-only", action="store_true")
    p.add_argument("--compute", default="sync", help="sync (one process, all cores to torch) or local (Dask, "
                                                       "one single-threaded worker per core)")
    p.add_argument("--overlap", choices=["true", "false"], help="encode/write in a background thread (default: auto)")
    p.add_argument("overrides", nargs="*")
    a = p.parse_args()
    ov = list(a.overrides) + [f"device={a.device}"]
    ov += [f"clip.width={a.width}"] if a.width else []
    ov += [f"clip.height={a.height}"] if a.height else []
    ov += [f"clip.frames={a.frames}"] if a.frames else []
    spec = synthdata.load_recipe(a.recipe, ov)
    backend = make_backend(spec.backend, spec.device)
    for i in range(a.warmup):  # first-call costs (allocator, kernels) are not throughput
        make_clip(spec, 10_000_000 + i, backend)
    timer = StageTimer(sync=True)
    t0 = time.perf_counter()
    if a.render_only:
        for i in range(a.clips):
            make_clip(spec, i, backend, timer)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            generate(spec, a.clips, Path(tmp) / "out", progress=False, timer=timer,
                     compute={"name": a.compute, "shard_size": 4, **({"overlap": a.overlap == "true"} if a.overlap else {})})
    wall = time.perf_counter() - t0
    print(json.dumps({
        "benchmark": "throughput", "recipe": spec.name, "mode": "render+annotate" if a.render_only else "end_to_end",
        "clips": a.clips, "frames": spec.clip.frames, "width": spec.clip.width, "height": spec.clip.height,
        "device": str(backend.device), "supersample": spec.backend.supersample,
        "compute": a.compute if not a.render_only else "in-process",
        "note": "ms_per_clip sums worker time; with several workers it exceeds wall time per clip",
        "clips_per_s": round(a.clips / wall, 3), "frames_per_s": round(a.clips * spec.clip.frames / wall, 1),
        "ms_per_clip": timer.ms(per=a.clips),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "peak_gpu_mb": round(torch.cuda.max_memory_allocated() / 2**20, 1) if torch.cuda.is_available() else None,
        "machine": machine(),
    }))


if __name__ == "__main__":
    main()
