"""Where each part of a compound object is at every padded frame: rigid parts sit at their rest offset,
swinging parts (``parts[j].swing``, limbs) turn about their pivot by an angle driven by the distance their
object has travelled, so a gait matches the speed and a standing object holds its pose — or, with
``drive: time``, by the clock (forceps jaws that open and close whatever the scope does).

One function shared by the renderer (part poses, hence exact flow), and annotation (keypoints on limbs,
point tracks on limbs), so every label sees the same animation.

Shape: P render primitives — one per part of a compound object, one per plain object, objects in order
(the ray-caster's order); T' = T+2 padded frames (see :class:`~synthdata.motion.types.Trajectories`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..scene.types import Scene, Swing
from .types import Trajectories

__all__ = ["PartPoses", "part_poses", "travelled", "clock", "swing_transform", "part_motion", "carrier_poses"]


@dataclass(frozen=True)
class PartPoses:
    """owner (P,) object index; index (P,) part index within its object (-1: a plain object's single
    primitive); rest (P,4,4) part → object frame at rest; offset (T',P,4,4) per frame, None when nothing
    swings (then the rest offset holds at every frame); first (N,) each object's first primitive."""

    owner: np.ndarray
    index: np.ndarray
    rest: np.ndarray
    offset: np.ndarray | None
    first: np.ndarray

    @property
    def animated(self) -> bool:
        return self.offset is not None

    def motion(self, T: int) -> np.ndarray:
        """(T,P,4,4) how each primitive has moved from its rest pose, in its object's frame (identity for
        rigid parts): a point p given at rest is at ``motion @ p`` in the object frame. Padded frames if
        T = T+2; the clip's frames (padded 1…T) if T is the clip length."""
        P = len(self.owner)
        if self.offset is None:
            return np.broadcast_to(np.eye(4), (T, P, 4, 4))
        m = self.offset @ np.linalg.inv(self.rest)[None]
        return m if m.shape[0] == T else m[1:-1]


def travelled(object_poses_padded: np.ndarray) -> np.ndarray:
    """(T',N) distance each object has covered on the ground (xy) since padded frame 0, metres."""
    step = np.linalg.norm(np.diff(object_poses_padded[:, :, :2, 3], axis=0), axis=-1)
    return np.concatenate([np.zeros((1, step.shape[1])), np.cumsum(step, 0)])


def clock(num_padded: int, fps: float) -> np.ndarray:
    """(T',) seconds since the clip's first frame at each padded frame (padded frame 0 is −1/fps)."""
    return (np.arange(num_padded) - 1) / fps


def swing_transform(swing: Swing, distance: np.ndarray) -> np.ndarray:
    """(T',4,4) the rotation by the swing angle about ``swing.axis`` through ``swing.pivot``, per frame."""
    theta = swing.amplitude * np.sin(2 * np.pi * (distance / swing.stride + swing.phase))
    k = swing.axis
    Kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    s, c = np.sin(theta)[:, None, None], np.cos(theta)[:, None, None]
    R = np.eye(3) + s * Kx + (1 - c) * (Kx @ Kx)  # Rodrigues
    out = np.broadcast_to(np.eye(4), (len(theta), 4, 4)).copy()
    out[:, :3, :3] = R
    out[:, :3, 3] = swing.pivot - np.einsum("tij,j->ti", R, swing.pivot)
    return out


def part_motion(swings: list[Swing | None], distance: np.ndarray, time: np.ndarray | None = None) -> np.ndarray:
    """(T',J,4,4) how each of one object's J parts moves from rest at each travelled ``distance`` (T',)
    (``time`` (T',) seconds for swings driven by the clock): its own swing, then its parent's motion
    (parents come first); identity for rigid parts."""
    out = np.broadcast_to(np.eye(4), (len(distance), len(swings), 4, 4)).copy()
    for j, s in enumerate(swings):
        if s is not None:
            if s.drive == "time" and time is None:
                raise ValueError("a swing driven by time needs the clip's times")
            own = swing_transform(s, time if s.drive == "time" else distance)
            out[:, j] = own if s.parent < 0 else out[:, s.parent] @ own
    return out


def part_poses(scene: Scene, traj: Trajectories) -> PartPoses:
    """The clip's part offsets (see :class:`PartPoses`); a window's are its frames' of the whole clip
    (a part swings with the distance its owner has covered since the clip's start)."""
    if traj.whole is not None:
        pp = part_poses(scene, traj.whole)
        if pp.offset is None:
            return pp
        return replace(pp, offset=pp.offset[traj.first:traj.first + traj.num_frames + 2])
    objs = scene.objects
    owner, index, rest, swings = [], [], [], []
    first = np.zeros(len(objs), dtype=np.int64)
    for i in range(len(objs)):
        first[i] = len(owner)
        parts = objs.parts[i] if objs.parts else ()
        for j, part in enumerate(parts or (None,)):
            owner.append(i)
            index.append(-1 if part is None else j)
            rest.append(np.eye(4) if part is None else part.offset)
            swings.append(None if part is None else part.swing)
    rest_a = np.array(rest).reshape(-1, 4, 4)
    offset = None
    if any(s is not None for s in swings):
        dist = travelled(traj.object_poses_padded)
        time = clock(dist.shape[0], traj.fps)
        offset = np.broadcast_to(rest_a, (dist.shape[0],) + rest_a.shape).copy()
        for i in range(len(objs)):
            own = slice(first[i], first[i] + int((np.array(owner) == i).sum()))
            if any(s is not None for s in swings[own]):
                offset[:, own] = part_motion(swings[own], dist[:, i], time) @ rest_a[own]
    return PartPoses(np.array(owner, dtype=np.int64), np.array(index, dtype=np.int64), rest_a, offset, first)


def carrier_poses(object_poses: np.ndarray, motion: np.ndarray, owner: np.ndarray, prim: np.ndarray) -> np.ndarray:
    """(T,M,4,4) the pose that carries each of M points: its object's pose, times the motion of the
    primitive it lies on (identity for the environment, owner 0, and for points on no swinging part,
    prim -1). Shape: object_poses (T,N,4,4), motion (T,P,4,4) from :meth:`PartPoses.motion`, owner (M,)
    0 environment / i + 1 object i, prim (M,) primitive index or -1."""
    T = object_poses.shape[0]
    eye = np.broadcast_to(np.eye(4), (T, 1, 4, 4))
    carried = np.concatenate([eye, object_poses], 1)[:, owner]  # (T,M,4,4)
    on = prim >= 0
    carried = carried.copy()
    carried[:, on] = carried[:, on] @ motion[:, prim[on]]
    return carried
