"""A small per-frame segmentation net for label fidelity: trained on a dataset's RGB → semantic maps
(ray-cast or real clips), then applied to generated clips; its mIoU against the conditioning layout
says whether the generator drew what the labels claim. Built and trained here, no weights needed.

Shapes: images (B,3,H,W) in [0, 1] → logits (B,K,H,W).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["SegNet", "Segmenter", "train_segmenter"]


class SegNet(nn.Module):
    """Encoder-decoder of 3×3 convolutions with one skip, two 2× downsamplings (~60k parameters)."""

    def __init__(self, num_classes: int, width: int = 32):
        super().__init__()

        def block(i: int, o: int, stride: int = 1) -> nn.Sequential:
            return nn.Sequential(nn.Conv2d(i, o, 3, stride, 1), nn.GroupNorm(8, o), nn.SiLU())

        self.enc1 = block(3, width)
        self.enc2 = nn.Sequential(block(width, width, 2), block(width, width))
        self.enc3 = nn.Sequential(block(width, width, 2), block(width, width))
        self.dec2 = block(2 * width, width)
        self.dec1 = block(2 * width, width)
        self.head = nn.Conv2d(width, num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e1 = self.enc1(x)
        e2 = self.enc2(e1)
        e3 = self.enc3(e2)
        d2 = self.dec2(torch.cat([F.interpolate(e3, size=e2.shape[-2:]), e2], 1))
        d1 = self.dec1(torch.cat([F.interpolate(d2, size=e1.shape[-2:]), e1], 1))
        return self.head(d1)


@dataclass
class Segmenter:
    net: SegNet
    class_names: list[str]

    @torch.no_grad()
    def predict(self, images: torch.Tensor, batch: int = 64) -> torch.Tensor:
        """(B,3,H,W) in [0, 1] → (B,H,W) class ids (0 = background)."""
        self.net.eval()
        dev = next(self.net.parameters()).device
        return torch.cat([self.net(images[i:i + batch].to(dev)).argmax(1).cpu() for i in range(0, len(images), batch)])


def train_segmenter(images: torch.Tensor, labels: torch.Tensor, class_names: list[str], steps: int = 300,
                    batch: int = 16, lr: float = 3e-3, seed: int = 0, device: str | torch.device = "cpu") -> Segmenter:
    """Cross-entropy on random frames; ``images`` (N,3,H,W) in [0, 1], ``labels`` (N,H,W)."""
    g = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = SegNet(len(class_names) + 1).to(device)
    opt = torch.optim.AdamW(net.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    net.train()
    for _ in range(steps):
        idx = torch.randint(len(images), (min(batch, len(images)),), generator=g)
        loss = F.cross_entropy(net(images[idx].to(device)), labels[idx].long().to(device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    return Segmenter(net.eval(), list(class_names))
