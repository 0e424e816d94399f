"""Render backends: protocol, registry, and the built-in ray-caster."""

from . import raycast as _raycast  # noqa: F401  (registers the raycast backend)
from . import diffusion as _diffusion  # noqa: F401  (registers diffusion backends; diffusers loads lazily)
from .backend import BACKENDS, Backend, make_backend, resolve_device
from .types import Frames

__all__ = ["BACKENDS", "Backend", "Frames", "make_backend", "resolve_device"]
