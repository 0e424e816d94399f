"""Clips laid out for CPU benchmarks of the ray-caster alone: one torch thread, the backend, the layouts."""

from __future__ import annotations

import torch

import synthdata
from synthdata.render import make_backend
from synthdata.run.allocator import keep_freed_memory
from synthdata.run.pipeline import layout_clip
from synthdata.run.timing import StageTimer


def one_thread_clips(recipe: str, clips: int, overrides: list[str]):
    """(spec, backend, layouts) of ``clips`` + 1 clips on the CPU with one torch thread (CPU seconds
    compare across a shared box) and malloc tuned as in a worker; the last layout is for warm-up."""
    torch.set_num_threads(1)
    keep_freed_memory()  # as a worker process renders (synthdata/run/allocator.py)
    spec = synthdata.load_recipe(recipe, list(overrides) + ["device=cpu"])
    backend = make_backend(spec.backend, spec.device)
    return spec, backend, [layout_clip(spec, i, StageTimer()) for i in range(clips + 1)]
