"""The typed hand-off from the generating stages to the sinks: one finished clip."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..annotate.types import Annotations
from ..motion.types import Trajectories
from ..render.types import Frames

__all__ = ["ClipRecord"]


@dataclass(frozen=True)
class ClipRecord:
    clip_id: str
    clip_index: int
    seed: int
    params: dict[str, Any]  # what the scene sampler drew (JSON-able)
    traj: Trajectories
    frames: Frames  # on the CPU
    annotations: Annotations
