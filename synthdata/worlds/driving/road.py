"""The road: one geometry for the picture and the labels.

A straight road along world x, ``LANES`` lanes each way of width ``lane_width`` (the ``road`` texture's
``scale``), right-hand traffic (y < 0 drives +x). :func:`road_marks` says what lies at a ground point —
the ``road`` texture paints it, and the label kinds ``road`` (what the ground is) and ``lane`` (which
lane) report it, so paint and labels cannot disagree.

``lane_lines`` (frames table): every painted line as an image polyline per frame — the centre line,
the lane lines and both edges, each a ``{y, kind, points}`` with ``y`` its world offset from the road
axis (m; the line is the world line (x, y, 0) for all x), ``kind`` one of ``centre_line``,
``lane_line``, ``road_edge`` and ``points`` the projections of ground points 1 … 200 m ahead (denser
near), in the image only, near to far (empty when the line is out of view).

``road`` classes (:data:`ROAD_CLASSES`): 0 not road ground (sky, objects, other scenes), 1 drivable
asphalt, 2 lane line (dashed white), 3 road edge line (solid white), 4 centre line (double yellow),
5 off-road verge. ``lane`` ids: +1 … +LANES for the lanes driving +x (1 next to the centre), −1 … −LANES
for the oncoming ones, 0 off the carriageway (markings belong to the lane they lie in).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ...annotate.kinds import LabelKind
from ...scene.lens import PINHOLE, Lens

__all__ = ["LANES", "ROAD_CLASSES", "road_marks", "road_texture", "lane_lines", "ROAD_KIND", "LANE_KIND", "LANE_LINES_KIND"]

LANES = 2
ROAD_CLASSES = ("none", "drivable", "lane_line", "road_edge", "centre_line", "off_road")
DASH_PERIOD, DASH_LENGTH = 9.0, 3.0  # m
LINE_HALF_WIDTH, EDGE_HALF_WIDTH, CENTRE_OFFSET, CENTRE_HALF_WIDTH = 0.07, 0.08, 0.12, 0.06
VERGE = 0.6  # m of asphalt beyond the edge line


def road_marks(x, y, lane_width):
    """(class, lane id) of ground points (numpy arrays or torch tensors of one shape, metres)."""
    ay = abs(y)
    half = LANES * lane_width
    edge = abs(ay - half) < EDGE_HALF_WIDTH
    dashed = False
    for k in range(1, LANES):
        dashed = dashed | ((abs(ay - k * lane_width) < LINE_HALF_WIDTH) & ((x % DASH_PERIOD) < DASH_LENGTH))
    centre = abs(ay - CENTRE_OFFSET) < CENTRE_HALF_WIDTH
    off = ay > half + VERGE
    cls = 1 + 0 * x  # drivable, same type and shape as x
    cls = _where(edge | dashed, 3 * edge + 2 * (dashed & ~edge), cls)
    cls = _where(centre, 4, cls)
    cls = _where(off, 5, cls)
    k = (ay // lane_width) + 1  # lane index from the centre, 1-based
    lane = _where(ay < half, _where(y < 0, k, -k), 0 * k)
    return cls, lane


def _where(c, a, b):
    if isinstance(c, np.ndarray):
        return np.where(c, a, b)
    import torch

    return torch.where(c, torch.as_tensor(a, device=c.device).to(b.dtype) if not hasattr(a, "dtype") else a.to(b.dtype), b)


def road_texture(p, color, color2, scale, seed):
    """Texture ``road``: asphalt (``color``) with the marks of :func:`road_marks`; grass (``color2``)
    beyond the verge. Lanes are ``scale`` metres wide."""
    import torch

    from ...render.raycast.textures import fbm  # the renderer's noise, loaded with the renderer

    cls, _ = road_marks(p[:, 0], p[:, 1], scale)
    grit = fbm(p * 6.0, seed, 2)
    asphalt = color * (0.85 + 0.3 * grit[:, None])
    grass = color2 * (0.7 + 0.6 * fbm(p * 1.5, seed + 7, 3)[:, None])
    white = torch.tensor([0.92, 0.92, 0.9], device=p.device, dtype=p.dtype)
    yellow = torch.tensor([0.95, 0.78, 0.15], device=p.device, dtype=p.dtype)
    out = torch.where((cls == 5)[:, None], grass, asphalt)
    out = torch.where(((cls == 2) | (cls == 3))[:, None], white.expand_as(out), out)
    return torch.where((cls == 4)[:, None], yellow.expand_as(out), out)


def _ground_labels(frames, scene, which: int) -> np.ndarray:
    """(T,H,W) class (which=0) or lane id (which=1) of every ground pixel of a ``road`` scene."""
    inst = frames.instance.cpu().numpy()
    out = np.zeros(inst.shape, np.int16)
    env = scene.environment
    if env.kind != "ground" or env.ground.texture[0] != "road":
        return out.astype(np.uint8 if which == 0 else np.int8)
    ground = (inst == 0) & np.isfinite(frames.depth.cpu().numpy())
    p = frames.surface.cpu().numpy()[ground]
    out[ground] = road_marks(p[:, 0], p[:, 1], float(env.ground.scale[0]))[which]
    return out.astype(np.uint8 if which == 0 else np.int8)


ROAD_KIND = LabelKind(
    name="road", table="frames", map_dtype="uint8", default=False,
    compute=lambda frames, scene, traj: _ground_labels(frames, scene, 0),
    doc="(H,W) uint8 road class of the ground: 0 none, 1 drivable, 2 lane line, 3 road edge, 4 centre line, 5 off-road")
LANE_KIND = LabelKind(
    name="lane", table="frames", map_dtype="int8", default=False,
    compute=lambda frames, scene, traj: _ground_labels(frames, scene, 1),
    doc="(H,W) int8 lane id of the carriageway: +1…+N driving +x, -1…-N oncoming, 0 elsewhere")


LINE_TYPE = pa.list_(pa.struct([("y", pa.float32()), ("kind", pa.string()),
                                ("points", pa.list_(pa.list_(pa.float32(), 2)))]))
_AHEAD = np.geomspace(1.0, 200.0, 48)  # m ahead of the camera where each line is sampled


def _lines(lane_width: float) -> list[tuple[float, str]]:
    out = [(0.0, "centre_line")]
    for side in (-1.0, 1.0):
        out += [(side * k * lane_width, "lane_line") for k in range(1, LANES)]
        out.append((side * LANES * lane_width, "road_edge"))
    return sorted(out)


def lane_lines(camera_poses: np.ndarray, K: np.ndarray, width: int, height: int, lane_width: float,
               lens: Lens = PINHOLE) -> list[list[dict]]:
    """Per frame, every painted line as an image polyline (module docstring), through ``lens`` (the
    points are dense, so a distorted line is a curved polyline). Shape: camera_poses (T,4,4)."""
    out = []
    for c2w in camera_poses:
        w2c = np.linalg.inv(c2w)
        heading = np.sign(c2w[0, 2]) or 1.0  # the camera looks along ±x
        frame = []
        for y, kind in _lines(lane_width):
            pts = np.stack([c2w[0, 3] + heading * _AHEAD, np.full_like(_AHEAD, y), np.zeros_like(_AHEAD)], -1)
            cam = pts @ w2c[:3, :3].T + w2c[:3, 3]
            front = cam[:, 2] > 0.1
            if lens.is_pinhole:
                u = K[0, 0] * cam[front, 0] / cam[front, 2] + K[0, 2]
                v = K[1, 1] * cam[front, 1] / cam[front, 2] + K[1, 2]
            else:
                u, v, _ = lens.project(cam[front], K)
            with np.errstate(invalid="ignore"):
                inside = (u >= 0) & (u < width) & (v >= 0) & (v < height)
            frame.append({"y": y, "kind": kind, "points": np.stack([u[inside], v[inside]], -1).astype(np.float32).tolist()})
        out.append(frame)
    return out


def _lane_lines(frames, scene, traj) -> list[list[dict]]:
    env = scene.environment
    if env.kind != "ground" or env.ground.texture[0] != "road":
        return [[] for _ in range(traj.num_frames)]
    return lane_lines(traj.camera_poses, traj.K, scene.camera.width, scene.camera.height, float(env.ground.scale[0]),
                      traj.lens)


LANE_LINES_KIND = LabelKind(
    name="lane_lines", table="frames", arrow_type=LINE_TYPE, default=False, compute=_lane_lines,
    doc="per frame: every painted road line as {y (world offset), kind, points (image polyline)}")
