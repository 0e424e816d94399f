"""Colonoscope camera motions, in straight lumen coordinates (x along the axis, the centreline at
y = z = 0; ``rollout`` warps them into the bent lumen). Poses are camera-to-world, OpenCV axes.

One kinematic model, ``colonoscope``, composes what an endoscopist does with the scope:

- **insertion / withdrawal**: the shaft moves along the lumen at ``speed`` m/s (+: deeper, −: pulled
  out, the tip still looking ahead), with an optional ``push_pull`` in-out oscillation;
- **tip deflection**: the bending section turns the view ``deflection_deg`` away from the axis towards
  the wall, cycling straight → bent → straight at ``deflection_hz`` from ``deflection_phase`` (a cycle
  fraction: 0 starts straight, 0.5 at the peak; ``deflection_hz: 0`` holds that bend); the bend's
  direction (``deflection_azimuth_deg`` around the lumen, 0 = +y, 90 = +z) turns at
  ``sweep_deg_per_second`` — the circular sweep of an inspecting withdrawal — and a bend of δ moves the
  tip sideways by ``bend_length``·(1 − cos δ)/δ;
- **rotation**: the shaft rolls at ``roll_deg_per_second`` (the image turns, and the bend with it);
- **close-up**: with ``closeup`` > 0 the tip goes that fraction of the way (smoothly, over
  ``closeup_seconds``) to a point ``closeup_distance`` m from the wall along its view, bent
  ``closeup_angle_deg`` towards it;
- **shake**: fast jitter of ``shake_deg`` and ``shake_position`` m at ``shake_hz`` (a patient moving, the
  scope knocking), on top of a slow tip ``wobble_deg`` at ``wobble_hz``.

Never through the wall: every padded frame's camera centre is pulled in (a soft limit, smooth until
it is reached) so that it stays ``margin`` m inside the wall's local radius *and* that of its
neighbourhood (±``margin`` along the axis and around it: folds next to the tip count), and, once
warped, ``margin`` m outside the boxes of the static objects (polyps). Hence F(camera) < −margin
(scene/lumen.py) on every frame, whatever the parameters; tests check it on hundreds of clips.

The presets ``scope_insertion``, ``scope_withdrawal``, ``scope_deflection``, ``scope_rotation``,
``scope_closeup`` and ``scope_shake`` are the same model with other defaults. Every random draw
(wobble, shake and push-pull phases) comes from the clip's rng, the same number of draws whatever the
parameters.
"""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from pydantic import Field, create_model

from ...geometry import point_in_box, pose, rot_x
from ...motion.registry import CameraMotion, MotionContext, MotionParams

__all__ = ["ColonoscopeParams", "colonoscope", "COLONOSCOPE", "PRESETS", "wall_limit"]


class ColonoscopeParams(MotionParams):
    """See the module docstring. Lengths in metres, angles in degrees, rates per second."""

    speed: float = Field(0.01, ge=-0.5, le=0.5)
    push_pull: float = Field(0.0, ge=0.0, le=0.05)
    push_pull_hz: float = Field(0.7, ge=0.0, le=30.0)
    roll_deg_per_second: float = 0.0
    deflection_deg: float = Field(0.0, ge=0.0, le=180.0)
    deflection_hz: float = Field(0.25, ge=0.0, le=30.0)
    deflection_phase: float = 0.0
    deflection_azimuth_deg: float = 0.0
    sweep_deg_per_second: float = 0.0
    bend_length: float = Field(0.015, ge=0.0, le=0.2)
    closeup: float = Field(0.0, ge=0.0, le=1.0)
    closeup_distance: float = Field(0.006, ge=0.0, le=0.1)
    closeup_angle_deg: float = Field(60.0, ge=0.0, le=120.0)
    closeup_seconds: float = Field(1.0, gt=0.0, le=60.0)
    shake_deg: float = Field(0.0, ge=0.0, le=30.0)
    shake_position: float = Field(0.0, ge=0.0, le=0.01)
    shake_hz: float = Field(6.0, ge=0.0, le=60.0)
    wobble_deg: float = Field(1.0, ge=0.0, le=30.0)
    wobble_hz: float = Field(0.5, ge=0.0, le=30.0)
    margin: float = Field(0.0025, ge=0.0005, le=0.05)


def _signal(rng: np.random.Generator, times: np.ndarray, n: int, frequency: float) -> np.ndarray:
    """Smooth pseudo-random signal (T, n) in about [−1, 1]: three incommensurate sinusoids per channel
    with random phases (a jitter once ``frequency`` nears the frame rate). Draws 3·n numbers."""
    phases = rng.uniform(0, 2 * np.pi, size=(3, n))
    freqs = frequency * np.array([1.0, 1.618, 2.414])
    return np.sin(2 * np.pi * freqs[None, :, None] * times[:, None, None] + phases[None]).sum(1) / 3


def _axis_angle(axis: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Rotations by ``angle`` about unit ``axis`` (Rodrigues). Shape: (T,3), (T,) → (T,3,3)."""
    k = np.zeros(axis.shape[:-1] + (3, 3))
    k[..., 0, 1], k[..., 0, 2], k[..., 1, 2] = -axis[..., 2], axis[..., 1], -axis[..., 0]
    k = k - np.swapaxes(k, -1, -2)
    s, c = np.sin(angle)[..., None, None], np.cos(angle)[..., None, None]
    return np.eye(3) + s * k + (1 - c) * (k @ k)


def _bend(delta: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """The turn taking +x to cos δ·x + sin δ·(cos φ·y + sin φ·z) (the tip bent towards azimuth φ).
    Shape: (T,), (T,) → (T,3,3)."""
    axis = np.stack([np.zeros_like(phi), -np.sin(phi), np.cos(phi)], -1)
    return _axis_angle(axis, delta)


def _radius_fn(ctx: MotionContext):
    """R(x, θ): the wall's distance from the centreline, the lumen's or the straight tube's."""
    if ctx.lumen is not None:
        return ctx.lumen.wall_radius
    return lambda x, theta: np.full(np.broadcast_shapes(np.shape(x), np.shape(theta)), float(ctx.tube_radius))


def wall_limit(ctx: MotionContext, x: np.ndarray, theta: np.ndarray, margin: float) -> np.ndarray:
    """The largest distance from the centreline at which a point (x, θ) stays ``margin`` inside the
    wall there and within ±``margin`` along the axis and around it (a fold beside the tip is as near as
    the wall under it). Shape: (T,), (T,) → (T,)."""
    R = _radius_fn(ctx)
    r0 = float(ctx.lumen.radius if ctx.lumen is not None else ctx.tube_radius)
    dx = margin * np.linspace(-1.0, 1.0, 9)
    dth = (margin / max(r0 - margin, 0.5 * r0)) * np.linspace(-1.0, 1.0, 5)
    xs = x[:, None, None] + dx[None, :, None]
    ths = theta[:, None, None] + dth[None, None, :]
    return np.maximum(R(xs, ths).min(axis=(1, 2)) - margin, 0.0)


def _keep_inside(lateral: np.ndarray, limit: np.ndarray, knee: float) -> np.ndarray:
    """Pull lateral offsets (T,2) in so their length stays below ``limit`` (T,): unchanged up to
    ``limit − knee``, then an exponential approach that never reaches it (C¹, no kink)."""
    rho = np.sqrt((lateral**2).sum(-1))
    knee = np.minimum(knee, 0.5 * limit)
    start = limit - knee
    soft = start + knee * (1.0 - np.exp(-(rho - start) / np.maximum(knee, 1e-12)))
    new = np.where(rho > start, np.minimum(soft, limit * (1 - 1e-9)), rho)
    return lateral * (new / np.maximum(rho, 1e-12))[:, None]


def _clear_objects(pos: np.ndarray, ctx: MotionContext, margin: float) -> np.ndarray:
    """Move camera centres (T,3) towards the axis, the least that puts them ``margin`` outside every
    static object's box (checked where the poses land, after the lumen's warp); frames where even the
    centreline is inside one stay as they are (a polyp filling the lumen: the checks report it)."""
    obstacles = ctx.shared.get("static")
    if obstacles is None or len(obstacles[0]) == 0:
        return pos
    P, half = obstacles
    if ctx.lumen is not None:
        P = ctx.lumen.warp(P)
    scales = np.linspace(1.0, 0.0, 41)  # (S,) fractions of the lateral offset to try, largest first
    cand = np.repeat(pos[:, None], len(scales), 1)
    cand[..., 1:] *= scales[None, :, None]
    world = cand.copy()
    if ctx.lumen is not None:
        f, g = ctx.lumen.centre(cand[..., 0])
        world[..., 1] += f
        world[..., 2] += g
    hit = point_in_box(world[:, :, None], P[None, None, :, :3, 3], P[None, None, :, :3, :3], half[None, None], margin)
    free = ~hit.any(-1)  # (T,S)
    first = np.where(free.any(1), free.argmax(1), 0)
    return cand[np.arange(len(pos)), first]


def colonoscope(pose0: np.ndarray, target: np.ndarray, p: ColonoscopeParams, ctx: MotionContext) -> np.ndarray:
    """Scope motion (module docstring) from the recipe's initial pose. Shape: pose0 (4,4) → (T',4,4)."""
    t = ctx.times
    wob = _signal(ctx.rng, t, 2, p.wobble_hz)
    jit_rot = _signal(ctx.rng, t, 3, p.shake_hz)
    jit_pos = _signal(ctx.rng, t, 3, p.shake_hz * 0.83)
    push_phase = ctx.rng.uniform(0, 2 * np.pi)

    x = pose0[0, 3] + p.speed * t + p.push_pull * (np.sin(2 * np.pi * p.push_pull_hz * t + push_phase) - np.sin(push_phase))
    roll = np.radians(p.roll_deg_per_second) * t
    phi = np.radians(p.deflection_azimuth_deg + p.sweep_deg_per_second * t) + roll  # the bend turns with the shaft
    cycle = 0.5 * (1 - np.cos(2 * np.pi * (p.deflection_hz * t + p.deflection_phase)))
    delta = np.radians(p.deflection_deg) * cycle
    # the close-up: a smooth approach s ∈ [0, closeup] to a point on the view ray closeup_distance off the wall
    u = np.clip(t / p.closeup_seconds, 0.0, 1.0)
    s = p.closeup * u * u * (3 - 2 * u)
    delta = (1 - s) * delta + s * np.radians(p.closeup_angle_deg)
    bend_dir = np.stack([np.cos(phi), np.sin(phi)], -1)  # (T,2) in the cross-section
    safe = np.maximum(delta, 1e-9)
    sideways = p.bend_length * (1 - np.cos(delta)) / safe  # the bending section's chord, across the axis
    lateral = pose0[1:3, 3][None] + sideways[:, None] * bend_dir
    gap = p.closeup_distance * np.sin(np.radians(p.closeup_angle_deg))
    wall = _radius_fn(ctx)(x, phi)
    lateral = (1 - s)[:, None] * lateral + s[:, None] * (wall - gap)[:, None] * bend_dir
    lateral = lateral + p.shake_position * jit_pos[:, 1:]
    x = x + p.shake_position * jit_pos[:, 0]

    theta = np.arctan2(lateral[:, 1], lateral[:, 0])
    lateral = _keep_inside(lateral, wall_limit(ctx, x, theta, p.margin), p.margin)
    pos = _clear_objects(np.concatenate([x[:, None], lateral], 1), ctx, p.margin)

    shake = np.radians(p.shake_deg) * jit_rot
    wobble = np.radians(p.wobble_deg) * wob
    tip = _axis_angle(*_rotvec(shake[:, 0] + wobble[:, 0], shake[:, 1] + wobble[:, 1], 0.5 * shake[:, 2]))
    rot = _bend(delta, phi) @ rot_x(roll) @ pose0[:3, :3][None] @ tip
    return pose(rot, pos)


def _rotvec(rx: np.ndarray, ry: np.ndarray, rz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Small camera-frame angles (T,) about x, y, z → (unit axis (T,3), angle (T,))."""
    w = np.stack([rx, ry, rz], -1)
    angle = np.sqrt((w**2).sum(-1))
    axis = np.where(angle[:, None] > 1e-12, w / np.maximum(angle, 1e-12)[:, None], np.array([1.0, 0.0, 0.0]))
    return axis, angle


COLONOSCOPE = CameraMotion(ColonoscopeParams, colonoscope)


def _preset(name: str, **defaults: float) -> CameraMotion:
    """The colonoscope model under other defaults (a recipe still overrides any of them); each field
    keeps its bounds."""
    fields: dict[str, Any] = {}
    for k, v in defaults.items():
        bounds = ColonoscopeParams.model_fields[k].metadata
        fields[k] = (Annotated[(float, *bounds)] if bounds else float, v)
    return CameraMotion(create_model(name, __base__=ColonoscopeParams, **fields), colonoscope)


#: name → the colonoscope model with that mode's defaults (docs/endoscopy.md, "Camera motions")
PRESETS: dict[str, CameraMotion] = {
    "scope_insertion": _preset("ScopeInsertionParams", speed=0.03, wobble_deg=2.0),
    "scope_withdrawal": _preset("ScopeWithdrawalParams", speed=-0.008, deflection_deg=35.0, deflection_hz=0.0,
                                deflection_phase=0.5, sweep_deg_per_second=90.0),
    "scope_deflection": _preset("ScopeDeflectionParams", speed=0.0, deflection_deg=75.0, deflection_hz=0.25),
    "scope_rotation": _preset("ScopeRotationParams", speed=0.005, roll_deg_per_second=60.0),
    "scope_closeup": _preset("ScopeCloseupParams", speed=0.0, closeup=1.0),
    "scope_shake": _preset("ScopeShakeParams", speed=0.01, shake_deg=3.0, shake_position=0.001, shake_hz=6.0),
}
SCOPE_INSERTION, SCOPE_WITHDRAWAL, SCOPE_DEFLECTION, SCOPE_ROTATION, SCOPE_CLOSEUP, SCOPE_SHAKE = PRESETS.values()
