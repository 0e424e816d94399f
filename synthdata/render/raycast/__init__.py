"""Procedural ray-cast backend (``backend=raycast``)."""

from .backend import RaycastBackend, RaycastSettings
from .primitives import PRIMITIVES
from .textures import TEXTURES

__all__ = ["PRIMITIVES", "RaycastBackend", "RaycastSettings", "TEXTURES"]
