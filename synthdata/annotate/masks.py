"""Label extraction from per-object masks, vectorised on the masks' device.

Shape: masks (R,H,W) bool — one row per (frame, object).
"""

from __future__ import annotations

import numpy as np
import torch
from pycocotools import mask as mask_utils

__all__ = ["mask_boxes", "touches_border", "rle_counts", "encode_rle"]


def _first_last(any_: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """First and one-past-last True index along the last axis. Shape: (R,L) → (R,), (R,)."""
    L = any_.shape[-1]
    idx = torch.arange(L, device=any_.device)
    first = torch.where(any_, idx, L).amin(-1)
    last = torch.where(any_, idx, -1).amax(-1) + 1
    return first, last


def mask_boxes(masks: torch.Tensor) -> torch.Tensor:
    """Tight ``[x0, y0, x1, y1]`` pixel boxes; NaN rows for empty masks. → (R,4) float32."""
    rows, cols = masks.any(-1), masks.any(-2)  # (R,H), (R,W)
    y0, y1 = _first_last(rows)
    x0, x1 = _first_last(cols)
    box = torch.stack([x0, y0, x1, y1], -1).to(torch.float32)
    return torch.where(rows.any(-1)[:, None], box, torch.full_like(box, float("nan")))


def touches_border(masks: torch.Tensor) -> torch.Tensor:
    """Whether a mask reaches the image edge (the object is cut by the frame). → (R,) bool."""
    return masks[:, 0].any(-1) | masks[:, -1].any(-1) | masks[:, :, 0].any(-1) | masks[:, :, -1].any(-1)


def rle_counts(masks: torch.Tensor) -> list[np.ndarray]:
    """COCO run lengths (column-major, starting with a run of zeros) of every mask.

    The change points are found on the device in one pass; only their positions come to the host.
    """
    R, H, W = masks.shape
    n = H * W
    flat = masks.transpose(1, 2).reshape(R, n)
    change = torch.zeros(R, n + 1, dtype=torch.bool, device=masks.device)
    change[:, 0] = flat[:, 0]  # a mask starting with 1 opens with an empty run of zeros
    change[:, 1:n] = flat[:, 1:] != flat[:, :-1]
    row, pos = change.nonzero(as_tuple=True)
    row, pos = row.cpu().numpy(), pos.cpu().numpy()
    splits = np.searchsorted(row, np.arange(1, R))
    out = []
    for p in np.split(pos, splits):
        bounds = np.concatenate([[0], p, [n]])
        out.append(np.diff(bounds))
    return out


def encode_rle(masks: torch.Tensor) -> list[str]:
    """COCO compressed RLE strings (as pycocotools ``encode`` would give). → R strings."""
    R, H, W = masks.shape
    if R == 0:
        return []
    objs = [{"counts": c.tolist(), "size": [H, W]} for c in rle_counts(masks)]
    return [r["counts"].decode("ascii") for r in mask_utils.frPyObjects(objs, H, W)]
