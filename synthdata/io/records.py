"""The typed hand-off from the generating stages to the sinks: one finished clip."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..annotate.types import Annotations
from ..motion.types import Trajectories

__all__ = ["ClipRecord"]


@dataclass(frozen=True)
class ClipRecord:
    clip_id: str
    clip_index: int
    seed: int
    params: dict[str, Any]  # what the scene sampler drew (JSON-able)
    traj: Trajectories  # poses, intrinsics, fps and timestamps
    rgb: np.ndarray  # (T,H,W,3) uint8
    annotations: Annotations  # every label, on the host
