"""Clutter in the colon as shape builders (recipe ``shape: {name: …}``, placement ``wall``), each its own
class with masks and boxes like any object, and an ``embedded_fraction`` that says how much of it the
wall holds. Built in the wall frame (tangent plane z = 0, +z into the lumen), millimetres; a curved
wall (radius R) rises d²/2R at a distance d from the contact point, so pieces spread over the wall are
raised by half that (the wall's sag across the tube, none along it: half is the compromise).

- ``bubbles``: a cluster of ``count`` small spheres (0.5–3 mm across) resting on the wall, slightly
  sunk; glossy, pale material from the recipe (near-transparent look: high specular, light colour).
- ``fluid_pool``: a pool filling the lowest part of the lumen (place it at ``angle_deg: 270``, gravity
  −z): a flattened ellipsoid whose top lies ``depth_mm`` above the wall's lowest line and spans the
  chord of the tube at that depth; mostly inside the wall by construction; mirror-like, yellowish.
- ``stool``: residue, ``count`` brown ellipsoid lumps (1–5 mm) heaped together, half sunk.
- ``blood``: a thin dark-red smear, one to three overlapping flat lenses 0.05–0.15 mm proud of the
  wall, ``length_mm`` long; almost wholly inside the wall by construction.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from ...scene.shapes import Shape, ShapeBuilder, ShapeContext, ShapeParams, ShapePart, from_wall_frame

__all__ = ["BubblesParams", "FluidPoolParams", "StoolParams", "BloodParams", "BUBBLES", "FLUID_POOL", "STOOL", "BLOOD"]


def _rise(d: float, ctx: ShapeContext) -> float:
    """Half the wall's sag at distance d (mm) from the contact point (module docstring)."""
    return 0.5 * d * d / (2 * ctx.wall_radius * 1e3) if ctx.wall_radius else 0.0


def _rot(rng: np.random.Generator, tilt_deg: float) -> np.ndarray:
    """A random turn about z, then a tilt up to ``tilt_deg`` about x."""
    a, t = rng.uniform(0, 2 * np.pi), np.radians(rng.uniform(-tilt_deg, tilt_deg))
    cz, sz, cx, sx = np.cos(a), np.sin(a), np.cos(t), np.sin(t)
    return np.array([[cz, -sz, 0.0], [sz, cz, 0.0], [0.0, 0.0, 1.0]]) @ np.array([[1.0, 0.0, 0.0], [0.0, cx, -sx], [0.0, sx, cx]])


class BubblesParams(ShapeParams):
    """``count`` bubbles; ``min_mm``/``max_mm``: their diameters; ``spread_mm``: the cluster's radius."""

    count: int = Field(6, ge=1, le=24)
    min_mm: float = Field(0.5, ge=0.1, le=10.0)
    max_mm: float = Field(3.0, ge=0.1, le=10.0)
    spread_mm: float = Field(3.0, ge=0.0, le=30.0)


def build_bubbles(p: BubblesParams, rng: np.random.Generator, ctx: ShapeContext) -> Shape:
    lo, hi = sorted((p.min_mm, p.max_mm))
    parts = []
    for _ in range(p.count):
        r = float(np.exp(rng.uniform(np.log(lo), np.log(hi)))) / 2
        d, phi = p.spread_mm * np.sqrt(rng.uniform()), rng.uniform(0, 2 * np.pi)
        z = r * rng.uniform(0.55, 0.85) + _rise(d, ctx)
        parts.append(ShapePart("sphere", np.array([d * np.cos(phi), d * np.sin(phi), z]), np.full(3, r),
                               tone=tuple(rng.uniform(0.95, 1.05, 3))))
    return from_wall_frame(tuple(parts), scale=1e-3)


class FluidPoolParams(ShapeParams):
    """``depth_mm``: the pool's depth over the wall's lowest line; ``length_mm``: along the object's x
    (yaw 0: along the lumen)."""

    depth_mm: float = Field(2.0, ge=0.2, le=15.0)
    length_mm: float = Field(25.0, ge=2.0, le=200.0)


def build_fluid_pool(p: FluidPoolParams, rng: np.random.Generator, ctx: ShapeContext) -> Shape:
    R = (ctx.wall_radius or 0.03) * 1e3
    d = min(p.depth_mm, 0.8 * R)
    half_width = np.sqrt(max(2 * R * d - d * d, 1e-6)) * 1.05  # the tube's chord at that depth
    c = d * rng.uniform(2.5, 3.5)  # vertical semi-axis: the top is a shallow, nearly flat cap
    part = ShapePart("ellipsoid", np.array([0.0, 0.0, d - c]), np.array([p.length_mm / 2, half_width, c]))
    return from_wall_frame((part,), scale=1e-3)


class StoolParams(ShapeParams):
    """``count`` lumps of ``min_mm``–``max_mm`` heaped within ``spread_mm`` of the contact point."""

    count: int = Field(5, ge=1, le=16)
    min_mm: float = Field(1.0, ge=0.2, le=20.0)
    max_mm: float = Field(5.0, ge=0.2, le=20.0)
    spread_mm: float = Field(3.0, ge=0.0, le=30.0)


def build_stool(p: StoolParams, rng: np.random.Generator, ctx: ShapeContext) -> Shape:
    lo, hi = sorted((p.min_mm, p.max_mm))
    parts = []
    for _ in range(p.count):
        half = rng.uniform(lo, hi, 3) / 2 * np.array([1.0, 1.0, 0.7])
        d, phi = p.spread_mm * np.sqrt(rng.uniform()), rng.uniform(0, 2 * np.pi)
        z = half[2] * rng.uniform(0.0, 0.5) + _rise(d, ctx)
        parts.append(ShapePart("ellipsoid", np.array([d * np.cos(phi), d * np.sin(phi), z]), half, _rot(rng, 20.0),
                               tone=tuple(np.full(3, rng.uniform(0.8, 1.15)))))
    return from_wall_frame(tuple(parts), scale=1e-3)


class BloodParams(ShapeParams):
    """A smear ``length_mm`` long, ``width_mm`` wide, of ``patches`` overlapping flat lenses."""

    length_mm: float = Field(8.0, ge=0.5, le=60.0)
    width_mm: float = Field(3.0, ge=0.5, le=30.0)
    patches: int = Field(2, ge=1, le=6)


def build_blood(p: BloodParams, rng: np.random.Generator, ctx: ShapeContext) -> Shape:
    parts = []
    for k in range(p.patches):
        a = p.length_mm / 2 * rng.uniform(0.5, 1.0) / (1 if k == 0 else 1.5)
        b = p.width_mm / 2 * rng.uniform(0.6, 1.0)
        along = 0.0 if k == 0 else rng.uniform(-0.5, 0.5) * p.length_mm
        h = rng.uniform(0.05, 0.15) + _rise(min(a, b), ctx)  # proud of the wall over its width
        c = h * 4  # centre three top-heights below the wall: a thin film on it
        parts.append(ShapePart("ellipsoid", np.array([along, rng.uniform(-0.3, 0.3) * b, h - c]), np.array([a, b, c]),
                               tone=tuple(np.full(3, rng.uniform(0.75, 1.1)))))
    return from_wall_frame(tuple(parts), scale=1e-3)


BUBBLES = ShapeBuilder(BubblesParams, build_bubbles, "a cluster of small glossy bubbles on the wall")
FLUID_POOL = ShapeBuilder(FluidPoolParams, build_fluid_pool, "a fluid pool in the lowest part of the lumen")
STOOL = ShapeBuilder(StoolParams, build_stool, "stool residue: brown lumps heaped on the wall")
BLOOD = ShapeBuilder(BloodParams, build_blood, "a thin dark-red smear of blood on the wall")
