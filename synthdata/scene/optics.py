"""Scope optics sampled with a scene: the field stop (black circular mask), vignetting, light guides
fixed in the camera frame and tissue scatter near the lens (docs/endoscopy.md). Generic: any world may
use them; all are off unless the recipe asks.

Drawn last (after the lens), and only when a recipe has light guides, so a recipe without them draws
nothing more and the same seed gives the same world with or without them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..recipe.distributions import draw
from ..recipe.schema import RecipeSpec
from ..registry import Registry

__all__ = ["FieldStop", "Vignetting", "VIGNETTING", "LightGuide", "Scatter", "sample_optics", "field_view"]

#: Vignetting models: name → gain(theta, rho, v) on numpy arrays (theta: each pixel's ray angle off the
#: optical axis, radians; rho: its distance from the principal point over the field-stop radius, or over
#: the half-diagonal without a stop; v: the :class:`Vignetting`) → gain in [0, 1].
VIGNETTING: Registry = Registry("vignetting model", "synthdata.vignetting")
VIGNETTING.register("cos4", lambda theta, rho, v: 1.0 - v.strength * (1.0 - np.cos(theta) ** 4))
VIGNETTING.register("radial", lambda theta, rho, v: np.clip(1.0 - v.strength * rho ** v.power, 0.0, 1.0))


@dataclass(frozen=True)
class FieldStop:
    """Pixels whose centre is farther than ``radius`` × min(W, H)/2 from the principal point are black
    and unlabelled; RGB fades to black over ``feather`` pixels inside the rim."""

    radius: float
    feather: float = 0.0

    def radius_px(self, width: int, height: int) -> float:
        return self.radius * min(width, height) / 2

    def inside(self, K: np.ndarray, width: int, height: int, rows: int | None = None, cols: int | None = None,
               scale: int = 1, grow: float = 0.0) -> np.ndarray:
        """(rows, cols) bool: the pixel centres of a ``scale``-times grid (default: the image) whose
        distance from K's principal point is below the radius grown by ``grow`` pixels (float64)."""
        rows, cols = height * scale if rows is None else rows, width * scale if cols is None else cols
        u = (np.arange(cols) + 0.5) / scale - K[0, 2]
        v = (np.arange(rows) + 0.5) / scale - K[1, 2]
        r = self.radius_px(width, height) + grow
        return u[None, :] ** 2 + v[:, None] ** 2 < r * r


def field_view(scene: Any) -> np.ndarray | None:
    """(H, W) bool: the pixels of the camera's image inside its field stop (None: no stop, all of them):
    a projected point (track, keypoint) is in view only there."""
    cam = scene.camera
    return None if cam.stop is None else cam.stop.inside(cam.K, cam.width, cam.height)


@dataclass(frozen=True)
class Vignetting:
    """Radial brightness falloff by registry ``model`` (render/raycast/optics.py: VIGNETTING)."""

    model: str
    strength: float
    power: float

    def gain(self, theta: np.ndarray, rho: np.ndarray) -> np.ndarray:
        return np.clip(VIGNETTING.get(self.model, "camera.vignetting.model")(theta, rho, self), 0.0, 1.0)


@dataclass(frozen=True)
class LightGuide:
    """A disc light source fixed in the camera frame. Shape: offset (3,) metres, direction (3,) unit,
    color (3,) linear; irradiance ``intensity·color·cos^exponent(α)·max(0,n·l)·(reference² + radius²)/
    (d² + radius²)``."""

    offset: np.ndarray
    direction: np.ndarray
    exponent: float
    intensity: float
    color: np.ndarray
    radius: float
    reference: float


@dataclass(frozen=True)
class Scatter:
    """Albedo → ``color`` (3,) linear with weight 1 / (1 + (d / distance)²), d the distance to the lens."""

    distance: float
    color: np.ndarray


def sample_optics(spec: RecipeSpec, scene: Any, rng: np.random.Generator) -> Any:
    """``scene`` with its camera's field stop and vignetting and its environment's light guides and
    scatter filled in from the recipe (unchanged, and nothing drawn, when the recipe has none)."""
    cam, head = spec.camera, spec.environment.headlight
    if cam.mask is None and cam.vignetting is None and not head.guides and head.scatter is None:
        return scene
    params = scene.params
    camera, env = scene.camera, scene.environment
    if cam.mask is not None:
        camera = replace(camera, stop=FieldStop(cam.mask.radius, cam.mask.feather))
        params["camera"]["mask"] = cam.mask.model_dump()
    if cam.vignetting is not None:
        v = cam.vignetting
        camera = replace(camera, vignetting=Vignetting(v.model, v.strength, v.power))
        params["camera"]["vignetting"] = v.model_dump()
    guides = []
    for g in head.guides:  # drawn in order, intensity then colour
        direction = np.asarray(g.direction, dtype=np.float64)
        intensity = max(0.0, float(draw(g.intensity, rng)))
        color = np.clip(np.asarray([float(draw(c, rng)) for c in g.color]), 0, 4)
        guides.append(LightGuide(offset=np.asarray(g.offset, dtype=np.float64),
                                 direction=direction / np.linalg.norm(direction), exponent=float(g.exponent),
                                 intensity=intensity, color=color, radius=float(g.radius), reference=float(g.reference)))
    scatter = None
    if head.scatter is not None:
        scatter = Scatter(float(head.scatter.distance), np.asarray(head.scatter.color, dtype=np.float64) ** 2.2)
    if guides or scatter is not None:
        env = replace(env, guides=tuple(guides), scatter=scatter)
        params["light_guides"] = [{"offset": g.offset.tolist(), "intensity": g.intensity, "color": g.color.tolist()}
                                  for g in guides]
    return replace(scene, camera=camera, environment=env)
