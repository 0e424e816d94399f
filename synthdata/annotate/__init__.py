"""Annotations from the G-buffer: boxes, masks (COCO RLE), visibility, semantic maps, and every registered
label kind (3D boxes, normals, …; see :mod:`.kinds`)."""

from . import box3d as _box3d, normals as _normals  # noqa: F401  (register the built-in label kinds)
from .annotate import annotate, switches
from .kinds import LABEL_KINDS, LabelKind, enabled_kinds, kinds_of_table
from .masks import coverage_boxes, instance_rle_counts, instance_rles, instance_stats
from .types import Annotations

__all__ = ["Annotations", "LABEL_KINDS", "LabelKind", "annotate", "enabled_kinds", "kinds_of_table", "switches", "coverage_boxes", "instance_rle_counts", "instance_rles", "instance_stats"]
