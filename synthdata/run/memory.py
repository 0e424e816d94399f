"""Will a run fit? Peak memory per worker from a measured model, checked before anything is written.

A worker makes one clip (``clips_per_batch`` for backends that batch clips) at a time, so its peak is

    WORKER_BASE [+ COMPILED_LOOPS] + clip pixels × (PER_PIXEL + PER_PIXEL_PER_OBJECT × N)
                                   + batch rays  × (PER_RAY + PER_RAY_PER_OBJECT × N)

- clip pixels = frames × width × height: the clip-size outputs that live until the clip is written
  (the G-buffer maps render fills batch by batch, amodal coverage maps (1 B per object, for backends
  that keep them: ``amodal_maps_per_clip``), the host copies
  annotate and the writer make of them);
- batch rays = frames per batch (``frame_batch``, fewer for frames larger than ``batch_kilorays`` allows)
  × width × height × rays per pixel: what one dense trace call
  holds while it runs (hits per primitive, shading temporaries), freed before the next batch — so it
  grows with the frame size and the object count, not with the clip's length;
- N = the most objects a clip of the recipe can have (:func:`max_objects`);
- COMPILED_LOOPS: a CPU worker whose clips take the compiled loops (:mod:`synthdata.jit`: clips of
  ``AUTO_PIXELS`` or more, or ``cpu_kernels: compiled``) loads numba and llvmlite and, on a fresh
  machine, compiles the loops in its first clip;
- a long clip made in windows of frames (:mod:`.windows`) counts as a clip of one window and the
  context frames its labels read: its memory does not grow with its length.

The constants were fitted to peak RSS measured on the shipped recipes (shapes, highway, colonoscopy)
at 64²×8 … 256²×48 in default-size shards (8 clips), compiling the loops into an empty numba cache,
on the 2-core CPU box (benchmarks/results/memory-model-round15-cpu-2core.json; ``python benchmarks/memory_model.py`` re-measures),
rounded up so the estimate bounds every measured point; docs/scaling.md ("Memory model") has the table.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..errors import UserError
from ..jit import AUTO_PIXELS
from ..recipe.distributions import support
from ..recipe.schema import LIMITS, RecipeSpec
from ..render.backend import backend_settings
from ..resources import host_available_bytes
from ..annotate.kinds import label_context
from .compute import ComputeSpec
from .windows import WINDOW_PIXELS, whole_clips_because, window_frames

__all__ = ["Estimate", "check_resources", "estimate_run", "max_objects", "takes_compiled_loops", "worker_bytes"]

#: A worker process with torch, the backend and the writer loaded, and what a shard of small clips
#: leaves on its heap (measured 556–560 MiB at 64²×8 in 8-clip shards; it was 500 until round 15, by
#: when the imports had grown past that).
WORKER_BASE = 560 * 2**20
#: … plus this for a worker that takes the compiled CPU loops: numba, llvmlite and compiling the loops
#: into an empty cache (measured residuals above WORKER_BASE + the clip terms: 113–146 MiB at 128²×16
#: and 256²×24; loading them from a warm cache costs ~40 MiB less).
COMPILED_LOOPS = 192 * 2**20
#: Peak bytes per clip pixel (frames × width × height): the clip-size maps, their host copies, encode,
#: and the heap a shard's clips leave fragmented. Measured slope 24 → 48 frames at 256², 8-clip shards,
#: with the lean G-buffer and chunked label passes: 64–85 B per pixel; every optional map kept (normals,
#: surface: labels that read them) adds up to ~30 B, hence 130 (was 160 before those changes) …
PER_PIXEL = 130
#: … plus this per clip pixel per object (amodal coverage maps, one byte per object; only for backends
#: that keep them for the whole clip: the ray-caster reduces them batch by batch).
PER_PIXEL_PER_OBJECT = 1
#: Transient bytes per ray of one trace batch (``frame_batch`` frames × pixels × rays per pixel) …
PER_RAY = 260
#: … plus this per ray per object (per-primitive hit distances, amodal hits).
PER_RAY_PER_OBJECT = 12


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


def clip_bytes(spec: RecipeSpec, window_pixels: int = WINDOW_PIXELS) -> int:
    """Estimated peak bytes of one clip in flight, above :data:`WORKER_BASE` (batched backends hold
    ``clip_batch`` clips). A backend without a ``frame_batch`` setting traces the whole clip at once. A
    clip made in windows (run/windows.py) holds one window and the context frames its labels read."""
    c, settings = spec.clip, backend_settings(spec.backend)
    n = max_objects(spec)
    frame_px = c.width * c.height
    window = window_frames(spec, window_pixels)
    frames = min(c.frames, window + 2 * (label_context(spec.annotations) or 0)) if window else c.frames
    per_batch = getattr(settings, "frames_per_batch", None)
    batch_frames = min(frames, per_batch(c.width, c.height)) if per_batch else frames
    rays = batch_frames * frame_px * settings.rays_per_pixel
    per_object_px = PER_PIXEL_PER_OBJECT if settings.amodal_maps_per_clip else 0
    per_clip = frames * frame_px * (PER_PIXEL + per_object_px * n) + rays * (PER_RAY + PER_RAY_PER_OBJECT * n)
    return per_clip * settings.clips_per_batch


def takes_compiled_loops(spec: RecipeSpec, window_pixels: int = WINDOW_PIXELS) -> bool:
    """Whether a worker making ``spec``'s clips may load the compiled CPU loops (:func:`synthdata.jit.for_clip`):
    a device that may be the CPU and a clip (a window, when made in windows) of ``AUTO_PIXELS``, or the
    backend's ``cpu_kernels: compiled``."""
    if spec.device.startswith("cuda"):
        return False
    c = spec.clip
    window = window_frames(spec, window_pixels)
    pixels = min(c.frames, window) * c.width * c.height if window else c.frames * c.width * c.height
    return pixels >= AUTO_PIXELS or getattr(backend_settings(spec.backend), "cpu_kernels", None) == "compiled"


def worker_bytes(spec: RecipeSpec, window_pixels: int = WINDOW_PIXELS) -> int:
    """Estimated peak bytes of one worker making ``spec``'s clips: :data:`WORKER_BASE`, the compiled
    loops where it takes them (:data:`COMPILED_LOOPS`) and one clip in flight (:func:`clip_bytes`)."""
    loops = COMPILED_LOOPS if takes_compiled_loops(spec, window_pixels) else 0
    return WORKER_BASE + loops + clip_bytes(spec, window_pixels)


def estimate_run(spec: RecipeSpec, compute: ComputeSpec, available: int | None = None) -> Estimate:
    """Peak memory of a local run: every worker holds one clip (GPU workers hold theirs on the host too)."""
    per_worker = worker_bytes(spec, compute.window_pixels_value())
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
    compute.check_cores()
    c = spec.clip
    if not compute.address and est.available is not None and est.total > est.available:
        whole = whole_clips_because(spec) if c.frames * c.width * c.height > compute.window_pixels_value() else None
        why = f" (made whole, not in windows: {whole})" if whole else ""
        raise UserError("clip", f"{c.frames} frames of {c.width}×{c.height} need about {_gib(est.per_worker)} per "
                                f"worker × {est.workers} worker(s) = {_gib(est.total)}{why}, but {_gib(est.available)} "
                                "is available; use fewer frames, a smaller size or compute.workers, or compute.force=true")
    limit = compute.memory_limit_bytes()
    if limit is not None and est.per_worker > limit:
        raise UserError("compute.memory_limit", f"a worker needs about {_gib(est.per_worker)} for one clip of "
                                                f"{c.frames}×{c.width}×{c.height}, above the limit {_gib(limit)}")
    return est

