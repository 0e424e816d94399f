"""Weight-free quality metrics for generated clips (kornia.metrics where one exists).

Shapes: video (T,3,H,W) float in [0, 1]; flow (T,H,W,2) pixels; label maps (T,H,W) int.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from kornia.metrics import confusion_matrix, psnr, ssim

__all__ = ["video_psnr", "video_ssim", "warp_error", "confusion", "iou_from_confusion", "miou"]


def video_psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """PSNR in dB of two clips, over all frames (kornia.metrics.psnr, max value 1)."""
    return float(psnr(a.float(), b.float(), 1.0))


def video_ssim(a: torch.Tensor, b: torch.Tensor, window: int = 7) -> float:
    """Mean SSIM over frames and pixels (kornia.metrics.ssim)."""
    return float(ssim(a.float(), b.float(), window).mean())


def _sample(img: torch.Tensor, xy: torch.Tensor, mode: str = "bilinear") -> torch.Tensor:
    """img (T,C,H,W) sampled at pixel coordinates xy (T,H,W,2) → (T,C,H,W); zeros outside."""
    H, W = img.shape[-2:]
    grid = torch.stack([(xy[..., 0] + 0.5) / W * 2 - 1, (xy[..., 1] + 0.5) / H * 2 - 1], dim=-1)
    return F.grid_sample(img, grid, mode=mode, padding_mode="zeros", align_corners=False)


def warp_error(video: torch.Tensor, flow_bwd: torch.Tensor, instance: torch.Tensor | None = None) -> float:
    """Photometric temporal-consistency error: frame t against frame t−1 warped along the ground-truth
    backward flow, mean absolute difference over valid pixels (flow finite and in the frame; with
    ``instance`` also the same object at both ends, which drops disocclusions). 0 = perfectly
    consistent; compare against the ray-cast render of the same layout."""
    T, _, H, W = video.shape
    if T < 2:
        return 0.0
    ys, xs = torch.meshgrid(torch.arange(H, dtype=torch.float32), torch.arange(W, dtype=torch.float32), indexing="ij")
    flow = flow_bwd[1:].float()
    src = torch.stack([xs, ys], -1)[None] + flow.nan_to_num(0.0)
    valid = torch.isfinite(flow).all(-1)
    valid &= (src[..., 0] >= 0) & (src[..., 0] <= W - 1) & (src[..., 1] >= 0) & (src[..., 1] <= H - 1)
    warped = _sample(video[:-1].float(), src)
    if instance is not None:
        prev_id = _sample(instance[:-1, None].float(), src, mode="nearest")[:, 0]
        valid &= prev_id == instance[1:].float()
    err = (warped - video[1:].float()).abs().mean(1)  # (T-1,H,W)
    return float(err[valid].mean()) if bool(valid.any()) else float("nan")


def confusion(pred: torch.Tensor, target: torch.Tensor, num_classes: int) -> torch.Tensor:
    """(K,K) counts, rows = target class, columns = predicted class, summed over every pixel."""
    return confusion_matrix(pred.reshape(1, -1).long(), target.reshape(1, -1).long(), num_classes)[0]


def iou_from_confusion(cm: torch.Tensor) -> torch.Tensor:
    """(K,) IoU per class; NaN for classes absent from both target and prediction."""
    cm = cm.double()
    inter = cm.diag()
    union = cm.sum(0) + cm.sum(1) - inter
    return torch.where(union > 0, inter / union.clamp(min=1), torch.full_like(inter, float("nan")))


def miou(pred: torch.Tensor, target: torch.Tensor, num_classes: int) -> float:
    """Dataset-level mean IoU over the classes that occur (background included)."""
    return float(iou_from_confusion(confusion(pred, target, num_classes)).nanmean())
