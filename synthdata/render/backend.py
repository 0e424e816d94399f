"""The Backend protocol and registry. A backend turns (Scene, Trajectories) into :class:`Frames`.

Every backend passes the shared contract tests in ``tests/render/test_backend_contract.py``.
"""

from __future__ import annotations

from typing import Protocol, Sequence, runtime_checkable

import torch

from ..motion.types import Trajectories
from ..recipe.schema import BackendSpec
from ..registry import Registry
from ..scene.types import Scene
from .types import Frames

__all__ = ["Backend", "BACKENDS", "resolve_device", "make_backend", "render_batch"]


@runtime_checkable
class Backend(Protocol):
    name: str
    device: torch.device

    def render(self, scene: Scene, traj: Trajectories, width: int, height: int) -> Frames:
        """Render every frame of one clip. Deterministic: same inputs give the same tensors."""
        ...


def render_batch(backend: Backend, items: Sequence[tuple[Scene, Trajectories]], width: int, height: int) -> list[Frames]:
    """Render several clips of one recipe. Backends that batch across clips (the diffusion backends)
    define ``render_many`` and a ``clip_batch`` size; the others render one clip at a time."""
    many = getattr(backend, "render_many", None)
    if many is not None:
        return many(items, width, height)
    return [backend.render(scene, traj, width, height) for scene, traj in items]


#: name → backend class, constructed as ``cls(spec: BackendSpec, device: torch.device)``.
BACKENDS: Registry[type] = Registry("backend", "synthdata.backends")


def resolve_device(device: str) -> torch.device:
    """``auto`` → CUDA when present, else CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        from ..errors import UserError

        raise UserError("device", f"{device!r} requested but CUDA is not available; use device=cpu or auto")
    return torch.device(device)


def make_backend(spec: BackendSpec, device: str | torch.device) -> Backend:
    cls = BACKENDS.get(spec.name, "backend.name")
    dev = device if isinstance(device, torch.device) else resolve_device(device)
    return cls(spec, dev)
