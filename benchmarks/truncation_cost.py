"""CPU seconds per clip of the ``truncation`` label (on by default), from layouts alone (it reads no
rendered map). Prints one JSON line per recipe.

    python benchmarks/truncation_cost.py --recipes shapes highway colonoscopy --clips 8
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine  # noqa: E402

import synthdata  # noqa: E402
from synthdata.annotate.truncation import _compute  # noqa: E402
from synthdata.run.check import check_recipe  # noqa: E402
from synthdata.run.pipeline import layout_clip  # noqa: E402
from synthdata.run.timing import StageTimer  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--recipes", nargs="+", default=["shapes", "highway", "colonoscopy"])
    p.add_argument("--clips", type=int, default=8)
    a = p.parse_args()
    for recipe in a.recipes:
        spec = check_recipe(synthdata.load_recipe(recipe, ["device=cpu"]))
        lays = [layout_clip(spec, i, StageTimer()) for i in range(a.clips)]
        _compute(None, lays[0].scene, lays[0].traj)  # warm-up
        t0 = time.process_time()
        for lay in lays:
            _compute(None, lay.scene, lay.traj)
        per = (time.process_time() - t0) / a.clips
        objects = sum(len(lay.scene.objects) for lay in lays) / a.clips
        print(json.dumps({"benchmark": "truncation_cost", "recipe": recipe, "clips": a.clips,
                          "frames": spec.clip.frames, "objects_per_clip": round(objects, 1),
                          "cpu_s_per_clip": round(per, 4), "machine": machine()}))


if __name__ == "__main__":
    main()
