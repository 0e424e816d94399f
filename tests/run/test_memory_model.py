"""The pre-flight memory model (synthdata.run.memory) bounds what a worker really uses: a real clip is
made in a fresh process and its peak RSS (VmHWM: ru_maxrss would report the forking pytest process's
size, kept across exec) must stay under the estimate the check refuses by. The process compiles the
numba loops into an empty cache, as a fresh machine's first clip does (the worst case: CI's first run
of this test found a clip over the estimate that a warm cache hid)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import synthdata
from synthdata.run.memory import COMPILED_LOOPS, WORKER_BASE, clip_bytes, takes_compiled_loops, worker_bytes

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
print(json.dumps({"peak": int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM:")).split()[1]) * 1024,
                  "numba": "numba" in sys.modules}))
"""


def _peak(recipe: str, size: list[str], tmp_path: Path) -> dict:
    """One clip in a fresh process whose numba cache starts empty."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    r = subprocess.run([sys.executable, "-c", CLIP, recipe, *size], capture_output=True, text=True, cwd=ROOT,
                       timeout=300, env=env)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("side,frames", [(64, 8), (128, 16)], ids=["torch-64x8", "compiled-128x16"])
def test_estimate_bounds_a_real_clips_peak_rss(side, frames, tmp_path):
    """shapes on both sides of synthdata.jit.AUTO_PIXELS (~5 s and ~12 s with the compile;
    benchmarks/memory_model.py covers highway and colonoscopy at four sizes)."""
    size = [f"clip.width={side}", f"clip.height={side}", f"clip.frames={frames}", "device=cpu"]
    out = _peak("shapes", size, tmp_path)
    spec = synthdata.load_recipe("shapes", size)
    estimate = worker_bytes(spec)
    assert out["numba"] == takes_compiled_loops(spec)  # the model knows which clips load the loops
    assert out["peak"] > WORKER_BASE // 2  # really measured: torch alone is a few hundred MB
    assert out["peak"] <= estimate, (f"shapes {side}²×{frames} peaked at {out['peak'] / 2**20:.0f} MiB, "
                                     f"estimate {estimate / 2**20:.0f} MiB")


def test_compiled_loops_count_only_where_a_clip_takes_them():
    small, large = (synthdata.load_recipe("shapes", [f"clip.width={w}", f"clip.height={w}", "clip.frames=16", "device=cpu"])
                    for w in (32, 128))
    assert worker_bytes(small) == WORKER_BASE + clip_bytes(small)
    assert worker_bytes(large) == WORKER_BASE + COMPILED_LOOPS + clip_bytes(large)
    forced = synthdata.load_recipe("shapes", ["clip.width=32", "clip.height=32", "clip.frames=16",
                                              "device=cpu", "backend.cpu_kernels=compiled"])
    assert takes_compiled_loops(forced)
    on_gpu = synthdata.load_recipe("shapes", ["clip.width=128", "clip.height=128", "clip.frames=16", "device=cuda"])
    assert not takes_compiled_loops(on_gpu)
