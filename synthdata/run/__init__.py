"""Running recipes: checks, plans, the per-clip pipeline, and dataset generation.

Names load on first use: ``synthdata validate`` needs :func:`check_recipe` only, not the executors
(Dask) or the writers.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_LAZY = {
    "EXECUTORS": "executors", "ComputeSpec": "compute", "GenerationFailed": "generate", "Plan": "plan",
    "StageTimer": "timing", "check_recipe": "check", "generate": "generate", "load_compute": "compute",
    "make_clip": "pipeline", "make_executor": "executors", "make_plan": "plan",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
