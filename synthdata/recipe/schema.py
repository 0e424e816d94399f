"""The recipe: pydantic models, frozen, with no unknown keys.

Schema lives here, values live in YAML (``recipes/recipe/*.yaml``). Every numeric field takes a constant
or a distribution (see :mod:`.distributions`); names of motions, textures, primitives and backends are
checked against their registries by :func:`synthdata.run.check.check_recipe` before any heavy work.

World frame: right-handed, z up, metres; the ground is the plane z = 0. Sizes are full extents
(length along the object's x, width along y, height along z).
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any, Callable, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from ..errors import DEVICE_PATTERN, check_device, shown
from .distributions import Count, Name, Normal, Num, Poisson, Vec3, checked_range, support

__all__ = [
    "LIMITS", "LumenSpec", "ClipSpec", "MotionSpec", "LensSpec", "CameraSpec", "ExposureSpec", "SunSpec", "HeadlightSpec", "ConeSpec",
    "LightSpec", "BumpSpec", "WetLayerSpec", "MaterialSpec", "RainSpec", "SnowSpec", "WetSpec",
    "EnvironmentSpec", "RoadSpec", "IntersectionSpec", "PlacementSpec", "SkeletonSpec", "SwingSpec", "PartSpec", "ShapeSpec", "ObjectGroupSpec", "TracksSpec", "AnnotationSpec", "BackendSpec", "OutputSpec",
    "RecipeSpec", "FieldStopSpec", "VignettingSpec", "LightGuideSpec", "ScatterSpec",
]

#: Hard limits that keep one clip within memory; documented in docs/recipes.md.
LIMITS = {
    "max_frames": 1024,
    "max_side": 2048,
    "max_pixels_per_clip": 1 << 28,  # frames × width × height (≈ 0.8 GB of RGB)
    "max_objects": 256,
    "max_clips": 10_000_000,
}


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def _check_range(value: Any, lo: float, hi: float, what: str) -> Any:
    """Refuse constants (and distributions: a normal by its mu ± 3 sigma) outside [lo, hi]."""
    s = checked_range(value)
    if s is not None and (s[0] < lo or s[1] > hi):
        shown = value.model_dump(exclude_none=True) if isinstance(value, BaseModel) else value
        hint = ("; a poisson is unbounded: give it a max" if s[1] == float("inf") else
                "; a normal's mu ± 3 sigma must lie in the range" if isinstance(value, Normal) else "")
        raise ValueError(f"{what} must lie in [{lo:g}, {hi:g}], got {shown}{hint}")
    return value


def _vec3_check(ok: Callable[[tuple[float, float]], bool], what: str) -> AfterValidator:
    """A check of a Vec3 (constants, a component's distribution over its support, or a choice of
    vectors): refuses one whose component bounds fail ``ok`` with "``what``, got [...]"."""
    def check(value: Any) -> Any:
        for vec in value.choice if hasattr(value, "choice") else [value]:
            bounds = [checked_range(c) for c in vec]
            if any(b is not None and not ok(b) for b in bounds):
                given = ", ".join(f"{c:g}" if isinstance(c, (int, float)) else str(c.model_dump(exclude_none=True))
                                  for c in vec)
                raise ValueError(f"{what}, got [{given}]")
        return value
    return AfterValidator(check)


#: a display colour: three channels in [0, 1] (constants, distributions or a choice of colours)
Colour = Annotated[Vec3, _vec3_check(lambda b: b[0] >= 0 and b[1] <= 1, "colour channels must lie in [0, 1]")]
#: an object's full extents in metres, each > 0 (an unbounded normal draw is folded to its magnitude, at
#: least 2 mm, when sampled)
Extent = Annotated[Vec3, _vec3_check(lambda b: b[0] > 0, "extents must be > 0 (metres)")]
#: a part's extents as fractions of its object's half-size, each > 0
PartExtent = Annotated[Vec3, _vec3_check(lambda b: b[0] > 0, "fractions of the half-size must be > 0")]


class ClipSpec(_Spec):
    """Frame count, rate and size of every clip."""

    frames: int = Field(24, ge=1, le=LIMITS["max_frames"])
    fps: float = Field(12.0, ge=0.1, le=240)  # below 0.1 the frame times overflow the motion models
    width: int = Field(256, ge=16, le=LIMITS["max_side"])
    height: int = Field(256, ge=16, le=LIMITS["max_side"])

    @field_validator("width", "height")
    @classmethod
    def _even(cls, v: int) -> int:
        if v % 2:
            raise ValueError(f"must be even (H.264 4:2:0 video), got {v}")
        return v

    @model_validator(mode="after")
    def _budget(self) -> "ClipSpec":
        px = self.frames * self.width * self.height
        if px > LIMITS["max_pixels_per_clip"]:
            raise ValueError(
                f"frames × width × height = {px} exceeds the per-clip limit {LIMITS['max_pixels_per_clip']}"
            )
        return self


class MotionSpec(_Spec):
    """A motion model by registry name plus its parameters, each a number or a distribution of numbers
    (motions take one number per object per parameter; a vector here used to fail only inside generate)."""

    name: str = "static"
    params: dict[str, Num] = Field(default_factory=dict)


class LensSpec(_Spec):
    """Lens distortion by model name (``pinhole``, ``brown_conrady``, ``fisheye``; registry
    :data:`synthdata.scene.lens.LENS_MODELS`) and its coefficients, numbers or distributions drawn per
    clip (OpenCV conventions: docs/backends.md). ``brown_conrady`` uses k1, k2, k3, p1, p2; ``fisheye``
    (Kannala–Brandt) k1…k4; unused coefficients must stay 0. Checked (fold, field of view) by
    :func:`synthdata.run.check.check_recipe` at the ends of every range."""

    model: str = Field("pinhole", pattern=r"^[A-Za-z0-9_\-]{1,64}$")
    k1: Num = 0.0
    k2: Num = 0.0
    k3: Num = 0.0
    k4: Num = 0.0
    p1: Num = 0.0
    p2: Num = 0.0


class ExposureSpec(_Spec):
    """Exposure of the RGB (labels untouched): linear RGB × 2^``ev``; with ``auto`` the scale is chosen
    per frame so the log-average luminance hits ``key``, smoothed over frames (``adapt``: the fraction
    of the way to the new target each frame, 1 = no smoothing) and clamped to [``min_ev``, ``max_ev``]
    (``ev`` is then added on top).

    ``meter``: what auto-exposure measures. ``scene`` (default): the frame's own radiance, so every
    frame is metered before it is exposed (no latency). ``sensor``: a closed loop like a video
    endoscope's: frame k+1's gain is corrected by ``adapt`` of the error that frame k *measured* through
    the sensor, clipped at full scale and only inside the field stop (``camera.mask``); frame 0 starts at
    its scene target. A sudden close-up is then over-exposed for a few frames, and a frame whose red
    channel is clipped while green and blue stay low reads near the key, so the loop keeps it there
    (red-out). docs/endoscopy.md."""

    ev: Num = 0.0
    auto: bool = False
    key: float = Field(0.18, gt=0.0, le=1.0)
    adapt: float = Field(0.3, gt=0.0, le=1.0)
    min_ev: float = Field(-4.0, ge=-16, le=0)
    max_ev: float = Field(6.0, ge=0, le=16)
    meter: Literal["scene", "sensor"] = "scene"

    @field_validator("ev")
    @classmethod
    def _ev(cls, v: Any) -> Any:
        return _check_range(v, -16.0, 16.0, "ev")


class FieldStopSpec(_Spec):
    """The black circular mask of an endoscope (its field stop): pixels whose centre lies farther than
    ``radius`` × half the image's shorter side from the principal point are black and carry no label
    (no ray is cast: instance and semantic 0, depth +inf, no flow, no amodal coverage). ``radius`` 1
    is the circle touching the shorter sides (with a square image and a fisheye lens, the rim is the
    lens's fov); > 1 cuts the circle at the shorter sides, as many scopes do. ``feather`` (pixels)
    darkens RGB only over that many pixels inside the rim (a soft edge; 0: hard, at pixel centres)."""

    radius: float = Field(1.0, gt=0.05, le=2.0)
    feather: float = Field(0.0, ge=0.0, le=64.0)


class VignettingSpec(_Spec):
    """Radial falloff of image brightness, applied to the rendered RGB only (never labels), before
    exposure (so auto-exposure meters the vignetted image). ``model`` (registry
    :data:`synthdata.render.raycast.optics.VIGNETTING`): ``cos4``: gain 1 − strength·(1 − cos⁴θ), θ
    the pixel's ray angle off the optical axis (through the lens); ``radial``: gain
    1 − strength·ρ^``power``, ρ the pixel's distance from the principal point over the field-stop radius
    (``camera.mask``; without one, over the half-diagonal)."""

    model: str = Field("cos4", pattern=r"^[A-Za-z0-9_\-]{1,64}$")
    strength: float = Field(1.0, ge=0.0, le=1.0)
    power: float = Field(2.0, gt=0.0, le=16.0)


class CameraSpec(_Spec):
    """Camera: horizontal field of view (through the lens), initial pose (position + look-at), motion,
    exposure, lens (``lens``, pinhole by default), field stop (``mask``) and ``vignetting`` (both off by
    default; rendering only, so not layout: the same scenes with or without). On a road
    (``environment.road``) ``lane`` puts the camera in a lane whatever the clip's lane count: a
    fraction in [-1, 1], -1…0 the lanes driving +x (right-hand traffic), 0…1 the oncoming ones
    (``{uniform: [-1, 0]}`` is any lane of the ego's direction); it replaces ``position``'s y and
    shifts ``look_at`` by the same amount."""

    fov_deg: Num = 60.0
    position: Vec3 = (0.0, -8.0, 4.0)
    look_at: Vec3 = (0.0, 0.0, 0.5)
    motion: MotionSpec = MotionSpec(name="static")
    lens: LensSpec = LensSpec()
    lane: Num | None = None

    @field_validator("lane")
    @classmethod
    def _lane(cls, v: Any) -> Any:
        return v if v is None else _check_range(v, -1.0, 1.0, "lane")
    exposure: ExposureSpec | None = None
    mask: FieldStopSpec | None = None
    vignetting: VignettingSpec | None = None

    @field_validator("fov_deg")
    @classmethod
    def _fov(cls, v: Any) -> Any:
        return _check_range(v, 1.0, 170.0, "fov_deg")


class SunSpec(_Spec):
    elevation_deg: Num = 50.0
    azimuth_deg: Num = 30.0
    intensity: Num = 1.0
    color: Colour = (1.0, 0.97, 0.9)

    @field_validator("intensity")
    @classmethod
    def _intensity(cls, v: Any) -> Any:
        return _check_range(v, 0.0, 1e4, "intensity")



class LightGuideSpec(_Spec):
    """One light guide of a scope: a small disc source fixed in the CAMERA frame (OpenCV axes: x right,
    y down, z forward; metres), moving with the camera. At ``offset``, shining along ``direction``;
    irradiance on a surface at distance d, angle α off the guide's axis:
    ``intensity · color · max(0, cos α)^exponent · max(0, n·l) · (reference² + radius²) / (d² + radius²)``
    (inverse square, finite at contact: that of a disc of ``radius``), so ``intensity`` is the
    irradiance on the axis at ``reference`` metres. Blinn-Phong highlights use the true half vector
    between the guide and the lens, so they sit off the image centre. ``intensity`` and ``color`` may
    be distributions (drawn per clip, after everything else: the same scenes with or without guides)."""

    offset: tuple[float, float, float] = (0.0, 0.0, 0.0)
    direction: tuple[float, float, float] = (0.0, 0.0, 1.0)
    exponent: float = Field(1.0, ge=0.0, le=256.0)
    intensity: Num = 1.0
    color: Colour = (1.0, 1.0, 1.0)
    radius: float = Field(5e-4, gt=0.0, le=1.0)

    reference: float = Field(0.02, gt=0.0, le=1e3)

    @field_validator("direction")
    @classmethod
    def _direction(cls, v: tuple[float, float, float]) -> tuple[float, float, float]:
        if sum(x * x for x in v) < 1e-12:
            raise ValueError("expected a non-zero direction")
        return v

    @field_validator("offset")
    @classmethod
    def _offset(cls, v: tuple[float, float, float]) -> tuple[float, float, float]:
        if any(abs(x) > 10 for x in v):
            raise ValueError(f"expected an offset within 10 m of the lens, got {list(v)}")
        return v

    @field_validator("intensity")
    @classmethod
    def _intensity(cls, v: Any) -> Any:
        return _check_range(v, 0.0, 1e4, "intensity")


class ScatterSpec(_Spec):
    """Light of the scope that enters tissue near the lens and comes back out through it (sub-surface
    scattering; haemoglobin absorbs green and blue): every surface's albedo tends to ``color`` (display
    units) as its distance d from the lens falls, weight 1 / (1 + (d / ``distance``)²). Close to the
    wall the image turns red; with ``camera.exposure.meter: sensor`` it stays red-out (docs/endoscopy.md)."""

    distance: float = Field(0.003, gt=0.0, le=10.0)
    color: tuple[float, float, float] = (1.0, 0.12, 0.1)

    @field_validator("color")
    @classmethod
    def _color(cls, v: tuple[float, float, float]) -> tuple[float, float, float]:
        if any(not 0 <= x <= 1 for x in v):
            raise ValueError(f"expected colour channels in [0, 1], got {list(v)}")
        return v


class HeadlightSpec(_Spec):
    """A point light at the camera (endoscopes, night driving); irradiance ∝ 1 / (1 + falloff·d²).
    ``guides``: the scope's light comes out of these light guides (:class:`LightGuideSpec`) instead
    of the point at the camera centre (``intensity``, ``falloff`` and ``color`` are then unused);
    ``scatter``: tissue glow near the lens (:class:`ScatterSpec`). Both off by default."""

    intensity: Num = 0.0
    falloff: Num = 0.5
    color: Colour = (1.0, 1.0, 1.0)
    guides: list[LightGuideSpec] = Field(default_factory=list, max_length=16)
    scatter: ScatterSpec | None = None

    @field_validator("intensity", "falloff")
    @classmethod
    def _non_negative(cls, v: Any, info: Any) -> Any:
        return _check_range(v, 0.0, 1e4, info.field_name)



class ConeSpec(_Spec):
    """A spot light's cone: axis ``direction`` in the part's (or object's) frame, half-angle ``angle_deg``
    (the edge softens over its outer quarter; nothing is lit outside it)."""

    direction: Vec3 = (1.0, 0.0, 0.0)
    angle_deg: Num = 30.0

    @field_validator("angle_deg")
    @classmethod
    def _angle(cls, v: Any) -> Any:
        return _check_range(v, 1.0, 89.0, "angle_deg")


class LightSpec(_Spec):
    """A point light carried by a part (or a whole object): at the part's centre, moving with its
    object. Irradiance ``intensity · color · max(0, n·l) / (1 + falloff·d²)`` within ``range`` metres
    (default: where that falls below 1/256 of ``intensity``); no shadows. ``cone`` makes it a spot."""

    intensity: Num = 1.0
    color: Colour = (1.0, 1.0, 1.0)
    falloff: Num = 0.1
    range: Num | None = None
    cone: ConeSpec | None = None


    @field_validator("intensity")
    @classmethod
    def _intensity(cls, v: Any) -> Any:
        return _check_range(v, 0.0, 1e4, "intensity")

    @field_validator("falloff")
    @classmethod
    def _falloff(cls, v: Any) -> Any:
        return _check_range(v, 1e-4, 1e4, "falloff")

    @field_validator("range")
    @classmethod
    def _range(cls, v: Any) -> Any:
        return v if v is None else _check_range(v, 0.01, 1e4, "range")


class BumpSpec(_Spec):
    """Procedural bumps that tilt the *shading* normal only (geometry and every label, the ``normals``
    label included, stay those of the smooth surface): a height field of ``amplitude`` metres (peak to
    mean) made of value-noise bumps of about 1/``scale`` metres, ``octaves`` finer layers each half the
    size and half the height, in the owner's frame so bumps stick to the surface. The normal tilts by
    about ``amplitude · scale`` radians (mucosa: amplitude 1e-4, scale 800 for ~1 mm bumps). A layer
    finer than two pixels fades to the smooth normal (no sparkle). Constants, not distributions:
    bumps draw nothing, so a clip's scene is the same with and without them."""

    amplitude: float = Field(1e-4, gt=0.0, le=10.0)
    scale: float = Field(800.0, gt=0.0, le=1e6)
    octaves: int = Field(2, ge=1, le=4)


class WetLayerSpec(_Spec):
    """A clear wet film over the surface: a second, sharp specular lobe (Blinn-Phong ``shininess``,
    strength ``specular``) raised towards grazing angles by ``fresnel``: specular·(1 + fresnel·(1 −
    n·v)⁵). With :class:`BumpSpec` it breaks into the small bright spots of wet mucosa. (Not the
    road-weather ``environment.wet``.)"""

    specular: float = Field(1.0, ge=0.0, le=16.0)
    shininess: float = Field(400.0, ge=1.0, le=20000.0)
    fresnel: float = Field(2.0, ge=0.0, le=50.0)


class MaterialSpec(_Spec):
    """Procedural texture (registry name) in object space, two colours, Blinn-Phong specular;
    ``emissive`` light of its own (lamps, tail lights), in units of a white surface under the sun;
    ``light``: a point or spot light that lights other surfaces (see :class:`LightSpec`); ``bump``
    and ``wet``: a bump-mapped shading normal and a wet specular film (:class:`BumpSpec`,
    :class:`WetLayerSpec`; off when absent); ``texture_params``: the texture's own parameters by name
    (each a number or a distribution, drawn per clip; names and ranges checked against the texture by
    ``check_recipe``)."""

    texture: Name = "flat"
    color: Colour = (0.7, 0.7, 0.7)
    color2: Colour = (0.2, 0.2, 0.2)
    scale: Num = 1.0
    specular: Num = 0.2
    shininess: Num = 32.0
    emissive: Num = 0.0
    tint: Num = 0.0  # per-object colour variation: each channel × (1 + tint·u), u ~ U(-1, 1), and shade × (1 + tint·u)
    light: LightSpec | None = None
    bump: BumpSpec | None = None
    wet: WetLayerSpec | None = None
    texture_params: dict[Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")], Num] = Field(
        default_factory=dict, max_length=16)

    @field_validator("emissive")
    @classmethod
    def _emissive(cls, v: Any) -> Any:
        return _check_range(v, 0.0, 100.0, "emissive")


    @field_validator("tint")
    @classmethod
    def _tint(cls, v: Any) -> Any:
        return _check_range(v, 0.0, 1.0, "tint")

    @field_validator("specular")
    @classmethod
    def _specular(cls, v: Any) -> Any:
        return _check_range(v, 0.0, 10.0, "specular")  # wet mucosa and metal instruments go above 1

    @field_validator("shininess")
    @classmethod
    def _shininess(cls, v: Any) -> Any:
        return _check_range(v, 0.0, 1e4, "shininess")

    @field_validator("scale")
    @classmethod
    def _scale(cls, v: Any) -> Any:
        return _check_range(v, 1e-3, 1e5, "scale")  # 1/m: millimetre features (endoscopy) need > 1e3


def _check_names(value: Any, allowed: tuple[str, ...], what: str) -> Any:
    """Refuse a name (or a choice of names) outside ``allowed``."""
    names = list(value.choice) if hasattr(value, "choice") else [value]
    bad = [n for n in names if n not in allowed]
    if bad:
        raise ValueError(f"{what} must be one of {', '.join(allowed)}, got {shown(bad[0])}")
    return value


class IntersectionSpec(_Spec):
    """A crossing road (per clip with ``probability``) at ``at`` metres along the main road, ``lanes``
    per direction; ``light`` is the main road's signal (``{choice: [green, red]}``), the crossing road
    shows the other. Traffic stops at the red stop line; nothing is placed in the red road's
    intersection zone."""

    probability: Num = 1.0
    at: Num = 30.0
    lanes: Num = 1
    light: Name = "green"

    @field_validator("lanes")
    @classmethod
    def _lanes(cls, v: Any) -> Any:
        return _check_range(v, 1, 4, "lanes")

    @field_validator("probability")
    @classmethod
    def _p(cls, v: Any) -> Any:
        return _check_range(v, 0.0, 1.0, "probability")

    @field_validator("light")
    @classmethod
    def _light(cls, v: Any) -> Any:
        return _check_names(v, ("green", "red"), "light")


class RoadSpec(_Spec):
    """A road along world x laid out in road coordinates (synthdata.scene.ground): ``lanes`` per
    direction (1–4) of ``lane_width``, a ``parking`` strip and a ``sidewalk`` (metres, 0 for none) on
    each side, ``centre_line`` (double | solid | dashed) and ``lane_line`` (dashed | solid) styles, a
    bend of ``curvature`` (1/m, > 0 left) and a vertical curve (``vertical_curvature``, 1/m: > 0 sag,
    < 0 crest), and an optional ``intersection``. Every draw is per clip."""

    lanes: Num = 2
    lane_width: Num = 3.5
    sidewalk: Num = 0.0
    parking: Num = 0.0
    centre_line: Name = "double"
    lane_line: Name = "dashed"
    curvature: Num = 0.0
    vertical_curvature: Num = 0.0
    intersection: IntersectionSpec | None = None

    @field_validator("lanes")
    @classmethod
    def _lanes(cls, v: Any) -> Any:
        return _check_range(v, 1, 4, "lanes")

    @field_validator("lane_width")
    @classmethod
    def _width(cls, v: Any) -> Any:
        return _check_range(v, 2.0, 6.0, "lane_width")

    @field_validator("centre_line")
    @classmethod
    def _centre(cls, v: Any) -> Any:
        return _check_names(v, ("double", "solid", "dashed"), "centre_line")

    @field_validator("lane_line")
    @classmethod
    def _lane_line(cls, v: Any) -> Any:
        return _check_names(v, ("dashed", "solid"), "lane_line")

    @field_validator("sidewalk", "parking")
    @classmethod
    def _strip(cls, v: Any) -> Any:
        return _check_range(v, 0.0, 20.0, "sidewalk/parking width")

    @field_validator("curvature")
    @classmethod
    def _curv(cls, v: Any) -> Any:
        return _check_range(v, -1 / 80, 1 / 80, "curvature (1/m; a radius of at least 80 m)")

    @field_validator("vertical_curvature")
    @classmethod
    def _vcurv(cls, v: Any) -> Any:
        return _check_range(v, -0.002, 0.002, "vertical_curvature (1/m)")


class RainSpec(_Spec):
    """Falling rain: ``drops`` seeded drops in a ``radius``-metre box around the camera (world space,
    wrapping as it moves), falling at ``fall_speed`` m/s, drawn as streaks over the ``shutter`` (seconds)
    and depth-tested against the scene; ``alpha`` is a near streak's opacity. RGB only: no labels."""

    drops: int = Field(3000, ge=0, le=100_000)
    radius: float = Field(12.0, gt=0.5, le=200.0)
    fall_speed: float = Field(8.0, ge=0.0, le=50.0)
    shutter: float = Field(1 / 60, gt=0.0, le=1.0)
    alpha: float = Field(0.35, ge=0.0, le=1.0)
    color: tuple[float, float, float] = (0.8, 0.82, 0.85)


class SnowSpec(_Spec):
    """Falling snow: flakes like rain drops (slower, bigger, white discs, no streak) and upward-facing
    surfaces (normal z > 0.7) whitened by ``coverage`` (0–1) in noise patches. RGB only: no labels."""

    flakes: int = Field(2000, ge=0, le=100_000)
    radius: float = Field(12.0, gt=0.5, le=200.0)
    fall_speed: float = Field(1.2, ge=0.0, le=20.0)
    size: float = Field(0.02, gt=0.0, le=0.5)
    alpha: float = Field(0.8, ge=0.0, le=1.0)
    coverage: Num = 0.5

    @field_validator("coverage")
    @classmethod
    def _coverage(cls, v: Any) -> Any:
        return _check_range(v, 0.0, 1.0, "coverage")


class WetSpec(_Spec):
    """A wet ground: ``amount`` (0–1) of mirror reflection (Fresnel-weighted: the sky and objects seen in
    the ground plane) and glossy, elongated highlights of lights; ``puddles`` (0–1) of the ground fully
    wet in noise patches of about ``puddle_scale`` metres."""

    amount: Num = 0.7
    puddles: Num = 0.3
    puddle_scale: float = Field(3.0, gt=0.0, le=1000.0)

    @field_validator("amount", "puddles")
    @classmethod
    def _unit(cls, v: Any) -> Any:
        return _check_range(v, 0.0, 1.0, "amount/puddles")


class LumenSpec(_Spec):
    """A bent, metric lumen (scene/lumen.py; docs/endoscopy.md) in place of the straight tube, which
    then sets its mean radius (``tube_radius``, m). The centreline wanders sideways by
    ``bend_amplitude`` (m) over about ``bend_wavelength`` (two waves per axis, each clip its own);
    the radius varies by ``radius_variation`` (relative) over ``radius_wavelength``; haustral folds
    (ring ridges ``fold_height`` m tall, ``fold_width`` m thick, every ``fold_spacing`` m, interrupted
    at the taeniae) and the three taeniae coli (``taenia_depth``: relative inward pull) shape the
    wall; rays that meet no wall within ``view_distance`` m see darkness."""

    bend_amplitude: Num = 0.0
    bend_wavelength: Num = 0.25
    radius_variation: Num = 0.0
    radius_wavelength: Num = 0.15
    fold_spacing: Num = 0.03
    fold_height: Num = 0.0
    fold_width: Num = 0.002
    fold_jitter: Num = 0.4
    taenia_depth: Num = 0.0
    view_distance: float = Field(0.3, gt=0.0, le=10.0)

    @field_validator("bend_amplitude", "fold_height", "fold_width")
    @classmethod
    def _small(cls, v: Any, info: Any) -> Any:
        return _check_range(v, 0.0, 0.2, info.field_name)

    @field_validator("bend_wavelength", "radius_wavelength", "fold_spacing")
    @classmethod
    def _length(cls, v: Any, info: Any) -> Any:
        return _check_range(v, 0.002, 10.0, info.field_name)

    @field_validator("radius_variation", "taenia_depth", "fold_jitter")
    @classmethod
    def _fraction(cls, v: Any, info: Any) -> Any:
        return _check_range(v, 0.0, 0.6, info.field_name)


class EnvironmentSpec(_Spec):
    """Static world: ``ground`` (plane + sky), ``tube`` (camera inside a lumen along +x) or ``void``;
    on the ground, an optional ``road`` (:class:`RoadSpec`). ``sky_model: auto`` derives sky colours,
    sun colour and strength and the ambient light from the sun's elevation, down to night (below −6°;
    it needs a ``sun``, and without one the sky stays fixed); ``sky_top``/``sky_horizon``/``ambient``
    are then the daytime values. ``rain``, ``snow``, ``wet``: driving conditions (docs/driving.md);
    off when absent."""

    kind: Literal["ground", "tube", "void"] = "ground"
    ground: MaterialSpec = MaterialSpec(texture="checker", color=(0.6, 0.6, 0.6), color2=(0.35, 0.35, 0.35))
    tube_radius: Num = 2.0
    sky_top: Colour = (0.35, 0.55, 0.9)
    sky_horizon: Colour = (0.8, 0.87, 0.95)
    sun: SunSpec | None = SunSpec()
    headlight: HeadlightSpec = HeadlightSpec()
    ambient: Num = 0.3
    fog_density: Num = 0.0
    road: RoadSpec | None = None
    sky_model: Literal["fixed", "auto"] = "fixed"
    rain: RainSpec | None = None
    snow: SnowSpec | None = None
    wet: WetSpec | None = None
    lumen: LumenSpec | None = None

    @field_validator("tube_radius")
    @classmethod
    def _radius(cls, v: Any) -> Any:
        return _check_range(v, 0.005, 1e3, "tube_radius")


    @field_validator("ambient")
    @classmethod
    def _ambient(cls, v: Any) -> Any:
        return _check_range(v, 0.0, 4.0, "ambient")

    @field_validator("fog_density")
    @classmethod
    def _fog(cls, v: Any) -> Any:
        return _check_range(v, 0.0, 10.0, "fog_density")  # per metre: 10 hides everything beyond ~0.3 m

    @model_validator(mode="after")
    def _lumen_in_tube(self) -> "EnvironmentSpec":
        if self.lumen is not None and self.kind != "tube":
            raise ValueError(f"environment.lumen needs kind: tube, got kind: {self.kind}")
        return self


class PlacementSpec(_Spec):
    """Where a group's objects start.

    ``ground``: (x, y) on the floor, resting on it; ``free``: (x, y, z); ``wall``: inside a tube, at
    ``x`` along the axis and ``angle_deg`` around it, half sunk into the wall. On a road
    (``environment.road``): ``lane``: at ``x`` in the lane picked by ``lane`` (a fraction in [-1, 1]
    as :class:`CameraSpec`'s, whatever the clip's lane count), facing its direction (``road: cross``:
    the crossing road's lanes, ``x`` along it from the crossing); ``roadside``: ``y`` is a signed
    distance (negative on the right, y < 0) beyond the asphalt's edge, so 0.5 stands on the sidewalk by
    the kerb whatever the lane count (``road: verge``: beyond the edge line, e.g. in a parking strip;
    ``road: outside``: beyond the sidewalk, for buildings); roadside objects on the left are turned
    half round, so their +y faces the road on both sides; ``spacing`` puts a group's objects one after another along x
    (guard rails, kerbside lamps) from the first one's draw; ``signal``: traffic lights, object i of
    the group at the crossing's approach i (main +x, main −x, crossing +y, crossing −y), showing that
    road's light (parts with ``signal`` glow in their state); without a crossing they are not placed.
    ``camera``: fixed to the camera's start pose (an endoscope's working channel): the object's front
    end (+x face) at (``x``, ``y``, ``z``) in the camera frame (OpenCV: x right, y down, z forward;
    metres), its +x axis along the view direction turned by ``yaw_deg`` (positive: towards the image's
    left) and ``pitch_deg`` (positive: towards the image's top), its z axis up in the image; the rest of
    it lies behind that point (inside the scope). Motion ``follow_camera`` carries it with the camera.

    Objects never start inside one another or around the camera: a draw whose box, grown by ``gap``
    metres along its own x, y, z axes (one number: all three), meets an object placed before (grown by
    its own gap) or holds the camera is redrawn (up to 64 times; an object that still does not fit is
    left out and counted in the clip's ``params.dropped``). Traffic uses a gap along x to keep a
    following distance at the start and the ego vehicle's body clear. A ``camera`` placement is exempt
    from the camera test of its box (it is part of the camera rig: an instrument's shaft runs back into
    the scope, round the lens), but a draw with the camera inside one of its primitives (a part's box,
    or its own without parts) is left out and counted the same way.
    """

    mode: Literal["ground", "free", "wall", "lane", "roadside", "signal", "camera"] = "ground"
    x: Num = 0.0
    y: Num = 0.0
    z: Num = 0.0
    yaw_deg: Num = 0.0
    angle_deg: Num = 0.0
    pitch_deg: Num = 0.0  # ``camera`` mode only
    gap: tuple[float, float, float] = (0.0, 0.0, 0.0)
    lane: Num | None = None
    road: Literal["main", "cross", "verge", "outside"] | None = None
    spacing: float | None = Field(None, gt=0.0, le=1000.0)

    @field_validator("lane")
    @classmethod
    def _lane(cls, v: Any) -> Any:
        return v if v is None else _check_range(v, -1.0, 1.0, "lane")

    @model_validator(mode="after")
    def _road_for_mode(self) -> "PlacementSpec":
        allowed = {"lane": ("main", "cross"), "roadside": ("main", "verge", "outside")}.get(self.mode, ())
        if self.road is not None and self.road not in allowed:
            raise ValueError(f"road: {self.road!r} does not apply to mode {self.mode!r}"
                             + (f" (expected one of {', '.join(allowed)})" if allowed else ""))
        return self

    @field_validator("gap", mode="before")
    @classmethod
    def _gap(cls, v: Any) -> Any:
        v = (v, v, v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v
        if isinstance(v, (list, tuple)) and all(isinstance(x, (int, float)) for x in v) and any(not 0 <= x <= 1000 for x in v):
            raise ValueError(f"expected clearances in [0, 1000] metres, got {list(v)}")
        return v


class SkeletonSpec(_Spec):
    """Named keypoints of a class in its object frame, in units of the half-size (so (0, 0, 1) is the
    top of any size), and the ``edges`` between them (0-based pairs, drawn by viewers; COCO's
    ``skeleton``). Without one, a class takes its primitive's default (box corners, sphere poles, …)."""

    names: list[str] = Field(min_length=1, max_length=64)
    points: list[tuple[float, float, float]]
    edges: list[tuple[int, int]] = Field(default_factory=list)
    #: per keypoint, the index of the part (``objects[i].parts``) it rides on, -1 for the object's body;
    #: a keypoint on a swinging part follows the part (points are given at the rest pose)
    parts: list[int] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> "SkeletonSpec":
        if len(self.points) != len(self.names):
            raise ValueError(f"points: expected one point per name ({len(self.names)}), got {len(self.points)}")
        if len(set(self.names)) != len(self.names):
            raise ValueError("names: expected distinct keypoint names")
        if self.parts is not None and len(self.parts) != len(self.names):
            raise ValueError(f"parts: expected one part index per name ({len(self.names)}), got {len(self.parts)}")
        bad = [e for e in self.edges if not all(0 <= i < len(self.names) for i in e) or e[0] == e[1]]
        if bad:
            raise ValueError(f"edges: expected pairs of distinct keypoint indices in [0, {len(self.names) - 1}], got {bad[0]}")
        return self


class SwingSpec(_Spec):
    """A part that swings periodically (limbs): it turns by ``amplitude_deg``·sin(2π(d / ``stride`` +
    ``phase``)) about ``axis`` (object frame) through ``pivot`` (object frame, half-size units), where d is
    the distance the object has travelled on the ground (metres), so the gait matches the speed and a
    standing object holds its pose. ``phase`` 0 and 0.5 start (and stand) at the rest pose. ``parent``:
    an earlier part whose swing this one rides after its own (a shin turns about the knee, then moves
    with its thigh); its ``pivot`` is given at the rest pose. ``drive: time`` makes d the seconds since
    the clip's first frame (``stride`` is then the period in seconds): parts that move on their own,
    whatever the object does (forceps jaws opening and closing)."""

    axis: tuple[float, float, float] = (0.0, 1.0, 0.0)
    amplitude_deg: float = Field(25.0, ge=0.0, le=90.0)
    phase: float = Field(0.0, ge=0.0, le=1.0)
    pivot: tuple[float, float, float] = (0.0, 0.0, 0.0)
    stride: float = Field(1.4, gt=0.0, le=100.0)  # metres per cycle
    parent: int | None = Field(None, ge=0, le=31)
    drive: Literal["distance", "time"] = "distance"

    @field_validator("axis")
    @classmethod
    def _axis(cls, v: tuple[float, float, float]) -> tuple[float, float, float]:
        if sum(x * x for x in v) < 1e-12:
            raise ValueError("expected a non-zero axis")
        return v


class PartSpec(_Spec):
    """One primitive of a compound object, in the object's frame: ``center`` in units of the object's
    half-size ((0, 0, -1) is the middle of its bottom face), ``size`` as fractions of the object's
    half-size along the part's own axes (index by index), turned by ``rotation_deg`` (about the object's
    x, then y, then z axis). A part without a material takes the group's. Parts belong to one object:
    one instance id, one track, one class; they should lie inside the object's box (``size``), which
    boxes, 3D boxes and the plausibility checks use — at every phase of a ``swing``."""

    primitive: Name = "box"
    center: Vec3 = (0.0, 0.0, 0.0)
    size: PartExtent = (1.0, 1.0, 1.0)
    rotation_deg: Vec3 = (0.0, 0.0, 0.0)
    material: MaterialSpec | None = None
    swing: SwingSpec | None = None
    signal: Literal["red", "amber", "green"] | None = None  # a signal lamp: lit only in its state


class ShapeSpec(_Spec):
    """A shape builder by registry name (:mod:`synthdata.scene.shapes`; ``polyp``, ``bubbles`` …) and its
    parameters, each a number, a name or a distribution of them, drawn per object."""

    name: str = Field(pattern=r"^[A-Za-z0-9_\-]{1,64}$")
    params: dict[str, Num | Name] = Field(default_factory=dict)


class ObjectGroupSpec(_Spec):
    """``count`` objects of one class sharing distributions (each object draws its own values).
    ``parts`` makes each object a compound of primitives (then ``primitive`` names the bounding shape
    used for keypoint defaults only). ``shape`` hands each object's form (size, parts, labels) to a
    registered shape builder instead; ``size``, ``primitive`` and ``parts`` are then the builder's."""

    class_name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")
    count: Count = 1
    primitive: Name = "sphere"
    size: Extent = (1.0, 1.0, 1.0)
    material: MaterialSpec = MaterialSpec()
    placement: PlacementSpec = PlacementSpec()
    motion: MotionSpec = MotionSpec()
    keypoints: SkeletonSpec | None = None
    parts: list[PartSpec] = Field(default_factory=list, max_length=32)
    shape: ShapeSpec | None = None

    @model_validator(mode="after")
    def _shape_owns_form(self) -> "ObjectGroupSpec":
        given = sorted({"size", "primitive", "parts"} & self.model_fields_set)
        if self.shape is not None and given:
            raise ValueError(f"{given[0]}: set by shape {self.shape.name!r}; drop {', '.join(given)}")
        return self

    @field_validator("count")
    @classmethod
    def _count(cls, v: Any) -> Any:
        if isinstance(v, Poisson) and v.max is None:  # clip the unbounded tail at the per-group limit
            v = v.model_copy(update={"max": LIMITS["max_objects"]})
        return _check_range(v, 0, LIMITS["max_objects"], "count")

    @model_validator(mode="after")
    def _swing_parents(self) -> "ObjectGroupSpec":
        for j, part in enumerate(self.parts):
            if part.swing is not None and part.swing.parent is not None and not part.swing.parent < j:
                raise ValueError(f"parts.{j}.swing.parent: expected an earlier part (index < {j}), got {part.swing.parent}")
        return self

    @model_validator(mode="after")
    def _keypoint_parts(self) -> "ObjectGroupSpec":
        kp = self.keypoints
        if kp is not None and kp.parts is not None:
            bad = [k for k in kp.parts if not -1 <= k < len(self.parts)]
            if bad:
                raise ValueError(f"keypoints.parts: expected part indices in [-1, {len(self.parts) - 1}] "
                                 f"(-1: the body), got {bad[0]}")
        return self


class TracksSpec(_Spec):
    """Point tracks (TAP-Vid conventions; docs/dataset-format.md): ``points`` query points per clip on
    rendered surfaces, spread over the query frames (0, ``query_stride``, 2·``query_stride``, …) and
    stratified over the surfaces in view: every object and the background get ``min_per_surface`` points
    (or all their pixels, if fewer; less when the floors alone would exceed the budget), the rest go in
    proportion to area; a clip has exactly ``points`` tracks unless it shows fewer surface pixels. ``annotations.tracks: true`` is
    short for ``{enabled: true}``; a block that sets anything but leaves out ``enabled`` is on."""

    enabled: bool = False
    points: int = Field(256, ge=1, le=65536)
    query_stride: int = Field(8, ge=1, le=LIMITS["max_frames"])
    min_per_surface: int = Field(8, ge=0, le=4096)


class AnnotationSpec(_Spec):
    """Which labels to emit. Boxes, classes and track ids are always written. Other keys switch label
    kinds registered by plug-ins (``annotations.<kind>: true``), checked against the label-kind registry
    by :func:`synthdata.run.check.check_recipe`."""

    model_config = ConfigDict(extra="allow", frozen=True, allow_inf_nan=False,
                              json_schema_extra={"additionalProperties": {"type": "boolean"}})

    masks: bool = True
    amodal: bool = True
    depth: bool = True
    flow: bool = True
    normals: bool = False
    semantic: bool = True
    instance: bool = True
    box3d: bool = True
    keypoints: bool = True
    tracks: TracksSpec = TracksSpec()

    @field_validator("tracks", mode="before")
    @classmethod
    def _tracks_switch(cls, v: Any) -> Any:
        """``true``/``false`` is ``{enabled: …}``; a block that gives settings but not ``enabled`` is on."""
        if isinstance(v, bool):
            return {"enabled": v}
        if isinstance(v, dict):
            return {"enabled": True, **v}
        if isinstance(v, BaseModel):
            return v
        raise ValueError(f"expected true, false or a block {{enabled, points, query_stride, min_per_surface}}, got {shown(v)}")


class BackendSpec(_Spec):
    """Renderer by registry name; every other key is a setting of that backend, validated against the
    backend's own settings model (``Backend.Settings``) by :func:`synthdata.run.check.check_recipe`,
    which also fills in the defaults. Settings per backend: docs/backends.md and docs/generator.md."""

    model_config = ConfigDict(extra="allow", frozen=True, allow_inf_nan=False)

    name: str = "raycast"

    @property
    def settings(self) -> dict[str, Any]:
        """The backend's settings as given (everything but ``name``)."""
        return dict(self.model_extra or {})


class SplitSpec(_Spec):
    """Fractions of clips in the train/val/test splits (they must sum to 1). A clip's split is fixed by
    the run's seed and its index alone (:func:`synthdata.io.split.split_of`), so growing a run never
    moves a clip from one split to another."""

    train: float = Field(0.8, ge=0.0, le=1.0)
    val: float = Field(0.1, ge=0.0, le=1.0)
    test: float = Field(0.1, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _sums_to_one(self) -> "SplitSpec":
        total = self.train + self.val + self.test
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"train + val + test must be 1, got {total:g}")
        return self


class OutputSpec(_Spec):
    """How clips are stored. ``h264`` is yuv420p for viewers; ``h264_lossless`` is RGB lossless
    (libx264rgb, crf 0), bit-exact frames for training. ``sink`` names the writer by registry name
    (``parquet``: the dataset layout of docs/dataset-format.md). ``split``: the clips' train/val/test
    fractions (the ``split`` column); ``license``: what the dataset card declares."""

    video_codec: Literal["h264", "h264_lossless"] = "h264"
    crf: int = Field(18, ge=0, le=51)
    sink: str = Field("parquet", pattern=r"^[A-Za-z0-9_\-]{1,64}$")
    split: SplitSpec = SplitSpec()
    #: the dataset card's license (a Hugging Face / SPDX id such as ``cc-by-4.0``); ``other`` by default
    license: str = Field("other", pattern=r"^[a-z0-9][a-z0-9.\-]{0,63}$")


#: scope optics (docs/endoscopy.md), added after the recipe hash existed: at their unused value they leave
#: both hashes unchanged
_SCOPE_FIELDS = {"mask": None, "vignetting": None, "guides": [], "scatter": None, "meter": "scene"}
#: fields added after the layout hash existed, with the value that means "not used"
_LATER_FIELDS = {"parts": [], "emissive": 0.0, "tint": 0.0, "road": None, "lane": None, "spacing": None, "signal": None,
                 "light": None, "texture_params": {}, "exposure": None, "sky_model": "fixed", "rain": None, "snow": None, "wet": None,
                 "swing": None, "lumen": None, "split": {"train": 0.8, "val": 0.1, "test": 0.1},
                 "license": "other", "bump": None, "shape": None, "pitch_deg": 0.0, "drive": "distance",
                 **_SCOPE_FIELDS}


#: fields added after runs' content hashes (``recipe_hash`` in manifests, checked on resume) were kept
#: stable, with the value that means "not used": left out of the content hash at that value
_CONTENT_LATER_FIELDS = {"pitch_deg": 0.0, "drive": "distance"}


def _drop_unused(node: Any, fields: dict[str, Any] = _LATER_FIELDS) -> None:
    """Remove later-added ``fields`` at their unused value from a dumped recipe, in place."""
    if isinstance(node, dict):
        for key, unused in fields.items():
            if key in node and node[key] == unused:
                del node[key]
        for v in node.values():
            _drop_unused(v, fields)
    elif isinstance(node, list):
        for v in node:
            _drop_unused(v, fields)


#: material fields added after content hashes were stored, with the value that means "not used"
_LATER_MATERIAL_FIELDS = {"bump": None, "wet": None}


def _drop_unused_material(node: Any, always: bool = False) -> None:
    """Remove later-added material fields at their unused value (``always``: whatever their value) from
    every material block (objects', parts', the ground's) of a dumped recipe, in place, so existing
    recipes keep their hashes."""
    if isinstance(node, dict):
        if "texture" in node and "shininess" in node:
            for key, unused in _LATER_MATERIAL_FIELDS.items():
                if key in node and (always or node[key] == unused):
                    del node[key]
        for v in node.values():
            _drop_unused_material(v, always)
    elif isinstance(node, list):
        for v in node:
            _drop_unused_material(v, always)


class RecipeSpec(_Spec):
    """A whole recipe: one clip distribution. ``seed`` is the root seed of a run."""

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")
    description: str = ""
    domain: Literal["generic", "driving", "medical"] = "generic"
    seed: int = Field(0, ge=0, lt=2**63)
    device: Annotated[str, AfterValidator(check_device)] = Field("auto", json_schema_extra={"pattern": DEVICE_PATTERN})
    clip: ClipSpec = ClipSpec()
    camera: CameraSpec = CameraSpec()
    environment: EnvironmentSpec = EnvironmentSpec()
    objects: list[ObjectGroupSpec] = Field(min_length=1, max_length=64)
    annotations: AnnotationSpec = AnnotationSpec()
    backend: BackendSpec = BackendSpec()
    output: OutputSpec = OutputSpec()

    @model_validator(mode="after")
    def _road_needs_road(self) -> "RecipeSpec":
        env = self.environment
        if env.wet is not None and env.road is not None and support(env.road.vertical_curvature) != (0.0, 0.0):
            raise ValueError("environment.wet: the wet mirror needs a flat ground; set environment.road.vertical_curvature: 0")
        if env.road is not None:
            if env.kind != "ground" or env.ground.texture != "road":
                raise ValueError("environment.road: needs environment.kind 'ground' with ground.texture 'road' "
                                 f"(got kind {env.kind!r}, texture {env.ground.texture!r})")
            return self
        if self.camera.lane is not None:
            raise ValueError("camera.lane: needs environment.road (a lane is a place on a road)")
        for i, g in enumerate(self.objects):
            if g.placement.mode in ("lane", "roadside", "signal"):
                raise ValueError(f"objects.{i}.placement.mode: '{g.placement.mode}' needs environment.road")
        return self

    @property
    def class_names(self) -> list[str]:
        """Object classes in order of first appearance; class id = position + 1 (0 is background)."""
        return list(dict.fromkeys(g.class_name for g in self.objects))

    def layout_hash(self) -> str:
        """sha256 of what shapes the *layout* (scenes, motion, camera, clip size): clip seeds derive from
        it, so the same recipe and seed give the same scenes and labels with any backend, output codec
        or annotation choice (a ray-cast and a diffusion run of one recipe share every label). The lens,
        material bumps and wet films are not layout either: the same scenes under every lens model and
        surface finish, so such ablations compare one world. Names,
        descriptions and keypoint skeletons (labels, not layout) are not layout: fixing a typo in the description keeps every clip's seed."""
        body = self.model_dump(mode="json", exclude={"seed": True, "device": True, "backend": True, "output": True,
                                                     "annotations": True, "name": True, "description": True,
                                                     "domain": True, "objects": {"__all__": {"keypoints"}},
                                                     "camera": {"lens", "mask", "vignetting"},
                                                     "environment": {"headlight": {"guides", "scatter"}}})
        _drop_unused(body)  # fields added later hash only when used: old recipes keep their seeds
        _drop_unused_material(body, always=True)  # bumps and wet films draw nothing: the same scenes either way
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()

    def content_hash(self) -> str:
        """sha256 of everything that shapes the data except the root seed and the device."""
        body = self.model_dump(mode="json", exclude={"seed", "device"})
        if self.camera.lens == LensSpec():  # added later: the default keeps existing recipes' hashes
            del body["camera"]["lens"]
        _drop_unused_material(body)
        _drop_unused(body, {"texture_params": {}, **_CONTENT_LATER_FIELDS})  # likewise
        _drop_unused(body, _SCOPE_FIELDS)  # so do the scope optics at their defaults
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
