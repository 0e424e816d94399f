"""Ablation throughput and the worked example of docs/evaluation.md, end to end on this machine.

Generates a "target" set (the user's real data stands in: highway, seed 100), a small "real" training
set (highway, seed 200) and a synthetic variant (highway with fog, seed 300); runs the ablation
`benchmarks/ablate.yaml` (real vs real + synthetic vs real + synthetic + light augmentation, segment
tiny, 3 seeds, equal compute); prints JSON (runs/hour, seconds per run, verdicts) and copies the report's
plots into docs/images/ (--pictures).

    python benchmarks/ablate.py --out /tmp/ablate-bench [--pictures] [--compute sync]
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import time
from pathlib import Path

if __name__ == "__main__":
    import torch

    import synthdata

    p = argparse.ArgumentParser()
    p.add_argument("--out", default="/tmp/ablate-bench")
    p.add_argument("--compute", default="sync")
    p.add_argument("--size", type=int, default=32)
    p.add_argument("--steps", type=int, default=120)
    p.add_argument("--task", default="segment", help="segment | detect | classify")
    p.add_argument("--pictures", action="store_true")
    a = p.parse_args()
    root = Path(a.out)
    shutil.rmtree(root, ignore_errors=True)
    base = ["clip.frames=4", f"clip.width={a.size}", f"clip.height={a.size}", "device=cpu"]
    t0 = time.perf_counter()
    for name, clips, extra in (("target", 8, ["seed=100"]), ("real", 4, ["seed=200"]),
                               ("synthetic", 16, ["seed=300", "environment.fog_density={uniform: [0.0, 0.03]}"])):
        synthdata.generate("highway", clips=clips, out=root / name, overrides=[*base, *extra], compute="sync",
                           progress=False)
    gen_s = time.perf_counter() - t0
    from synthdata.evaluate.ablate import load_ablation

    cfg = load_ablation(Path(__file__).with_name("ablate.yaml"),
                                                  [f"datasets.real={root / 'real'}",
                                                   f"datasets.synthetic={root / 'synthetic'}",
                                                   f"eval={root / 'target'}", f"budget.steps={a.steps}",
                                                   f"task.name={a.task}"])
    t1 = time.perf_counter()
    res = synthdata.ablate(cfg, root / "report", compute=a.compute, progress=False)
    seconds = time.perf_counter() - t1
    runs = len(res.runs)
    print(json.dumps({
        "benchmark": "ablate", "machine": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} "
                                          f"torch threads, torch {torch.__version__}",
        "task": cfg.task.name, "size": cfg.task.size, "clip": f"4x{a.size}x{a.size}", "steps": a.steps,
        "batch": cfg.budget.batch, "runs": runs, "seconds": round(seconds, 1), "seconds_per_run": round(seconds / runs, 2),
        "runs_per_hour": round(3600 * runs / seconds, 1), "generate_seconds": round(gen_s, 1), "compute": a.compute,
        "verdicts": res.verdicts}, indent=1))
    if a.pictures:
        images = Path(__file__).resolve().parents[1] / "docs" / "images"
        for name in ("arms", "curves", "per_class"):
            shutil.copyfile(root / "report" / "plots" / f"{name}.png", images / f"ablation-{name}.png")
