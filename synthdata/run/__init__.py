"""Running recipes: checks, plans, the per-clip pipeline, and dataset generation."""

from .check import check_recipe
from .compute import ComputeSpec, load_compute
from .executors import EXECUTORS, make_executor
from .generate import GenerationFailed, generate
from .pipeline import make_clip
from .plan import Plan, make_plan
from .timing import StageTimer

__all__ = [
    "EXECUTORS", "ComputeSpec", "GenerationFailed", "Plan", "StageTimer", "check_recipe", "generate", "load_compute",
    "make_clip", "make_executor", "make_plan",
]
