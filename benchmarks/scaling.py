"""Scaling of clips/s with Dask workers, and memory as the clip count grows. Prints JSON lines.

    python benchmarks/scaling.py --workers 1 2 --clips-per-worker 8          # weak scaling
    python benchmarks/scaling.py --memory --clips 8 80                        # RSS vs clip count

Each point runs on its own LocalCluster (one single-threaded worker process per worker) reached
through ``compute.address``, so cluster start-up is excluded and worker RSS can be read back.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine  # noqa: E402


def _worker_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def point(recipe: str, overrides: list[str], workers: int, clips: int, shard_size: int, device: str) -> dict:
    from distributed import Client

    import synthdata
    from synthdata.run import ComputeSpec
    from synthdata.run.executors import DaskExecutor

    spec = synthdata.load_recipe(recipe, [*overrides, f"device={device}"])
    # the same embedded cluster `generate` starts, reached by address so worker RSS can be read back
    embedded = DaskExecutor(ComputeSpec(workers=workers, gpus=0))
    with embedded._cluster() as cluster, Client(cluster) as client, tempfile.TemporaryDirectory() as tmp:
        m = synthdata.generate(spec, clips=clips, out=Path(tmp) / "out", progress=False,
                               compute={"address": cluster.scheduler_address, "shard_size": shard_size})
        worker_rss = list(client.run(_worker_rss_mb).values())
    return {
        "workers": workers, "clips": clips, "shard_size": shard_size,
        "clips_per_s": m.stats["clips_per_second_last_run"], "wall_s": m.stats["wall_seconds_last_run"],
        "driver_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "worker_peak_rss_mb": round(max(worker_rss), 1),
    }


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--recipe", default="shapes")
    p.add_argument("--device", default="cpu")
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    p.add_argument("--clips-per-worker", type=int, default=8)
    p.add_argument("--shard-size", type=int, default=2)
    p.add_argument("--memory", action="store_true", help="RSS at each --clips count (workers = max of --workers)")
    p.add_argument("--clips", type=int, nargs="+", default=[8, 80])
    p.add_argument("--point", nargs=2, type=int, metavar=("WORKERS", "CLIPS"), help=argparse.SUPPRESS)
    p.add_argument("overrides", nargs="*")
    a = p.parse_args()
    if a.point:  # one measurement in a fresh process (peak RSS is per process)
        print(json.dumps(point(a.recipe, a.overrides, a.point[0], a.point[1], a.shard_size, a.device)))
        return
    runs = [(w, w * a.clips_per_worker) for w in a.workers] if not a.memory else [(max(a.workers), c) for c in a.clips]
    points = []
    for w, c in runs:
        cmd = [sys.executable, __file__, "--recipe", a.recipe, "--device", a.device, "--shard-size", str(a.shard_size),
               "--point", str(w), str(c), *a.overrides]
        points.append(json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]))
    base = points[0]
    for pt in points:
        if not a.memory:
            pt["efficiency"] = round(pt["clips_per_s"] / (base["clips_per_s"] * pt["workers"] / base["workers"]), 3)
    out = {"benchmark": "memory" if a.memory else "scaling", "recipe": a.recipe, "overrides": a.overrides,
           "device": a.device, "points": points, "machine": machine()}
    if a.memory:
        out["driver_rss_growth"] = round(points[-1]["driver_peak_rss_mb"] / points[0]["driver_peak_rss_mb"], 3)
        out["worker_rss_growth"] = round(points[-1]["worker_peak_rss_mb"] / points[0]["worker_peak_rss_mb"], 3)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
