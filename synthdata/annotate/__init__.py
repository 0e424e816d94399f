"""Annotations from the G-buffer: boxes, masks (COCO RLE), visibility, 3D boxes, semantic maps."""

from .annotate import annotate
from .masks import coverage_boxes, instance_rle_counts, instance_rles, instance_stats
from .types import Annotations

__all__ = ["Annotations", "annotate", "coverage_boxes", "instance_rle_counts", "instance_rles", "instance_stats"]
