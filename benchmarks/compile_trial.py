"""torch.compile (inductor, CPU) on the ray-caster's hot code: speed, compile time, and whether the
output stays bit-identical to eager. Prints one JSON line.

    python benchmarks/compile_trial.py --clips 3 --scope kernels   # primitives' intersect, _rT, _dot
    python benchmarks/compile_trial.py --clips 3 --scope stages    # + _shade, _albedo, _flow, _footprint, _normals

CPU seconds per clip with one torch thread (``time.process_time``: this box is shared, wall time is
noisy). The compiled functions are patched in place, so this measures exactly the code the backend runs.
"""

from __future__ import annotations

import argparse
import inspect
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from _clips import one_thread_clips  # noqa: E402
from _machine import machine  # noqa: E402

import synthdata.render.raycast.backend as rb  # noqa: E402
from synthdata.render.raycast.primitives import PRIMITIVES  # noqa: E402

STAGES = ("_shade", "_albedo", "_flow", "_footprint", "_normals")


def _compile(scope: str) -> None:
    for name in PRIMITIVES.names():
        p = PRIMITIVES.get(name)
        object.__setattr__(p, "intersect", torch.compile(p.intersect, dynamic=True))
    rb._rT, rb._dot = torch.compile(rb._rT, dynamic=True), torch.compile(rb._dot, dynamic=True)
    if scope == "stages":
        for name in STAGES:
            raw = inspect.getattr_static(rb.RaycastBackend, name)
            fn = torch.compile(getattr(rb.RaycastBackend, name), dynamic=True)
            setattr(rb.RaycastBackend, name, staticmethod(fn) if isinstance(raw, staticmethod) else fn)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--recipe", default="shapes")
    p.add_argument("--clips", type=int, default=3)
    p.add_argument("--scope", choices=["kernels", "stages"], default="kernels")
    p.add_argument("overrides", nargs="*")
    a = p.parse_args()
    spec, backend, lays = one_thread_clips(a.recipe, a.clips, a.overrides)

    def run() -> tuple[float, list]:
        t0 = time.process_time()
        out = [backend.render(lay.scene, lay.traj) for lay in lays[:a.clips]]
        return (time.process_time() - t0) / a.clips, out

    backend.render(lays[-1].scene, lays[-1].traj)  # warm-up
    eager_s, eager = run()
    _compile(a.scope)
    t0 = time.perf_counter()
    backend.render(lays[-1].scene, lays[-1].traj)  # compiles (dynamic shapes: once per kernel and guard set)
    compile_s = time.perf_counter() - t0
    comp_s, comp = run()
    fields = ("rgb", "depth", "instance", "amodal", "normals", "surface", "flow_fwd", "flow_bwd")
    same = {f: all(torch.equal(torch.nan_to_num(getattr(x, f).float(), 1e9, 1e9, -1e9),
                               torch.nan_to_num(getattr(y, f).float(), 1e9, 1e9, -1e9)) for x, y in zip(eager, comp))
            for f in fields}
    print(json.dumps({"benchmark": "compile_trial", "recipe": a.recipe, "scope": a.scope, "clips": a.clips,
                      "size": [spec.clip.width, spec.clip.height, spec.clip.frames],
                      "eager_cpu_s_per_clip": round(eager_s, 3), "compiled_cpu_s_per_clip": round(comp_s, 3),
                      "speedup": round(eager_s / comp_s, 3), "first_call_compile_s": round(compile_s, 1),
                      "bit_identical": same, "machine": machine()}))


if __name__ == "__main__":
    main()
