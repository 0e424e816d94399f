"""Amodal coverage reduced to what the labels read: per frame and object, the box, the pixel count and
whether it touches the image border. A (T,N,H,W) coverage map is a byte per object per clip pixel (the
largest map of a busy driving clip); these summaries are exact per frame, so a renderer can reduce
each trace batch as it goes and never hold the clip's maps (:attr:`Frames.coverage`)."""

from __future__ import annotations

from dataclasses import dataclass

from ..lazy import torch

__all__ = ["Coverage", "coverage_boxes", "first_last"]


def first_last(any_: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """First and one-past-last True index along the last axis. Shape: (...,L) → (...), (...)."""
    L = any_.shape[-1]
    idx = torch.arange(L, device=any_.device)
    first = torch.where(any_, idx, L).amin(-1)
    last = torch.where(any_, idx, -1).amax(-1) + 1
    return first, last


def coverage_boxes(cover: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Boxes, pixel counts and border contact of coverage masks.

    Shape: cover (...,H,W) bool → boxes (...,4) float32 ``[x0,y0,x1,y1]`` (NaN when empty),
    pixels (...) int64, touches_border (...) bool.
    """
    row_counts = cover.view(torch.uint8).sum(-1, dtype=torch.int16 if cover.shape[-1] < 2**15 else torch.int32)
    rows, cols = row_counts > 0, cover.any(-2)
    y0, y1 = first_last(rows)
    x0, x1 = first_last(cols)
    box = torch.stack([x0, y0, x1, y1], -1).to(torch.float32)
    box = torch.where(rows.any(-1)[..., None], box, torch.full_like(box, float("nan")))
    border = rows[..., 0] | rows[..., -1] | cols[..., 0] | cols[..., -1]
    return box, row_counts.sum(-1, dtype=torch.int64), border


@dataclass
class Coverage:
    """:func:`coverage_boxes` of a clip's amodal maps. Shape: boxes (T,N,4) float32 (NaN when empty),
    pixels (T,N) int64, border (T,N) bool."""

    boxes: torch.Tensor
    pixels: torch.Tensor
    border: torch.Tensor

    @classmethod
    def of(cls, amodal: torch.Tensor) -> "Coverage":
        """From maps (T,N,H,W) bool."""
        return cls(*coverage_boxes(amodal))

    @classmethod
    def cat(cls, parts: list["Coverage"]) -> "Coverage":
        """Consecutive frame batches' coverage as one clip's."""
        return cls(*(torch.cat([getattr(p, k) for p in parts]) for k in ("boxes", "pixels", "border")))
