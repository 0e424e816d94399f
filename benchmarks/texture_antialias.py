"""Anti-aliasing of box-filtered textures (checker, stripes) on the shapes world: error against point
samples on an n×n grid per pixel (a reference that filters nothing), pixels re-traced, and render CPU
seconds per clip at the recipe's size, for ``supersample`` 1, 2, ``adaptive`` re-tracing every
texture step (``filters_planes`` ignored) and ``adaptive`` as shipped (the flat ground's plane filter
trusted). One torch thread. Prints one JSON line.

    python benchmarks/texture_antialias.py --clips 6 --size 192 --frames 2 --ref-scale 8
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from _clips import one_thread_clips  # noqa: E402
from _machine import machine  # noqa: E402

from synthdata.render.raycast import RaycastBackend, RaycastSettings, textures  # noqa: E402
from synthdata.render.raycast import antialias  # noqa: E402
from synthdata.render.raycast.antialias import reference_rgb  # noqa: E402

MODES = {"point_1": 1, "point_2x2": 2, "adaptive_all_steps": "adaptive", "adaptive": "adaptive"}


def _mode(name: str):
    """Context: ``adaptive_all_steps`` re-traces the plane filters' steps too (as before they declared
    ``filters_planes``)."""
    on = name != "adaptive_all_steps"
    for fn in (textures.checker, textures.stripes):
        fn.filters_planes = on


def _refined(backend, lays) -> float:
    """Fraction of pixels adaptive anti-aliasing re-traces."""
    seen = []
    orig = antialias.edge_pixels

    def spy(*a, **k):
        m = orig(*a, **k)
        seen.append(float(m.float().mean()))
        return m
    from synthdata.render.raycast import backend as bk
    bk.edge_pixels = spy
    try:
        for lay in lays:
            backend.render(lay.scene, lay.traj)
    finally:
        bk.edge_pixels = orig
    return round(float(np.mean(seen)), 4)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--clips", type=int, default=6)
    p.add_argument("--size", type=int, default=192)
    p.add_argument("--frames", type=int, default=2)
    p.add_argument("--ref-scale", type=int, default=8)
    p.add_argument("--time-clips", type=int, default=3, help="clips timed at the recipe's own size (256²×24)")
    a = p.parse_args()
    spec, _, lays = one_thread_clips("shapes", a.clips, [f"clip.width={a.size}", f"clip.height={a.size}",
                                                          f"clip.frames={a.frames}"])
    lays = lays[:a.clips]
    point = RaycastBackend(RaycastSettings(supersample=1), "cpu")
    refs = [reference_rgb(point, lay.scene, lay.traj, a.ref_scale).numpy().astype(np.float32) for lay in lays]
    floor = [None] * len(lays)
    _, _, full = one_thread_clips("shapes", a.time_clips, [])
    out = {}
    for name, ss in MODES.items():
        _mode(name)
        be = RaycastBackend(RaycastSettings(supersample=ss), "cpu")
        errs, floor_errs = [], []
        for k, (lay, ref) in enumerate(zip(lays, refs)):
            f = be.render(lay.scene, lay.traj)
            e = np.abs(f.rgb.numpy().astype(np.float32) - ref).mean(-1)
            floor[k] = ((f.instance == 0) & torch.isfinite(f.depth)).numpy() if floor[k] is None else floor[k]
            errs.append(e.mean())
            floor_errs.append(e[floor[k]].mean())
        be.render(full[-1].scene, full[-1].traj)  # warm-up
        t0 = time.process_time()
        for lay in full[:a.time_clips]:
            be.render(lay.scene, lay.traj)
        cpu = (time.process_time() - t0) / a.time_clips
        out[name] = {"mean_abs_error": round(float(np.mean(errs)), 3), "floor_mean_abs_error": round(float(np.mean(floor_errs)), 3),
                     "render_cpu_s_per_clip_256x256x24": round(cpu, 3),
                     "refined_fraction_256x256x24": _refined(be, full[:a.time_clips]) if ss == "adaptive" else None}
    _mode("adaptive")
    print(json.dumps({"benchmark": "texture_antialias", "recipe": "shapes", "clips": a.clips,
                      "size": [a.size, a.size, a.frames], "ref_scale": a.ref_scale, "error_unit": "8-bit levels",
                      "modes": out, "machine": machine()}))


if __name__ == "__main__":
    main()
