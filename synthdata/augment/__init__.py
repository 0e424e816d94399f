"""Label-safe video augmentation (kornia): geometric ops move every label with the pixels, photometric
and depth-aware ops change pixels only. Named pipelines live in ``recipes/augment/`` (docs/augment.md).

Usable at training time (``ClipDataset(ds, transform=load_pipeline("light"))``, an ablation arm's
``augment:``) on CPU or CUDA tensors.
"""

from . import paramcrop as _paramcrop  # noqa: F401  (registers the paramcrop op)
from .ops import AUGMENTATIONS, Op, register_op
from .paramcrop import ParamCropModule, crop_homographies
from .pipeline import Pipeline, load_pipeline, pipeline_names
from .warp import warp_item

__all__ = ["AUGMENTATIONS", "Op", "register_op", "Pipeline", "load_pipeline", "pipeline_names", "warp_item",
           "ParamCropModule", "crop_homographies"]
