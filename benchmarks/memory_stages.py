"""Where a worker's peak RSS comes from: one clip's stages (render and its passes, annotate, encode,
write), each with the RSS it starts at and the highest RSS sampled inside it (a thread reads
/proc/self/statm every millisecond: tracemalloc does not see torch's allocations).

Each point runs in a fresh process (one torch thread; the same in-process shard path as
benchmarks/memory_model.py: 2 clips, encode + write included) and prints one JSON line; ``--repeat``
runs each point again (RSS peaks barely vary: the median is reported with the spread).

    python benchmarks/memory_stages.py --recipes shapes highway --sizes 256x24 256x48
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine  # noqa: E402

POINT = r"""
import json, os, resource, sys, tempfile, threading, time
from contextlib import contextmanager
from pathlib import Path
import torch
import synthdata
from synthdata.io.layout import Layout
from synthdata.io.sinks import open_sink
from synthdata.render import make_backend
from synthdata.render.raycast import backend as rb
from synthdata.run.pipeline import make_clips

PAGE = os.sysconf("SC_PAGE_SIZE")
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE

class Peak:
    def __init__(self):
        self.value, self.stop = rss(), False
        threading.Thread(target=self.run, daemon=True).start()
    def run(self):
        while not self.stop:
            self.value = max(self.value, rss()); time.sleep(0.001)
    def reset(self):
        self.value = rss()
PEAK = Peak()
stages = []  # [stage, start MB, peak MB, end MB] in the order they ended

@contextmanager
def stage(name):
    start = rss(); outer = PEAK.value; PEAK.reset()
    try:
        yield
    finally:
        PEAK.value = max(PEAK.value, rss())
        stages.append([name, round(start / 2**20, 1), round(PEAK.value / 2**20, 1), round(rss() / 2**20, 1)])
        PEAK.value = max(outer, PEAK.value)

def wrap(cls, name):
    fn = getattr(cls, name)
    def inner(*a, **k):
        with stage("render." + name.strip("_")):
            return fn(*a, **k)
    setattr(cls, name, inner)
for name in ("_trace", "_post", "_rgb"):
    wrap(rb.RaycastBackend, name)

recipe, w, t = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
torch.set_num_threads(1)
spec = synthdata.load_recipe(recipe, [f"clip.width={w}", f"clip.height={w}", f"clip.frames={t}", "device=cpu"])
backend = make_backend(spec.backend, torch.device("cpu"))
if sys.argv[4] == "lean":  # as the shard path makes it: only the maps the recipe's labels read
    from synthdata.annotate import maps_read
    backend.keep = maps_read(spec.annotations)
base = rss()
with tempfile.TemporaryDirectory() as d:
    Path(d, "o").mkdir()
    sink = open_sink(Layout(Path(d) / "o"), 0, spec, spec.content_hash(), stage)
    for i in range(2):
        for rec in make_clips(spec, [i], backend, stage):
            sink.add(rec)
            del rec
    with stage("commit"):
        sink.commit()
PEAK.stop = True
# VmHWM: this process's own peak (ru_maxrss would keep the launching parent's size across exec)
peak = int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM:")).split()[1]) * 1024
print(json.dumps({"recipe": recipe, "width": w, "height": w, "frames": t, "pixels": w * w * t,
                  "base_mb": round(base / 2**20, 1), "peak_rss_mb": round(peak / 2**20, 1), "stages": stages}))
"""


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--recipes", nargs="+", default=["shapes", "highway"])
    p.add_argument("--sizes", nargs="+", default=["256x24", "256x48"], help="SIDExFRAMES")
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--gbuffer", choices=["lean", "full"], default="lean",
                   help="lean: the render keeps only the maps the labels read, as the shard path does; full: every map")
    a = p.parse_args()
    points = []
    for r in a.recipes:
        for size in a.sizes:
            side, frames = size.split("x")
            runs = []
            for _ in range(a.repeat):
                out = subprocess.run([sys.executable, "-c", POINT, r, side, frames, a.gbuffer], capture_output=True,
                                     text=True)
                if out.returncode:
                    sys.exit(out.stderr)
                runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
            pt = runs[len(runs) // 2] if a.repeat > 1 else runs[0]
            peaks = [x["peak_rss_mb"] for x in runs]
            pt["peak_rss_mb"] = statistics.median(peaks)
            pt["peak_rss_mb_range"] = [min(peaks), max(peaks)]
            pt["gbuffer"] = a.gbuffer
            points.append(pt)
            print(json.dumps(pt), file=sys.stderr)
    print(json.dumps({"benchmark": "memory_stages", "points": points, "machine": machine()}))


if __name__ == "__main__":
    main()
