"""Quality metrics for generated data: label fidelity (segmentation mIoU against the layout), temporal
consistency (flow warp error), PSNR/SSIM against a source. ``synthdata evaluate`` runs them."""

from .metrics import miou, video_psnr, video_ssim, warp_error
from .quality import evaluate_generated, segmenter_for
from .segmenter import SegNet, Segmenter, train_segmenter

__all__ = ["SegNet", "Segmenter", "evaluate_generated", "miou", "segmenter_for", "train_segmenter", "video_psnr",
           "video_ssim", "warp_error"]
