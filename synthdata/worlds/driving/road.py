"""The road: one geometry for the picture and the labels.

A road in road coordinates (s along, d across: :mod:`synthdata.scene.ground`, which bends and grades
it), laid out by the recipe's ``environment.road`` (:class:`~synthdata.scene.ground.RoadLayout`: lanes,
strips, markings, a crossing) or, without one, the legacy straight road of ``LANES`` lanes each way of
the ``road`` texture's ``scale``; right-hand traffic (d < 0 drives +s). :func:`road_marks` says what
lies at a ground point —
the ``road`` texture paints it, and the label kinds ``road`` (what the ground is) and ``lane`` (which
lane) report it, so paint and labels cannot disagree.

``lane_lines`` (frames table): every painted line of the main road per frame — the centre line, the
lane lines and both edges, each a ``{y, kind, style, lanes, points, world}``: ``y`` its offset across
the road (m, road coordinates: the line is (s, y) for all s, bent and graded with the ground),
``kind`` one of ``centre_line``, ``lane_line``, ``road_edge``, ``style`` (dashed, solid, double),
``lanes`` the lane ids on its right and left (−y and +y sides, 0 off the carriageway), ``points`` the
image projections (through the camera's lens) of ground points 1 … 200 m ahead (denser near), near to
far, and ``world`` the same points in the world frame. A line leaves out points outside the image,
behind the camera and inside a crossing, so it may be several polylines (or one with no points).

``road`` classes (:data:`ROAD_CLASSES`): 0 not road ground (sky, objects, other scenes), 1 drivable
asphalt (also the parking strip and the crossing box), 2 lane line, 3 road edge line, 4 centre line,
5 off-road, 6 sidewalk, 7 zebra crossing, 8 stop line, 9 kerb. ``lane`` ids: +1 … +LANES for the lanes driving +x (1 next to the centre), −1 … −LANES
for the oncoming ones, 0 off the carriageway (markings belong to the lane they lie in).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pyarrow as pa

from ...annotate.kinds import LabelKind
from ...annotate.rolling import rolling_project
from ...motion.shift import shifted
from ...scene.ground import CROSSWALK, VERGE, GroundShape, RoadLayout
from ...scene.lens import PINHOLE, Lens

__all__ = ["LANES", "ROAD_CLASSES", "road_marks", "road_texture", "lane_lines", "ROAD_KIND", "LANE_KIND", "LANE_LINES_KIND"]

LANES = 2  # per direction, for the ``road`` texture without a recipe road (legacy layouts)
ROAD_CLASSES = ("none", "drivable", "lane_line", "road_edge", "centre_line", "off_road", "sidewalk", "crosswalk",
                "stop_line", "kerb")
DASH_PERIOD, DASH_LENGTH = 9.0, 3.0  # m
LINE_HALF_WIDTH, EDGE_HALF_WIDTH, CENTRE_OFFSET, CENTRE_HALF_WIDTH = 0.07, 0.08, 0.12, 0.06
STOP_LINE = 0.4  # m deep
ZEBRA = 1.0  # m period of the crossing's bars (half paint)


def _layout(layout: RoadLayout | float) -> RoadLayout:
    """A recipe's road, or the legacy road of the bare ``road`` texture (``scale`` = lane width)."""
    return layout if isinstance(layout, RoadLayout) else RoadLayout(lanes=LANES, lane_width=layout)  # type: ignore[arg-type]


def road_marks(x, y, layout: RoadLayout | float):
    """(class, lane id) of ground points at road coordinates (x = s along, y = d across; numpy arrays
    or torch tensors of one shape, metres) of a road ``layout`` (a number: the legacy two-lane road of
    that lane width)."""
    return _marks(x, y, _layout(layout), lanes=True)


def _marks(x, y, road: RoadLayout, lanes: bool):
    """:func:`road_marks`; ``lanes=False``: the class alone (lane ids None), what the texture paints."""
    cls, lane = _carriageway(x, y, road, lanes)
    if road.intersection is None:
        return cls, lane
    return _with_crossing(x, y, road, cls, lane)


def _carriageway(x, y, road: RoadLayout, lanes: bool = True):
    """Marks of a straight road without its crossing: lines, verge, parking strip, kerb, sidewalk
    (lane ids None unless ``lanes``)."""
    w, ay, half = road.lane_width, abs(y), road.half
    edge = abs(ay - half) < EDGE_HALF_WIDTH
    lines = False
    for k in range(1, road.lanes):
        near = abs(ay - k * w) < LINE_HALF_WIDTH
        lines = lines | (near & ((x % DASH_PERIOD) < DASH_LENGTH) if road.lane_line == "dashed" else near)
    if road.centre_line == "double":
        centre = abs(ay - CENTRE_OFFSET) < CENTRE_HALF_WIDTH
    else:
        centre = ay < CENTRE_HALF_WIDTH
        centre = centre & ((x % DASH_PERIOD) < DASH_LENGTH) if road.centre_line == "dashed" else centre
    cls = 1 + 0 * x  # drivable, same type and shape as x
    cls = _where(edge | lines, 3 * edge + 2 * (lines & ~edge), cls)
    cls = _where(centre, 4, cls)
    if road.sidewalk > 0:
        cls = _where(ay >= road.asphalt_half, 9, cls)
        cls = _where(ay >= road.sidewalk_inner, 6, cls)
        cls = _where(ay >= road.sidewalk_outer, 5, cls)
    else:
        cls = _where(ay > road.asphalt_half, 5, cls)
    if not lanes:
        return cls, None
    k = (ay // w) + 1  # lane index from the centre, 1-based
    lane = _where(ay < half, _where(y < 0, k, -k), 0 * k)
    return cls, lane


def _with_crossing(x, y, road: RoadLayout, cls, lane):
    """The crossing road laid over the main road's marks: its own arms (a road along y), the shared
    box (plain asphalt, lane 0), zebra crossings and the stop lines of both roads."""
    cross = road.intersection
    arm = RoadLayout(lanes=cross.lanes, lane_width=road.lane_width, sidewalk=road.sidewalk, parking=0.0,
                     centre_line=road.centre_line, lane_line=road.lane_line)
    u = x - cross.at  # along the main road from the crossing
    au, ay = abs(u), abs(y)
    c_cls, _ = _carriageway(y, cross.at - x, arm, lanes=False)  # the arm's own frame: along = y, across = at - x
    on_arm = (au < arm.asphalt_half) & (ay >= road.asphalt_half)
    cls = _where(on_arm, c_cls, cls)
    if lane is not None:
        lane = _where(on_arm | (au < arm.asphalt_half), 0 * lane, lane)
    box = (au < arm.asphalt_half) & (ay < road.asphalt_half)
    cls = _where(box, 1, cls)
    # zebra crossings across every arm, then the stop lines before them
    main_zebra = (au >= arm.asphalt_half) & (au < arm.asphalt_half + CROSSWALK) & (ay < road.asphalt_half)
    arm_zebra = (ay >= road.asphalt_half) & (ay < road.asphalt_half + CROSSWALK) & (au < arm.asphalt_half)
    cls = _where(main_zebra & ((y % ZEBRA) < ZEBRA / 2), 7, cls)
    cls = _where(arm_zebra & ((x % ZEBRA) < ZEBRA / 2), 7, cls)
    main_stop = road.stop_distance("main")
    stop = (ay < road.half) & (abs(au - main_stop + STOP_LINE / 2) < STOP_LINE / 2) & ((u < 0) == (y < 0))
    arm_stop = road.stop_distance("cross")
    # crossing lanes driving +y lie at u > 0 and meet their stop line at y = -arm_stop
    stop = stop | ((au < arm.half) & (abs(ay - arm_stop + STOP_LINE / 2) < STOP_LINE / 2) & ((u > 0) == (y < 0)))
    return _where(stop, 8, cls), lane


def _where(c, a, b):
    if isinstance(c, np.ndarray):
        return np.where(c, a, b)
    import torch

    return torch.where(c, torch.as_tensor(a, device=c.device).to(b.dtype) if not hasattr(a, "dtype") else a.to(b.dtype), b)


def road_texture(p, color, color2, scale, seed, layout: RoadLayout | None = None, footprint=None):
    """Texture ``road``: asphalt (``color``) with the marks of :func:`road_marks`; grass (``color2``)
    off the road, paving slabs on sidewalks. ``p`` is in road coordinates; without a recipe ``layout``
    the road is the legacy two lanes each way, ``scale`` metres wide. With a ``footprint`` (anti-
    aliasing) the marks are averaged over the pixel: :data:`~synthdata.render.raycast.antialias.SUBPIXEL`
    points spread over the footprint, the noise once at the centre."""
    import torch

    from ...render.raycast.antialias import SUBPIXEL
    from ...render.raycast.textures import fbm  # the renderer's noise, loaded with the renderer

    road = _layout(layout if layout is not None else scale)
    if footprint is None:
        spots = [p[:, :2]]
    else:
        spots = [p[:, :2] + a * footprint[:, 0, :2] + b * footprint[:, 1, :2]
                 for a, b in SUBPIXEL.to(device=p.device, dtype=p.dtype)]
    classes = [_marks(q[:, 0], q[:, 1], road, lanes=False)[0].to(torch.uint8) for q in spots]  # 0…9, a byte each
    # the noises only where their colour shows (asphalt and slabs: grit; off-road: grass), each point's
    # own value, so the picture is the same bit for bit as noise everywhere
    shows = {c: torch.zeros_like(classes[0], dtype=torch.bool) for c in (1, 5, 6)}
    for cls in classes:
        for c, m in shows.items():
            m |= cls == c
    grit = _noise_where(shows[1] | shows[6], lambda m: fbm(p[m] * 6.0, seed[m], 2), p)
    asphalt = color * (0.85 + 0.3 * grit[:, None])
    grass = color2 * (0.7 + 0.6 * _noise_where(shows[5], lambda m: fbm(p[m] * 1.5, seed[m] + 7, 3), p)[:, None])
    slab = None
    if layout is not None and layout.sidewalk > 0:
        slab = 0.55 + 0.05 * grit[:, None] + 0.04 * ((torch.floor(p[:, 0] / 0.6) + torch.floor(p[:, 1] / 0.6)) % 2)[:, None]
    if footprint is None:
        return _paint(classes[0], asphalt, grass, slab)
    out = torch.zeros_like(asphalt)
    for cls in classes:
        out = out + _paint(cls, asphalt, grass, slab)
    return out / len(classes)


def _noise_where(mask, fn: Callable, p):
    """``fn(rows)`` (a noise of the rows' points) on the rows of ``mask``, 0 elsewhere (where it is not
    shown). Shape: mask (M,) bool → (M,)."""
    import torch

    rows = mask.nonzero().squeeze(1)
    return torch.zeros(p.shape[0], dtype=p.dtype, device=p.device).index_copy_(0, rows, fn(rows))


road_texture.takes_footprint = True


def _paint(cls, asphalt, grass, slab):
    """Colour of each road class over the ground's own noise. Shape: cls (M,), others (M,3) → (M,3)."""
    import torch

    white = torch.tensor([0.92, 0.92, 0.9], device=asphalt.device, dtype=asphalt.dtype)
    yellow = torch.tensor([0.95, 0.78, 0.15], device=asphalt.device, dtype=asphalt.dtype)
    out = torch.where((cls == 5)[:, None], grass, asphalt)
    out = torch.where(((cls == 2) | (cls == 3) | (cls == 7) | (cls == 8))[:, None], white.expand_as(out), out)
    out = torch.where((cls == 4)[:, None], yellow.expand_as(out), out)
    if slab is not None:
        out = torch.where((cls == 6)[:, None], slab.expand_as(out), out)
        out = torch.where((cls == 9)[:, None], torch.full_like(out, 0.7), out)
    return out


def _ground_labels(frames, scene, which: int) -> np.ndarray:
    """(T,H,W) class (which=0) or lane id (which=1) of every ground pixel of a ``road`` scene: the
    ground's world points mapped to road coordinates, as the renderer paints them."""
    inst = frames.instance.cpu().numpy()
    out = np.zeros(inst.shape, np.int16)
    env = scene.environment
    if env.kind != "ground" or env.ground.texture[0] != "road":
        return out.astype(np.uint8 if which == 0 else np.int8)
    ground = (inst == 0) & np.isfinite(frames.depth.cpu().numpy())
    import torch

    p = frames.surface.cpu()[torch.from_numpy(ground)]  # float32 torch, as the renderer paints
    s, d = env.shape.to_ground(p[:, 0], p[:, 1])
    layout = env.road if env.road is not None else float(env.ground.scale[0])
    out[ground] = road_marks(s, d, layout)[which].numpy()
    return out.astype(np.uint8 if which == 0 else np.int8)


ROAD_KIND = LabelKind(
    name="road", table="frames", reads=frozenset({"instance", "depth", "surface"}), map_dtype="uint8", default=False, context=0,
    compute=lambda frames, scene, traj: _ground_labels(frames, scene, 0),
    doc="(H,W) uint8 road class of the ground: " + ", ".join(f"{i} {n.replace('_', ' ')}" for i, n in enumerate(ROAD_CLASSES)))
LANE_KIND = LabelKind(
    name="lane", table="frames", reads=frozenset({"instance", "depth", "surface"}), map_dtype="int8", default=False, context=0,
    compute=lambda frames, scene, traj: _ground_labels(frames, scene, 1),
    doc="(H,W) int8 lane id of the carriageway: +1…+N driving +x, -1…-N oncoming, 0 elsewhere")


LINE_TYPE = pa.list_(pa.struct([("y", pa.float32()), ("kind", pa.string()), ("style", pa.string()),
                                ("lanes", pa.list_(pa.int8(), 2)),
                                ("points", pa.list_(pa.list_(pa.float32(), 2))),
                                ("world", pa.list_(pa.list_(pa.float32(), 3)))]))
_AHEAD = np.geomspace(1.0, 200.0, 48)  # m ahead of the camera where each line is sampled


def _lines(road: RoadLayout) -> list[tuple[float, str, str]]:
    """(d, kind, style) of every painted line along the road."""
    out = [(0.0, "centre_line", road.centre_line)]
    for side in (-1.0, 1.0):
        out += [(side * k * road.lane_width, "lane_line", road.lane_line) for k in range(1, road.lanes)]
        out.append((side * road.half, "road_edge", "solid"))
    return sorted(out)


def lane_lines(camera_poses: np.ndarray, K: np.ndarray, width: int, height: int, road: RoadLayout | float,
               shape: GroundShape | None = None, lens: Lens = PINHOLE, row_time: np.ndarray | None = None,
               camera_at: Callable[[float], np.ndarray] | None = None) -> list[list[dict]]:
    """Per frame, every painted line as image polylines (module docstring), through ``lens`` (the
    points are dense, so a distorted line is a curved polyline). Shape: camera_poses (T,4,4). Under a
    rolling shutter, row_time (H,) and ``camera_at(delta)`` → (T,4,4) poses ``delta`` frames later: each
    point where its row saw it (:mod:`synthdata.annotate.rolling`)."""
    road, shape = _layout(road), shape or GroundShape()
    gap = None
    if road.intersection is not None:  # lines stop at the crossing's box
        gap = (road.intersection.at, road.intersection.lanes * road.lane_width + VERGE)
    out = []
    later = {}  # delta → (T,4,4) world-to-camera, for the rolling shutter's row instants
    for i, c2w in enumerate(camera_poses):
        w2c = np.linalg.inv(c2w)
        s_cam, _ = shape.to_ground(c2w[0, 3], c2w[1, 3])
        ahead = c2w[:2, 2] @ _tangent(shape, s_cam)  # the camera looks along ±s
        s = s_cam + (1.0 if ahead >= 0 else -1.0) * _AHEAD
        frame = []
        for d, kind, style in _lines(road):
            X, Y = shape.to_world_xy(s, np.full_like(s, d))
            pts = np.stack([X, Y, shape.height(X)], -1)
            cam = pts @ w2c[:3, :3].T + w2c[:3, 3]
            if row_time is not None:
                def cam_at(delta: float, pts=pts) -> np.ndarray:
                    if delta not in later:
                        later[delta] = np.linalg.inv(camera_at(delta))
                    return (pts @ later[delta][i, :3, :3].T + later[delta][i, :3, 3])[None]
                ur, vr, zr = rolling_project(cam[None], cam_at, row_time, K, lens)
                cam = np.concatenate([cam[:, :2], zr[0][:, None]], -1)  # the depth where its row saw it
            keep = cam[:, 2] > 0.1
            if gap is not None:
                keep &= np.abs(s - gap[0]) >= gap[1]
            z = np.where(keep, cam[:, 2], 1.0)
            if row_time is not None:
                u, v = ur[0], vr[0]
            elif lens.is_pinhole:
                u = K[0, 0] * cam[:, 0] / z + K[0, 2]
                v = K[1, 1] * cam[:, 1] / z + K[1, 2]
            else:  # NaN beyond the lens's fold radius: not in the image
                u, v, _ = lens.project(cam, K)
            with np.errstate(invalid="ignore"):
                keep &= (u >= 0) & (u < width) & (v >= 0) & (v < height)
            between = [int(v) for v in _carriageway(np.zeros(2), np.array([d - 0.5, d + 0.5]), road)[1]]
            for run in _runs(keep):
                frame.append({"y": d, "kind": kind, "style": style, "lanes": between,
                              "points": np.stack([u[run], v[run]], -1).astype(np.float32).tolist(),
                              "world": pts[run].astype(np.float32).tolist()})
            if not keep.any():
                frame.append({"y": d, "kind": kind, "style": style, "lanes": between, "points": [], "world": []})
        out.append(frame)
    return out


def _tangent(shape: GroundShape, s: float) -> np.ndarray:
    return np.array([np.cos(shape.curvature * s), np.sin(shape.curvature * s)])


def _runs(keep: np.ndarray) -> list[np.ndarray]:
    """Index runs of consecutive True (a line interrupted by the crossing is two polylines)."""
    idx = np.flatnonzero(keep)
    if idx.size == 0:
        return []
    cut = np.flatnonzero(np.diff(idx) > 1) + 1
    return np.split(idx, cut)


def _lane_lines(frames, scene, traj) -> list[list[dict]]:
    env = scene.environment
    if env.kind != "ground" or env.ground.texture[0] != "road":
        return [[] for _ in range(traj.num_frames)]
    road = env.road if env.road is not None else float(env.ground.scale[0])
    rt = None if frames.row_time is None else frames.row_time.cpu().numpy()
    return lane_lines(traj.camera_poses, traj.K, scene.camera.width, scene.camera.height, road, env.shape, traj.lens,
                      rt, lambda d: shifted(traj, d).camera_poses)


LANE_LINES_KIND = LabelKind(
    name="lane_lines", table="frames", reads=frozenset({"row_time"}), arrow_type=LINE_TYPE, default=False, compute=_lane_lines, context=0,
    doc="per frame: every painted road line as {y (offset across the road), kind, style, points (image polyline)}")
