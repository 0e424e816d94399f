"""Roll a Scene out over time into :class:`Trajectories`."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..scene.types import Scene
from .registry import CAMERA_MOTIONS, OBJECT_MOTIONS, MotionContext
from .types import Trajectories

__all__ = ["rollout"]


def rollout(scene: Scene, num_frames: int, fps: float, rng: np.random.Generator) -> Trajectories:
    """Evaluate every motion at T+2 padded times (see :class:`Trajectories`). Objects sharing a motion
    are evaluated in one vectorised call, in order of first appearance (fixed rng consumption). Poses
    are laid out in road coordinates and warped onto the ground's shape at the end (scene/ground.py;
    the identity off-road); in a bent lumen, in straight lumen coordinates (scene/lumen.py). Motions
    that follow the camera come last, given the camera's world poses."""
    ctx = MotionContext(times=np.arange(num_frames + 2) / fps, rng=rng, tube_radius=scene.environment.tube_radius,
                        camera_pose0=scene.camera.pose0, camera_motion=scene.camera.motion, road=scene.environment.road,
                        lumen=scene.environment.lumen)
    objs = scene.objects
    n = len(objs)
    still = [i for i, (name, _) in enumerate(objs.motion) if name == "static"]
    ctx.shared["static"] = (objs.pose0[still], objs.half_size[still])  # obstacles others may steer clear of
    poses = np.empty((num_frames + 2, n, 4, 4))
    by_motion: dict[str, list[int]] = {}
    for i, (name, _) in enumerate(objs.motion):
        by_motion.setdefault(name, []).append(i)
    riders = []
    for name, idx in by_motion.items():
        motion = OBJECT_MOTIONS.get(name, "motion.name")
        if motion.follows_camera:
            riders.append((motion, idx))
            poses[:, idx] = objs.pose0[idx]  # placeholders until the camera is known
            continue
        poses[:, idx] = motion.fn(objs.pose0[idx], objs.half_size[idx], _params(motion, objs, idx), ctx)
    cam_name, cam_params = scene.camera.motion
    cam_motion = CAMERA_MOTIONS.get(cam_name, "camera.motion.name")
    cam_poses = cam_motion.fn(scene.camera.pose0, scene.camera.target, cam_motion.params(**cam_params), ctx)
    env = scene.environment  # motions work in road (lumen) coordinates: bend them onto the ground (lumen)
    poses, cam_poses = env.warp(poses), env.warp(cam_poses)
    if riders:
        ride = replace(ctx, camera_poses=cam_poses)
        for motion, idx in riders:
            poses[:, idx] = motion.fn(objs.pose0[idx], objs.half_size[idx], _params(motion, objs, idx), ride)
    return Trajectories(object_poses_padded=poses, camera_poses_padded=cam_poses, K=scene.camera.K, fps=fps,
                        lens=scene.camera.lens)


def _params(motion, objs, idx: list[int]) -> dict[str, np.ndarray]:
    """{param name: (n,) float64} for the objects ``idx`` sharing ``motion``, defaults filled in."""
    filled = [motion.params(**objs.motion[i][1]).model_dump() for i in idx]
    return {k: np.array([f[k] for f in filled], dtype=np.float64) for k in filled[0]} if filled else {}
