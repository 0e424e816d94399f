"""Render backends: the Backend base class, its registry, the ray-caster and the generator backends."""

from . import raycast as _raycast  # noqa: F401  (registers the raycast backend)
from . import diffusion as _diffusion  # noqa: F401  (registers diffusion backends; diffusers loads lazily)
from .backend import BACKENDS, Backend, BackendSettings, make_backend, resolve_device
from .types import Frames

__all__ = ["BACKENDS", "Backend", "BackendSettings", "Frames", "make_backend", "resolve_device"]
