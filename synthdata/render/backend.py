"""The Backend contract and registry. A backend turns (Scene, Trajectories) into :class:`Frames`.

A backend is a subclass of :class:`Backend` registered by name (built-ins here, others through the
``synthdata.backends`` entry-point group). It declares its own settings model (``Settings``, a
:class:`BackendSettings`): the recipe's ``backend:`` block minus ``name`` is validated against it, so
each backend accepts exactly its own settings, as motions accept exactly their parameters. Image size
and intrinsics come from ``scene.camera`` (the camera owns its image), never from arguments.

Every backend passes the shared contract tests in ``tests/render/test_backend_contract.py``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, ClassVar, Sequence

from ..lazy import torch
from pydantic import BaseModel, ConfigDict, ValidationError

from ..errors import RecipeError, UserError, model_problems
from ..motion.types import Trajectories
from ..recipe.schema import BackendSpec
from ..registry import Registry
from ..scene.types import Scene
from .types import Frames

if TYPE_CHECKING:
    from ..recipe.schema import RecipeSpec

__all__ = ["Backend", "BackendSettings", "BACKENDS", "backend_class", "backend_settings", "resolve_device",
           "make_backend"]


class BackendSettings(BaseModel):
    """Base of every backend's settings: frozen, unknown keys refused. The two properties tell the run
    stage what one render call holds in memory, before any backend is built."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @property
    def clips_per_batch(self) -> int:
        """Clips one ``render_many`` call renders together."""
        return 1

    @property
    def rays_per_pixel(self) -> int:
        """Rays (or samples) per output pixel, for memory estimates."""
        return 1

    def window_step(self, spec: "RecipeSpec") -> int:
        """What a window's length is a multiple of when a long clip of ``spec`` is made in windows of
        frames (:mod:`synthdata.run.windows`): a window's frames must render as the whole clip's
        (frame-local rendering, :meth:`Backend.render_window`). 0: whole clips only (the default)."""
        return 0

    @property
    def amodal_maps_per_clip(self) -> bool:
        """Whether a worker holds the clip's (T,N,H,W) amodal maps (a byte per object per clip pixel),
        for memory estimates; the ray-caster reduces them batch by batch on the shard path."""
        return True


class Backend(ABC):
    """Base of every backend. Subclasses set ``name`` and ``Settings`` and implement :meth:`render`.

    ``render`` must be deterministic: the same (scene, traj) on the same device type gives the same
    tensors. Backends that batch across clips override :meth:`render_many` and ``Settings.clips_per_batch``.
    """

    name: ClassVar[str] = ""
    Settings: ClassVar[type[BackendSettings]] = BackendSettings

    def __init__(self, settings: BackendSettings | None = None, device: torch.device | str = "cpu"):
        self.settings = settings if settings is not None else self.Settings()
        if not isinstance(self.settings, self.Settings):
            raise TypeError(f"{type(self).__name__} takes {self.Settings.__name__}, got {type(self.settings).__name__}")
        self.device = torch.device(device)

    @property
    def clip_batch(self) -> int:
        """How many clips the shard runner hands to one :meth:`render_many` call."""
        return max(1, self.settings.clips_per_batch)

    @classmethod
    def check(cls, spec: "RecipeSpec") -> list[tuple[str, str]]:
        """Problems (field, message) knowable before weights load or a device is touched; the recipe's
        names and ``backend`` settings are already valid when this runs."""
        return []

    @abstractmethod
    def render(self, scene: Scene, traj: Trajectories) -> Frames:
        """Every frame of one clip, at ``scene.camera``'s size."""

    def render_many(self, items: Sequence[tuple[Scene, Trajectories]]) -> list[Frames]:
        """Several clips of one recipe; the default renders them one at a time."""
        return [self.render(scene, traj) for scene, traj in items]

    def render_window(self, scene: Scene, traj: Trajectories, first: int, stop: int,
                      before: Frames | None = None, exposure_state: torch.Tensor | None = None) -> Frames:
        """Frames ``first`` … ``stop - 1`` of one clip (``traj`` the whole clip's), as :meth:`render`
        gives them, after ``before`` (frames rendered earlier, carried over) when given; state that runs
        from frame to frame (auto-exposure: ``exposure_state``, the last window's) continues. The default
        renders the whole clip and keeps the window (correct, not lean): a backend that renders frames
        on their own overrides it and says so in ``Settings.window_step``."""
        window = self.render(scene, traj).frames(first, stop)
        return window if before is None else Frames.cat([before, window])


#: name → Backend subclass, constructed as ``cls(settings, device)``.
BACKENDS: Registry[type[Backend]] = Registry("backend", "synthdata.backends")


def backend_class(name: str) -> type[Backend]:
    cls = BACKENDS.get(name, "backend.name")
    if not (isinstance(cls, type) and issubclass(cls, Backend)):
        raise UserError("backend.name", f"{name!r} is registered as {cls!r}, which is not a synthdata.render.Backend "
                                        "subclass")
    return cls


def backend_settings(spec: BackendSpec) -> BackendSettings:
    """The recipe's ``backend`` block validated against its backend's own settings model; a problem
    raises :class:`RecipeError` naming ``backend.<field>``."""
    cls = backend_class(spec.name)
    try:
        return cls.Settings.model_validate(spec.settings)
    except ValidationError as exc:
        raise _settings_problems(exc, cls) from None


def _settings_problems(exc: ValidationError, cls: type[Backend]) -> RecipeError:
    err = model_problems(exc, "backend", cls.Settings)
    known = ", ".join(cls.Settings.model_fields) or "none"
    return RecipeError([(f, f"unknown setting of backend {cls.name!r}; expected one of: {known}"
                         if m.startswith("unknown field") else m) for f, m in err.problems])


def resolve_device(device: str) -> torch.device:
    """``auto`` → CUDA when present, else CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise UserError("device", f"{device!r} requested but CUDA is not available; use device=cpu or auto")
    dev = torch.device(device)
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise UserError("device", f"{device!r} requested but this machine has {torch.cuda.device_count()} CUDA GPU(s)")
    return dev


def make_backend(spec: BackendSpec, device: str | torch.device) -> Backend:
    dev = device if isinstance(device, torch.device) else resolve_device(device)
    return backend_class(spec.name)(backend_settings(spec), dev)
