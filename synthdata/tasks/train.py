"""Training and scoring a task with a fixed budget: exactly ``steps`` optimizer steps of ``batch``
clips (the compute every ablation arm gets), and scoring every clip of an evaluation set."""

from __future__ import annotations

from typing import Callable, Sequence

import torch

from .base import Task, TaskScores

__all__ = ["train_task", "evaluate_task"]


def _to(labels: list[dict], device) -> list[dict]:
    return [{k: v.to(device) for k, v in lab.items()} for lab in labels]


def train_task(task: Task, model: torch.nn.Module, batch_at: Callable[[int], list], steps: int, lr: float,
               device: torch.device, on_step: Callable[[int, float], None] | None = None) -> list[tuple[int, float]]:
    """``steps`` AdamW steps on ``batch_at(step)`` (a list of ClipDataset items); returns [(step, loss)]."""
    from ..integrations.torch_dataset import collate_clips

    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    curve = []
    model.train()
    for step in range(steps):
        videos, labels = collate_clips(batch_at(step))
        loss = task.loss(model, videos.to(device).float() / 255.0, _to(labels, device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        curve.append((step + 1, float(loss.detach())))
        if on_step is not None:
            on_step(step + 1, curve[-1][1])
    return curve


@torch.no_grad()
def evaluate_task(task: Task, model: torch.nn.Module, dataset: Sequence, device: torch.device,
                  class_names: list[str] | None = None) -> TaskScores:
    """The task's metric on every clip of ``dataset`` (a ClipDataset), one clip per forward pass."""
    was = model.training
    model.eval()
    preds, labels = [], []
    for i in range(len(dataset)):
        video, lab = dataset[i]
        preds += task.predict(model, video[None].to(device).float() / 255.0)
        labels.append(lab)
    model.train(was)
    return task.score(preds, labels, class_names if class_names is not None else list(dataset.ds.class_names))
