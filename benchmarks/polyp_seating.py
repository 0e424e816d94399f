"""Do sessile and flat polyps rest on the wall? Over N layouts of a recipe (no rendering), each polyp's
footprint on a dense grid of its own parts (48 × 48 columns, 128 levels): the fraction of columns whose
lowest point lies over the lumen by more than 0.3 mm ("hanging"), and its top's height above the local
wall, by Paris type. Prints one JSON line.

    python benchmarks/polyp_seating.py --recipe polyp_detection --clips 300
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine  # noqa: E402

import synthdata  # noqa: E402
from synthdata.run.check import check_recipe  # noqa: E402
from synthdata.run.pipeline import layout_clip  # noqa: E402
from synthdata.run.timing import StageTimer  # noqa: E402
from synthdata.scene.volume import object_volume_grid  # noqa: E402


def seating(scene, traj, i) -> tuple[float, float]:
    """(hanging fraction of the footprint, top above the local wall in mm) of object ``i`` at frame 0."""
    lum, P = scene.environment.lumen, traj.object_poses[0][i]
    inside, low = object_volume_grid(scene.objects, i)
    gap = -lum.field(low @ P[:3, :3].T + P[:3, 3]) * 1e3
    top = -lum.field(inside @ P[:3, :3].T + P[:3, 3]).min() * 1e3
    return float((gap > 0.3).mean()), float(top)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--recipe", default="polyp_detection")
    p.add_argument("--clips", type=int, default=300)
    p.add_argument("--label", default="")
    a = p.parse_args()
    spec = check_recipe(synthdata.load_recipe(a.recipe, ["clip.frames=2", "clip.width=32", "clip.height=32"]))
    by: dict[str, list[tuple[float, float]]] = {}
    for ci in range(a.clips):
        lay = layout_clip(spec, ci, StageTimer())
        for i, attrs in enumerate(lay.scene.objects.attributes or []):
            if attrs and "paris_class" in attrs:
                by.setdefault(attrs["paris_class"], []).append(seating(lay.scene, lay.traj, i))
    out = {k: {"n": len(v), "hanging_over_5pct": sum(h > 0.05 for h, _ in v), "max_hanging": round(max(h for h, _ in v), 3),
               "top_mm_median": round(float(np.median([t for _, t in v])), 2), "top_mm_max": round(max(t for _, t in v), 2),
               "top_at_least_2_5mm": sum(t >= 2.5 for _, t in v)} for k, v in sorted(by.items())}
    print(json.dumps({"benchmark": "polyp_seating", "label": a.label, "recipe": a.recipe, "clips": a.clips,
                      "by_paris": out, "note": "Ip hangs by design: its head over its stalk", "machine": machine()}))


if __name__ == "__main__":
    main()
