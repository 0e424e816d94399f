"""Amodal coverage reduced to what the labels read: per frame and object, the box, the pixel count and
whether it touches the image border. A (T,N,H,W) coverage map is a byte per object per clip pixel (the
largest map of a busy driving clip); these summaries are exact per frame, so a renderer can reduce
each trace batch as it goes and never hold the clip's maps (:attr:`Frames.coverage`)."""

from __future__ import annotations

from dataclasses import dataclass

from ..lazy import torch

__all__ = ["Coverage", "coverage_boxes", "first_last", "view_edge"]


def first_last(any_: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """First and one-past-last True index along the last axis. Shape: (...,L) → (...), (...)."""
    L = any_.shape[-1]
    idx = torch.arange(L, device=any_.device)
    first = torch.where(any_, idx, L).amin(-1)
    last = torch.where(any_, idx, -1).amax(-1) + 1
    return first, last


def view_edge(view) -> torch.Tensor | None:
    """The pixels where the picture ends, for a field stop's ``view`` (H,W) bool (numpy or torch; see
    :func:`synthdata.scene.optics.field_view`): view pixels on the image border or next to a pixel
    outside the view. An object whose coverage reaches them is cut off (``truncated``), as one that
    reaches the image border is. None without a stop (the image border alone)."""
    if view is None:
        return None
    v = torch.as_tensor(view, dtype=torch.bool)
    inner = torch.zeros_like(v)
    inner[1:-1, 1:-1] = v[1:-1, 1:-1] & v[:-2, 1:-1] & v[2:, 1:-1] & v[1:-1, :-2] & v[1:-1, 2:]
    return v & ~inner


def coverage_boxes(cover: torch.Tensor, edge: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Boxes, pixel counts and border contact of coverage masks: contact with the image border, or
    with ``edge`` (H,W) bool when given (:func:`view_edge`: a field stop's circle).

    Shape: cover (...,H,W) bool → boxes (...,4) float32 ``[x0,y0,x1,y1]`` (NaN when empty),
    pixels (...) int64, touches_border (...) bool.
    """
    row_counts = cover.view(torch.uint8).sum(-1, dtype=torch.int16 if cover.shape[-1] < 2**15 else torch.int32)
    rows, cols = row_counts > 0, cover.any(-2)
    y0, y1 = first_last(rows)
    x0, x1 = first_last(cols)
    box = torch.stack([x0, y0, x1, y1], -1).to(torch.float32)
    box = torch.where(rows.any(-1)[..., None], box, torch.full_like(box, float("nan")))
    if edge is None:
        border = rows[..., 0] | rows[..., -1] | cols[..., 0] | cols[..., -1]
    else:
        border = (cover & edge.to(cover.device)).flatten(-2).any(-1)
    return box, row_counts.sum(-1, dtype=torch.int64), border


@dataclass
class Coverage:
    """:func:`coverage_boxes` of a clip's amodal maps. Shape: boxes (T,N,4) float32 (NaN when empty),
    pixels (T,N) int64, border (T,N) bool."""

    boxes: torch.Tensor
    pixels: torch.Tensor
    border: torch.Tensor

    @classmethod
    def of(cls, amodal: torch.Tensor, edge: torch.Tensor | None = None) -> "Coverage":
        """From maps (T,N,H,W) bool; ``edge`` as in :func:`coverage_boxes`."""
        return cls(*coverage_boxes(amodal, edge))

    @classmethod
    def cat(cls, parts: list["Coverage"]) -> "Coverage":
        """Consecutive frame batches' coverage as one clip's."""
        return cls(*(torch.cat([getattr(p, k) for p in parts]) for k in ("boxes", "pixels", "border")))
