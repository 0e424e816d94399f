"""Pictures written during training: the loss curve and a grid of samples next to their targets.

Drawn with Pillow alone (no plotting library in the core install).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from PIL import Image, ImageDraw

__all__ = ["plot_loss", "sample_grid"]


def plot_loss(steps: Sequence[int], losses: Sequence[float], path: Path, size: tuple[int, int] = (640, 360)) -> None:
    """Loss (log scale) against step, raw points plus a moving average."""
    W, H = size
    m = 48
    img = Image.new("RGB", size, "white")
    d = ImageDraw.Draw(img)
    d.rectangle([m, 12, W - 12, H - m], outline="black")
    d.text((m, H - m + 24), "step", fill="black")
    d.text((4, 4), "loss (log)", fill="black")
    if len(steps) >= 1:
        y = np.log10(np.clip(np.asarray(losses, dtype=np.float64), 1e-12, None))
        x = np.asarray(steps, dtype=np.float64)
        x0, x1 = x.min(), max(x.max(), x.min() + 1)
        y0, y1 = y.min(), max(y.max(), y.min() + 1e-6)

        def pt(xs, ys):
            return [(m + (a - x0) / (x1 - x0) * (W - 12 - m), H - m - (b - y0) / (y1 - y0) * (H - m - 12))
                    for a, b in zip(xs, ys)]

        d.point(pt(x, y), fill=(150, 170, 220))
        k = max(1, len(y) // 20)
        smooth = np.convolve(y, np.ones(k) / k, mode="valid")
        if len(smooth) > 1:
            d.line(pt(x[k - 1:], smooth), fill=(20, 60, 160), width=2)
        for v, pos in ((x0, m), (x1, W - 60)):
            d.text((pos, H - m + 6), f"{int(v)}", fill="black")
        d.text((4, 20), f"{10 ** y1:.3g}", fill="black")
        d.text((4, H - m - 12), f"{10 ** y0:.3g}", fill="black")
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)


def sample_grid(rows: Sequence[tuple[str, torch.Tensor]], path: Path) -> None:
    """Rows of clips (3,T,H,W) in [-1, 1], frames left to right, e.g. layout / sample / target."""
    tiles = []
    for _, clip in rows:
        frames = ((clip.float().clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 3, 0).cpu().numpy()
        tiles.append(np.concatenate(list(frames), axis=1))
    grid = np.concatenate(tiles, axis=0)
    scale = max(1, 256 // max(1, tiles[0].shape[0] // 1))
    img = Image.fromarray(grid)
    if scale > 1:
        img = img.resize((grid.shape[1] * min(scale, 4), grid.shape[0] * min(scale, 4)), Image.NEAREST)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)
