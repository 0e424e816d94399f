"""Camera motion models. Poses are camera-to-world with OpenCV axes (x right, y down, z forward)."""

from __future__ import annotations

import numpy as np

from ..geometry import look_at, pose, rot_x
from .registry import CAMERA_MOTIONS, CameraMotion, MotionContext, MotionParams

__all__: list[str] = []


def _small_rotation(rx: np.ndarray, ry: np.ndarray, rz: np.ndarray) -> np.ndarray:
    """(T,) angles in radians about camera x, y, z → (T,3,3) rotations (Rodrigues)."""
    w = np.stack([rx, ry, rz], -1)
    theta = np.linalg.norm(w, axis=-1, keepdims=True)[..., None]
    k = np.zeros(w.shape[:-1] + (3, 3))
    k[..., 0, 1], k[..., 0, 2], k[..., 1, 2] = -w[..., 2], w[..., 1], -w[..., 0]
    k = k - np.swapaxes(k, -1, -2)
    th = np.maximum(theta, 1e-12)
    return np.eye(3) + np.sin(th) / th * k + (1 - np.cos(th)) / th**2 * (k @ k)


def _shake(ctx: MotionContext, n: int, amplitude: float, frequency: float) -> np.ndarray:
    """Smooth pseudo-random signal (T, n): three incommensurate sinusoids with random phases."""
    phases = ctx.rng.uniform(0, 2 * np.pi, size=(3, n))
    freqs = frequency * np.array([1.0, 1.618, 2.414])
    t = ctx.times[:, None, None]
    return amplitude * np.sin(2 * np.pi * freqs[None, :, None] * t + phases[None]).sum(1) / 3


class StaticParams(MotionParams):
    pass


def static(pose0, target, p, ctx):
    return np.broadcast_to(pose0, (len(ctx.times), 4, 4)).copy()


class OrbitParams(MotionParams):
    degrees_per_second: float = 10.0


def orbit(pose0, target, p: OrbitParams, ctx):
    """Circle the look-at point about the vertical axis, keeping height and distance."""
    ang = np.radians(p.degrees_per_second) * ctx.times
    rel = pose0[:3, 3] - target
    c, s = np.cos(ang), np.sin(ang)
    eye = np.stack([target[0] + c * rel[0] - s * rel[1], target[1] + s * rel[0] + c * rel[1],
                    np.full_like(ang, pose0[2, 3])], -1)
    return look_at(eye, np.broadcast_to(target, eye.shape))


class EgoForwardParams(MotionParams):
    speed: float = 15.0
    bob: float = 0.02  # vertical oscillation amplitude (m), a car on a real road
    shake_deg: float = 0.15


def ego_forward(pose0, target, p: EgoForwardParams, ctx):
    """Drive forward along the camera's horizontal heading at constant speed."""
    fwd = pose0[:3, 2].copy()
    fwd[2] = 0
    fwd /= max(np.linalg.norm(fwd), 1e-9)
    t = ctx.times[:, None]
    pos = pose0[:3, 3][None] + p.speed * t * fwd[None]
    pos[:, 2] += p.bob * np.sin(2 * np.pi * 1.3 * ctx.times)
    jitter = _shake(ctx, 3, np.radians(p.shake_deg), 0.8)
    rot = pose0[:3, :3][None] @ _small_rotation(jitter[:, 0], jitter[:, 1], jitter[:, 2] * 0.3)
    return pose(rot, pos)


class HandheldParams(MotionParams):
    amplitude_deg: float = 1.0
    position_amplitude: float = 0.03
    frequency: float = 1.0


def handheld(pose0, target, p: HandheldParams, ctx):
    """Static framing with smooth hand shake in rotation and position."""
    rot_j = _shake(ctx, 3, np.radians(p.amplitude_deg), p.frequency)
    pos_j = _shake(ctx, 3, p.position_amplitude, p.frequency * 0.7)
    rot = pose0[:3, :3][None] @ _small_rotation(rot_j[:, 0], rot_j[:, 1], rot_j[:, 2] * 0.5)
    return pose(rot, pose0[:3, 3][None] + pos_j)


class EndoscopeParams(MotionParams):
    advance: float = 0.3  # m/s along the tube axis (+x)
    roll_deg_per_second: float = 10.0
    wobble_deg: float = 2.0
    frequency: float = 0.7


def endoscope(pose0, target, p: EndoscopeParams, ctx):
    """Advance along the lumen (+x) while rolling about it, with a slow tip wobble."""
    pos = pose0[:3, 3][None] + np.outer(p.advance * ctx.times, [1.0, 0.0, 0.0])
    roll = rot_x(np.radians(p.roll_deg_per_second) * ctx.times)  # about the world x axis
    wob = _shake(ctx, 2, np.radians(p.wobble_deg), p.frequency)
    rot = roll @ pose0[:3, :3][None] @ _small_rotation(wob[:, 0], wob[:, 1], np.zeros_like(wob[:, 0]))
    return pose(rot, pos)


for _name, _params, _fn in [
    ("static", StaticParams, static),
    ("orbit", OrbitParams, orbit),
    ("ego_forward", EgoForwardParams, ego_forward),
    ("handheld", HandheldParams, handheld),
    ("endoscope", EndoscopeParams, endoscope),
]:
    CAMERA_MOTIONS.register(_name, CameraMotion(_params, _fn))
