"""Annotations of one clip: one row per (frame, object), plus per-frame maps.

Rows are ordered frame-major: row r = frame_index * N + track_id. Every object has a row in every
frame, also when out of view (``in_view`` False, boxes NaN) — objects are never silently dropped.
Boxes are ``[x0, y0, x1, y1]`` in pixels, origin top-left, covering whole pixels (x1 = last col + 1).

Shape: R = T·N rows; boxes (R,4); semantic (T,H,W) class ids (0 background); maps on the host:
depth (T,H,W) float32 metres, flow_fwd/flow_bwd (T,H,W,2) float32 pixels, instance (T,H,W) uint16
(track_id + 1). ``labels`` holds every enabled registered label kind (:mod:`.kinds`) by name: (R, ...)
rows for objects-table kinds (e.g. ``box3d`` (R,10) = centre xyz, size lwh, quaternion xyzw in the
camera frame), (T, ...) for frames-table kinds (e.g. ``normals`` (T,H,W,3)), a dict of columns for a
kind with a table of its own (``tracks``).

A label switched off in the recipe's ``annotations`` block is ``None`` (or absent from ``labels``)
here, so no sink can write it: ``amodal`` → ``bbox_amodal``/``amodal_pixels``; maps by their own names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Annotations"]


@dataclass(frozen=True)
class Annotations:
    frame_index: np.ndarray  # (R,) int32
    track_id: np.ndarray  # (R,) int32, object index in the scene, stable over the clip
    class_id: np.ndarray  # (R,) int32
    bbox_visible: np.ndarray  # (R,4) float32
    bbox_amodal: np.ndarray | None  # (R,4) float32
    visible_pixels: np.ndarray  # (R,) int64
    amodal_pixels: np.ndarray | None  # (R,) int64
    visible_fraction: np.ndarray  # (R,) float32
    occluded: np.ndarray  # (R,) bool
    truncated: np.ndarray  # (R,) bool
    in_view: np.ndarray  # (R,) bool
    mask_rle: list[str]  # (R,) COCO compressed RLE counts of the visible mask ("" when masks are off)
    semantic: np.ndarray | None  # (T,H,W) uint8 or uint16
    depth: np.ndarray | None = None
    flow_fwd: np.ndarray | None = None
    flow_bwd: np.ndarray | None = None
    instance: np.ndarray | None = None
    num_frames: int = 0
    num_objects: int = 0
    labels: dict[str, Any] = field(default_factory=dict)  # enabled label kinds, by name

    @property
    def num_rows(self) -> int:
        return int(self.frame_index.shape[0])
