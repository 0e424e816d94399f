"""``segment``: semantic segmentation per frame with a small UNet; metric mIoU.

mIoU is over the classes (background included) that occur in the ground truth or the predictions of
the evaluated set, from one confusion matrix over all its pixels; per clip, the same over that clip.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .base import Task, TaskScores

__all__ = ["SegmentTask", "UNet", "confusion", "miou"]


def _block(i: int, o: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(i, o, 3, padding=1), nn.GroupNorm(min(8, o), o), nn.SiLU(),
                         nn.Conv2d(o, o, 3, padding=1), nn.GroupNorm(min(8, o), o), nn.SiLU())


class UNet(nn.Module):
    """A UNet of ``depth`` 2× downsamplings. Shape: (B,3,H,W) → (B,K,H,W); H, W multiples of 2^depth."""

    def __init__(self, num_outputs: int, width: int = 16, depth: int = 2):
        super().__init__()
        chans = [width * 2 ** i for i in range(depth + 1)]
        self.down = nn.ModuleList([_block(3, chans[0])] + [_block(chans[i], chans[i + 1]) for i in range(depth)])
        self.up = nn.ModuleList([_block(chans[i + 1] + chans[i], chans[i]) for i in reversed(range(depth))])
        self.head = nn.Conv2d(chans[0], num_outputs, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for i, block in enumerate(self.down):
            x = block(x if i == 0 else F.max_pool2d(x, 2))
            skips.append(x)
        for block, skip in zip(self.up, reversed(skips[:-1])):
            x = block(torch.cat([F.interpolate(x, size=skip.shape[-2:], mode="nearest"), skip], 1))
        return self.head(x)


def confusion(pred: np.ndarray, gt: np.ndarray, k: int) -> np.ndarray:
    """(k, k) counts, rows ground truth, columns prediction."""
    return np.bincount(gt.astype(np.int64).ravel() * k + pred.astype(np.int64).ravel(), minlength=k * k).reshape(k, k)


def miou(conf: np.ndarray) -> tuple[float, np.ndarray]:
    """(mean IoU over classes present in ground truth or prediction, IoU per class (NaN where absent))."""
    inter = np.diag(conf).astype(np.float64)
    union = conf.sum(0) + conf.sum(1) - inter
    iou = np.where(union > 0, inter / np.maximum(union, 1), np.nan)
    return (float(np.nanmean(iou)) if np.isfinite(iou).any() else 0.0), iou


class SegmentTask(Task):
    name = "segment"
    primary = "mIoU"
    display_scale = 100.0  # a fraction, shown in percent points
    maps_needed = ("semantic",)
    SIZES = {"tiny": {"width": 8, "depth": 2}, "small": {"width": 32, "depth": 3}}

    def build(self, num_classes: int, size: str) -> nn.Module:
        return UNet(num_classes + 1, **self.size(size))

    def _logits(self, model: nn.Module, videos: torch.Tensor) -> torch.Tensor:
        B, T = videos.shape[:2]
        return model(videos.flatten(0, 1)).unflatten(0, (B, T))  # (B,T,K,H,W)

    def loss(self, model, videos, labels):
        target = torch.stack([lab["semantic"] for lab in labels]).long()  # (B,T,H,W)
        return F.cross_entropy(self._logits(model, videos).flatten(0, 1), target.flatten(0, 1))

    @torch.no_grad()
    def predict(self, model, videos):
        masks = self._logits(model, videos).argmax(2).to(torch.uint8).cpu().numpy()
        return [{"mask": m} for m in masks]

    def score(self, predictions, labels, class_names):
        k = len(class_names) + 1
        per = [confusion(p["mask"], lab["semantic"].cpu().numpy(), k) for p, lab in zip(predictions, labels)]
        total, iou = miou(sum(per))
        names = ["background", *class_names]
        return TaskScores(
            primary=self.primary, summary={"mIoU": total, "pixel_accuracy": float(np.trace(sum(per)) / sum(per).sum())},
            per_class={n: float(v) for n, v in zip(names, iou) if np.isfinite(v)},
            per_clip=np.array([miou(c)[0] for c in per]),
            predictions={"kind": np.array("segment"), "masks": np.stack([p["mask"] for p in predictions])})
