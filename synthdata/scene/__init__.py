"""Scene sampling: a :class:`Scene` from (RecipeSpec, rng)."""

from .sample import sample_scene
from .types import CameraRig, Environment, Materials, ObjectSet, Scene

__all__ = ["CameraRig", "Environment", "Materials", "ObjectSet", "Scene", "sample_scene"]
