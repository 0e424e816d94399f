"""``classify``: one label per clip with a TimeSformer-style model (Bertasius et al. 2021): patch
tokens, divided space-time attention (each block attends over time at every patch, then over space in
every frame), a class token; metric top-1 accuracy.

The clip's label is :func:`clip_label`: the class with the most visible pixels over the whole clip
(its main subject). Pass ``task.settings.label: largest`` (the default) or register a task subclass
with your own ``target`` to learn something else (an action, a weather class from ``params``).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .base import Task, TaskScores

__all__ = ["ClassifyTask", "TimeSformer", "clip_label"]


def clip_label(labels: dict[str, torch.Tensor]) -> int:
    """1-based class with the largest visible area summed over the clip (box areas; 0 if none)."""
    if len(labels["class_id"]) == 0:
        return 0
    b = labels["boxes"].float()
    area = ((b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])).clamp(min=0)
    classes = labels["class_id"].long()
    totals = torch.zeros(int(classes.max()) + 1).index_add_(0, classes.cpu(), area.cpu())
    return int(totals.argmax())


class _Block(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.nt, self.ns, self.nm = nn.LayerNorm(dim), nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.time = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.space = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

    def forward(self, x: torch.Tensor, cls: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B,T,P,D) patch tokens, cls (B,1,D)."""
        B, T, P, D = x.shape
        t = x.permute(0, 2, 1, 3).reshape(B * P, T, D)  # attend over time at each patch
        h = self.nt(t)
        t = t + self.time(h, h, h, need_weights=False)[0]
        x = t.reshape(B, P, T, D).permute(0, 2, 1, 3)
        s = torch.cat([cls.repeat_interleave(T, 0).reshape(B * T, 1, D), x.reshape(B * T, P, D)], 1)
        h = self.ns(s)
        s = s + self.space(h, h, h, need_weights=False)[0]  # attend over space (and the class token) per frame
        cls = s[:, :1].reshape(B, T, D).mean(1, keepdim=True)
        x = s[:, 1:].reshape(B, T, P, D)
        x = x + self.mlp(self.nm(x))
        cls = cls + self.mlp(self.nm(cls))
        return x, cls


class TimeSformer(nn.Module):
    """Shape: (B,T,3,H,W) → (B,K) logits; H, W multiples of ``patch``; at most ``max_frames`` frames."""

    def __init__(self, num_classes: int, dim: int = 32, depth: int = 1, heads: int = 2, patch: int = 8,
                 max_frames: int = 64, max_patches: int = 1024):
        super().__init__()
        self.patch = patch
        self.embed = nn.Conv2d(3, dim, patch, patch)
        self.pos = nn.Parameter(torch.zeros(1, 1, max_patches, dim))
        self.time_pos = nn.Parameter(torch.zeros(1, max_frames, 1, dim))
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        nn.init.trunc_normal_(self.pos, std=0.02)
        nn.init.trunc_normal_(self.time_pos, std=0.02)
        self.blocks = nn.ModuleList([_Block(dim, heads) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, num_classes)

    def forward(self, videos: torch.Tensor) -> torch.Tensor:
        B, T = videos.shape[:2]
        x = self.embed(videos.flatten(0, 1)).flatten(2).transpose(1, 2)  # (B·T,P,D)
        x = x.unflatten(0, (B, T))
        x = x + self.pos[:, :, :x.shape[2]] + self.time_pos[:, :T]
        cls = self.cls.expand(B, 1, -1)
        for block in self.blocks:
            x, cls = block(x, cls)
        return self.head(self.norm(cls[:, 0]))


class ClassifyTask(Task):
    name = "classify"
    primary = "accuracy"
    display_scale = 100.0  # a fraction, shown in percent points
    maps_needed = ()
    SIZES = {"tiny": {"dim": 32, "depth": 1, "heads": 2, "patch": 8},
             "small": {"dim": 192, "depth": 6, "heads": 6, "patch": 16}}

    def target(self, labels: dict[str, torch.Tensor]) -> int:
        return clip_label(labels)

    def build(self, num_classes: int, size: str):
        return TimeSformer(num_classes + 1, **self.size(size))  # class 0: a clip with no visible object

    def loss(self, model, videos, labels):
        y = torch.tensor([self.target(lab) for lab in labels], device=videos.device)
        return F.cross_entropy(model(videos), y)

    @torch.no_grad()
    def predict(self, model, videos):
        probs = model(videos).softmax(-1).float().cpu().numpy()
        return [{"probs": p} for p in probs]

    def score(self, predictions, labels, class_names):
        y = np.array([self.target(lab) for lab in labels])
        pred = np.array([int(p["probs"].argmax()) for p in predictions])
        correct = (pred == y).astype(np.float64)
        per_class = {class_names[c - 1]: float(correct[y == c].mean()) for c in np.unique(y) if c > 0}
        return TaskScores(primary=self.primary, summary={"accuracy": float(correct.mean())}, per_class=per_class,
                          per_clip=correct,
                          predictions={"kind": np.array("classify"), "probs": np.stack([p["probs"] for p in predictions])[:, 1:],
                                       "target": y})
