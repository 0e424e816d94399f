"""Polyp labels on many clips of a small metric colonoscopy recipe (bent lumen with folds, 3 cm radius,
endoscope advancing): how many visible polyp rows are flagged ``occluded`` when the wall's embedded
part counts as hidden (the semantics before issue 13) and when it does not (now), for the old
ellipsoid polyps; then the same for Paris-type polyps (shape ``polyp``), with fused pairs (two
polyps' volumes sharing a point: must be 0) and the mean ``embedded_fraction`` per type. Writes JSON.

    python benchmarks/polyp_labels.py --clips 200 --out benchmarks/results/polyp_labels.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1]))
from _machine import machine  # noqa: E402

import synthdata  # noqa: E402
from synthdata.annotate.compute import annotate  # noqa: E402
from synthdata.motion.rollout import rollout  # noqa: E402
from synthdata.recipe.schema import RecipeSpec  # noqa: E402
from synthdata.render.backend import make_backend  # noqa: E402
from synthdata.render.raycast.backend import RaycastBackend  # noqa: E402
from synthdata.run.check import check_recipe  # noqa: E402
from synthdata.scene.sample import sample_scene  # noqa: E402
from synthdata.scene.volume import CONTAINS, object_points  # noqa: E402

PLACEMENT = {"mode": "wall", "x": {"uniform": [0.02, 0.12]}, "angle_deg": {"uniform": [0, 360]},
             "yaw_deg": {"uniform": [0, 360]}, "gap": 0.0005}
MATERIAL = {"texture": "polyp", "color": [0.86, 0.42, 0.38], "color2": [0.55, 0.16, 0.2], "scale": 2000,
            "specular": 0.9, "shininess": 80}
OLD = {"class_name": "polyp", "count": {"randint": [1, 4]}, "primitive": "ellipsoid",
       "size": [{"uniform": [0.004, 0.01]}, {"uniform": [0.004, 0.01]}, {"uniform": [0.004, 0.012]}],
       "material": MATERIAL, "placement": PLACEMENT}
PARIS = {"class_name": "polyp", "count": {"randint": [1, 4]}, "shape": {"name": "polyp"}, "material": MATERIAL,
         "placement": PLACEMENT}


def spec_for(group: dict, size: int, frames: int) -> RecipeSpec:
    d = synthdata.load_recipe(str(Path(__file__).parent.parent / "tests/data/tube_polyps.yaml"), [  # the old colonoscopy
        f"clip.width={size}", f"clip.height={size}", f"clip.frames={frames}", "environment.tube_radius=0.03",
        "camera.position=[0.0,0.004,0.0]", "camera.look_at=[0.1,0.0,0.0]", "camera.motion.params.advance=0.02",
        "+environment.lumen={bend_amplitude: 0.02, fold_height: 0.006, taenia_depth: 0.1}",
        "+backend.supersample=1"]).model_dump(mode="json")
    d["objects"] = [group]
    d["annotations"].update(embedded_fraction=True, paris_class=True, size_mm=True, tracks=False)
    return check_recipe(RecipeSpec.model_validate(d))


def _legacy_amodal(backend, scene, traj) -> torch.Tensor:
    """The old coverage (every ray that meets the object, embedded part included): the same render with
    the environment's free-space rule switched off."""
    env_type = type(scene.environment)
    rule = env_type.bounds_free_space
    env_type.bounds_free_space = property(lambda self: False)
    try:
        return backend.render(scene, traj).amodal
    finally:
        env_type.bounds_free_space = rule


def _inside(objs, P, i, world):
    local = (world - P[:3, 3]) @ P[:3, :3]
    parts = objs.parts[i] if objs.parts else ()
    if not parts:
        return CONTAINS[objs.primitive[i]](local / objs.half_size[i])
    return np.any([CONTAINS[q.primitive](((local - q.offset[:3, 3]) @ q.offset[:3, :3]) / q.half_size) for q in parts], 0)


def fused_pairs(scene, traj) -> int:
    objs, n = scene.objects, len(scene.objects)
    P = traj.object_poses[0]
    pts = [object_points(objs, i, 1024) @ P[i, :3, :3].T + P[i, :3, 3] for i in range(n)]
    return sum(int(_inside(objs, P[j], j, pts[i]).any() or _inside(objs, P[i], i, pts[j]).any())
               for i in range(n) for j in range(i + 1, n))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clips", type=int, default=200)
    ap.add_argument("--size", type=int, default=48)
    ap.add_argument("--frames", type=int, default=3)
    ap.add_argument("--out", type=Path, default=None)
    a = ap.parse_args()
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    out: dict = {"benchmark": "polyp_labels", "clips": a.clips, "size": a.size, "frames": a.frames,
                 "recipe": "colonoscopy, metric: tube_radius 0.03, lumen {bend 0.02, folds 6 mm, taeniae 0.1}, "
                           "polyps x ∈ [2, 12] cm, 1–4 per clip, gap 0.5 mm"}
    for arm, group in (("ellipsoid", OLD), ("paris", PARIS)):
        spec = spec_for(group, a.size, a.frames)
        backend = make_backend(spec.backend, "cpu")
        vis = occ_new = occ_old = fused = 0
        emb: dict[str, list[float]] = {}
        for seed in range(a.clips):
            rng = np.random.default_rng(seed)
            scene = sample_scene(spec, rng)
            traj = rollout(scene, spec.clip.frames, spec.clip.fps, rng)
            fused += fused_pairs(scene, traj)
            frames = backend.render(scene, traj)
            ann = annotate(frames, scene, traj, spec.annotations)
            seen = ann.visible_pixels > 0
            vis += int(seen.sum())
            occ_new += int((ann.occluded & seen).sum())
            if arm == "ellipsoid":
                old = dataclasses.replace(frames, amodal=_legacy_amodal(backend, scene, traj))
                occ_old += int((annotate(old, scene, traj, spec.annotations).occluded & seen).sum())
            for k, e in zip(ann.labels["paris_class"], ann.labels["embedded_fraction"]):
                emb.setdefault(k or "ellipsoid", []).append(float(e))
        res = {"visible_rows": vis, "occluded_now": occ_new, "occluded_fraction_now": round(occ_new / max(vis, 1), 4),
               "fused_pairs": fused,
               "embedded_fraction_mean": {k: round(float(np.mean(v)), 3) for k, v in sorted(emb.items())}}
        if arm == "ellipsoid":
            res.update(occluded_before=occ_old, occluded_fraction_before=round(occ_old / max(vis, 1), 4))
        out[arm] = res
        print(arm, json.dumps(res), flush=True)
    out["seconds"] = round(time.perf_counter() - t0, 1)
    out["machine"] = machine()
    text = json.dumps(out, indent=1)
    print(text)
    if a.out:
        a.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
