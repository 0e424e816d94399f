"""Object motion models (vectorised over the objects that share one). All speeds in m/s, angles in degrees."""

from __future__ import annotations

import numpy as np

from pydantic import Field

from ..geometry import pose, rot_z
from .registry import OBJECT_MOTIONS, MotionContext, MotionParams, ObjectMotion

__all__: list[str] = []

SUBSTEPS = 8  # integration steps per frame for motions with state (bounces, random walks)


def _yaw(p: np.ndarray) -> np.ndarray:
    return np.arctan2(p[..., 1, 0], p[..., 0, 0])


class StaticParams(MotionParams):
    pass


def static(pose0, half, params, ctx: MotionContext):
    return np.broadcast_to(pose0, (len(ctx.times),) + pose0.shape).copy()


class ConstantVelocityParams(MotionParams):
    vx: float = 0.0
    vy: float = 0.0
    vz: float = 0.0
    yaw_rate_deg: float = 0.0


def constant_velocity(pose0, half, p, ctx: MotionContext):
    t = ctx.times[:, None]
    v = np.stack([p["vx"], p["vy"], p["vz"]], -1)  # (n,3)
    pos = pose0[None, :, :3, 3] + t[..., None] * v[None]
    rot = rot_z(np.radians(p["yaw_rate_deg"])[None] * t) @ pose0[None, :, :3, :3]
    return pose(rot, pos)


class BallisticParams(MotionParams):
    vx: float = 0.0
    vy: float = 0.0
    vz: float = 0.0
    restitution: float = 0.6
    gravity: float = 9.81
    spin_deg: float = 0.0  # yaw rate while airborne


def ballistic(pose0, half, p, ctx: MotionContext):
    """Projectile under gravity bouncing on the ground z = 0 (contact when the centre is half-height up)."""
    n, times = pose0.shape[0], ctx.times
    pos = pose0[:, :3, 3].copy()
    vel = np.stack([p["vx"], p["vy"], p["vz"]], -1).astype(np.float64)
    floor = half[:, 2]
    out = np.empty((len(times), n, 3))
    dt_frame = times[1] - times[0] if len(times) > 1 else 0.0
    dt = dt_frame / SUBSTEPS
    for k in range(len(times)):
        out[k] = pos
        for _ in range(SUBSTEPS):
            vel[:, 2] -= p["gravity"] * dt
            pos += vel * dt
            below = pos[:, 2] < floor
            pos[below, 2] = 2 * floor[below] - pos[below, 2]
            vel[below, 2] = -vel[below, 2] * p["restitution"][below]
            resting = below & (np.abs(vel[:, 2]) < 0.3)
            vel[resting, 2] = 0.0
            pos[resting, 2] = floor[resting]
            vel[resting, :2] *= 0.98  # rolling friction
    rot = rot_z(np.radians(p["spin_deg"])[None] * times[:, None]) @ pose0[None, :, :3, :3]
    return pose(rot, out)


class LaneFollowParams(MotionParams):
    speed: float = 10.0  # along +x (the road axis); negative drives the other way
    accel: float = 0.0


def lane_follow(pose0, half, p, ctx: MotionContext):
    """Driving along the road axis (+x) in the object's lane, heading aligned with travel."""
    t = ctx.times[:, None]
    x = pose0[None, :, 0, 3] + p["speed"][None] * t + 0.5 * p["accel"][None] * t**2
    pos = np.broadcast_to(pose0[None, :, :3, 3], (len(ctx.times),) + pose0[:, :3, 3].shape).copy()
    pos[..., 0] = x
    yaw = np.where(p["speed"] < 0, np.pi, 0.0)
    rot = np.broadcast_to(rot_z(yaw)[None], (len(ctx.times),) + (pose0.shape[0], 3, 3))
    return pose(rot, pos)


class RandomWalkParams(MotionParams):
    speed: float = 0.5
    turn_std_deg: float = 30.0  # heading diffusion per sqrt(second)


def random_walk(pose0, half, p, ctx: MotionContext):
    """Wander on the ground at constant speed with a diffusing heading (facing the way it walks)."""
    times, n = ctx.times, pose0.shape[0]
    dt = ((times[1] - times[0]) if len(times) > 1 else 0.0) / SUBSTEPS
    heading = _yaw(pose0).copy()
    pos = pose0[:, :3, 3].copy()
    out_pos, out_yaw = np.empty((len(times), n, 3)), np.empty((len(times), n))
    std = np.radians(p["turn_std_deg"]) * np.sqrt(dt)
    for k in range(len(times)):
        out_pos[k], out_yaw[k] = pos, heading
        steps = ctx.rng.normal(size=(SUBSTEPS, n))
        for s in range(SUBSTEPS):
            heading = heading + std * steps[s]
            pos[:, 0] += p["speed"] * dt * np.cos(heading)
            pos[:, 1] += p["speed"] * dt * np.sin(heading)
    return pose(rot_z(out_yaw), out_pos)


class FollowCameraParams(MotionParams):
    """Slide along the object's own +x from ``start`` to ``insertion`` metres (both capped at the
    object's length): out over ``extend`` seconds after ``delay``, held ``hold`` seconds, back to
    ``start`` over ``retract`` seconds (0: stays out); times from the clip's first frame, eased
    (smoothstep) at both ends."""

    insertion: float = Field(0.0, ge=0.0, le=1.0)
    start: float = Field(0.0, ge=0.0, le=1.0)
    delay: float = Field(0.0, ge=0.0, le=3600.0)
    extend: float = Field(1.0, gt=0.0, le=3600.0)
    hold: float = Field(1.0, ge=0.0, le=3600.0)
    retract: float = Field(0.0, ge=0.0, le=3600.0)


def _smoothstep(u: np.ndarray) -> np.ndarray:
    u = np.clip(u, 0.0, 1.0)
    return u * u * (3 - 2 * u)


def insertion_depth(p: dict[str, np.ndarray], length: np.ndarray, t: np.ndarray) -> np.ndarray:
    """(T', n) metres each object is out along its x at the clip times ``t`` (T',) (see
    :class:`FollowCameraParams`); ``length`` (n,) the objects' lengths (the cap)."""
    t = t[:, None]
    out = _smoothstep((t - p["delay"]) / p["extend"])
    back = np.where(p["retract"] > 0, (t - p["delay"] - p["extend"] - p["hold"]) / np.maximum(p["retract"], 1e-12), 0.0)
    lo, hi = np.minimum(p["start"], length)[None], np.minimum(p["insertion"], length)[None]
    return lo + (hi - lo) * out * (1 - _smoothstep(back))


def follow_camera(pose0, half, p, ctx: MotionContext):
    """Ride the camera: the pose the object had in the camera's frame at the start (``camera``
    placement: an endoscope's working channel) is kept in every frame, whatever the camera does, plus
    the insertion along the object's own x (:func:`insertion_depth`). World poses out. Called without
    the camera's poses (outside a rollout), the camera stays at its start pose."""
    cam0 = np.eye(4) if ctx.camera_pose0 is None else ctx.camera_pose0
    cams = np.broadcast_to(cam0, (len(ctx.times), 4, 4)) if ctx.camera_poses is None else ctx.camera_poses
    rel = np.linalg.inv(cam0)[None] @ pose0  # (n,4,4) object → camera frame
    depth = insertion_depth(p, 2 * half[:, 0], ctx.times - ctx.times[min(1, len(ctx.times) - 1)])  # (T',n)
    slide = np.broadcast_to(np.eye(4), depth.shape + (4, 4)).copy()
    slide[..., 0, 3] = depth
    return cams[:, None] @ rel[None] @ slide


for _name, _params, _fn in [
    ("static", StaticParams, static),
    ("constant_velocity", ConstantVelocityParams, constant_velocity),
    ("ballistic", BallisticParams, ballistic),
    ("lane_follow", LaneFollowParams, lane_follow),
    ("random_walk", RandomWalkParams, random_walk),
]:
    OBJECT_MOTIONS.register(_name, ObjectMotion(_params, _fn))
OBJECT_MOTIONS.register("follow_camera", ObjectMotion(FollowCameraParams, follow_camera, follows_camera=True))
