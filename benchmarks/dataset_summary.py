"""What summarising a dataset costs (``info()``, which ``synthdata info`` prints and every run's dataset
card calls at its end): wall seconds and the process's peak RSS above its state after opening, in a
fresh process per measurement. Prints one JSON line.

    python benchmarks/dataset_summary.py --make /tmp/ds --clips 256   # a shapes dataset with point tracks
    python benchmarks/dataset_summary.py /tmp/ds --label after
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
import json, sys, time
import synthdata
def hwm():
    return int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM:")).split()[1]) / 1024
def rss():
    return int(next(l for l in open("/proc/self/status") if l.startswith("VmRSS:")).split()[1]) / 1024
ds = synthdata.open_dataset(sys.argv[1])
ds.clips  # the clips table is what opening a dataset reads anyway
base, t0 = rss(), time.perf_counter()
info = ds.info()
print(json.dumps({"seconds": round(time.perf_counter() - t0, 3), "peak_above_open_mb": round(hwm() - base, 1),
                  "object_rows": info["object_rows"], "point_tracks": info["point_tracks"], "clips": info["clips"]}))
"""


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("dataset", nargs="?")
    p.add_argument("--make")
    p.add_argument("--clips", type=int, default=256)
    p.add_argument("--label", default="")
    p.add_argument("--repeat", type=int, default=3)
    a = p.parse_args()
    if a.make:
        import synthdata

        synthdata.generate("shapes", clips=a.clips, out=a.make, compute="sync", progress=False,
                           overrides=["clip.width=32", "clip.height=32", "clip.frames=8", "device=cpu",
                                      "annotations.tracks.enabled=true", "annotations.tracks.points=512"])
        return
    runs = [json.loads(subprocess.run([sys.executable, "-c", POINT, a.dataset], capture_output=True, text=True,
                                      check=True).stdout.strip().splitlines()[-1]) for _ in range(a.repeat)]
    print(json.dumps({"benchmark": "dataset_summary", "label": a.label, "dataset": a.dataset, "runs": runs,
                      "machine": machine()}))


if __name__ == "__main__":
    main()
