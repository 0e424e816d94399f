"""Motion registries: object motions and camera motions, each entry a params model + a vectorised fn.

A recipe names a motion and gives its params (constants or distributions); the params model checks
names, types and defaults before any clip is made.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
from pydantic import BaseModel, ConfigDict

from ..registry import Registry

__all__ = ["MotionParams", "ObjectMotion", "CameraMotion", "OBJECT_MOTIONS", "CAMERA_MOTIONS", "MotionContext"]


class MotionParams(BaseModel):
    """Base for a motion's parameters: unknown names are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class MotionContext:
    """What a motion may look at besides its own params. ``times`` (T',) seconds, starting at 0.

    Motions that move agents together with the ego camera (traffic) see the camera's initial pose and
    motion and leave what the camera motion needs in ``shared`` (objects are rolled out before the
    camera)."""

    times: np.ndarray
    rng: np.random.Generator
    tube_radius: float
    camera_pose0: np.ndarray | None = None  # (4,4)
    camera_motion: tuple[str, dict[str, Any]] | None = None
    shared: dict[str, Any] = field(default_factory=dict)
    #: the road (lanes, crossing, lights) when the scene has one; motions work in road coordinates
    #: and :func:`~synthdata.motion.rollout.rollout` bends the result onto the ground's shape
    road: Any = None
    #: the bent lumen (:class:`~synthdata.scene.lumen.Lumen`) when the scene has one; motions work in
    #: straight lumen coordinates and may ask it for the wall's radius (scope motions keep off the wall)
    lumen: Any = None
    #: (T',4,4) the camera's rolled-out world poses; given only to motions that follow the camera
    #: (:attr:`ObjectMotion.follows_camera`), which are evaluated after it and return world poses
    camera_poses: np.ndarray | None = None


#: fn(pose0 (n,4,4), half_size (n,3), params {name: (n,) array}, ctx) -> (T', n, 4, 4)
ObjectMotionFn = Callable[[np.ndarray, np.ndarray, dict[str, np.ndarray], MotionContext], np.ndarray]
#: fn(pose0 (4,4), target (3,), params, ctx) -> (T', 4, 4)
CameraMotionFn = Callable[[np.ndarray, np.ndarray, Any, MotionContext], np.ndarray]


@dataclass(frozen=True)
class ObjectMotion:
    """``follows_camera``: the object rides the camera (an instrument in an endoscope's working channel):
    evaluated after the camera's motion with ``ctx.camera_poses``, returning world poses (not bent onto
    the ground's shape), and exempt from the camera-inside-an-object check (it is part of the rig)."""

    params: type[MotionParams]
    fn: ObjectMotionFn
    follows_camera: bool = False


@dataclass(frozen=True)
class CameraMotion:
    params: type[MotionParams]
    fn: CameraMotionFn


OBJECT_MOTIONS: Registry[ObjectMotion] = Registry("object motion", "synthdata.object_motions")
CAMERA_MOTIONS: Registry[CameraMotion] = Registry("camera motion", "synthdata.camera_motions")
