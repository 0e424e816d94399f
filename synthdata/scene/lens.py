"""Lens models: where a camera-frame ray lands in the image, beyond the pinhole.

Conventions (shared by the ray-caster, every projected label and the stored ``lens`` column):

- Camera frame: OpenCV axes (x right, y down, z forward). A point (X, Y, Z), Z > 0, has *normalised*
  coordinates (x, y) = (X/Z, Y/Z); a model maps them to *distorted* normalised coordinates (x_d, y_d),
  and the pixel is u = fx·x_d + cx, v = fy·y_d + cy (K unchanged: the OpenCV convention, so
  ``cv2.projectPoints`` / ``cv2.fisheye.projectPoints`` with the stored K and coefficients reproduce
  every label; pixel centres at +0.5, as everywhere in synthdata).
- ``pinhole``: x_d = x (the default; no coefficients).
- ``brown_conrady`` (OpenCV ``distCoeffs`` order k1, k2, p1, p2, k3): r² = x² + y²,
  x_d = x(1 + k1r² + k2r⁴ + k3r⁶) + 2p1xy + p2(r² + 2x²), y_d = y(…) + p1(r² + 2y²) + 2p2xy.
- ``fisheye`` (Kannala–Brandt as OpenCV ``cv2.fisheye``, k1…k4): θ = atan(r), the angle off the axis,
  θ_d = θ(1 + k1θ² + k2θ⁴ + k3θ⁶ + k4θ⁸), (x_d, y_d) = (θ_d / r)(x, y). All k = 0 is equidistant.
- ``fov_deg`` is the horizontal field of view *through the lens*: the middle of the left and right image
  edges look fov/2 off the axis (radial terms; the focal length is chosen so). For the pinhole this is
  the old meaning, bit for bit.
- Rays are cast with camera z = 1, so every pixel must look less than 90° off the axis: models are
  refused (:func:`lens_problems`) when an image corner would look beyond ``MAX_THETA_DEG``, or when the
  mapping folds (stops increasing) inside the image.

Functions take numpy arrays or torch tensors (any device/dtype) alike. Shapes: x, y broadcast together.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from types import SimpleNamespace
from typing import Any, Callable

import numpy as np

from ..registry import Registry

__all__ = ["MAX_THETA_DEG", "LensModel", "LENS_MODELS", "Lens", "PINHOLE", "lens_problems"]

#: widest angle off the optical axis any pixel may look (rays need camera z > 0; 88° keeps z ≥ 0.035)
MAX_THETA_DEG = 88.0
_NEWTON_STEPS = 30


def _ops(a: Any) -> SimpleNamespace:
    """numpy or torch functions for ``a``'s kind (only what the models need)."""
    if isinstance(a, np.ndarray) or np.isscalar(a):
        return SimpleNamespace(sqrt=np.sqrt, atan=np.arctan, tan=np.tan, where=np.where, abs=np.abs)
    import torch

    return SimpleNamespace(sqrt=torch.sqrt, atan=torch.atan, tan=torch.tan, where=torch.where, abs=torch.abs)


@dataclass(frozen=True)
class LensModel:
    """One named model. ``distort(x, y, c)`` → (x_d, y_d); ``undistort(x_d, y_d, c)`` inverts it
    (Newton); ``radial(theta, c)`` is the distorted normalised radius of a ray ``theta`` radians off the
    axis (radial terms only: focal length from fov, fold and field-of-view checks). ``c`` is a dict of
    the coefficients named in ``coefficients``."""

    name: str
    coefficients: tuple[str, ...]
    distort: Callable
    undistort: Callable
    radial: Callable


LENS_MODELS: Registry[LensModel] = Registry("lens model", "synthdata.lens_models")


# -- pinhole -----------------------------------------------------------------------------------------
LENS_MODELS.register("pinhole", LensModel("pinhole", (), lambda x, y, c: (x, y), lambda x, y, c: (x, y),
                                          lambda th, c: np.tan(th)))


# -- Brown–Conrady -----------------------------------------------------------------------------------
def _bc_distort(x, y, c):
    r2 = x * x + y * y
    rad = 1 + r2 * (c["k1"] + r2 * (c["k2"] + r2 * c["k3"]))
    return (x * rad + 2 * c["p1"] * x * y + c["p2"] * (r2 + 2 * x * x),
            y * rad + c["p1"] * (r2 + 2 * y * y) + 2 * c["p2"] * x * y)


def _bc_undistort(xd, yd, c):
    """2D Newton from (x_d, y_d) with the analytic Jacobian (radial-only barrel and pincushion converge
    monotonically from there; tangential terms are small by construction)."""
    x, y = xd + 0 * yd, yd + 0 * xd
    k1, k2, k3, p1, p2 = (c[k] for k in ("k1", "k2", "k3", "p1", "p2"))
    for _ in range(_NEWTON_STEPS):
        r2 = x * x + y * y
        rad = 1 + r2 * (k1 + r2 * (k2 + r2 * k3))
        g = k1 + r2 * (2 * k2 + 3 * k3 * r2)  # d rad / d r² 
        ex = x * rad + 2 * p1 * x * y + p2 * (r2 + 2 * x * x) - xd
        ey = y * rad + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y - yd
        a = rad + 2 * x * x * g + 2 * p1 * y + 6 * p2 * x
        b = 2 * x * y * g + 2 * p1 * x + 2 * p2 * y
        d = rad + 2 * y * y * g + 6 * p1 * y + 2 * p2 * x
        det = a * d - b * b
        x, y = x - (d * ex - b * ey) / det, y - (a * ey - b * ex) / det
    return x, y


LENS_MODELS.register("brown_conrady", LensModel(
    "brown_conrady", ("k1", "k2", "k3", "p1", "p2"), _bc_distort, _bc_undistort,
    lambda th, c: (lambda t: t * (1 + t * t * (c["k1"] + t * t * (c["k2"] + t * t * c["k3"]))))(np.tan(th))))


# -- fisheye (Kannala–Brandt) ------------------------------------------------------------------------
def _kb_theta_d(th, c):
    t2 = th * th
    return th * (1 + t2 * (c["k1"] + t2 * (c["k2"] + t2 * (c["k3"] + t2 * c["k4"]))))


def _kb_distort(x, y, c):
    o = _ops(x)
    r = o.sqrt(x * x + y * y)
    th = o.atan(r)
    small = r < 1e-12
    scale = o.where(small, 1.0 + 0 * r, _kb_theta_d(th, c) / o.where(small, 1.0 + 0 * r, r))
    return x * scale, y * scale


def _kb_undistort(xd, yd, c):
    """1D Newton on θ_d(θ) = ρ (the model is radial), then r = tan θ along the same direction."""
    o = _ops(xd)
    rho = o.sqrt(xd * xd + yd * yd)
    th = rho.clip(0, math.radians(89.9)) if isinstance(rho, np.ndarray) else rho.clamp(0, math.radians(89.9))
    k1, k2, k3, k4 = (c[k] for k in ("k1", "k2", "k3", "k4"))
    for _ in range(_NEWTON_STEPS):
        t2 = th * th
        f = th * (1 + t2 * (k1 + t2 * (k2 + t2 * (k3 + t2 * k4)))) - rho
        df = 1 + t2 * (3 * k1 + t2 * (5 * k2 + t2 * (7 * k3 + 9 * k4 * t2)))
        th = th - f / df
    small = rho < 1e-12
    scale = o.where(small, 1.0 + 0 * rho, o.tan(th) / o.where(small, 1.0 + 0 * rho, rho))
    return xd * scale, yd * scale


LENS_MODELS.register("fisheye", LensModel("fisheye", ("k1", "k2", "k3", "k4"), _kb_distort, _kb_undistort,
                                          lambda th, c: _kb_theta_d(th, c)))


# -- one clip's lens ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Lens:
    """A model by name and its coefficients (name → value); what the clip stores and every projection
    uses. ``valid_radius`` is the normalised radius (x² + y²)^½ up to which the radial mapping increases:
    beyond it the polynomial folds back, those points are outside the image (the renderer never casts
    such rays) and :meth:`project` gives NaN."""

    model: str = "pinhole"
    coeffs: tuple[tuple[str, float], ...] = ()

    @property
    def is_pinhole(self) -> bool:
        return self.model == "pinhole"

    @property
    def c(self) -> dict[str, float]:
        return dict(self.coeffs)

    @property
    def spec(self) -> LensModel:
        return LENS_MODELS.get(self.model, "camera.lens.model")

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, **self.c}

    def distort(self, x, y):
        return self.spec.distort(x, y, self.c)

    def undistort(self, xd, yd):
        return self.spec.undistort(xd, yd, self.c)

    @cached_property
    def valid_radius(self) -> float:
        th = _fold_angle(self.spec, self.c)
        return math.inf if th >= math.pi / 2 else math.tan(th)

    def focal(self, fov_deg: float, width: int) -> float:
        """Focal length in pixels that puts the horizontal half-fov at the image's side edges."""
        return 0.5 * width / float(self.spec.radial(math.radians(fov_deg) / 2, self.c))

    def project(self, cam, K: np.ndarray):
        """(u, v, z) of camera-frame points (..., 3), numpy or torch: pixels and z-depth; u, v NaN behind
        the camera or beyond the fold (``valid_radius``)."""
        o = _ops(cam)
        z = cam[..., 2]
        front = z > 1e-6
        zs = o.where(front, z, 1.0 + 0 * z)
        x, y = cam[..., 0] / zs, cam[..., 1] / zs
        ok = front
        if not self.is_pinhole:
            ok = front & ((x * x + y * y) < self.valid_radius ** 2)
            x, y = self.distort(x, y)
        nan = float("nan")
        fx, fy, cx, cy = float(K[0, 0]), float(K[1, 1]), float(K[0, 2]), float(K[1, 2])
        return o.where(ok, fx * x + cx, nan + 0 * x), o.where(ok, fy * y + cy, nan + 0 * y), z


PINHOLE = Lens()


def _fold_angle(model: LensModel, c: dict[str, float]) -> float:
    """First angle off the axis (radians, < π/2) where the radial mapping stops increasing; π/2 if none."""
    th = np.linspace(0, math.pi / 2, 20001)[1:-1]
    r = np.asarray(model.radial(th, c), dtype=np.float64)
    bad = np.nonzero(np.diff(r) <= 0)[0]
    return float(th[bad[0]]) if len(bad) else math.pi / 2


def lens_problems(lens: Lens, fov_deg: float, width: int, height: int,
                  stop_px: float | None = None) -> list[tuple[str, str]]:
    """Why this lens cannot image a ``width``×``height`` picture at ``fov_deg`` (empty when it can):
    (field, one line) pairs. Checks that the radial mapping increases up to the image corner, that the
    corner looks less than ``MAX_THETA_DEG`` off the axis, and that every pixel undistorts to < 1e-6 px.
    ``stop_px``: a field stop's radius (pixels from the centre); only pixels inside it are cast, so the
    checks stop at the nearer of it and the corner (a 170° fisheye inside its circle)."""
    if lens.is_pinhole:
        return []
    m, c = lens.spec, lens.c
    fold = _fold_angle(m, c)
    half = math.radians(fov_deg) / 2
    r_edge = float(m.radial(half, c))
    if half >= fold or r_edge <= 0:
        return [("camera.lens", f"{lens.model} coefficients {c} fold the image: the radial mapping stops increasing "
                 f"{math.degrees(fold):.1f}° off the axis, inside the {fov_deg:g}° field of view; expected a mapping "
                 "that increases out to the image corners (smaller coefficients)")]
    f = 0.5 * width / r_edge
    reach = math.hypot(width / 2, height / 2) if stop_px is None else min(math.hypot(width / 2, height / 2), stop_px)
    r_corner = reach / f
    cap = min(fold, math.radians(MAX_THETA_DEG))
    if float(m.radial(cap, c)) <= r_corner:
        widest = _widest_fov(m, c, width, height, cap, reach)
        if fold < math.radians(MAX_THETA_DEG):
            return [("camera.lens", f"{lens.model} coefficients {c} fold the image before its corners (the radial "
                     f"mapping stops increasing {math.degrees(fold):.1f}° off the axis); expected smaller coefficients "
                     f"or camera.fov_deg ≤ {widest:.1f} at {width}×{height}")]
        return [("camera.fov_deg", f"with lens {lens.model} {c} at {width}×{height} the image corners would look "
                 f"≥ {MAX_THETA_DEG:g}° off the axis (rays need camera z > 0); expected fov_deg ≤ {widest:.1f}")]
    # every pixel of a coarse grid (and the border) must undistort back to itself
    u = np.linspace(0, width, 33)
    v = np.linspace(0, height, 33)
    uu, vv = np.meshgrid(u, v)
    if stop_px is not None:  # the grid pulled into the circle
        s = np.minimum(1.0, reach / np.maximum(np.hypot(uu - width / 2, vv - height / 2), 1e-12))
        uu, vv = width / 2 + (uu - width / 2) * s, height / 2 + (vv - height / 2) * s
    xd, yd = (uu - width / 2) / f, (vv - height / 2) / f
    x, y = lens.undistort(xd, yd)
    rx, ry = lens.distort(x, y)
    err = float(np.nanmax(np.hypot(rx - xd, ry - yd))) * f if np.isfinite(x).all() and np.isfinite(y).all() else math.inf
    if not err < 1e-6 or not (np.hypot(x, y) < lens.valid_radius).all():
        return [("camera.lens", f"{lens.model} coefficients {c} fold the image (the distortion cannot be inverted "
                 f"inside {width}×{height} at fov {fov_deg:g}°); expected smaller tangential/radial coefficients")]
    return []


def _widest_fov(m: LensModel, c: dict[str, float], width: int, height: int, cap: float, reach: float) -> float:
    """Largest horizontal fov (degrees) whose farthest cast pixel (``reach`` pixels from the centre: the
    corner, or a field stop's rim) stays inside ``cap`` radians (bisection)."""
    lo, hi, ratio = 0.0, min(cap, 0.5 * math.pi - 1e-9), reach / (width / 2)
    for _ in range(60):
        mid = (lo + hi) / 2
        if float(m.radial(cap, c)) > ratio * float(m.radial(mid, c)):
            lo = mid
        else:
            hi = mid
    return math.degrees(2 * lo)
