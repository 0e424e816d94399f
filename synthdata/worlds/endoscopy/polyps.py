"""Polyps by the Paris classification: the ``polyp`` shape builder (recipe ``shape: {name: polyp}``).

Each polyp is built in its wall frame (the wall's tangent plane z = 0, +z into the lumen, millimetres
here, metres out) and sunk into the wall as its type says:

- ``Ip`` pedunculated: an ellipsoidal head (``size_mm`` across) on a cylindrical stalk 0.5–1.2× as long,
  rooted 1 mm in the wall, leaning up to 25°;
- ``Is`` sessile: a dome, a broad-based ellipsoid cap at least 2.5 mm tall (Paris's line between Is and
  IIa; drawn sizes start at :data:`IS_MIN_SIZE_MM`, where a dome 0.8× its size tall reaches it; a smaller
  size the recipe gives still gets 2.5 mm, a protruding knob), its centre a quarter of its height below
  the wall;
- ``IIa`` flat elevated: a plaque 0.5–2.4 mm tall (< 2.5 mm, and under 0.45× its size);
- ``IIb`` flat: a lens 0.05–0.15 mm proud of the wall: only colour and texture set it apart;
- ``IIc`` depressed: a thin lesion (top 0.03–0.08 mm proud) with a darker, redder centre part just above
  it (0.05 mm higher, so it shows). Approximation: analytic primitives cannot carve the wall, so the depression is drawn by colour,
  not geometry (docs/endoscopy.md).

Sessile and flat types are raised by half the wall's sag over their smaller half-width (b²/4R, R the
tube's radius): the builder cannot know which way the wall curves under them (the placement's yaw comes
later), so they stand that much proud along the tube, and the wall covers that much of their rim across it;
the lift is at most :data:`MAX_LIFT` of a dome's centre depth, so it stays rooted in a straight wall, and
they are ``seated`` (the placement draws again where their underside would hang over the lumen). ``size_mm`` (the largest diameter, the head's for
Ip) is drawn from screening frequencies unless the recipe gives it: diminutive 2–5 mm common, 5–10 mm
less, 10–30 mm rare (log-uniform within a band); the type from screening frequencies unless given.
Labels: ``paris_class``, ``size_mm`` (objects table; :mod:`.labels`).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from ...scene.shapes import Shape, ShapeBuilder, ShapeContext, ShapeParams, ShapePart, from_wall_frame

__all__ = ["PARIS", "PARIS_WEIGHTS", "SIZE_BANDS", "size_weights", "PolypParams", "build_polyp", "POLYP"]

PARIS = ("Ip", "Is", "IIa", "IIb", "IIc")
#: how often each type is drawn when the recipe leaves ``paris`` out (screening series: mostly sessile and
#: flat elevated, few pedunculated, flat and depressed lesions rare)
PARIS_WEIGHTS = (0.10, 0.40, 0.35, 0.08, 0.07)
#: size bands (mm): diminutive, small, large
SIZE_BANDS = ((2.0, 5.0), (5.0, 10.0), (10.0, 30.0))
IIA_MAX_HEIGHT_MM = 2.4  # Paris: flat elevated lesions rise less than 2.5 mm (a closed biopsy forceps)
#: a dome is lifted off the wall's tangent plane by at most this fraction of its centre's depth below it,
#: so it stays rooted in a straight wall (a thin lesion lifted by the full sag floated over it)
MAX_LIFT = 0.8
IS_MIN_HEIGHT_MM = 2.5  # ... and sessile (protruding) ones at least that
#: smallest drawn size of a sessile polyp: a dome 0.8× its size tall is 2.5 mm tall from here (smaller
#: protruding lesions are drawn IIa, as the Paris height rule classes them)
IS_MIN_SIZE_MM = 3.2


def size_weights(paris: str) -> tuple[float, float, float]:
    """Band weights of ``size_mm`` for a type: pedunculated polyps are mostly larger."""
    return (0.15, 0.40, 0.45) if paris == "Ip" else (0.70, 0.20, 0.10)


class PolypParams(ShapeParams):
    """``paris``: the type (default: drawn by :data:`PARIS_WEIGHTS`); ``size_mm``: largest diameter
    (default: drawn from screening frequencies, :data:`SIZE_BANDS`)."""

    paris: Literal["Ip", "Is", "IIa", "IIb", "IIc"] | None = None
    size_mm: float | None = Field(None, ge=1.0, le=60.0)


def _ellipsoid(center, half, tone=(1.0, 1.0, 1.0), rotation=None, **kw) -> ShapePart:
    return ShapePart("ellipsoid", np.asarray(center, float), np.asarray(half, float),
                     np.eye(3) if rotation is None else rotation, tone=tone, **kw)


def _rot_x(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def _dome(a: float, b: float, height: float, sink: float, lift: float = 0.0, **kw) -> ShapePart:
    """An ellipsoid whose base on the wall (its section at the wall's level) has half-widths a, b, whose
    top rises ``height`` above the wall (plus ``lift``) and whose centre lies ``sink`` (< 1) of its
    vertical semi-axis below the wall (mm): the smaller ``sink``, the steeper its sides at the base."""
    c = height / (1.0 - sink)
    widen = 1.0 / np.sqrt(1.0 - sink * sink)
    lift = min(lift, MAX_LIFT * sink * c)  # the centre stays below the wall: no column of it over the lumen
    return _ellipsoid([0.0, 0.0, height + lift - c], [a * widen, b * widen, c], **kw)


def build_polyp(params: PolypParams, rng: np.random.Generator, ctx: ShapeContext) -> Shape:
    paris = params.paris or str(rng.choice(PARIS, p=np.asarray(PARIS_WEIGHTS) / sum(PARIS_WEIGHTS)))
    if params.size_mm is None:
        w = np.asarray(size_weights(paris))
        lo, hi = SIZE_BANDS[int(rng.choice(3, p=w / w.sum()))]
        if paris in ("Ip", "Is"):  # a pedunculated head on a stalk, a dome 2.5 mm tall: not the smallest
            lo = max(lo, 4.0 if paris == "Ip" else IS_MIN_SIZE_MM)
        size = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
    else:
        size = float(params.size_mm)
    a = size / 2
    b = a * rng.uniform(0.7, 1.0)
    R = ctx.wall_radius * 1e3 if ctx.wall_radius else None  # mm
    sag = b * b / (4 * R) if R else 0.0  # half what a curved wall rises over the half-width (docstring)
    if paris == "Ip":
        ch = a * rng.uniform(0.8, 1.0)
        rs = a * rng.uniform(0.25, 0.4)
        length = max(2.0, size * rng.uniform(0.5, 1.2))
        lean = _rot_x(np.radians(rng.uniform(-25.0, 25.0)))
        root = 1.0 + rs * rs / (2 * R) if R else 1.0
        stalk_mid = lean @ np.array([0.0, 0.0, (length - root) / 2])
        head = lean @ np.array([0.0, 0.0, length + 0.6 * ch])
        parts = (ShapePart("cylinder", stalk_mid, np.array([rs, rs, (length + root) / 2]), lean,
                           tone=(1.05, 1.0, 1.0)),
                 _ellipsoid(head, [a, b, ch], rotation=lean))
    elif paris == "Is":
        height = max(size * rng.uniform(0.4, 0.65), min(2.6, 0.8 * size), IS_MIN_HEIGHT_MM)
        parts = (_dome(a, b, height, 0.25, sag),)
    elif paris == "IIa":  # its top, lift included, under Paris's 2.5 mm above the wall along the tube
        height = min(rng.uniform(0.5, IIA_MAX_HEIGHT_MM), 0.45 * size)
        # the top is height + min(sag, MAX_LIFT·height) (_dome, sink 0.5), increasing in height: its largest
        # height under the limit
        top = IIA_MAX_HEIGHT_MM
        height = min(height, top - sag if sag < MAX_LIFT * top / (1 + MAX_LIFT) else top / (1 + MAX_LIFT))
        parts = (_dome(a, b, height, 0.5, sag),)
    elif paris == "IIb":
        parts = (_dome(a, b, rng.uniform(0.05, 0.15), rng.uniform(0.5, 0.75), sag),)
    else:  # IIc
        h = rng.uniform(0.03, 0.08)
        k = rng.uniform(0.45, 0.6)
        off = rng.uniform(-0.15, 0.15, 2) * np.array([a, b])
        inner = _dome(a * k, b * k, h + 0.05, 0.3, sag, tone=(0.78, 0.5, 0.5))
        parts = (_dome(a, b, h, 0.5, sag), ShapePart(inner.primitive, inner.center + np.array([*off, 0.0]),
                                                      inner.half_size, tone=inner.tone))
    return from_wall_frame(parts, scale=1e-3, attributes={"paris_class": paris, "size_mm": round(size, 3)},
                           seated=paris != "Ip")


POLYP = ShapeBuilder(params=PolypParams, build=build_polyp, doc="a polyp by Paris type, size in mm")
