"""The Scene: everything sampled for one clip, the single source of truth renderers observe.

Shapes: ``N`` objects. Arrays are numpy float64 (sampling is cheap and exact); the renderer moves them
to its device. ``params`` records what was sampled so any clip can be inspected or replayed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .ground import GroundShape, RoadLayout
from .lens import PINHOLE, Lens
from .lumen import Lumen

__all__ = ["Materials", "Swing", "Part", "ObjectSet", "CameraRig", "Environment", "Scene"]


@dataclass(frozen=True)
class Materials:
    """Per-surface appearance. Shape: texture (N,) names; color, color2 (N,3) in [0,1]; the rest (N,)."""

    texture: list[str]
    color: np.ndarray
    color2: np.ndarray
    scale: np.ndarray
    specular: np.ndarray
    shininess: np.ndarray
    noise_seed: np.ndarray  # (N,) int64, varies procedural noise between objects
    emissive: np.ndarray | None = None  # (N,) own light; None: none
    #: (N,3) shading-normal bumps: amplitude m, scale 1/m, octaves (amplitude 0: smooth); None: none anywhere
    bump: np.ndarray | None = None
    #: (N,3) wet film lobe: specular, shininess, fresnel (specular 0: dry); None: none anywhere
    wet: np.ndarray | None = None
    #: (N,) the texture's own parameters drawn per surface (recipe ``texture_params``); None: none given
    texture_params: list[dict[str, float]] | None = None


@dataclass(frozen=True)
class Swing:
    """A part's periodic swing (recipe ``parts[j].swing``), resolved: unit ``axis`` (3,) and ``pivot`` (3,)
    metres, both in the object frame; angle = amplitude·sin(2π(distance / stride + phase)) radians;
    ``parent`` the index of the part whose swing it rides after its own, -1 none; ``drive`` what
    "distance" is: metres travelled (``distance``) or seconds since the clip's first frame (``time``)."""

    axis: np.ndarray
    pivot: np.ndarray
    amplitude: float
    phase: float
    stride: float
    parent: int = -1
    drive: str = "distance"


@dataclass(frozen=True)
class Part:
    """One primitive of a compound object: its rest pose in the object's frame (4,4), half-size (3,) in
    metres along its own axes, its material (one entry), and its swing (None: rigid)."""

    primitive: str
    offset: np.ndarray
    half_size: np.ndarray
    material: Materials
    light: Any = None  # the part's own light (conditions.Light, owner unset), None: none
    swing: Swing | None = None


@dataclass(frozen=True)
class ObjectSet:
    """N objects. ``half_size`` (N,3) is half the extents along the object axes; ``pose0`` (N,4,4)."""

    class_id: np.ndarray  # (N,) int64, 1-based (0 is background)
    primitive: list[str]
    half_size: np.ndarray
    pose0: np.ndarray
    material: Materials
    motion: list[tuple[str, dict[str, Any]]]  # (registry name, resolved params) per object
    parts: list[tuple[Part, ...]] = field(default_factory=list)  # per object; () for a single primitive
    #: per object: the state it shows ("red"/"amber"/"green" for a traffic light), "" for none; [] when
    #: no object has one
    state: list[str] = field(default_factory=list)
    #: per object: attributes its shape builder gave it (label name → value; :mod:`.shapes`), {} for
    #: none; [] when no object has any
    attributes: list[dict[str, Any]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.primitive)


@dataclass(frozen=True)
class CameraRig:
    """The camera owns its image: size, pixel intrinsics and lens are decided once, here, and read by
    motion (Trajectories.K, Trajectories.lens) and renderers alike."""

    fov_deg: float
    pose0: np.ndarray  # (4,4) camera-to-world, OpenCV axes
    target: np.ndarray  # (3,) look-at point, used by orbit-like motions
    motion: tuple[str, dict[str, Any]]
    width: int = 0
    height: int = 0
    K: np.ndarray = field(default_factory=lambda: np.eye(3))  # (3,3) pixel intrinsics (vertical fov)
    lens: Lens = PINHOLE  # distortion applied to normalised coordinates before K (:mod:`.lens`)
    stop: Any = None  # the field stop (black circular mask, :class:`.optics.FieldStop`); None: none
    vignetting: Any = None  # radial falloff of RGB (:class:`.optics.Vignetting`); None: none


@dataclass(frozen=True)
class Environment:
    kind: str  # ground | tube | void
    ground: Materials  # one entry
    tube_radius: float
    sky_top: np.ndarray
    sky_horizon: np.ndarray
    sun_dir: np.ndarray | None  # (3,) unit vector towards the sun, None for no sun
    sun_intensity: float
    sun_color: np.ndarray
    headlight_intensity: float
    headlight_falloff: float
    headlight_color: np.ndarray
    ambient: float
    fog_density: float
    #: the ground's shape (a bent, graded road) and the road laid out on it; identity / None off-road
    shape: GroundShape = field(default_factory=GroundShape)
    road: RoadLayout | None = None
    #: a bent, metric lumen (:mod:`.lumen`) in place of the straight tube; None: the straight tube
    lumen: Lumen | None = None

    @property
    def bounds_free_space(self) -> bool:
        """Whether the environment is a wall that objects grow from (a tube, a lumen): the part of an
        object inside it is embedded, not hidden (:meth:`free`)."""
        return self.kind == "tube"

    def free(self, p):
        """Whether world points lie in the environment's free space (inside the lumen), None when the
        environment bounds none (ground, void). Numpy arrays or torch tensors. Shape: (..., 3) → (...)."""
        if not self.bounds_free_space:
            return None
        if self.lumen is not None:
            return self.lumen.inside(p)
        return p[..., 1] ** 2 + p[..., 2] ** 2 < self.tube_radius ** 2

    def warp(self, poses: np.ndarray) -> np.ndarray:
        """Poses laid out in road (or straight lumen) coordinates → world poses. Shape: (..., 4, 4)."""
        poses = self.shape.warp(poses)
        return poses if self.lumen is None else self.lumen.warp(poses)
    #: the scope's light guides, fixed in the camera frame (:class:`.optics.LightGuide`); when given
    #: they replace the headlight's point at the camera centre
    guides: tuple = ()
    scatter: Any = None  # tissue glow near the lens (:class:`.optics.Scatter`); None: none


@dataclass(frozen=True)
class Scene:
    class_names: list[str]
    objects: ObjectSet
    camera: CameraRig
    environment: Environment
    params: dict[str, Any] = field(default_factory=dict)
    #: seed for generator backends that draw noise (diffusion) and for label samplers (point-track
    #: queries, each on its own spawned stream); spawned from the clip's seed, not from its stream
    generator_seed: int = 0
    #: class name → keypoint skeleton (:mod:`.skeletons`), for the classes that have one
    skeletons: dict[str, Any] = field(default_factory=dict)
    #: lights carried by objects, rain, snow, wet ground, exposure (:mod:`.conditions`); None: none
    conditions: Any = None
