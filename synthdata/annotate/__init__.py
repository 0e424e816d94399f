"""Annotations from the G-buffer: boxes, masks (COCO RLE), visibility, semantic maps, and every registered
label kind (3D boxes, normals, keypoints, point tracks, …; see :mod:`.kinds`).

Importing the package registers the built-in label kinds without importing torch (dataset readers need
their column types only); ``annotate`` and the mask helpers load on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from . import box3d as _box3d, flow_valid as _flow_valid, keypoints as _keypoints, normals as _normals  # noqa: F401
from . import embedded as _embedded, tracks as _tracks, truncation as _truncation, velocity as _velocity  # noqa: F401
# (built-in kinds)
from .kinds import LABEL_KINDS, LabelKind, enabled_kinds, kinds_of_table, label_context, switches
from .types import Annotations

_LAZY = {"annotate": "compute", "maps_read": "compute", "window_of": "compute", "coverage_boxes": "masks", "instance_rle_counts": "masks",
         "instance_rles": "masks", "instance_stats": "masks"}

__all__ = ["Annotations", "LABEL_KINDS", "LabelKind", "enabled_kinds", "kinds_of_table", "label_context", "switches",
           *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
