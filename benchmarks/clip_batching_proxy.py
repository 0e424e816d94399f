"""What batching clips in one ray-cast could save on small clips, bounded from above.

A batch of 8 clips of F frames would trace 8·F frames through the same calls; one clip of 8·F frames
is the same work with every per-call and per-clip cost paid once, so its cost per F frames is the
floor a clip batch could reach. Prints one JSON line: render ms per clip and per 8 frames, shapes at
32² and 64², 8 frames (one clip) and 64 frames (the batch's proxy), the torch and compiled passes, one
torch thread (median of 3 clips after a warm-up clip).

    python benchmarks/clip_batching_proxy.py
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _clips import one_thread_clips  # noqa: E402
from _machine import machine  # noqa: E402


def main() -> None:
    out = {}
    for side, frames in [(64, 8), (64, 64), (32, 8), (32, 64)]:
        for kernels in ("torch", "compiled"):
            spec, backend, layouts = one_thread_clips("shapes", 3, [f"clip.width={side}", f"clip.height={side}",
                                                                     f"clip.frames={frames}", f"backend.cpu_kernels={kernels}"])
            backend.render(layouts[-1].scene, layouts[-1].traj)  # warm-up
            ts = []
            for lay in layouts[:-1]:
                t = time.perf_counter()
                backend.render(lay.scene, lay.traj)
                ts.append(time.perf_counter() - t)
            ms = sorted(ts)[len(ts) // 2] * 1000
            out[f"{side}x{side}x{frames} {kernels}"] = {"ms_per_clip": round(ms, 1), "ms_per_8_frames": round(ms * 8 / frames, 1)}
    print(json.dumps({"benchmark": "clip_batching_proxy", "recipe": "shapes", "points": out, "machine": machine()}))


if __name__ == "__main__":
    main()
