"""``check_recipe``: every registry name and motion parameter in a recipe, checked before heavy work.

Lives in ``run`` (the stage that may import all others) so earlier stages never import later ones.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from ..annotate import LABEL_KINDS
from ..errors import RecipeError, UserError, shown
from ..io.sinks import SINKS
from ..motion import CAMERA_MOTIONS, OBJECT_MOTIONS
from ..recipe.distributions import Choice, support
from ..recipe.schema import BackendSpec, MotionSpec, RecipeSpec
from ..registry import Registry
from ..render.backend import backend_class, backend_settings
from ..render.raycast import PRIMITIVES, TEXTURES
from ..scene.lens import LENS_MODELS, Lens, lens_problems
from ..scene.optics import VIGNETTING
from ..scene.sample import ground_capacity
from ..scene.shapes import SHAPES
from ..scene.skeletons import skeleton_conflicts

__all__ = ["check_recipe"]


def _names(value: Any) -> list[Any]:
    return list(value.choice) if isinstance(value, Choice) else [value]


def _check_name(problems: list, field: str, value: Any, registry: Registry) -> None:
    for name in _names(value):
        if not isinstance(name, str) or name not in registry:
            problems.append((field, registry.unknown_message(name)))


def _check_texture_params(problems: list, field: str, material: Any) -> None:
    """``texture_params`` against the parameters the texture declares (``fn.params``: name → (default,
    low, high, …)): known names (to one of a ``choice`` of textures), values within range."""
    if not material.texture_params:
        return
    declared: dict[str, Any] = {}
    for name in _names(material.texture):
        if isinstance(name, str) and name in TEXTURES:
            declared.update(getattr(TEXTURES.get(name), "params", None) or {})
    for key, value in material.texture_params.items():
        if key not in declared:
            allowed = ", ".join(sorted(declared)) or "none"
            problems.append((f"{field}.texture_params.{key}",
                             f"unknown parameter of texture {material.texture!r}; expected one of: {allowed}"))
            continue
        lo, hi = float(declared[key][1]), float(declared[key][2])
        s = support(value)
        if s is not None and (s[0] < lo or s[1] > hi):
            got = f"{s[0]:g}" if s[0] == s[1] else f"{s[0]:g} … {s[1]:g}"
            problems.append((f"{field}.texture_params.{key}", f"must lie in [{lo:g}, {hi:g}], got {got}"))


def _check_motion(problems: list, field: str, motion: MotionSpec, registry: Registry) -> None:
    if motion.name not in registry:
        problems.append((f"{field}.name", registry.unknown_message(motion.name)))
        return
    _check_params(problems, field, f"motion {motion.name!r}", registry.get(motion.name).params, motion.params)


def _check_params(problems: list, field: str, what: str, model: Any, params: dict) -> None:
    """A motion's or shape builder's params against its params model: unknown names, the constants
    together (checks across parameters), then each distribution's ends and each choice's options
    (what a draw can give), so a bad range is refused here, not as a traceback mid-run."""
    for key in params:
        if key not in model.model_fields:
            allowed = ", ".join(model.model_fields) or "none"
            problems.append((f"{field}.params.{key}", f"unknown parameter of {what}; expected one of: {allowed}"))
    consts = {k: v for k, v in params.items() if k in model.model_fields and isinstance(v, (int, float, str))}
    try:
        model(**consts)
    except ValidationError as exc:  # report the first problem, naming the parameter
        err = exc.errors()[0]
        key = "".join(f".{x}" for x in err["loc"])  # empty for a check across parameters
        problems.append((f"{field}.params{key}", f"{err['msg'].removeprefix('Value error, ')}, got {shown(err.get('input'))}"))
        return
    for key, value in params.items():  # a distribution's ends, a choice's options: valid values too
        if key not in model.model_fields or isinstance(value, (int, float, str)):
            continue
        ends = [o for o in _names(value) if isinstance(o, (int, float, str))] if isinstance(value, Choice) else []
        ends += list(support(value) or ()) if not ends else []
        for end in ends:
            try:
                model(**{key: end})
            except ValidationError as exc:
                given = value.model_dump(exclude_none=True) if hasattr(value, "model_dump") else value
                at = f"its end {end:g}" if isinstance(end, (int, float)) else f"its option {end!r}"
                problems.append((f"{field}.params.{key}", f"{exc.errors()[0]['msg'].removeprefix('Value error, ')}, "
                                                          f"got {shown(given)} ({at})"))
                break


def _check_shape(problems: list, field: str, shape: Any) -> None:
    """A shape builder's name and its params against the builder's params model."""
    if shape.name not in SHAPES:
        problems.append((f"{field}.name", SHAPES.unknown_message(shape.name)))
        return
    _check_params(problems, field, f"shape {shape.name!r}", SHAPES.get(shape.name).params, shape.params)


def _check_backend(problems: list, spec: RecipeSpec) -> BackendSpec | None:
    """The backend block against its backend's own settings model; the block with every default
    filled in (the resolved recipe names every setting, and its hash does not depend on which
    defaults were spelled out)."""
    try:
        backend_class(spec.backend.name)
        settings = backend_settings(spec.backend)
    except RecipeError as exc:
        problems += exc.problems
        return None
    except UserError as exc:
        problems.append((exc.field, exc.message))
        return None
    return BackendSpec(name=spec.backend.name, **_drop_later(settings.model_dump(mode="json")))


#: backend settings added after resolved recipes were hashed, with the value that means "off": left out
#: of the resolved block at that value, so existing recipes keep their hashes and stored YAML
_LATER_SETTINGS = {"rolling_shutter": 0.0, "rolling_bands": None, "defocus": None, "batch_kilorays": 1024,
                   "cpu_kernels": "auto"}


def _drop_later(node: dict) -> dict:
    return {k: _drop_later(v) if isinstance(v, dict) else v for k, v in node.items()
            if not (k in _LATER_SETTINGS and v == _LATER_SETTINGS[k])}


def _check_lens(problems: list, spec: RecipeSpec) -> None:
    """The lens model's name, its coefficients, and every combination of the ends of the fov and
    coefficient ranges: no fold inside the image, corners (or the field stop's rim) less than 88° off the axis."""
    ls = spec.camera.lens
    if ls.model == "pinhole" and all(getattr(ls, k) == 0 for k in ("k1", "k2", "k3", "k4", "p1", "p2")):
        return
    if ls.model not in LENS_MODELS:
        problems.append(("camera.lens.model", LENS_MODELS.unknown_message(ls.model)))
        return
    used = LENS_MODELS.get(ls.model).coefficients
    ends = {}
    for k in ("k1", "k2", "k3", "k4", "p1", "p2"):
        s = support(getattr(ls, k))
        if k not in used and s != (0.0, 0.0):
            problems.append((f"camera.lens.{k}", f"not a coefficient of {ls.model}; expected 0 (it uses "
                             f"{', '.join(used) or 'none'})"))
        elif k in used and (s is None or not all(abs(x) <= 100 for x in s)):
            problems.append((f"camera.lens.{k}", "expected a number or a bounded distribution in [-100, 100]"))
        elif k in used:
            ends[k] = sorted(set(s))
    fov = support(spec.camera.fov_deg)
    if fov is None:
        problems.append(("camera.fov_deg", "expected a number or a bounded distribution with a lens model"))
    if len(ends) < len(used) or fov is None:
        return
    import itertools

    mask = spec.camera.mask  # with a field stop only the circle is cast: it, not the corners, must fit the lens
    stop = None if mask is None else mask.radius * min(spec.clip.width, spec.clip.height) / 2
    for combo in itertools.product(sorted(set(fov)), *(ends[k] for k in used)):
        lens = Lens(ls.model, tuple(zip(used, combo[1:])))
        found = lens_problems(lens, float(min(max(combo[0], 1), 170)), spec.clip.width, spec.clip.height, stop)
        if found:
            problems.append(found[0])
            return


def check_recipe(spec: RecipeSpec) -> RecipeSpec:
    """Raise :class:`RecipeError` listing every unknown name or setting; return ``spec`` with its
    backend settings resolved (defaults filled in) when fine."""
    problems: list[tuple[str, str]] = []
    backend = _check_backend(problems, spec)
    for name, value in (spec.annotations.model_extra or {}).items():
        if name not in LABEL_KINDS:
            problems.append((f"annotations.{name}", LABEL_KINDS.unknown_message(name)))
        elif not isinstance(value, bool):
            problems.append((f"annotations.{name}", f"expected true or false, got {shown(value)}"))
    if spec.annotations.keypoints:
        problems += skeleton_conflicts(spec)
    tracks, clip = spec.annotations.tracks, spec.clip
    room = -(-clip.frames // tracks.query_stride) * clip.width * clip.height
    if tracks.enabled and tracks.points > room:
        problems.append(("annotations.tracks.points", f"expected at most {room} (one per pixel of the query frames: "
                         f"{-(-clip.frames // tracks.query_stride)} × {clip.width} × {clip.height}), got {tracks.points}"))
    _check_name(problems, "output.sink", spec.output.sink, SINKS)
    _check_motion(problems, "camera.motion", spec.camera.motion, CAMERA_MOTIONS)
    _check_lens(problems, spec)
    if spec.camera.vignetting is not None:
        _check_name(problems, "camera.vignetting.model", spec.camera.vignetting.model, VIGNETTING)
    _check_name(problems, "environment.ground.texture", spec.environment.ground.texture, TEXTURES)
    _check_texture_params(problems, "environment.ground", spec.environment.ground)
    for i, group in enumerate(spec.objects):
        base = f"objects.{i}"
        _check_name(problems, f"{base}.primitive", group.primitive, PRIMITIVES)
        _check_name(problems, f"{base}.material.texture", group.material.texture, TEXTURES)
        _check_texture_params(problems, f"{base}.material", group.material)
        _check_motion(problems, f"{base}.motion", group.motion, OBJECT_MOTIONS)
        if group.shape is not None:
            _check_shape(problems, f"{base}.shape", group.shape)
        for j, part in enumerate(group.parts):
            _check_name(problems, f"{base}.parts.{j}.primitive", part.primitive, PRIMITIVES)
            if part.material is not None:
                _check_name(problems, f"{base}.parts.{j}.material.texture", part.material.texture, TEXTURES)
                _check_texture_params(problems, f"{base}.parts.{j}.material", part.material)
        count, room = support(group.count), ground_capacity(group, spec.environment.road)
        if count is not None and room is not None and count[0] > room:  # every clip: more than fit
            problems.append((f"{base}.count", f"at least {count[0]:g} objects cannot fit: their placement holds at most "
                             f"{room} (rows × length of the x range / (length + 2 × gap)); widen placement.x or "
                             "lower the count"))
        if group.placement.mode == "wall" and spec.environment.kind != "tube":
            problems.append((f"{base}.placement.mode", "'wall' needs environment.kind: tube"))
    if not problems:  # backend-specific checks (e.g. a checkpoint's classes) need a sound recipe
        spec = spec.model_copy(update={"backend": backend})
        problems += backend_class(spec.backend.name).check(spec)
    if problems:
        raise RecipeError(problems)
    return spec
