"""The downstream-task contract: what an ablation trains and scores per arm × seed.

Shapes (documented once): ``videos`` (B,T,3,H,W) float in [0, 1]; ``labels`` one dict per clip as
:class:`~synthdata.integrations.torch_dataset.ClipDataset` yields them (``boxes`` (M,4) xyxy pixels of
the visible (frame, object) rows, ``frame_index`` (M,), ``class_id`` (M,) 1-based, maps such as
``semantic`` (T,H,W)). Class ids are 1-based; 0 is background.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, ValidationError
from torch import nn

from ..errors import model_problems

__all__ = ["Task", "TaskSettings", "TaskScores"]


class TaskSettings(BaseModel):
    """Base of a task's settings (``task.settings`` in an ablation config): frozen, no unknown keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass
class TaskScores:
    """A model's scores on an evaluation set. ``primary`` names the metric arms are compared on
    (higher is better); ``per_clip`` (C,) is that metric per evaluation clip, in the set's order (the
    unit the bootstrap resamples); ``predictions`` are plain arrays for FiftyOne (see
    ``synthdata.evaluate.ablate.to_fiftyone``), with ``kind`` naming the task kind."""

    primary: str
    summary: dict[str, float]
    per_class: dict[str, float]
    per_clip: np.ndarray
    predictions: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def value(self) -> float:
        return float(self.summary[self.primary])


class Task(ABC):
    """A downstream task: its model, loss, predictions and metric. Subclasses set ``name``, ``primary``,
    ``maps_needed``, ``SIZES`` (size name → model kwargs, at least ``tiny`` and ``small``) and
    optionally ``Settings``; register the class in ``TASKS`` (or the ``synthdata.tasks`` entry-point group)."""

    name: ClassVar[str] = ""
    primary: ClassVar[str] = ""
    #: the verdict lines show the primary metric × this (100: a fraction shown in percent points)
    display_scale: ClassVar[float] = 1.0
    maps_needed: ClassVar[tuple[str, ...]] = ()
    SIZES: ClassVar[dict[str, dict[str, Any]]] = {}
    Settings: ClassVar[type[TaskSettings]] = TaskSettings

    def __init__(self, **settings: Any):
        try:
            self.settings = self.Settings.model_validate(settings)
        except ValidationError as exc:
            raise model_problems(exc, "task.settings") from None

    def size(self, size: str) -> dict[str, Any]:
        from ..errors import UserError

        if size not in self.SIZES:
            raise UserError("task.size", f"task {self.name!r} has sizes {', '.join(self.SIZES)}, not {size!r}")
        return dict(self.SIZES[size])

    @abstractmethod
    def build(self, num_classes: int, size: str) -> nn.Module:
        """A fresh model (its initial weights come from torch's RNG, seeded by the caller)."""

    @abstractmethod
    def loss(self, model: nn.Module, videos: torch.Tensor, labels: list[dict[str, torch.Tensor]]) -> torch.Tensor:
        """The training loss of a batch (scalar)."""

    @abstractmethod
    def predict(self, model: nn.Module, videos: torch.Tensor) -> list[dict[str, np.ndarray]]:
        """Predictions per clip of a batch, as host arrays."""

    @abstractmethod
    def score(self, predictions: list[dict[str, np.ndarray]], labels: list[dict[str, torch.Tensor]],
              class_names: list[str]) -> TaskScores:
        """The metric over all clips (and per clip) of an evaluation set."""
