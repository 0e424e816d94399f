"""Clips per second as a user gets them: ``synthdata generate`` timed from the shell, start-up included.

    python benchmarks/cli_end_to_end.py                       # shapes 256²×24, 48 clips, local and threads, 3 runs
    python benchmarks/cli_end_to_end.py --clips 16 --computes local --repeats 5 clip.width=128 clip.height=128

Each run is a fresh ``synthdata generate … device=cpu progress=false`` process into a fresh folder (the
executors alternate, so a shared machine's load hits both alike). Prints one JSON line: per executor
every run's wall seconds and its processes' CPU seconds (the command and everything it spawned), the
median clips/s end to end, and the ratio to Kubric at MOVi defaults (127 s per clip, measured on the
2-core box: docs/backends.md).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine  # noqa: E402

KUBRIC_S_PER_CLIP = 127.0
#: the console script a user runs (beside this Python), else the module
_SCRIPT = Path(sys.executable).parent / "synthdata"
CLI = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "synthdata"]


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def one_run(recipe: str, clips: int, compute: str, overrides: list[str]) -> dict:
    """One ``generate`` command: wall and CPU seconds (children are reaped before the command exits)."""
    out = Path(tempfile.mkdtemp(prefix="synthdata-e2e-"))
    try:
        cmd = [*CLI, "generate", f"recipe={recipe}", f"clips={clips}", f"out={out / 'ds'}", "device=cpu",
               "progress=false", f"compute={compute}", *overrides]
        cpu0, t0 = _children_cpu(), time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"})
        return {"wall_s": round(time.perf_counter() - t0, 2), "cpu_s": round(_children_cpu() - cpu0, 2)}
    finally:
        shutil.rmtree(out, ignore_errors=True)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--recipe", default="shapes")
    p.add_argument("--clips", type=int, default=48)
    p.add_argument("--computes", nargs="+", default=["local", "threads"])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("overrides", nargs="*", help="recipe overrides, e.g. clip.width=128")
    a = p.parse_args()
    runs: dict[str, list[dict]] = {c: [] for c in a.computes}
    for _ in range(a.repeats):
        for c in a.computes:
            runs[c].append(one_run(a.recipe, a.clips, c, a.overrides))
            print(json.dumps({c: runs[c][-1]}), file=sys.stderr)
    result = {}
    for c, rs in runs.items():
        wall = statistics.median(r["wall_s"] for r in rs)
        result[c] = {"runs": rs, "median_wall_s": wall, "clips_per_s": round(a.clips / wall, 2),
                     "s_per_clip": round(wall / a.clips, 3), "x_kubric": round(KUBRIC_S_PER_CLIP * a.clips / wall),
                     "cpu_s_per_clip": round(statistics.median(r["cpu_s"] for r in rs) / a.clips, 3)}
    print(json.dumps({"benchmark": "cli_end_to_end", "recipe": a.recipe, "clips": a.clips,
                      "overrides": a.overrides, "results": result, "machine": machine()}))


if __name__ == "__main__":
    main()
