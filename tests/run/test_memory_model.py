"""The pre-flight memory model (synthdata.run.memory) bounds what a worker really uses: a real clip is
made in a fresh process and its peak RSS (VmHWM: ru_maxrss would report the forking pytest process's
size, kept across exec) must stay under the estimate the check refuses by."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import synthdata
from synthdata.run.memory import WORKER_BASE, clip_bytes

ROOT = Path(__file__).resolve().parents[2]

#: one clip through the whole worker path (render, annotate, encode, Parquet), as the benchmark measures
CLIP = """
import json, sys, tempfile
from pathlib import Path
import synthdata
from synthdata.run.generate import generate
spec = synthdata.load_recipe(sys.argv[1], sys.argv[2:])
with tempfile.TemporaryDirectory() as d:
    generate(spec, 1, Path(d) / "o", compute={"name": "sync", "shard_size": 1}, progress=False)
print(json.dumps({"peak": int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM:")).split()[1]) * 1024}))
"""


def test_estimate_bounds_a_real_clips_peak_rss():
    """shapes 128²×16 (~10 s; benchmarks/memory_model.py covers highway and colonoscopy at four sizes)."""
    recipe = "shapes"
    size = ["clip.width=128", "clip.height=128", "clip.frames=16", "device=cpu"]
    r = subprocess.run([sys.executable, "-c", CLIP, recipe, *size], capture_output=True, text=True, cwd=ROOT,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    peak = json.loads(r.stdout.strip().splitlines()[-1])["peak"]
    spec = synthdata.load_recipe(recipe, size)
    estimate = WORKER_BASE + clip_bytes(spec)
    assert peak > WORKER_BASE // 2  # really measured: torch alone is a few hundred MB
    assert peak <= estimate, f"{recipe} 128²×16 peaked at {peak / 2**20:.0f} MiB, estimate {estimate / 2**20:.0f} MiB"
