"""What the generator backends share: settings, a ray-cast pass for the labels, clip batching.

Both ``diffusion`` and ``diffusers_pipeline`` paint pixels over the G-buffer of a ray-cast pass of the
same scene: every label comes from that pass, only ``rgb`` is generated. The ray-caster gets its own
:class:`RaycastSettings` (``backend.raycast``), never the generator's settings.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Literal, Sequence

import numpy as np
from ....lazy import torch
from pydantic import Field

from ....motion.types import Trajectories
from ....scene.types import Scene
from ...backend import Backend, BackendSettings
from ...raycast import RaycastBackend, RaycastSettings
from ...types import Frames

__all__ = ["GeneratorBackend", "GeneratorSettings", "semantic_of"]


def semantic_of(scene: Scene, instance: torch.Tensor) -> torch.Tensor:
    """(T,H,W) instance ids → the recipe's class ids (0 = background)."""
    table = torch.as_tensor(np.concatenate([[0], scene.objects.class_id]), device=instance.device)
    return table[instance.long()]


class GeneratorSettings(BackendSettings):
    """Settings every generator backend has. ``clip_batch`` clips are sampled together; ``guidance`` is
    the classifier-free guidance scale (1 = off); ``attention_chunk`` caps the batch of one temporal
    attention call (CUDA grid limit); ``precision: auto`` is bf16 on CUDA, fp32 elsewhere."""

    steps: int = Field(25, ge=1, le=1000)
    guidance: float = Field(2.0, ge=0.0, le=50.0)
    clip_batch: int = Field(8, ge=1, le=1024)
    attention_chunk: int = Field(65535, ge=1)
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"
    raycast: RaycastSettings = RaycastSettings()

    @property
    def clips_per_batch(self) -> int:
        return self.clip_batch

    @property
    def rays_per_pixel(self) -> int:
        return self.raycast.rays_per_pixel


class GeneratorBackend(Backend):
    """Base of backends whose pixels come from a generator: ``render`` is the one-clip case of
    ``render_many``, and :meth:`gbuffer` is the ray-cast pass every label comes from."""

    settings: GeneratorSettings

    def __init__(self, settings: GeneratorSettings | None = None, device: torch.device | str = "cpu"):
        super().__init__(settings, device)
        self.raycaster = RaycastBackend(self.settings.raycast, self.device)

    def gbuffer(self, scene: Scene, traj: Trajectories) -> Frames:
        return self.raycaster.render(scene, traj)

    def render(self, scene: Scene, traj: Trajectories) -> Frames:
        return self.render_many([(scene, traj)])[0]

    @abstractmethod
    def render_many(self, items: Sequence[tuple[Scene, Trajectories]]) -> list[Frames]:
        """Every clip's G-buffer with generated ``rgb``."""
