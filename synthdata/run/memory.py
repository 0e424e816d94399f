"""Will a run fit? Peak memory per worker from a measured model, checked before anything is written.

A clip is rendered, annotated and encoded whole inside one worker, so a worker's peak grows with the
clip's pixels (frames × width × height) and with its object count (amodal masks are per object).
The constants below were fitted to peak RSS measured on the shipped recipes (shapes, highway,
colonoscopy) at 64²×8 … 256²×48 on the 2-core CPU box (benchmarks/results/memory-model-cpu-2core.json;
``python benchmarks/memory_model.py`` re-measures), rounded up so the estimate is an upper bound there.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..errors import UserError
from ..recipe.distributions import support
from ..recipe.schema import LIMITS, RecipeSpec
from ..render.backend import backend_settings
from ..resources import host_available_bytes
from .compute import ComputeSpec

__all__ = ["Estimate", "check_resources", "estimate_run", "max_objects"]

#: A worker process with torch, the backend and the writer loaded, before its first clip.
WORKER_BASE = 500 * 2**20
#: Peak bytes per clip pixel (frames × width × height) at supersample 1: maps, flows, encode buffers …
PER_PIXEL = 330
#: … plus this per pixel per object (amodal masks, per-object coverage).
PER_PIXEL_PER_OBJECT = 4


@dataclass(frozen=True)
class Estimate:
    per_worker: int  # bytes
    workers: int
    total: int
    available: int


def max_objects(spec: RecipeSpec) -> int:
    """Largest object count a clip of ``spec`` can have."""
    n = 0
    for g in spec.objects:
        s = support(g.count)
        n += int(min(s[1], LIMITS["max_objects"])) if s else LIMITS["max_objects"]
    return min(n, LIMITS["max_objects"])


def clip_bytes(spec: RecipeSpec) -> int:
    """Estimated peak bytes of one clip in flight (batched backends hold ``clip_batch`` clips)."""
    c, settings = spec.clip, backend_settings(spec.backend)
    px = c.frames * c.width * c.height * settings.rays_per_pixel
    per_clip = px * (PER_PIXEL + PER_PIXEL_PER_OBJECT * max_objects(spec))
    return per_clip * settings.clips_per_batch


def estimate_run(spec: RecipeSpec, compute: ComputeSpec, available: int | None = None) -> Estimate:
    """Peak memory of a local run: every worker holds one clip (GPU workers hold theirs on the host too)."""
    per_worker = WORKER_BASE + clip_bytes(spec)
    workers = 1 if compute.name == "sync" or compute.address else compute.num_workers()
    return Estimate(per_worker, workers, per_worker * workers, available if available is not None else host_available_bytes())


def _gib(n: int) -> str:
    return f"{n / 2**30:.1f} GiB"


def check_resources(spec: RecipeSpec, compute: ComputeSpec, available: int | None = None) -> Estimate:
    """Refuse (one line, nothing written) a run that would not fit in memory or oversubscribes the
    machine; ``compute.force=true`` skips both checks. A remote cluster's memory is its own business:
    there only the per-worker estimate is checked against the workers' ``memory_limit`` when given."""
    est = estimate_run(spec, compute, available)
    if compute.force:
        return est
    c = spec.clip
    if not compute.address and est.available is not None and est.total > est.available:
        raise UserError("clip", f"{c.frames} frames of {c.width}×{c.height} need about {_gib(est.per_worker)} per "
                                f"worker × {est.workers} worker(s) = {_gib(est.total)}, but {_gib(est.available)} is "
                                "available; use fewer frames, a smaller size or compute.workers, or compute.force=true")
    limit = compute.memory_limit_bytes()
    if limit is not None and est.per_worker > limit:
        raise UserError("compute.memory_limit", f"a worker needs about {_gib(est.per_worker)} for one clip of "
                                                f"{c.frames}×{c.width}×{c.height}, above the limit {_gib(limit)}")
    if compute.name == "local" and not compute.address and compute.workers != "auto":
        gpus = compute.num_gpus()
        have = gpus if gpus else (os.cpu_count() or 1)
        need = int(compute.workers) * (1 if gpus else compute.threads_per_worker)
        if need > have:
            what = f"{gpus} GPU(s)" if gpus else f"{have} CPU core(s)"
            raise UserError("compute.workers", f"{compute.workers} worker(s) × {compute.threads_per_worker} thread(s) "
                                               f"exceed this machine's {what}; lower it or pass compute.force=true")
    return est
