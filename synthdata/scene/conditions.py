"""Driving conditions sampled with a scene: lights carried by objects, rain, snow, a wet ground,
exposure, and the time-of-day sky model. They change pixels only, never labels.

Everything here is drawn from the clip's ``rng`` *only when the recipe asks for it* (a recipe without
conditions draws nothing more, so its clips keep their bytes). Particle positions are not drawn here:
the renderer seeds them from ``Scene.generator_seed`` (:mod:`synthdata.render.raycast.conditions`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..recipe.distributions import draw
from ..recipe.schema import LightSpec, RecipeSpec, RainSpec, SnowSpec

__all__ = ["Light", "Snow", "Wet", "Exposure", "Conditions", "draw_light", "sample_conditions", "time_of_day"]


@dataclass(frozen=True)
class Light:
    """A point (``cos_outer`` = -1) or spot light in its owner object's frame. ``position`` (3,) and unit
    ``direction`` (3,) in the object frame; irradiance ``intensity·color·max(0,n·l)/(1+falloff·d²)`` for
    d < ``range``, times the cone factor (1 inside ``cos_inner``, 0 outside ``cos_outer``)."""

    owner: int
    position: np.ndarray
    direction: np.ndarray
    cos_outer: float
    cos_inner: float
    intensity: float
    color: np.ndarray
    falloff: float
    range: float


@dataclass(frozen=True)
class Snow:
    spec: SnowSpec
    coverage: float


@dataclass(frozen=True)
class Wet:
    amount: float
    puddles: float
    puddle_scale: float


@dataclass(frozen=True)
class Exposure:
    ev: float
    auto: bool
    key: float
    adapt: float
    min_ev: float
    max_ev: float
    meter: str = "scene"  # "sensor": closed loop on the clipped, masked sensor output (docs/endoscopy.md)


@dataclass(frozen=True)
class Conditions:
    lights: tuple[Light, ...] = ()
    rain: RainSpec | None = None
    snow: Snow | None = None
    wet: Wet | None = None
    exposure: Exposure | None = None


def draw_light(spec: LightSpec, rng: np.random.Generator) -> Light:
    """One light's values (owner and placement are filled in by :func:`place_light`)."""
    intensity = max(0.0, float(draw(spec.intensity, rng)))
    color = np.clip(np.asarray([float(draw(c, rng)) for c in spec.color]), 0, 4)
    falloff = max(1e-4, float(draw(spec.falloff, rng)))
    rng_ = float(draw(spec.range, rng)) if spec.range is not None else float(np.sqrt(max(255 * intensity, 1e-6) / falloff))
    direction, cos_outer, cos_inner = np.array([1.0, 0.0, 0.0]), -1.0, -1.0
    if spec.cone is not None:
        direction = np.asarray([float(draw(c, rng)) for c in spec.cone.direction])
        direction = direction / max(np.linalg.norm(direction), 1e-9)
        a = np.radians(float(draw(spec.cone.angle_deg, rng)))
        cos_outer, cos_inner = float(np.cos(a)), float(np.cos(0.75 * a))
    return Light(owner=-1, position=np.zeros(3), direction=direction, cos_outer=cos_outer, cos_inner=cos_inner,
                 intensity=intensity, color=color, falloff=falloff, range=max(rng_, 0.01))


def place_light(light: Light, owner: int, offset: np.ndarray) -> Light:
    """The light moved into its object's frame: at the part's centre, cone axis turned by the part.
    Shape: offset (4,4) part → object frame."""
    return replace(light, owner=owner, position=offset[:3, 3].copy(), direction=offset[:3, :3] @ light.direction)


def sample_conditions(spec: RecipeSpec, lights: list[Light], rng: np.random.Generator,
                      params: dict[str, Any]) -> Conditions | None:
    """The clip's conditions, or None when the recipe asks for none (then nothing is drawn)."""
    env, exp = spec.environment, spec.camera.exposure
    if not lights and env.rain is None and env.snow is None and env.wet is None and exp is None:
        return None
    snow = wet = exposure = None
    if env.snow is not None:
        snow = Snow(env.snow, float(np.clip(draw(env.snow.coverage, rng), 0, 1)))
    if env.wet is not None:
        wet = Wet(float(np.clip(draw(env.wet.amount, rng), 0, 1)), float(np.clip(draw(env.wet.puddles, rng), 0, 1)),
                  env.wet.puddle_scale)
    if exp is not None:
        exposure = Exposure(float(draw(exp.ev, rng)), exp.auto, exp.key, exp.adapt, exp.min_ev, exp.max_ev, exp.meter)
    out = Conditions(lights=tuple(lights), rain=env.rain, snow=snow, wet=wet, exposure=exposure)
    params["conditions"] = {"lights": len(lights), "rain": env.rain is not None,
                            "snow": None if snow is None else snow.coverage, "wet": None if wet is None else wet.amount,
                            "exposure_ev": None if exposure is None else exposure.ev}
    return out


# -- time of day --------------------------------------------------------------------------------------
NIGHT_TOP = np.array([0.008, 0.01, 0.028])
NIGHT_HORIZON = np.array([0.02, 0.025, 0.045])
DUSK_HORIZON = np.array([0.95, 0.5, 0.25])
LOW_SUN = np.array([1.0, 0.42, 0.15])  # sun colour at the horizon (more air, more red)
NIGHT_AMBIENT = 0.06  # fraction of the daytime ambient left at night (sky glow, moon)


def _smoothstep(a: float, b: float, x: float) -> float:
    t = float(np.clip((x - a) / (b - a), 0.0, 1.0))
    return t * t * (3 - 2 * t)


def time_of_day(elevation_deg: float, sky_top: np.ndarray, sky_horizon: np.ndarray, sun_color: np.ndarray,
                sun_intensity: float, ambient: float) -> dict[str, Any]:
    """The sky model of ``sky_model: auto``: daytime values (the recipe's) → values at this sun elevation.
    Continuous in elevation: full day above ~12°, a warm horizon and red sun around 0°, the sun's direct
    light gone below the horizon, and night (dark sky, ``NIGHT_AMBIENT`` of the ambient) below −6°."""
    e = float(elevation_deg)
    day = _smoothstep(-6.0, 12.0, e)
    dusk = float(np.exp(-((e - 1.0) / 5.0) ** 2)) * _smoothstep(-8.0, -2.0, e)
    top = NIGHT_TOP + (np.asarray(sky_top) - NIGHT_TOP) * day
    hor = NIGHT_HORIZON + (np.asarray(sky_horizon) - NIGHT_HORIZON) * day
    hor = hor + (DUSK_HORIZON * max(day, 0.25) - hor) * 0.6 * dusk
    warm = _smoothstep(0.0, 30.0, e)
    return {"sky_top": np.clip(top, 0, 1), "sky_horizon": np.clip(hor, 0, 1),
            "sun_color": np.asarray(sun_color) * (LOW_SUN + (1 - LOW_SUN) * warm),
            "sun_intensity": sun_intensity * _smoothstep(-1.0, 10.0, e),
            "ambient": ambient * (NIGHT_AMBIENT + (1 - NIGHT_AMBIENT) * _smoothstep(-8.0, 20.0, e))}
