"""Label-safe video augmentation (kornia): geometric ops move every label with the pixels, photometric
and depth-aware ops change pixels only. Named pipelines live in ``recipes/augment/`` (docs/augment.md).

Built on kornia's functional core (``warp_perspective``, ``kornia.enhance``, ``kornia.filters``, the
differentiable JPEG codec) rather than ``AugmentationSequential``/``VideoSequential``: those draw their
parameters from torch's global RNG and resample flow as an image, while here every draw comes from the
item's own seed and flow vectors are transformed (see :mod:`.warp`).

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
