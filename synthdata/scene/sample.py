"""Sample a :class:`Scene` from a recipe with an explicit numpy ``Generator``.

Draw order is fixed (camera, environment, then each group's count and objects in order, the generator
seed, then lens coefficients when the lens is not a pinhole, then light guides when there are any), so a clip's
scene depends only on (spec, seed).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from ..geometry import boxes_overlap, intrinsics_from_fov, look_at, point_in_box, pose, rot_x, rot_z
from ..errors import UserError
from ..recipe.distributions import draw
from ..recipe.schema import MaterialSpec, ObjectGroupSpec, PartSpec, RecipeSpec, RoadSpec, ShapeSpec
from .ground import CROSSWALK, KERB, VERGE, GroundShape, Intersection, RoadLayout
from .conditions import Light, draw_light, place_light, sample_conditions, time_of_day
from .lens import LENS_MODELS, Lens, lens_problems
from .lumen import lumen_params, sample_lumen, wall_pose
from .optics import sample_optics
from .shapes import SHAPES, Shape, ShapeContext, ShapePart
from .skeletons import class_skeletons
from .types import CameraRig, Environment, Materials, ObjectSet, Part, Scene, Swing

__all__ = ["sample_scene", "PLACEMENT_TRIES", "ground_capacity"]

PLACEMENT_TRIES = 64  # draws of a placement before an object that does not fit is left out
#: m a wall object's box must stay off a tube's or lumen's axis: the scope goes round what leaves the axis
#: free (motion: ``_clear_objects``), so an object across it would hold the camera (the colonoscope's
#: default margin)
PASSAGE_MARGIN = 0.0025


def _vec3(value: Any, rng: np.random.Generator) -> np.ndarray:
    v = np.asarray(draw(value, rng), dtype=np.float64)
    if v.shape != (3,):
        raise ValueError(f"expected three numbers, got {v.tolist()}")
    return v


def _material(spec: MaterialSpec, rng: np.random.Generator) -> dict[str, Any]:
    out = {
        "texture": str(draw(spec.texture, rng)),
        "color": np.clip(_tinted(_vec3(spec.color, rng), float(draw(spec.tint, rng)), rng), 0, 1),
        "color2": np.clip(_vec3(spec.color2, rng), 0, 1),
        "scale": float(draw(spec.scale, rng)),
        "specular": float(np.clip(draw(spec.specular, rng), 0, 4)),
        "shininess": float(np.clip(draw(spec.shininess, rng), 1, 512)),
        "noise_seed": int(rng.integers(0, 2**31 - 1)),
        "emissive": max(0.0, float(draw(spec.emissive, rng))),  # a constant draws nothing: old clips unchanged
    }
    if spec.light is not None:  # drawn only when asked for: recipes without lights keep their draws
        out["light"] = draw_light(spec.light, rng)
    if spec.bump is not None:  # constants: no draws, the scene is the same with or without
        out["bump"] = (spec.bump.amplitude, spec.bump.scale, float(spec.bump.octaves))
    if spec.wet is not None:
        out["wet"] = (spec.wet.specular, spec.wet.shininess, spec.wet.fresnel)
    if spec.texture_params:  # likewise; in name order, so the draws do not depend on how the YAML is written
        out["texture_params"] = {k: float(draw(spec.texture_params[k], rng)) for k in sorted(spec.texture_params)}
    return out


def _tinted(color: np.ndarray, tint: float, rng: np.random.Generator) -> np.ndarray:
    """A palette colour varied continuously: per channel and in overall shade (no draws at tint 0, so
    recipes without it keep their clips)."""
    if tint <= 0:
        return color
    u = rng.uniform(-1.0, 1.0, 4)
    return color * (1 + tint * u[:3]) * (1 + tint * u[3])


def _materials(items: list[dict[str, Any]]) -> Materials:
    return Materials(
        texture=[m["texture"] for m in items],
        color=np.array([m["color"] for m in items]).reshape(-1, 3),
        color2=np.array([m["color2"] for m in items]).reshape(-1, 3),
        scale=np.array([m["scale"] for m in items], dtype=np.float64),
        specular=np.array([m["specular"] for m in items], dtype=np.float64),
        shininess=np.array([m["shininess"] for m in items], dtype=np.float64),
        noise_seed=np.array([m["noise_seed"] for m in items], dtype=np.int64),
        emissive=np.array([m["emissive"] for m in items], dtype=np.float64),
        bump=_optional_rows(items, "bump"),
        wet=_optional_rows(items, "wet"),
        texture_params=[m.get("texture_params", {}) for m in items] if any("texture_params" in m for m in items) else None,
    )


def _optional_rows(items: list[dict[str, Any]], key: str) -> np.ndarray | None:
    """(N,3) rows of an optional material block, zeros where absent; None when no item has it."""
    if not any(key in m for m in items):
        return None
    return np.array([m.get(key, (0.0, 0.0, 0.0)) for m in items], dtype=np.float64).reshape(-1, 3)


class _Skip(Exception):
    """This clip has no place for the object (a signal without a crossing): not placed, not dropped."""


def _placement(group: ObjectGroupSpec, half: np.ndarray, env: Environment, rng: np.random.Generator,
               index: int = 0, previous: np.ndarray | None = None, lift: float = 0.0,
               camera_pose: np.ndarray | None = None) -> tuple[np.ndarray | None, str]:
    """A start pose (None: this draw is not allowed here, draw again) and the state the object shows.
    ``index`` is the object's position in its group, ``previous`` the group's previous pose; ``lift``
    (wall only) raises the object's centre that far off the wall along the inward normal (a shape's
    box, :mod:`.shapes`); ``camera_pose`` (4,4) the camera's start pose (``camera`` placements)."""
    p = group.placement
    x, y, z = (float(draw(v, rng)) for v in (p.x, p.y, p.z))
    yaw = np.radians(float(draw(p.yaw_deg, rng)))
    angle = np.radians(float(draw(p.angle_deg, rng)))
    if p.mode in _ROAD_MODES:
        lane = float(draw(p.lane, rng)) if p.lane is not None else float(rng.uniform(-1.0, 1.0))
        if p.spacing is not None and previous is not None:
            x = float(previous[0, 3]) + p.spacing
        return _ROAD_MODES[p.mode](env.road, p.road or "main", x, y, lane, yaw, half, index)
    if p.mode == "ground":
        return pose(rot_z(yaw), [x, y, half[2]]), ""
    if p.mode == "free":
        return pose(rot_z(yaw), [x, y, z]), ""
    if p.mode == "camera":
        return camera_pose @ _in_camera(np.array([x, y, z]), yaw, np.radians(float(draw(p.pitch_deg, rng))), half), ""
    if env.lumen is not None:  # straight lumen coordinates; rollout warps them (scene/lumen.py)
        return wall_pose(env.lumen, x, angle, yaw, lift), ""
    tube_radius = env.tube_radius - lift
    # wall: object z axis points at the tube axis; centre on the wall so half of it bulges inwards
    radial = np.array([0.0, np.cos(angle), np.sin(angle)])
    rot = rot_x(angle + np.pi / 2) @ rot_z(yaw)  # rot_x(angle + pi/2) maps +z onto -radial (inwards)
    return pose(rot, [x, *(radial[1:] * tube_radius)]), ""


#: object axes (x forward, y left, z up) in the camera frame (OpenCV: x right, y down, z forward)
_CAMERA_AXES = np.array([[0.0, -1.0, 0.0], [0.0, 0.0, -1.0], [1.0, 0.0, 0.0]])


def _in_camera(front: np.ndarray, yaw: float, pitch: float, half: np.ndarray) -> np.ndarray:
    """(4,4) object → camera frame for a ``camera`` placement: +x along the view turned by ``yaw``
    (to the left) and ``pitch`` (up), its front end (+x face centre) at ``front``."""
    rot = _CAMERA_AXES @ rot_z(yaw) @ _rot_y(-pitch)
    return pose(rot, front - half[0] * rot[:, 0])


# -- placements on a road (road coordinates; see scene/ground.py) ---------------------------------------------
def _in_red_zone(road: RoadLayout, which: str, along: float, direction: float, half_len: float) -> bool:
    """Whether an agent centred ``along`` its road (m from the crossing; the main road's s or the
    crossing road's d) overlaps the stretch between the stop lines of a road whose light is red."""
    if road.light_of(which) != "red":
        return False
    sigma = direction * along
    stop = road.stop_distance(which)
    return sigma + half_len > -stop and sigma - half_len < stop


def _lane_pose(road: RoadLayout, which: str, x: float, y: float, u: float, yaw: float, half: np.ndarray,
               index: int) -> tuple[np.ndarray | None, str]:
    k = road.lane_of_fraction(u, which)
    direction = 1.0 if k > 0 else -1.0
    if which == "main":
        at = road.intersection.at if road.intersection is not None else 0.0
        if _in_red_zone(road, "main", x - at, direction, half[0]):
            return None, ""
        return pose(rot_z(yaw + (0.0 if k > 0 else np.pi)), [x, road.lane_centre(k), half[2]]), ""
    if road.intersection is None:
        raise _Skip
    cross = road.intersection
    if _in_red_zone(road, "cross", x, direction, half[0]):
        return None, ""
    s = cross.at + direction * (abs(k) - 0.5) * road.lane_width  # lanes driving +y lie at s > at
    return pose(rot_z(yaw + direction * np.pi / 2), [s, x, half[2]]), ""


def _roadside_pose(road: RoadLayout, which: str, x: float, y: float, u: float, yaw: float, half: np.ndarray,
                   index: int) -> tuple[np.ndarray | None, str]:
    side = 1.0 if y > 0 else -1.0
    base = {"main": road.asphalt_half, "verge": road.half, "outside": road.sidewalk_outer}[which]
    beyond = abs(y)
    if which == "outside":  # the whole footprint beyond the sidewalk (a building's centre at y stood on it)
        beyond = max(beyond, abs(half[0] * np.sin(yaw)) + abs(half[1] * np.cos(yaw)))
    d = side * (base + beyond)
    if road.intersection is not None:  # nothing stands on the crossing road or its sidewalks
        clear = road.cross_half() + VERGE + (KERB + road.sidewalk if road.sidewalk > 0 else 0.0) + max(half[0], half[1])
        if abs(x - road.intersection.at) < clear:
            return None, ""
    return pose(rot_z(yaw + (np.pi if side > 0 else 0.0)), [x, d, half[2]]), ""


def _signal_pose(road: RoadLayout, which: str, x: float, y: float, u: float, yaw: float, half: np.ndarray,
                 index: int) -> tuple[np.ndarray | None, str]:
    """Traffic lights: object i of the group at approach i (main +x, main −x, crossing +y, crossing −y),
    on the approach's right-hand corner before the crossing, facing the approaching traffic; each
    shows its road's light."""
    if road.intersection is None or index >= 4:
        raise _Skip
    at, corner = road.intersection.at, KERB + 0.5 + max(half[0], half[1])
    main_clear, cross_clear = road.cross_half() + VERGE + corner, road.half + VERGE + corner
    side_main, side_cross = road.asphalt_half + corner, road.cross_half() + VERGE + corner
    spots = [(at - main_clear, -side_main, np.pi, "main"), (at + main_clear, side_main, 0.0, "main"),
             (at + side_cross, -cross_clear, -np.pi / 2, "cross"), (at - side_cross, cross_clear, np.pi / 2, "cross")]
    s, d, heading, road_of = spots[index]
    return pose(rot_z(yaw + heading), [s, d, half[2]]), road.light_of(road_of) or ""


_ROAD_MODES = {"lane": _lane_pose, "roadside": _roadside_pose, "signal": _signal_pose}


def sample_road(spec: RoadSpec, rng: np.random.Generator) -> tuple[RoadLayout, GroundShape]:
    """One clip's road: lanes, strips, markings, bend, grade and crossing (draws in field order)."""
    lanes = int(np.clip(round(float(draw(spec.lanes, rng))), 1, 4))
    width = float(draw(spec.lane_width, rng))
    sidewalk, parking = (max(0.0, float(draw(v, rng))) for v in (spec.sidewalk, spec.parking))
    centre, lane_line = str(draw(spec.centre_line, rng)), str(draw(spec.lane_line, rng))
    shape = GroundShape(float(draw(spec.curvature, rng)), float(draw(spec.vertical_curvature, rng)))
    crossing = None
    if spec.intersection is not None:
        i = spec.intersection
        here = float(rng.uniform()) < float(draw(i.probability, rng))
        at, n, light = float(draw(i.at, rng)), int(np.clip(round(float(draw(i.lanes, rng))), 1, 4)), str(draw(i.light, rng))
        crossing = Intersection(at, n, light) if here else None
    layout = RoadLayout(lanes=lanes, lane_width=width, sidewalk=sidewalk, parking=parking, centre_line=centre,
                        lane_line=lane_line, intersection=crossing)
    return layout, shape


def sample_scene(spec: RecipeSpec, rng: np.random.Generator) -> Scene:
    """Draw one clip's scene: camera, then environment, then objects (every group in order), then the
    generator seed. The order of draws is part of the format: it fixes every clip's scene."""
    params: dict[str, Any] = {}
    camera = _sample_camera(spec, rng, params)
    lane = None if spec.camera.lane is None else float(draw(spec.camera.lane, rng))
    environment = _sample_environment(spec, rng, params)
    if lane is not None and environment.road is not None:
        camera = _camera_in_lane(camera, lane, environment.road, params)
    lights: list[Light] = []
    objects = _sample_objects(spec, environment, camera.pose0, rng, params, lights)
    conditions = sample_conditions(spec, lights, rng, params)
    generator_seed = _generator_seed(rng)
    camera = _sample_lens(spec, camera, rng, params)  # last: a lens changes no other draw (same world)
    scene = Scene(class_names=spec.class_names, objects=objects, camera=camera, environment=environment, params=params,
                  generator_seed=generator_seed, skeletons=class_skeletons(spec), conditions=conditions)
    return sample_optics(spec, scene, rng)  # after the lens: scope optics change no other draw either


def _sample_camera(spec: RecipeSpec, rng: np.random.Generator, params: dict[str, Any]) -> CameraRig:
    """Field of view, pose, motion and the intrinsics of the clip's image size (the camera owns them)."""
    cam = spec.camera
    fov = float(np.clip(draw(cam.fov_deg, rng), 1, 170))
    eye, target = _vec3(cam.position, rng), _vec3(cam.look_at, rng)
    if np.allclose(eye, target):
        target = eye + np.array([1.0, 0.0, 0.0])
    cam_motion = (cam.motion.name, {k: draw(v, rng) for k, v in cam.motion.params.items()})
    W, H = spec.clip.width, spec.clip.height
    params["camera"] = {"fov_deg": fov, "position": eye.tolist(), "look_at": target.tolist(),
                        "motion": {"name": cam_motion[0], **cam_motion[1]}}
    return CameraRig(fov_deg=fov, pose0=look_at(eye, target), target=target, motion=cam_motion, width=W, height=H,
                     K=intrinsics_from_fov(fov, W, H))


def _sample_lens(spec: RecipeSpec, camera: CameraRig, rng: np.random.Generator, params: dict[str, Any]) -> CameraRig:
    """The lens coefficients (drawn only for a non-pinhole model) and the focal length that puts the
    horizontal fov through the lens at the image's side edges (:mod:`.lens`); recorded in
    ``params.camera.lens``. The pinhole keeps its K and draws nothing."""
    ls = spec.camera.lens
    if ls.model == "pinhole":
        return camera
    model = LENS_MODELS.get(ls.model, "camera.lens.model")
    lens = Lens(ls.model, tuple((k, float(draw(getattr(ls, k), rng))) for k in model.coefficients))
    mask = spec.camera.mask  # a field stop: only its circle is cast (scene/optics.py)
    problems = lens_problems(lens, camera.fov_deg, camera.width, camera.height,
                             None if mask is None else mask.radius * min(camera.width, camera.height) / 2)
    if problems:  # a draw inside the checked ranges can still fail; say which
        raise UserError(*problems[0])
    f = lens.focal(camera.fov_deg, camera.width)
    K = np.array([[f, 0.0, camera.width / 2], [0.0, f, camera.height / 2], [0.0, 0.0, 1.0]])
    params["camera"]["lens"] = lens.to_dict()
    return replace(camera, lens=lens, K=K)


def _sample_environment(spec: RecipeSpec, rng: np.random.Generator, params: dict[str, Any]) -> Environment:
    """Ground (or tube wall) material, sun, sky, headlight, ambient light and fog."""
    env = spec.environment
    ground = _material(env.ground, rng)
    sun = None
    sun_intensity, sun_color = 0.0, np.ones(3)
    if env.sun is not None:
        elev = np.radians(float(draw(env.sun.elevation_deg, rng)))
        azim = np.radians(float(draw(env.sun.azimuth_deg, rng)))
        sun = np.array([np.cos(elev) * np.cos(azim), np.cos(elev) * np.sin(azim), np.sin(elev)])
        sun_intensity = float(draw(env.sun.intensity, rng))
        sun_color = np.clip(_vec3(env.sun.color, rng), 0, 4)
        params["sun"] = {"elevation_deg": float(np.degrees(elev)), "azimuth_deg": float(np.degrees(azim)),
                         "intensity": sun_intensity}
    tube_radius = float(draw(env.tube_radius, rng))
    sky_top, sky_horizon = np.clip(_vec3(env.sky_top, rng), 0, 1), np.clip(_vec3(env.sky_horizon, rng), 0, 1)
    headlight = (float(draw(env.headlight.intensity, rng)), max(0.0, float(draw(env.headlight.falloff, rng))),
                 np.clip(_vec3(env.headlight.color, rng), 0, 4))
    ambient = max(0.0, float(draw(env.ambient, rng)))
    if env.sky_model == "auto" and sun is not None:  # sky, sun and ambient follow the sun's elevation
        tod = time_of_day(params["sun"]["elevation_deg"], sky_top, sky_horizon, sun_color, sun_intensity, ambient)
        sky_top, sky_horizon, sun_color = tod["sky_top"], tod["sky_horizon"], tod["sun_color"]
        sun_intensity, ambient = tod["sun_intensity"], tod["ambient"]
    environment = Environment(
        kind=env.kind,
        ground=_materials([ground]),
        tube_radius=tube_radius,
        sky_top=sky_top,
        sky_horizon=sky_horizon,
        sun_dir=sun,
        sun_intensity=sun_intensity,
        sun_color=sun_color,
        headlight_intensity=headlight[0],
        headlight_falloff=headlight[1],
        headlight_color=headlight[2],
        ambient=ambient,
        fog_density=max(0.0, float(draw(env.fog_density, rng))),
    )
    params["environment"] = {"kind": env.kind, "ground_texture": ground["texture"], "tube_radius": tube_radius,
                             "ambient": environment.ambient, "fog_density": environment.fog_density,
                             "headlight": environment.headlight_intensity}
    if "texture_params" in ground:  # e.g. the mucosa's bowel-prep grade: a per-clip condition worth filtering on
        params["environment"]["ground_texture_params"] = ground["texture_params"]
    if env.lumen is not None:
        lumen = sample_lumen(env.lumen, tube_radius, rng)
        environment = replace(environment, lumen=lumen)
        params["lumen"] = lumen_params(lumen)
    if env.road is not None:
        road, shape = sample_road(env.road, rng)
        environment = replace(environment, road=road, shape=shape)
        params["road"] = {**road.as_params(), "curvature": shape.curvature,
                          "vertical_curvature": shape.vertical_curvature}
    return environment


def _camera_in_lane(camera: CameraRig, u: float, road: RoadLayout, params: dict[str, Any]) -> CameraRig:
    """The camera moved across to the centre of the lane picked by ``u`` (its view unchanged)."""
    k = road.lane_of_fraction(u)
    shift = road.lane_centre(k) - camera.pose0[1, 3]
    pose0, target = camera.pose0.copy(), camera.target.copy()
    pose0[1, 3] += shift
    target[1] += shift
    params["camera"]["position"] = pose0[:3, 3].tolist()
    params["camera"]["look_at"] = target.tolist()
    params["camera"]["lane"] = k
    return replace(camera, pose0=pose0, target=target)


def ground_capacity(group: ObjectGroupSpec, road: RoadSpec | None = None) -> int | None:
    """An upper bound on how many of a group's objects fit side by side on the ground (None: not a
    ground or lane placement, or unbounded): rows (lanes of a ``choice`` of y, the y range, or the
    road's most lanes on the sides the ``lane`` fraction reaches) × objects per row at their smallest
    length plus both gaps. A count above it can never be placed."""
    from ..recipe.distributions import Choice, support

    p = group.placement
    xs = support(p.x)
    sizes = [support(v) for v in group.size] if isinstance(group.size, tuple) else None
    if p.mode == "lane" and road is not None and p.road != "cross" and xs is not None and sizes and all(sizes):
        most = int(support(road.lanes)[1]) if support(road.lanes) else 4
        u = support(p.lane) if p.lane is not None else (-1.0, 1.0)
        sides = 2 if u is None or (u[0] < 0 < u[1]) else 1
        per_row = int((xs[1] - xs[0]) // max(sizes[0][0] + 2 * p.gap[0], 1e-9)) + 1
        return sides * most * per_row
    if p.mode != "ground" or xs is None or not sizes or any(s is None for s in sizes):
        return None
    turned = support(p.yaw_deg) != (0.0, 0.0)
    length = min(sizes[0][0], sizes[1][0]) if turned else sizes[0][0]
    width = min(sizes[0][0], sizes[1][0]) if turned else sizes[1][0]
    gx, gy = (min(p.gap[0], p.gap[1]),) * 2 if turned else (p.gap[0], p.gap[1])
    if isinstance(p.y, Choice) and all(isinstance(c, (int, float)) for c in p.y.choice):
        rows = len(set(p.y.choice))
    else:
        ys = support(p.y)
        if ys is None:
            return None
        rows = int((ys[1] - ys[0]) // (width + 2 * gy)) + 1
    per_row = int((xs[1] - xs[0]) // max(length + 2 * gx, 1e-9)) + 1
    return rows * per_row


def _part(spec: PartSpec, half: np.ndarray, material: dict[str, Any], rng: np.random.Generator,
          state: str = "") -> Part:
    """One part of a compound object: pose in the object frame, metric half-size, material. A signal
    lamp glows (its material's ``emissive``) only when the object shows its state, else it is dark."""
    center = _vec3(spec.center, rng) * half
    size = np.maximum(np.abs(_vec3(spec.size, rng)), 1e-3) * half
    rx, ry, rz = np.radians(_vec3(spec.rotation_deg, rng))
    rot = rot_z(rz) @ _rot_y(ry) @ rot_x(rx)
    mat = material if spec.material is None else _material(spec.material, rng)
    if spec.signal is not None and spec.signal != state:
        mat = {**{k: v for k, v in mat.items() if k != "light"}, "emissive": 0.0, "color": mat["color"] * 0.15}
    sw = spec.swing  # constants only: draws nothing, so parts without a swing sample as before
    swing = None if sw is None else Swing(axis=np.asarray(sw.axis, float) / np.linalg.norm(sw.axis),
                                          pivot=np.asarray(sw.pivot, float) * half, amplitude=float(np.radians(sw.amplitude_deg)),
                                          phase=float(sw.phase), stride=float(sw.stride),
                                          parent=-1 if sw.parent is None else int(sw.parent), drive=sw.drive)
    return Part(primitive=str(draw(spec.primitive, rng)), offset=pose(rot, center), half_size=size,
                material=_materials([mat]), light=None if spec.material is None else mat.get("light"), swing=swing)


def _shape_part(q: ShapePart, material: dict[str, Any]) -> Part:
    """A shape builder's part (:mod:`.shapes`) as a compound object's part: the object's material
    toned (both colours) and with the part's own texture, specular, shininess where it sets them."""
    tone = np.asarray(q.tone, dtype=np.float64)
    mat = {k: v for k, v in material.items() if k != "light"}
    mat.update(color=np.clip(material["color"] * tone, 0, 1), color2=np.clip(material["color2"] * tone, 0, 1))
    for key in ("texture", "specular", "shininess"):
        if getattr(q, key) is not None:
            mat[key] = getattr(q, key)
    return Part(primitive=q.primitive, offset=pose(np.asarray(q.rotation, dtype=np.float64), q.center),
                half_size=np.asarray(q.half_size, dtype=np.float64), material=_materials([mat]))


def build_shape(spec: ShapeSpec, rng: np.random.Generator, ctx: ShapeContext = ShapeContext()) -> Shape:
    """One object's form from its group's shape builder: params drawn in the recipe's order, validated
    by the builder's model (a bad draw names the field), then built with ``rng``."""
    builder = SHAPES.get(spec.name, "shape.name")
    drawn = {k: draw(v, rng) for k, v in spec.params.items()}
    try:
        params = builder.params(**drawn)
    except ValueError as exc:  # pydantic's first error: the parameter and what it expects
        err = exc.errors()[0] if hasattr(exc, "errors") else {"loc": (), "msg": str(exc)}
        key = "".join(f".{x}" for x in err["loc"])
        raise UserError(f"shape.params{key} ({spec.name})", err["msg"].removeprefix("Value error, ")) from None
    return builder.build(params, rng, ctx)


def _rot_y(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def _blocks_passage(env: Environment, p: np.ndarray, half: np.ndarray) -> bool:
    """Whether a box (world pose ``p``) reaches within :data:`PASSAGE_MARGIN` of a tube's or lumen's axis
    (its centreline points along the box's reach)."""
    if env.kind != "tube":
        return False
    reach = float(np.linalg.norm(half))  # axis points every ≤ 1 mm: closer than the margin, so no box slips between
    xs = p[0, 3] + np.linspace(-reach, reach, max(17, int(np.ceil(2 * reach / 1e-3)) + 1))
    f, g = env.lumen.centre(xs) if env.lumen is not None else (np.zeros_like(xs), np.zeros_like(xs))
    axis = np.stack([xs, f, g], -1)
    return bool(point_in_box(axis, p[:3, 3], p[:3, :3], half, PASSAGE_MARGIN).any())


#: a seated shape's underside may stand this far (m) off the wall before it counts as hanging over the
#: lumen, and on at most this fraction of its footprint (the wall's own small-scale relief)
HANG_GAP, HANG_FRACTION = 0.3e-3, 0.05
#: the footprint's resolution: columns across the shape's box in x and in y
HANG_COLUMNS = 32


def _hangs(env: Environment, p: np.ndarray, shape: Shape) -> bool:
    """Whether a seated shape at world pose ``p`` hangs over the lumen: more than :data:`HANG_FRACTION`
    of its footprint's underside lies over free space by more than :data:`HANG_GAP` (a flat lesion laid
    across a fold's crest or a taenia bridged the dips beside it, floating on nothing)."""
    if not env.bounds_free_space:
        return False
    from .volume import undersides

    low = undersides(shape, HANG_COLUMNS) - np.array([0.0, 0.0, HANG_GAP])
    if len(low) == 0:
        return False
    world = low @ p[:3, :3].T + p[:3, 3]
    return float(np.mean(env.free(world))) > HANG_FRACTION


def _fits(p: np.ndarray, half: np.ndarray, gap: np.ndarray, poses: list, halves: list, gaps: list,
          eye: np.ndarray | None) -> bool:
    """A placement neither meets an earlier object (both grown by their gaps) nor holds the camera
    (``eye``; None: not tested)."""
    grown = half + gap
    if eye is not None and point_in_box(eye, p[:3, 3], p[:3, :3], grown):
        return False
    if not poses:
        return True
    P = np.asarray(poses)
    other = np.asarray(halves) + np.asarray(gaps)
    return not boxes_overlap(p[:3, 3], p[:3, :3], grown, P[:, :3, 3], P[:, :3, :3], other).any()


def _holds_eye(p: np.ndarray, half: np.ndarray, parts: tuple, eye: np.ndarray) -> bool:
    """Whether the camera centre ``eye`` lies inside one of an object's render primitives (the box of
    each part at rest, or of the object itself without parts): rays would start inside a surface."""
    boxes = [(p @ q.offset, np.asarray(q.half_size)) for q in parts] or [(p, half)]
    return any(bool(point_in_box(eye, b[:3, 3], b[:3, :3], h)) for b, h in boxes)


def _sample_objects(spec: RecipeSpec, env: Environment, camera_pose: np.ndarray, rng: np.random.Generator,
                    params: dict[str, Any], lights: list[Light]) -> ObjectSet:
    """Every group's objects in group order: class, primitive, size, placement (redrawn until it fits,
    see :class:`PlacementSpec`), material, motion. Lights of the placed objects (a group material's at
    the object's centre, a part's own material's at the part's) are appended to ``lights``."""
    class_ids = {name: i + 1 for i, name in enumerate(spec.class_names)}
    cls, prims, halves, poses, gaps, mats, motions, all_parts, states, attrs = [], [], [], [], [], [], [], [], [], []
    placed: list[np.ndarray] = []  # the poses in the world (bent onto the ground, into the lumen) fits are checked in
    eye = env.warp(pose(np.eye(3), camera_pose[:3, 3]))[:3, 3]
    counts: dict[str, int] = {}
    dropped: dict[str, int] = {}
    shape_ctx = ShapeContext(wall_radius=env.tube_radius if env.kind == "tube" else None)
    for group in spec.objects:
        n = max(0, int(draw(group.count, rng)))
        previous = None
        for index in range(n):
            shape = None if group.shape is None else build_shape(group.shape, rng, shape_ctx)
            if shape is None:
                half = np.abs(_vec3(group.size, rng)) / 2
                half = np.maximum(half, 1e-3)
                prim = str(draw(group.primitive, rng))
            else:  # metric shapes (polyps are millimetres): no 1 mm floor
                half, prim = np.maximum(np.asarray(shape.half_size, dtype=np.float64), 1e-6), shape.primitive
            gap = np.asarray(group.placement.gap, dtype=np.float64)
            state, skip = "", False
            for _ in range(PLACEMENT_TRIES):
                try:
                    p, state = _placement(group, half, env, rng, index, previous, 0.0 if shape is None else shape.lift,
                                          camera_pose)
                except _Skip:
                    p, skip = None, True
                    break
                rig = group.placement.mode == "camera"  # part of the camera rig: may hold the camera
                wall = group.placement.mode == "wall"  # grows from the wall: must leave the scope's way free
                if p is not None and _fits(env.warp(p), half, gap, placed, halves, gaps, None if rig else eye) \
                        and not (wall and _blocks_passage(env, env.warp(p), half)) \
                        and not (wall and shape is not None and shape.seated and _hangs(env, env.warp(p), shape)):
                    break
            else:
                p = None
            mat = _material(group.material, rng)
            motion = (group.motion.name, {k: draw(v, rng) for k, v in group.motion.params.items()})
            parts = tuple(_part(spec_part, half, mat, rng, state) for spec_part in group.parts) if shape is None \
                else tuple(_shape_part(q, mat) for q in shape.parts)
            if p is not None and group.placement.mode == "camera" and _holds_eye(env.warp(p), half, parts, eye):
                p = None  # a rig object: exempt from the box test above, never the camera inside a primitive
            if p is None:
                if not skip:
                    dropped[group.class_name] = dropped.get(group.class_name, 0) + 1
                continue
            previous = p
            placed.append(env.warp(p))
            states.append(state)
            attrs.append({} if shape is None else dict(shape.attributes))
            counts[group.class_name] = counts.get(group.class_name, 0) + 1
            if "light" in mat:
                lights.append(place_light(mat["light"], len(cls), np.eye(4)))
            lights.extend(place_light(q.light, len(cls), q.offset) for q in parts if q.light is not None)
            cls.append(class_ids[group.class_name])
            prims.append(prim)
            halves.append(half)
            poses.append(p)
            gaps.append(gap)
            mats.append(mat)
            motions.append(motion)
            all_parts.append(parts)
    params["counts"] = counts
    if dropped:
        params["dropped"] = dropped
    params["num_objects"] = len(cls)
    return ObjectSet(
        class_id=np.array(cls, dtype=np.int64),
        primitive=prims,
        half_size=np.array(halves, dtype=np.float64).reshape(-1, 3),
        pose0=np.array(poses, dtype=np.float64).reshape(-1, 4, 4),
        material=_materials(mats),
        motion=motions,
        parts=all_parts if any(all_parts) else [],
        state=states if any(states) else [],
        attributes=attrs if any(attrs) else [],
    )


def _generator_seed(rng: np.random.Generator) -> int:
    """A child seed of the clip's SeedSequence: independent of how many numbers the scene drew, and
    drawing it does not move ``rng``'s stream (so adding it changed no existing clip)."""
    seq = getattr(rng.bit_generator, "seed_seq", None)
    if seq is None or not hasattr(seq, "spawn"):
        return 0
    return int(seq.spawn(1)[0].generate_state(1, np.uint64)[0] >> np.uint64(1))
