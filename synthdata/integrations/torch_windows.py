"""Collatable torch datasets: whole clips, single frames or windows of N frames, every item a dict of
fixed-shape tensors so ``DataLoader(ds.torch_dataset(), batch_size=8)`` needs no custom collate.

Objects are laid out densely per track: N = the most objects any clip of the dataset has, rows padded.
Item (T frames; T = 1 for ``unit="frame"``, whose video and maps then drop the T axis):

- ``video`` (T,3,H,W) uint8
- ``boxes`` (T,N,4) float32 visible boxes [x0, y0, x1, y1], NaN where the object is not visible
- ``boxes_amodal`` (T,N,4) float32 the object's whole in-frame extent, NaN where it is not in view
- ``visible`` (T,N) bool, ``visible_fraction`` (T,N) float32 (0 where not visible; NaN where a geometric
  augmentation cut into the object's extent, see :func:`synthdata.augment.warp.warp_item`)
- ``track_id`` (N,) int64, ``class_id`` (N,) int64: each object in view in any of the item's frames
  (hidden ones included); −1 and 0 (background) in the slots of objects out of view throughout, and padding
- ``keypoints`` (T,N,K,2) float32 and ``keypoint_visibility`` (T,N,K) int64 when the dataset has them (K:
  the most keypoints of any class, the same in every item; COCO v: 1 for a hidden object in view)
- maps asked for: ``depth`` (T,H,W) float32 (+inf where a ray meets the sky or the dark lumen;
  ``max_depth=`` is the depth range a model is trained on: depth beyond it, the sky's +inf and real
  surfaces farther away alike, becomes ``max_depth``, and ``depth_valid`` (T,H,W) bool is True only
  within it), ``semantic`` /
  ``instance`` (T,H,W) int64, ``flow_fwd``/``flow_bwd`` (T,H,W,2) float32, ``normals`` (T,H,W,3)
  and any other map of the dataset asked for by name (``flow_valid``, ``road`` …), cut to the item's frames
- point tracks when the dataset has them: ``points`` (P,T,2), ``points_visible`` (P,T), ``points_query_frame``
  (P,) (outside [0, T): the query lies outside the item's frames), ``points_track_id`` (P,)
- ``clip_index`` int64, ``frame_index`` (T,) int64, ``split`` str

``transform`` is the same hook as :class:`~synthdata.integrations.torch_dataset.ClipDataset`'s
(``transform((video, labels), seed)``, e.g. an augmentation pipeline from ``synthdata.augment``): it
sees the item's frames in ClipDataset's layout before they are laid out densely (point tracks cut to
them too), with a seed fixed by ``seed``, the epoch (:meth:`WindowDataset.set_epoch`) and the item's index;
the maps it needs (``maps_needed``) and uses (``maps_optional``) are loaded for it, and only the maps asked
for come back.
"""

from __future__ import annotations

from typing import Any, Literal, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from ..errors import UserError
from ..augment.warp import ROW_KEYS
from .torch_dataset import ClipDataset, item_seed, loaded_maps

__all__ = ["WindowDataset"]

Unit = Literal["clip", "frame", "window"]


class WindowDataset(Dataset):
    """Items of ``window`` consecutive frames every ``stride`` frames of each clip (``unit="window"``),
    single frames (``"frame"``) or whole clips (``"clip"``), from the clips of ``split`` (all when
    None)."""

    def __init__(self, ds, unit: Unit = "clip", window: int = 8, stride: int | None = None,
                 split: str | None = None, maps: Sequence[str] = ("depth", "semantic"), transform=None,
                 seed: int = 0, max_depth: float | None = None):
        if unit not in ("clip", "frame", "window"):
            raise UserError("unit", f"expected 'clip', 'frame' or 'window', got {unit!r}")
        for name, value in (("window", window), ("stride", stride)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise UserError(name, f"expected a whole number of frames ≥ 1, got {value!r}")
        if max_depth is not None and (isinstance(max_depth, bool) or not isinstance(max_depth, (int, float))
                                      or not max_depth > 0):
            raise UserError("max_depth", f"expected a positive number of metres or None, got {max_depth!r}")
        if isinstance(maps, str):
            raise UserError("maps", f"expected a list of map names such as ['depth'], got the string {maps!r}")
        clips = ds.clips
        splits = clips.column("split").to_pylist()
        if split is not None and all(s is None for s in splits):
            raise UserError("split", "this dataset's clips have no split (made before format 2, or imported from FiftyOne "
                                     "samples without a split field or tag); use split=None")
        if split is not None and split not in splits:
            have = sorted({s for s in splits if s is not None})
            raise UserError("split", f"expected one of this dataset's splits ({', '.join(have)}), got {split!r}")
        frames = clips.column("num_frames").to_pylist()
        length = {"clip": None, "frame": 1, "window": window}[unit]
        if length is not None and frames and length > max(frames):
            raise UserError("window", f"expected at most the clips' {max(frames)} frames, got {length}")
        step = int(stride or length or 1)
        self.items: list[tuple[int, int, int]] = []  # (clip position, first frame, frame count)
        for pos, (T, s) in enumerate(zip(frames, splits)):
            if split is not None and s != split:
                continue
            n = T if length is None else length
            self.items += [(pos, start, n) for start in range(0, T - n + 1, step)]
        self.ds, self.unit, self.splits, self.max_depth = ds, unit, splits, max_depth
        # every row in view (hidden objects keep their slot, class and v=1 keypoints), with the maps the
        # transform needs too (e.g. instance)
        self.clip_items = ClipDataset(ds, maps=loaded_maps(ds, maps, transform), rows="in_view")
        self.maps = tuple(maps)
        self.transform, self.seed, self.epoch = transform, seed, 0
        self.num_slots = max(clips.column("num_objects").to_pylist(), default=0)  # track ids are 0…N−1 per clip

    def __len__(self) -> int:
        return len(self.items)

    def set_epoch(self, epoch: int) -> None:
        """This epoch's augmentations, as :meth:`ClipDataset.set_epoch`."""
        self.epoch = int(epoch)

    def __getitem__(self, i: int) -> dict[str, Any]:
        pos, start, n = self.items[i]
        video, labels = self.clip_items[pos]
        video, labels = _frames(video, labels, start, n, self.clip_items.maps)
        if self.transform is not None:
            video, labels = self.transform((video, labels), seed=item_seed(self.seed, self.epoch, i))
        item = _dense(video, labels, self.num_slots, start, self.max_depth, self.maps)
        item["clip_index"] = torch.tensor(int(self.ds.clips.column("clip_index")[pos].as_py()))
        item["split"] = self.splits[pos] or ""
        if self.unit == "frame":
            for k in ("video", *self.maps, "depth_valid"):
                if k in item:
                    item[k] = item[k][0]
        return item


_PER_ROW = ROW_KEYS
#: point tracks' per-frame fields, (P,T,…): cut to a window's frames like the maps
_PER_POINT_FRAME = ("points", "points_visible")


def _frames(video: torch.Tensor, labels: dict, start: int, n: int, maps: Sequence[str]) -> tuple[torch.Tensor, dict]:
    """Frames [start, start + n) of a ClipDataset item, in its layout (rows re-indexed from 0); ``maps``:
    the item's map names."""
    keep = (labels["frame_index"] >= start) & (labels["frame_index"] < start + n)
    out = {k: (v[keep] if k in _PER_ROW else v[start:start + n] if k in maps
               else v[:, start:start + n] if k in _PER_POINT_FRAME else v) for k, v in labels.items()}
    out["frame_index"] = out["frame_index"] - start
    if "points_query_frame" in out:  # in the window's frames (outside [0, n): the query lies outside it)
        out["points_query_frame"] = out["points_query_frame"] - start
    return video[start:start + n], out


def _dense(video: torch.Tensor, labels: dict, slots: int, start: int, max_depth: float | None,
           maps: Sequence[str]) -> dict[str, Any]:
    """ClipDataset's per-row labels → per (frame, track slot) tensors, with the ``maps`` asked for.
    Slot = track_id (ids are 0…N−1 within a clip)."""
    T = video.shape[0]
    f, t = labels["frame_index"], labels["track_id"]
    boxes = torch.full((T, slots, 4), float("nan"))
    boxes[f, t] = labels["boxes"]
    amodal = torch.full((T, slots, 4), float("nan"))
    amodal[f, t] = labels["boxes_amodal"]
    frac = torch.zeros(T, slots)
    frac[f, t] = labels["visible_fraction"]
    track = torch.full((slots,), -1, dtype=torch.int64)
    cls = torch.zeros(slots, dtype=torch.int64)
    track[t], cls[t] = t, labels["class_id"]
    item: dict[str, Any] = {"video": video, "boxes": boxes, "boxes_amodal": amodal, "visible": ~torch.isnan(boxes[..., 0]),
                            "visible_fraction": frac, "track_id": track, "class_id": cls,
                            "frame_index": torch.arange(start, start + T)}
    if "keypoints" in labels:
        K = labels["keypoints"].shape[1]
        kp = torch.full((T, slots, K, 2), float("nan"))
        kv = torch.zeros(T, slots, K, dtype=torch.int64)
        kp[f, t], kv[f, t] = labels["keypoints"], labels["keypoint_visibility"]
        item["keypoints"], item["keypoint_visibility"] = kp, kv
    for k in maps:
        if k in labels:
            item[k] = labels[k]
    item.update({k: v for k, v in labels.items() if k.startswith("points")})  # point tracks, (P,T,…) and (P,)
    if max_depth is not None and "depth" in item:
        valid = torch.isfinite(item["depth"]) & (item["depth"] <= max_depth)
        item["depth"] = torch.where(valid, item["depth"], torch.full_like(item["depth"], float(max_depth)))
        item["depth_valid"] = valid
    return item
