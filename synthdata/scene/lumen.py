"""A bent, metric lumen: the colon's wall as an implicit surface around a smooth random centreline.

Coordinates. Motions and placements work in *straight* lumen coordinates — x along the axis, (y, z)
across it, the centreline at y = z = 0 — and :meth:`Lumen.warp` carries poses into the world by the
shear (x, y, z) → (x, y + f(x), z + g(x)), turning each frame so its +x follows the centreline's
tangent. The wall is the same set in both: a point is in the lumen when

    F(p) = ρ − R(x, θ) < 0,   (ρ, θ) = polar form of (y − f(x), z − g(x)),

so "inside" survives the warp exactly. R is the local radius: a mean radius varying slowly along x,
pulled in at the three taeniae coli (120° apart) and by the haustral folds — ring ridges across the
lumen every ``fold_spacing`` metres, interrupted at the taeniae (the semilunar folds), each with its own
height. The ray-caster sphere-traces F with :attr:`Lumen.lipschitz` as its step bound.

Every function takes numpy arrays or torch tensors (the renderer's) and returns the same kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

__all__ = ["Lumen"]


def _xp(a: Any):
    """The array module of ``a``: torch for tensors, numpy otherwise."""
    if type(a).__module__.startswith("torch"):
        import torch

        return torch
    return np


def _waves(x, waves: np.ndarray, xp, derivative: bool = False):
    """Σ a·sin(k·x + φ) over rows (a, k, φ) of ``waves`` (or its x-derivative)."""
    out = xp.zeros_like(x)
    for a, k, phi in waves:
        out = out + (a * k * xp.cos(k * x + phi) if derivative else a * xp.sin(k * x + phi))
    return out


@dataclass(frozen=True)
class Lumen:
    """The wall's shape (metres). ``bend_y``/``bend_z``/``radius_waves``: (K,3) rows (amplitude,
    wavenumber rad/m, phase) of the centreline's lateral excursions and of the relative radius
    variation; ``fold_*``: haustral folds (``fold_height`` 0: none), ``fold_jitter`` how much one fold's
    height differs from the next; ``taenia_depth``: relative inward pull at the taeniae, at
    ``taenia_angle`` + k·120°; ``view_distance``: rays that meet no wall within it see darkness."""

    radius: float
    bend_y: np.ndarray
    bend_z: np.ndarray
    radius_waves: np.ndarray
    fold_spacing: float = 0.03
    fold_height: float = 0.0
    fold_width: float = 0.002
    fold_phase: float = 0.0
    fold_jitter: float = 0.4
    fold_seed: float = 0.0
    taenia_depth: float = 0.0
    taenia_angle: float = 0.0
    view_distance: float = 0.3

    # -- the centreline ---------------------------------------------------------------------------
    def centre(self, x):
        """Centreline offsets (f(x), g(x)). Shape: x (...) → two (...)."""
        xp = _xp(x)
        return _waves(x, self.bend_y, xp), _waves(x, self.bend_z, xp)

    def tangent(self, x):
        """Unit tangent of the centreline at x. Shape: (...) → (..., 3)."""
        xp = _xp(x)
        fy, fz = _waves(x, self.bend_y, xp, True), _waves(x, self.bend_z, xp, True)
        t = xp.stack([xp.ones_like(x), fy, fz], -1)
        return t / xp.sqrt(1.0 + fy * fy + fz * fz)[..., None]

    # -- the wall ---------------------------------------------------------------------------------
    def _taenia_band(self, theta, xp):
        """1 on a taenia's line, falling to 0 between them (narrow bands ~±15°)."""
        return xp.cos(1.5 * (theta - self.taenia_angle)) ** 16

    def _folds(self, x, xp):
        """Height profile of the nearest haustral fold at x (m), each fold's height its own."""
        if self.fold_height <= 0:
            return xp.zeros_like(x)
        u = (x - self.fold_phase) / self.fold_spacing
        k = xp.floor(u + 0.5)
        dist = (u - k) * self.fold_spacing
        # a fixed pseudo-random number per fold in [0, 1): the golden-ratio sequence, which float32 and
        # float64 evaluate alike (a sin-hash would give the renderer and the labels different folds)
        frac = k * 0.6180339887 + self.fold_seed
        frac = frac - xp.floor(frac)
        height = self.fold_height * (1.0 - self.fold_jitter * frac)
        return height * xp.exp(-0.5 * (dist / self.fold_width) ** 2)

    def along(self, x):
        """The wall's terms that depend on x alone: centreline offsets f, g, mean radius r(x) and fold
        height, stacked. Shape: (...) → (..., 4). The ray-marcher tabulates them (render/raycast/lumen.py)."""
        xp = _xp(x)
        f, g = self.centre(x)
        r = self.radius * (1.0 + _waves(x, self.radius_waves, xp))
        return xp.stack([f, g, r, self._folds(x, xp)], -1)

    def field_from(self, p, terms):
        """F(p) from the points and their :meth:`along` terms. Shape: p (..., 3), terms (..., 4) → (...)."""
        xp = _xp(p)
        u, v = p[..., 1] - terms[..., 0], p[..., 2] - terms[..., 1]
        rho = xp.sqrt(u * u + v * v)
        theta = xp.arctan2(v, u) if xp is np else xp.atan2(v, u)
        band = self._taenia_band(theta, xp)
        return rho - (terms[..., 2] * (1.0 - self.taenia_depth * band) - terms[..., 3] * (1.0 - band))

    def wall_radius(self, x, theta):
        """R(x, θ): distance from the centreline to the wall (m). Shape: broadcastable (...)."""
        xp = _xp(x)
        r = self.radius * (1.0 + _waves(x, self.radius_waves, xp))
        band = self._taenia_band(theta, xp)
        r = r * (1.0 - self.taenia_depth * band)
        return r - self._folds(x, xp) * (1.0 - band)

    def straight(self, p):
        """World points → straight lumen coordinates (the inverse shear). Shape: (..., 3)."""
        xp = _xp(p)
        f, g = self.centre(p[..., 0])
        return xp.stack([p[..., 0], p[..., 1] - f, p[..., 2] - g], -1)

    def field(self, p):
        """F(p) = ρ − R(x, θ) (m; < 0 inside the lumen). Shape: (..., 3) world → (...)."""
        return self.field_from(p, self.along(p[..., 0]))

    def inside(self, p, margin: float = 0.0):
        """Whether world points lie in the lumen at least ``margin`` metres (of F) from the wall."""
        return self.field(p) < -margin

    def normal(self, p, h: float = 2e-5):
        """Unit wall normal pointing into the lumen (−∇F), by central differences (computed in double
        precision: F varies on the scale of millimetres). Shape: (..., 3) → (..., 3)."""
        xp = _xp(p)
        q = p.double() if xp is not np else p.astype(np.float64)
        grads = []
        for axis in range(3):
            e = xp.zeros_like(q)
            e[..., axis] = h
            grads.append((self.field(q + e) - self.field(q - e)) / (2 * h))
        n = -xp.stack(grads, -1)
        n = n / xp.sqrt((n * n).sum(-1))[..., None].clip(1e-12)
        return n.to(p.dtype) if xp is not np else n

    def unrolled(self, p):
        """World wall points on a straight cylinder of the mean radius: (x, r·cosθ, r·sinθ). Solid
        textures evaluated there follow the bent wall without seams or stretching. Shape: (..., 3)."""
        xp = _xp(p)
        q = self.straight(p)
        theta = xp.arctan2(q[..., 2], q[..., 1]) if xp is np else xp.atan2(q[..., 2], q[..., 1])
        return xp.stack([q[..., 0], self.radius * xp.cos(theta), self.radius * xp.sin(theta)], -1)

    @cached_property
    def lipschitz(self) -> float:
        """A bound on |∇F| near the wall, so a sphere-tracing step of −F/L does not cross it: 1.3× the
        largest gradient over a fixed sample of the shell 0.3–1.3 radii around the centreline (the
        analytic bound is ~2.5× looser and makes rays crawl; tests check hits against a fine march)."""
        rng = np.random.default_rng(0)
        n = 16384
        x = rng.uniform(-0.2, 1.5, n)
        theta, rho = rng.uniform(0, 2 * np.pi, n), rng.uniform(0.3, 1.3, n) * self.radius
        f, g = self.centre(x)
        p = np.stack([x, f + rho * np.cos(theta), g + rho * np.sin(theta)], 1)
        h = 1e-6
        grad = np.stack([(self.field(p + e) - self.field(p - e)) / (2 * h) for e in np.eye(3) * h], 1)
        return float(1.3 * np.sqrt((grad**2).sum(1)).max())

    # -- poses ----------------------------------------------------------------------------------------
    def warp(self, poses: np.ndarray) -> np.ndarray:
        """Poses in straight lumen coordinates → world poses: positions sheared onto the centreline,
        frames turned by the minimal rotation from +x to its tangent. Shape: (..., 4, 4)."""
        x = poses[..., 0, 3]
        f, g = self.centre(x)
        t = self.tangent(x)
        out = poses.copy()
        out[..., 1, 3] += f
        out[..., 2, 3] += g
        out[..., :3, :3] = _turn_x_to(t) @ poses[..., :3, :3]
        return out


def _turn_x_to(t: np.ndarray) -> np.ndarray:
    """The minimal rotation taking +x to unit vectors ``t`` (Rodrigues). Shape: (..., 3) → (..., 3, 3)."""
    ex = np.array([1.0, 0.0, 0.0])
    v = np.cross(ex, t)  # axis · sin
    c = t[..., 0]
    vx = np.zeros(t.shape[:-1] + (3, 3))
    vx[..., 0, 1], vx[..., 0, 2] = -v[..., 2], v[..., 1]
    vx[..., 1, 0], vx[..., 1, 2] = v[..., 2], -v[..., 0]
    vx[..., 2, 0], vx[..., 2, 1] = -v[..., 1], v[..., 0]
    k = (1.0 / (1.0 + c))[..., None, None]  # c > 0: the centreline never turns back on itself
    return np.eye(3) + vx + vx @ vx * k


def sample_lumen(spec: Any, radius: float, rng: np.random.Generator) -> Lumen:
    """One clip's lumen from a :class:`~synthdata.recipe.schema.LumenSpec`: two centreline waves per
    axis (wavelength 0.7–1.4× the recipe's, random phase, amplitudes splitting ``bend_amplitude``), one
    radius wave, the folds' phase and seed. Draws from ``rng`` only here (recipes without a lumen keep
    their bytes)."""
    from ..recipe.distributions import draw

    d = {k: float(draw(getattr(spec, k), rng)) for k in ("bend_amplitude", "bend_wavelength", "radius_variation",
                                                         "radius_wavelength", "fold_spacing", "fold_height",
                                                         "fold_width", "fold_jitter", "taenia_depth")}

    def waves(amplitude: float, wavelength: float, n: int) -> np.ndarray:
        share = rng.dirichlet(np.ones(n)) if n > 1 else np.ones(1)
        k = 2 * np.pi / (wavelength * rng.uniform(0.7, 1.4, n))
        return np.stack([amplitude * share, k, rng.uniform(0, 2 * np.pi, n)], 1)

    bend_y = waves(d["bend_amplitude"], d["bend_wavelength"], 2)
    bend_z = waves(d["bend_amplitude"], d["bend_wavelength"], 2)
    radius_waves = waves(d["radius_variation"], d["radius_wavelength"], 1)
    fold_phase, fold_seed, taenia = rng.uniform(0, d["fold_spacing"]), rng.uniform(0, 1), rng.uniform(0, 2 * np.pi)
    return Lumen(radius=radius, bend_y=bend_y, bend_z=bend_z, radius_waves=radius_waves,
                 fold_spacing=d["fold_spacing"], fold_height=d["fold_height"], fold_width=d["fold_width"],
                 fold_phase=float(fold_phase), fold_jitter=d["fold_jitter"], fold_seed=float(fold_seed),
                 taenia_depth=d["taenia_depth"], taenia_angle=float(taenia), view_distance=float(spec.view_distance))


def lumen_params(lumen: Lumen) -> dict[str, Any]:
    """What a clip's ``params`` records of its lumen (JSON-able)."""
    return {"radius": lumen.radius, "bend_y": lumen.bend_y.tolist(), "bend_z": lumen.bend_z.tolist(),
            "radius_waves": lumen.radius_waves.tolist(), "fold_spacing": lumen.fold_spacing,
            "fold_height": lumen.fold_height, "fold_width": lumen.fold_width, "taenia_depth": lumen.taenia_depth}


def wall_pose(lumen: Lumen, x: float, angle: float, yaw: float, lift: float = 0.0) -> np.ndarray:
    """A pose on the wall, in straight lumen coordinates: origin on the wall at ``x`` along the axis and
    ``angle`` around it (then ``lift`` metres further along the normal); once warped (:meth:`Lumen.warp`),
    +z is the world's inward wall normal there and +x the centreline's direction turned ``yaw`` about
    it. Shape: (4,4)."""
    radial = np.array([0.0, np.cos(angle), np.sin(angle)])
    p = np.array([x, 0.0, 0.0]) + lumen.wall_radius(np.float64(x), np.float64(angle)) * radial
    turn = _turn_x_to(lumen.tangent(np.float64(x)))
    f, g = lumen.centre(np.float64(x))
    z = lumen.normal(p + np.array([0.0, f, g]))  # the world normal at the warped point
    ax = turn[:, 0] - (turn[:, 0] @ z) * z
    ax = ax / np.linalg.norm(ax)
    ay = np.cross(z, ax)
    c, s = np.cos(yaw), np.sin(yaw)
    world = np.stack([c * ax + s * ay, -s * ax + c * ay, z], 1)
    out = np.eye(4)
    out[:3, :3] = turn.T @ world  # warp turns it back to ``world``
    out[:3, 3] = p
    if lift:  # lifted along the world normal: the straight pose whose warp lands exactly there
        q = p + np.array([0.0, f, g]) + lift * z
        fq, gq = lumen.centre(np.float64(q[0]))
        out[:3, :3] = _turn_x_to(lumen.tangent(np.float64(q[0]))).T @ world
        out[:3, 3] = [q[0], q[1] - fq, q[2] - gq]
    return out
