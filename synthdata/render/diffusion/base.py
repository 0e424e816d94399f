"""What the generator backends share: a ray-cast layout pass, and clip batching.

Both ``diffusion`` and ``diffusers_pipeline`` paint pixels over the ray-caster's G-buffer; the shard
runner hands them ``clip_batch`` clips at a time through ``render_many``.
"""

from __future__ import annotations

import numpy as np
import torch

from ...motion.types import Trajectories
from ...scene.types import Scene
from ..types import Frames

__all__ = ["LayoutPainter", "semantic_of"]


def semantic_of(scene: Scene, instance: torch.Tensor) -> torch.Tensor:
    """(T,H,W) instance ids → the recipe's class ids (0 = background)."""
    table = torch.as_tensor(np.concatenate([[0], scene.objects.class_id]), device=instance.device)
    return table[instance.long()]


class LayoutPainter:
    """Mixin for backends that batch across clips: they define ``render_many``; ``render`` is its
    one-clip case and ``clip_batch`` comes from the spec."""

    spec: object  # BackendSpec, with clip_batch

    @property
    def clip_batch(self) -> int:
        return self.spec.clip_batch

    def render(self, scene: Scene, traj: Trajectories, width: int, height: int) -> Frames:
        return self.render_many([(scene, traj)], width, height)[0]  # type: ignore[attr-defined]
