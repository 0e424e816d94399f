"""Downstream tasks an ablation trains and scores: ``segment`` (UNet, mIoU), ``detect`` (CenterNet-style,
COCO mAP), ``classify`` (TimeSformer-style, accuracy). Each has a ``tiny`` (CPU tests) and a ``small``
(GPU) size. Add your own by subclassing :class:`Task` and registering it in the ``synthdata.tasks``
entry-point group (docs/tasks.md)."""

from ..registry import Registry
from .base import Task, TaskScores, TaskSettings
from .classify import ClassifyTask  # docs/tasks.md: subclass it for a target of your own
from .train import evaluate_task, train_task

#: name → Task subclass
TASKS: Registry[type[Task]] = Registry("task", "synthdata.tasks")
TASKS.register_lazy("segment", "synthdata.tasks.segment:SegmentTask")
TASKS.register_lazy("detect", "synthdata.tasks.detect:DetectTask")
TASKS.register_lazy("classify", "synthdata.tasks.classify:ClassifyTask")

__all__ = ["TASKS", "Task", "TaskScores", "TaskSettings", "ClassifyTask", "evaluate_task", "train_task"]
