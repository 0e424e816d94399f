"""Geometry checks of an endoscopy recipe over many clips: is the anatomy seen at the right scale, and is
the camera always inside the lumen? Prints one JSON line and writes it to ``--out``.

    python benchmarks/endoscopy_geometry.py --recipe benchmarks/endoscopy_geometry.yaml --clips 300

Each clip is sampled, rolled out, rendered (one ray per pixel: labels are the same as with anti-aliasing,
which only refines RGB) and annotated. Reported:

- depth per frame, mm (camera z-depth of the wall and objects; rays that meet nothing within the lumen's
  ``view_distance`` see darkness and do not count): min / median / max over frames of the per-frame
  nearest and farthest depth, and the fraction of frames whose farthest depth lies in 100–300 mm (what
  one sees ahead in a real colon);
- the nearest surface point (wall or object) by distance from the camera centre ("range", mm), and how many
  frames have a pixel nearer than 1 mm (near clipping: must be 0 unless a recipe asks for close-ups
  with a smaller ``margin``);
- the camera in the lumen: the fraction of frames (all T+2 padded ones) with F(camera) < 0 and with
  F < −``--margin`` (scene/lumen.py; both must be 1.0), the least clearance in mm;
- plausibility (motion/plausibility.py): object pairs that interpenetrate, clips with the camera inside
  an object;
- labels: the fraction of visible object rows flagged ``occluded``, and of in-view rows.
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
from _machine import machine  # noqa: E402

import synthdata  # noqa: E402
from synthdata.annotate import annotate  # noqa: E402
from synthdata.annotate.surface import surface_range  # noqa: E402
from synthdata.motion import rollout  # noqa: E402
from synthdata.motion.plausibility import violations  # noqa: E402
from synthdata.render import make_backend  # noqa: E402
from synthdata.scene import sample_scene  # noqa: E402


def _spread(values: list[float] | np.ndarray, scale: float = 1.0) -> dict[str, float]:
    a = np.asarray(values, dtype=np.float64) * scale
    return {"min": round(float(a.min()), 2), "median": round(float(np.median(a)), 2), "max": round(float(a.max()), 2)}


def _frame_depths(frames, traj) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-frame nearest and farthest z-depth and nearest range (m) over pixels that hit a surface.
    Shape: (T,) each (NaN where a frame sees nothing)."""
    depth = np.asarray(frames.depth, dtype=np.float64)  # (T,H,W)
    hit = np.isfinite(depth)
    near = np.where(hit, depth, np.inf).min((1, 2))
    far = np.where(hit, depth, -np.inf).max((1, 2))
    nearest = np.where(hit, surface_range(frames, traj), np.inf).min((1, 2))
    none = ~hit.any((1, 2))
    return (np.where(none, np.nan, near), np.where(none, np.nan, far), np.where(none, np.nan, nearest))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--recipe", default=str(Path(__file__).with_name("endoscopy_geometry.yaml")))
    p.add_argument("--clips", type=int, default=300)
    p.add_argument("--margin", type=float, default=0.002, help="least clearance checked, m of F")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    p.add_argument("--out", default=None, help="results JSON (default benchmarks/results/endoscopy_geometry-<name>.json)")
    p.add_argument("overrides", nargs="*")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    spec = synthdata.load_recipe(a.recipe, [*a.overrides, f"device={a.device}", "+backend.supersample=1"])
    backend = make_backend(spec.backend, spec.device)
    near, far, nearest, clearance = [], [], [], []
    close: list[tuple[int, int, float]] = []  # (clip, frame, mm) nearer than 1 mm
    inside = inside_margin = padded = 0
    pairs = camera_clips = visible_rows = occluded_rows = in_view_rows = occluded_in_view = 0
    t0 = time.perf_counter()
    for i in range(a.clips):
        rng = np.random.default_rng(i)
        scene = sample_scene(spec, rng)
        traj = rollout(scene, spec.clip.frames, spec.clip.fps, rng)
        lumen = scene.environment.lumen
        if lumen is None:
            raise SystemExit(f"{a.recipe}: environment.lumen is not set; this benchmark checks the bent lumen")
        F = lumen.field(traj.camera_poses_padded[:, :3, 3])
        inside += int((F < 0).sum())
        inside_margin += int((F < -a.margin).sum())
        padded += len(F)
        clearance.append(float(-F.max()))
        v = violations(scene, traj)
        pairs += len({(i, j) for _, i, j in v.pairs})
        camera_clips += bool(v.camera)
        frames = backend.render(scene, traj)
        n, f, r = _frame_depths(frames, traj)
        near.append(n), far.append(f), nearest.append(r)
        close.extend((i, int(k), round(float(r[k]) * 1e3, 2)) for k in np.nonzero(r < 1e-3)[0])
        ann = annotate(frames, scene, traj, spec.annotations)
        vis = ann.visible_pixels > 0
        visible_rows += int(vis.sum())
        occluded_rows += int((ann.occluded & vis).sum())
        in_view_rows += int(ann.in_view.sum())
        occluded_in_view += int((ann.occluded & ann.in_view).sum())
        if (i + 1) % 25 == 0:
            print(f"{i + 1}/{a.clips} clips, {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    near_a, far_a, nearest_a = (np.concatenate(x) for x in (near, far, nearest))
    seen = np.isfinite(far_a)
    result = {
        "benchmark": "endoscopy_geometry", "recipe": spec.name, "recipe_arg": a.recipe, "overrides": a.overrides,
        "clips": a.clips, "frames": spec.clip.frames, "size": [spec.clip.width, spec.clip.height],
        "depth_mm": {"frames_seeing_a_surface": round(float(seen.mean()), 4),
                     "per_frame_min": _spread(near_a[seen], 1e3), "per_frame_max": _spread(far_a[seen], 1e3),
                     "far_in_100_300mm_fraction": round(float(((far_a >= 0.1) & (far_a <= 0.3))[seen].mean()), 4),
                     "nearest_range_mm": _spread(nearest_a[seen], 1e3),
                     "frames_with_range_below_1mm": int((nearest_a[seen] < 1e-3).sum()),
                     "below_1mm_clip_frame_mm": close[:20]},
        "camera_in_lumen": {"padded_frames": padded, "inside_fraction": round(inside / padded, 6),
                            "inside_with_margin_fraction": round(inside_margin / padded, 6), "margin_m": a.margin,
                            "least_clearance_mm": round(min(clearance) * 1e3, 3),
                            "clearance_per_clip_mm": _spread(clearance, 1e3)},
        "plausibility": {"interpenetrating_pairs": pairs, "camera_inside_object_clips": camera_clips},
        "labels": {"visible_object_rows": visible_rows,
                   "occluded_fraction_of_visible": round(occluded_rows / max(visible_rows, 1), 4),
                   "in_view_object_rows": in_view_rows,
                   "occluded_fraction_of_in_view": round(occluded_in_view / max(in_view_rows, 1), 4)},
        "seconds": round(time.perf_counter() - t0, 1), "machine": machine(),
    }
    line = json.dumps(result)
    print(line)
    out = Path(a.out) if a.out else Path(__file__).parent / "results" / f"endoscopy_geometry-{spec.name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(line + "\n")


if __name__ == "__main__":
    main()
