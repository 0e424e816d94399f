"""Running recipes: checks, plans, the per-clip pipeline, and dataset generation."""

from .check import check_recipe
from .generate import generate
from .pipeline import make_clip
from .plan import Plan, make_plan
from .timing import StageTimer

__all__ = ["Plan", "StageTimer", "check_recipe", "generate", "make_clip", "make_plan"]
