"""Motion models (registries by name) and the rollout of a Scene into Trajectories."""

from . import camera as _camera  # noqa: F401  (registers camera motions)
from . import objects as _objects  # noqa: F401  (registers object motions)
from .registry import CAMERA_MOTIONS, OBJECT_MOTIONS, MotionContext, MotionParams
from .rollout import rollout
from .types import Trajectories

__all__ = ["CAMERA_MOTIONS", "OBJECT_MOTIONS", "MotionContext", "MotionParams", "Trajectories", "rollout"]
