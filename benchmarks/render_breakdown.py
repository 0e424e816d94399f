"""Where the ray-caster's time goes inside ``render``: CPU seconds per clip in each internal step,
one torch thread, from cProfile's cumulative times (nested steps are listed under their parent).
Prints one JSON line.

    python benchmarks/render_breakdown.py --recipe shapes --clips 3

Steps: ``hit_objects`` (dense camera rays × primitives), ``hit_environment`` (ground, tube, lumen
march) — or, compiled on the CPU (render/raycast/cpu_kernels.py), ``dense_hits`` (both, and the rays);
``surface`` (normals, textures, shading of hits; dense and re-traced), of which ``albedo``, ``shade``
(of which ``shadows``) and ``footprint`` in torch, or ``compiled_surface``; ``flow`` (both
directions), ``refine`` (adaptive anti-aliasing: re-traced rays, all their work included; of which
``edge_test``, which pixels), ``post`` (exposure, noise, blur, encode to
uint8), ``other`` (the rest of render: label maps, amodal coverage, ray set-up, environment hits of re-traced
rays are in ``refine``).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from _clips import one_thread_clips  # noqa: E402
from _machine import machine  # noqa: E402


STEPS = {"hit_objects": "_hit_objects", "hit_environment": "_hit_environment", "dense_hits": "dense_hits",
         "surface": "_surface", "albedo": "_albedo", "shade": "_shade", "shadows": "_shadowed",
         "footprint": "_footprint", "compiled_surface": "shade", "flow": "_flow", "refine": "_refine",
         "edge_test": "edge_pixels", "post": "_post"}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--recipe", default="shapes")
    p.add_argument("--clips", type=int, default=3)
    p.add_argument("--label", default="")
    p.add_argument("overrides", nargs="*")
    a = p.parse_args()
    spec, backend, lays = one_thread_clips(a.recipe, a.clips, a.overrides)
    backend.render(lays[-1].scene, lays[-1].traj)  # warm-up
    prof = cProfile.Profile(time.process_time)
    t0 = time.process_time()
    prof.enable()
    for lay in lays[:a.clips]:
        backend.render(lay.scene, lay.traj)
    prof.disable()
    total = (time.process_time() - t0) / a.clips
    stats = pstats.Stats(prof).stats  # (file, line, name) -> (cc, nc, tt, ct, callers)

    def cum(fn: str, caller: str | None = None) -> float:
        """Cumulative CPU seconds per clip in ``fn`` (only calls from ``caller`` when given)."""
        out = 0.0
        for k, v in stats.items():
            if k[2] == fn and "raycast" in k[0]:
                out += v[3] if caller is None else sum(cv[3] for c, cv in v[4].items() if c[2] == caller)
        return out / a.clips

    per = {step: round(cum(fn), 3) for step, fn in STEPS.items()}
    dense = cum("_hit_objects", "_trace") + cum("_hit_environment", "_trace") + cum("dense_hits", "_trace") \
        + cum("_surface", "_trace") + cum("shade", "_trace") + cum("_flow", "_trace") + per["refine"] + per["post"]
    per["other"] = round(total - dense, 3)
    print(json.dumps({"benchmark": "render_breakdown", "label": a.label, "recipe": a.recipe, "clips": a.clips,
                      "size": [spec.clip.width, spec.clip.height, spec.clip.frames],
                      "supersample": spec.backend.model_dump().get("supersample"),
                      "cpu_s_per_clip": round(total, 3), "steps_cpu_s_per_clip": per, "machine": machine()}))


if __name__ == "__main__":
    main()
