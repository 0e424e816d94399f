"""Shape builders: objects whose form is drawn one by one by a named builder (recipe
``objects[i].shape: {name, params}``), for domains where one class comes in kinds that differ in
structure, not just size — a pedunculated polyp is a head on a stalk, a flat one a thin disc.

A builder turns its drawn params (each recipe value a number, a name or a distribution of them, drawn
per object) and the clip's ``rng`` into a :class:`Shape`: the object's box, its primitives (in the
object frame, coloured relative to the group's material), how far the box centre sits above the wall
when placed on one (``lift``), and per-object attributes that label kinds read (``ObjectSet.attributes``).
Worlds register builders through the ``synthdata.shapes`` entry-point group.

Object frame of a shape placed on a wall: origin at the box centre, +z along the wall's inward normal,
the wall's tangent plane at z = −lift.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
from pydantic import BaseModel, ConfigDict

from ..registry import Registry

__all__ = ["ShapeParams", "ShapePart", "Shape", "ShapeContext", "ShapeBuilder", "SHAPES", "from_wall_frame"]


class ShapeParams(BaseModel):
    """Base of a builder's params model: one drawn value per field (recipe values may be distributions)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class ShapePart:
    """One primitive of a shape: ``center`` (3,) m and ``rotation`` (3,3) in the object frame, metric
    ``half_size`` (3,); its colour is the group material's × ``tone`` (``color2`` too), and it may swap
    texture, specular or shininess."""

    primitive: str
    center: np.ndarray
    half_size: np.ndarray
    rotation: np.ndarray = field(default_factory=lambda: np.eye(3))
    tone: tuple[float, float, float] = (1.0, 1.0, 1.0)
    texture: str | None = None
    specular: float | None = None
    shininess: float | None = None


@dataclass(frozen=True)
class Shape:
    """An object's form: its box ``half_size`` (3,) m around the origin, its ``parts`` (``()``: the one
    ``primitive`` filling the box), ``lift`` (m: box centre above the wall's tangent plane, wall
    placement only) and ``attributes`` (label name → value)."""

    half_size: np.ndarray
    primitive: str = "ellipsoid"
    parts: tuple[ShapePart, ...] = ()
    lift: float = 0.0
    attributes: dict[str, Any] = field(default_factory=dict)
    #: its whole underside rests on the wall (a sessile or flat lesion; not a pedunculated head over its
    #: stalk): a wall placement where part of it would hang over the lumen is drawn again
    seated: bool = False


@dataclass(frozen=True)
class ShapeContext:
    """What a builder may know of the clip: ``wall_radius`` (m), the tube's (mean) radius, None off a
    tube (flat lesions use it to stay proud of a curved wall)."""

    wall_radius: float | None = None


@dataclass(frozen=True)
class ShapeBuilder:
    """``build(params, rng, ctx) -> Shape``; ``params`` the model its recipe params validate against."""

    params: type[ShapeParams]
    build: Callable[[Any, np.random.Generator, ShapeContext], Shape]
    doc: str = ""


def from_wall_frame(parts: tuple[ShapePart, ...], scale: float = 1.0, attributes: dict[str, Any] | None = None,
                    seated: bool = False) -> Shape:
    """A :class:`Shape` from parts laid out in the wall frame (tangent plane z = 0, +z into the lumen;
    lengths × ``scale`` → metres): the box bounds every part's box, the origin moves to its centre and
    ``lift`` is that centre's height (a leaning shape's box centre sits off the wall point sideways: the
    placement puts the box centre over it). One untoned, unturned part filling the box becomes a plain
    primitive."""
    centers = np.array([q.center for q in parts], dtype=np.float64) * scale
    halves = np.array([q.half_size for q in parts], dtype=np.float64) * scale
    extent = np.stack([np.abs(np.asarray(q.rotation)) @ h for q, h in zip(parts, halves)])
    lo, hi = (centers - extent).min(0), (centers + extent).max(0)
    mid, half = (lo + hi) / 2, (hi - lo) / 2
    moved = tuple(ShapePart(q.primitive, c - mid, h, np.asarray(q.rotation, dtype=np.float64), q.tone, q.texture,
                            q.specular, q.shininess) for q, c, h in zip(parts, centers, halves))
    attrs = dict(attributes or {})
    one = moved[0]
    if (len(moved) == 1 and np.allclose(one.rotation, np.eye(3)) and tuple(one.tone) == (1.0, 1.0, 1.0)
            and one.texture is None and one.specular is None and one.shininess is None):
        return Shape(half_size=half, primitive=one.primitive, lift=float(mid[2]), attributes=attrs, seated=seated)
    return Shape(half_size=half, primitive="ellipsoid", parts=moved, lift=float(mid[2]), attributes=attrs, seated=seated)


#: name → ShapeBuilder
SHAPES: Registry[ShapeBuilder] = Registry("shape", "synthdata.shapes")
