"""Annotations from the G-buffer: boxes, masks (COCO RLE), visibility, 3D boxes, semantic maps."""

from .annotate import annotate
from .masks import encode_rle, mask_boxes, rle_counts
from .types import Annotations

__all__ = ["Annotations", "annotate", "encode_rle", "mask_boxes", "rle_counts"]
