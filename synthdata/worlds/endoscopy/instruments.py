"""Endoscopic instruments from the working channel: biopsy forceps, polypectomy snare, injection needle.

Each instrument is a compound object (recipe ``parts``) built here from its real dimensions in metres
(:class:`Forceps`, :class:`Snare`, :class:`Needle`) and handed to recipes as an ``objects:`` group
(:func:`instrument_group`; ``python -m synthdata.worlds.endoscopy.instruments forceps snare`` prints
the YAML to paste). The group places the instrument in the scope's working channel (placement
``camera``: a fixed pose in the camera frame, by default 4 mm from the lens axis at the image's lower
right, turned slightly inwards) and moves it with motion ``follow_camera``: it rides the scope in every
frame and slides out of the channel by an insertion that grows, holds and may retract.

Object frame (every instrument): x along the shaft towards the tip, y left, z up when the channel is
at the image's lower right; the origin is the box centre and the front face (x = +half length) is the
tip, which sits at the channel exit before insertion (the rest of the shaft is inside the scope). The
forceps' jaws open and close on the clock (a ``swing`` with ``drive: time``), in the x-y plane.

Keypoints (``keypoints`` label kind; COCO visibility): ``tip`` for all (for the forceps, where the
closed jaws meet: between the jaw tips when they are open); forceps ``hinge``, ``jaw_left``,
``jaw_right`` (the jaw tips, riding their jaws); snare ``sheath_tip`` and the loop's corners; needle
``sheath_tip``.

What keeps an instrument in the lumen: it is short (its length caps the insertion: 25–35 mm, the
depth a colonoscopist works at) and starts at the lens, a few mm off the axis, pointing a few degrees
inwards, so its tip ends within ~3 mm of the camera's axis. :func:`wall_clearance` measures it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ...geometry import rot_x, rot_z
from ...motion.parts import part_poses, swing_transform
from ...motion.registry import OBJECT_MOTIONS
from ...registry import Registry
from ...scene.types import Swing

__all__ = ["Forceps", "Snare", "Needle", "INSTRUMENTS", "instrument_group", "wall_clearance", "part_reach", "CHANNEL"]

#: the working channel's exit in the camera frame (OpenCV: x right, y down, z forward; metres) and how
#: the instrument leaves it: turned inwards by yaw (to the left) and pitch (up), degrees
CHANNEL = {"x": 0.003, "y": 0.0028, "z": 0.0, "yaw_deg": 2.0, "pitch_deg": 2.0}

METAL = {"texture": "flat", "color": [0.62, 0.63, 0.66], "specular": 2.5, "shininess": 160.0}
SHEATH_BLUE = {"texture": "flat", "color": [0.2, 0.42, 0.8], "specular": 0.6, "shininess": 40.0}
SHEATH_WHITE = {"texture": "flat", "color": [0.88, 0.88, 0.84], "specular": 0.6, "shininess": 40.0}
SHEATH_CLEAR = {"texture": "flat", "color": [0.62, 0.76, 0.86], "specular": 0.8, "shininess": 60.0}


@dataclass(frozen=True)
class _Part:
    """One part in metres: centre (3,) and half-size (3,) along its own axes, turned by ``rotation_deg``
    (recipe convention: about x, then y, then z), material (None: the group's = the sheath's)."""

    primitive: str
    center: np.ndarray
    half: np.ndarray
    rotation_deg: tuple[float, float, float] = (0.0, 0.0, 0.0)
    material: dict | None = None
    swing: dict | None = None  # recipe swing block, pivot in metres


@dataclass(frozen=True)
class _Design:
    """An instrument ready to become a recipe group: parts and keypoints (metres, object frame, parts
    at rest), the keypoint's part (-1 the body), edges, and the object's half-size (3,)."""

    parts: list[_Part]
    names: list[str]
    points: np.ndarray  # (K,3)
    on: list[int]
    edges: list[tuple[int, int]]
    half: np.ndarray
    material: dict


def _rotation(rx: float, ry: float, rz: float) -> np.ndarray:
    """The recipe's part rotation (degrees): about x, then y, then z (scene.sample._part)."""
    rx, ry, rz = np.radians([rx, ry, rz])
    c, s = np.cos(ry), np.sin(ry)
    return rot_z(rz) @ np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]]) @ rot_x(rx)


def _euler(R: np.ndarray) -> tuple[float, float, float]:
    """(rx, ry, rz) degrees with R = Rz·Ry·Rx (the recipe's part rotation)."""
    ry = -np.arcsin(np.clip(R[2, 0], -1, 1))
    return float(np.degrees(np.arctan2(R[2, 1], R[2, 2]))), float(np.degrees(ry)), float(np.degrees(np.arctan2(R[1, 0], R[0, 0])))


def _along(a: np.ndarray, b: np.ndarray, radius: float, primitive: str = "cylinder", material: dict | None = None) -> _Part:
    """A round part from ``a`` to ``b`` (its own z axis along b − a)."""
    d = b - a
    length = float(np.linalg.norm(d))
    u = d / length
    ry, rz = np.degrees(np.arccos(np.clip(u[2], -1, 1))), np.degrees(np.arctan2(u[1], u[0]))
    return _Part(primitive, (a + b) / 2, np.array([radius, radius, length / 2]), (0.0, float(ry), float(rz)), material)


def part_reach(primitive: str, pose: np.ndarray, half: np.ndarray) -> np.ndarray:
    """(3,) how far a posed part reaches from the object's origin along x, y, z (both signs): the exact
    extent of an ellipsoid and of a round cylinder (a capsule lies within its cylinder), a box's
    corners. Shape: pose (4,4) part → object frame, half (3,) along the part's own axes."""
    M = pose[:3, :3] * half  # columns: the part's scaled axes
    if primitive in ("sphere", "ellipsoid"):
        ext = np.sqrt((M ** 2).sum(1))
    elif primitive in ("cylinder", "capsule"):
        ext = np.abs(M[:, 2]) + np.sqrt(M[:, 0] ** 2 + M[:, 1] ** 2)
    else:
        ext = np.abs(M).sum(1)
    return np.abs(pose[:3, 3]) + ext


def _rest(part: _Part) -> np.ndarray:
    out = np.eye(4)
    out[:3, :3], out[:3, 3] = _rotation(*part.rotation_deg), part.center
    return out


def _half_size(parts: list[_Part], length: float) -> np.ndarray:
    """The object's half-size: half the length along x, and the widest reach of any part in y and z
    over every phase of its swing (so boxes, 3D boxes and plausibility hold at every frame)."""
    reach = np.zeros(3)
    for p in parts:
        moves = [np.eye(4)]
        if p.swing is not None:  # one whole period of the swing, every phase
            sw = p.swing
            swing = Swing(axis=np.asarray(sw["axis"], float) / np.linalg.norm(sw["axis"]), pivot=np.asarray(sw["pivot"], float),
                          amplitude=float(np.radians(sw["amplitude_deg"])), phase=float(sw["phase"]), stride=float(sw["stride"]))
            moves = swing_transform(swing, np.linspace(0.0, swing.stride, 129))
        for m in moves:
            reach = np.maximum(reach, part_reach(p.primitive, m @ _rest(p), p.half))
    if reach[0] > length / 2 * (1 + 1e-6):
        raise ValueError(f"a part reaches {reach[0]:.4g} m along the shaft, beyond half the length {length / 2:.4g} m")
    return np.array([length / 2, reach[1] * 1.001, reach[2] * 1.001])


# -- the instruments ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Forceps:
    """Biopsy (cold) forceps: a plastic-coated sheath (Ø 2.4 mm), a metal clevis, two cup jaws
    (3 mm long, 2.2 mm wide) opening up to ``open_deg`` each, a cycle every ``period`` seconds
    (closed at the clip's start). The jaws open in the object's x-y plane turned by ``roll_deg`` about
    the shaft: −45° opens them across the shaft's image (from the lower-right channel the shaft points
    to the centre along the diagonal, the jaws open along the other one), so the scope sees both."""

    length: float = 0.025
    sheath_radius: float = 0.0012
    clevis_radius: float = 0.0009
    clevis_length: float = 0.0018
    jaw_length: float = 0.003
    jaw_half_width: float = 0.0011
    open_deg: float = 35.0
    period: float = 1.6
    roll_deg: float = -45.0

    def design(self) -> _Design:
        hx = self.length / 2
        hinge = np.array([hx - self.jaw_length, 0.0, 0.0])
        clevis0 = hinge[0] - self.clevis_length
        sheath = _along(np.array([-hx, 0, 0]), np.array([clevis0 + 1e-4, 0, 0]), self.sheath_radius)
        clevis = _along(np.array([clevis0, 0, 0]), hinge + [self.jaw_half_width * 0.3, 0, 0], self.clevis_radius,
                        material=METAL)
        amp = self.open_deg / 2  # rest half open; the swing adds ±amp: closed … fully open
        roll = rot_x(np.radians(self.roll_deg))
        jaws, tips = [], []
        for side in (1.0, -1.0):
            R = roll @ rot_z(side * np.radians(amp))
            centre = hinge + R @ np.array([self.jaw_length / 2, 0.0, 0.0])
            swing = {"axis": _vec(roll @ [0.0, 0.0, side]), "amplitude_deg": amp, "phase": 0.75, "pivot": hinge,
                     "stride": self.period, "drive": "time"}
            jaws.append(_Part("ellipsoid", centre, np.array([self.jaw_length / 2, self.jaw_half_width, self.jaw_half_width]),
                              _euler(R), METAL, swing))
            tips.append(hinge + R @ np.array([self.jaw_length, 0, 0]))
        parts = [sheath, clevis, *jaws]
        tip_l, tip_r = tips
        points = np.array([[hx, 0.0, 0.0], hinge, tip_l, tip_r])
        return _Design(parts, ["tip", "hinge", "jaw_left", "jaw_right"], points, [-1, -1, 2, 3],
                       [(1, 2), (1, 3), (1, 0)], _half_size(parts, self.length), SHEATH_BLUE)


@dataclass(frozen=True)
class Snare:
    """Polypectomy snare: a white sheath (Ø 2.4 mm) and a wire loop (Ø 0.45 mm wire) ``loop_length``
    long and ``loop_width`` wide, an elongated hexagon of thin cylinders with round corners, its plane
    turned ``tilt_deg`` about the shaft so the scope sees it open."""

    length: float = 0.035
    sheath_radius: float = 0.0012
    loop_length: float = 0.016
    loop_width: float = 0.011
    wire_radius: float = 0.000225
    tilt_deg: float = 55.0

    def design(self) -> _Design:
        hx = self.length / 2
        base = hx - self.loop_length - self.wire_radius
        L, W = self.loop_length, self.loop_width / 2
        flat = np.array([[0.0, 0.0], [0.25 * L, 0.84 * W], [0.7 * L, W], [L, 0.0], [0.7 * L, -W], [0.25 * L, -0.84 * W]])
        c, s = np.cos(np.radians(self.tilt_deg)), np.sin(np.radians(self.tilt_deg))
        v = np.stack([base + flat[:, 0], flat[:, 1] * c, flat[:, 1] * s], -1)  # loop plane turned about x
        sheath = _along(np.array([-hx, 0, 0]), np.array([base, 0, 0]), self.sheath_radius)
        wires = [_along(v[i], v[(i + 1) % 6], self.wire_radius, material=METAL) for i in range(6)]
        corners = [_Part("sphere", v[i], np.full(3, self.wire_radius), material=METAL) for i in range(1, 6)]
        parts = [sheath, *wires, *corners]
        names = ["tip", "loop_left_near", "loop_left_far", "loop_right_far", "loop_right_near", "sheath_tip"]
        points = v[[3, 1, 2, 4, 5, 0]]
        edges = [(5, 1), (1, 2), (2, 0), (0, 3), (3, 4), (4, 5)]
        return _Design(parts, names, points, [-1] * 6, edges, _half_size(parts, self.length), SHEATH_WHITE)


@dataclass(frozen=True)
class Needle:
    """Injection needle: a clear-blue sheath (Ø 2.3 mm) and a metal needle (Ø 0.6 mm, 23 G) out
    ``needle_length`` beyond it, tapering to its point."""

    length: float = 0.025
    sheath_radius: float = 0.00115
    needle_radius: float = 0.0003
    needle_length: float = 0.005

    def design(self) -> _Design:
        hx = self.length / 2
        base = hx - self.needle_length
        sheath = _along(np.array([-hx, 0, 0]), np.array([base, 0, 0]), self.sheath_radius)
        needle = _along(np.array([base - 0.0005, 0, 0]), np.array([hx, 0, 0]), self.needle_radius, "capsule", METAL)
        parts = [sheath, needle]
        points = np.array([[hx, 0.0, 0.0], [base, 0.0, 0.0]])
        return _Design(parts, ["tip", "sheath_tip"], points, [-1, -1], [(1, 0)], _half_size(parts, self.length),
                       SHEATH_CLEAR)


#: instrument kind → its default design (the class name recipes use for it)
INSTRUMENTS: Registry[Callable[[], Any]] = Registry("instrument")
INSTRUMENTS.register("forceps", Forceps)
INSTRUMENTS.register("snare", Snare)
INSTRUMENTS.register("injection_needle", Needle)

#: default insertion (metres out of the channel: at the start, when extended) per kind; the snare
#: starts with its loop out and its sheath 6 mm from the lens (a real loop opens only once it leaves
#: its catheter, so a rigid loop must not sweep past the lens)
_INSERTION = {"forceps": (0.0, 0.02), "snare": (0.022, 0.03), "injection_needle": (0.0, 0.02)}


def _num(x: float) -> float:
    return float(f"{float(x):.6g}")


def _vec(v) -> list[float]:
    return [_num(x) for x in v]


def instrument_group(kind: str, *, design: Any = None, class_name: str | None = None, count: int = 1,
                     channel: dict | None = None, insertion: float | None = None, start: float | None = None,
                     delay: float = 0.0,
                     extend: float = 1.0, hold: float = 1.0, retract: float = 0.0) -> dict:
    """A recipe ``objects:`` group (plain data, as YAML would give it) for one instrument ``kind``
    (:data:`INSTRUMENTS`; its own dataclass as ``design`` to change sizes): parts and keypoints in
    half-size units, placement ``camera`` at ``channel`` (:data:`CHANNEL` by default), motion
    ``follow_camera`` with the insertion profile (metres, seconds; defaults per kind)."""
    d = design if design is not None else INSTRUMENTS.get(kind, "instrument")
    d = (d() if isinstance(d, type) else d).design()
    half = d.half

    def part(p: _Part) -> dict:
        out = {"primitive": p.primitive, "center": _vec(p.center / half), "size": _vec(p.half / half),
               "rotation_deg": _vec(p.rotation_deg)}
        if p.material is not None:
            out["material"] = dict(p.material)
        if p.swing is not None:
            out["swing"] = {**p.swing, "pivot": _vec(np.asarray(p.swing["pivot"]) / half)}
        return out

    return {
        "class_name": class_name or kind,
        "count": count,
        "primitive": "cylinder",
        "size": _vec(2 * half),
        "material": dict(d.material),
        "placement": {"mode": "camera", **(channel or CHANNEL)},
        "motion": {"name": "follow_camera", "params": {
            "insertion": _INSERTION.get(kind, (0.0, 0.02))[1] if insertion is None else insertion,
            "start": _INSERTION.get(kind, (0.0, 0.02))[0] if start is None else start,
            "delay": delay, "extend": extend, "hold": hold, "retract": retract}},
        "parts": [part(p) for p in d.parts],
        "keypoints": {"names": list(d.names), "points": [_vec(p / half) for p in d.points],
                      "parts": list(d.on), "edges": [list(e) for e in d.edges]},
    }


def wall_clearance(scene, traj, radius: float | None = None) -> np.ndarray:
    """(T, N) metres between the wall and the part corner nearest to it, for each object that rides the
    camera (NaN for the others); negative: the instrument is in the wall. Parts at their posed (swung)
    positions. The wall: the bent lumen's (``environment.lumen``: −F of scene/lumen.py, the radial
    margin to the wall), else the straight tube's (``radius``, default ``environment.tube_radius``,
    about the world x axis)."""
    lumen = scene.environment.lumen if radius is None else None
    R = scene.environment.tube_radius if radius is None else radius
    objs = scene.objects
    pp = part_poses(scene, traj)
    T, N = traj.num_frames, len(objs)
    out = np.full((T, N), np.nan)
    motion = pp.motion(T)  # (T,P,4,4) in the object frame
    signs = np.array([[i, j, k] for i in (-1, 1) for j in (-1, 1) for k in (-1, 1)], float)
    for i in range(N):
        name = objs.motion[i][0]
        if not (name in OBJECT_MOTIONS and OBJECT_MOTIONS.get(name).follows_camera):
            continue
        parts = objs.parts[i] if objs.parts else ()
        near = np.full(T, np.inf)
        for j, prim in enumerate(np.flatnonzero(pp.owner == i)):
            offset = pp.rest[prim]
            h = parts[j].half_size if parts else objs.half_size[i]
            local = (signs * h) @ offset[:3, :3].T + offset[:3, 3]  # (8,3) object frame at rest
            world = np.einsum("tij,kj->tki", traj.object_poses[:, i] @ motion[:, prim], np.c_[local, np.ones(8)])[..., :3]
            margin = -lumen.field(world) if lumen is not None else R - np.linalg.norm(world[..., 1:], axis=-1)
            near = np.minimum(near, margin.min(-1))
        out[:, i] = near
    return out


def _main(argv: list[str]) -> int:
    """Print the recipe groups of the named instruments as YAML (for a recipe's ``objects:`` list)."""
    import json

    import yaml

    kinds = argv or list(INSTRUMENTS)
    groups = json.loads(json.dumps([instrument_group(k) for k in kinds]))  # plain lists: no YAML aliases
    print(yaml.safe_dump(groups, sort_keys=False, default_flow_style=None, width=120), end="")
    return 0


if __name__ == "__main__":  # pragma: no cover
    import sys

    raise SystemExit(_main(sys.argv[1:]))
