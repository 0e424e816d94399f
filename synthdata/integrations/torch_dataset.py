"""A torch ``Dataset`` over a synthdata dataset: one item per clip.

Item: ``(video, labels)`` with video (T,3,H,W) uint8 and labels a dict of tensors over M (frame, object)
rows — the rows with visible pixels (``rows="visible"``, the default: what a detector trains on), or
every row in view (``rows="in_view"``: hidden objects too, for amodal and keypoint training, with
``visible`` (M,) bool) —: ``boxes`` (M,4) float32 visible boxes [x0, y0, x1, y1] (NaN where the object
is hidden), ``boxes_amodal`` (M,4) the whole object's in-frame extent, ``frame_index`` (M,),
``track_id`` (M,), ``class_id`` (M,), ``visible_fraction`` (M,) (visible / amodal pixels; NaN after a
geometric augmentation that cut into the object's extent: see ``synthdata.augment``), and, when present and requested,
``depth`` (T,H,W) float32, ``semantic`` (T,H,W) int64, ``instance`` (T,H,W) int64,
``flow_fwd``/``flow_bwd`` (T,H,W,2) float32, ``normals`` (T,H,W,3) float32.
With keypoints: ``keypoints`` (M,K,2) float32 pixels and ``keypoint_visibility`` (M,K) int64 (COCO
0/1/2), K the most keypoints of any class, padded with NaN and 0 (``ds.skeletons`` names them), and
``keypoint_flip`` (M,K) int64: each keypoint's index in a mirror image (left ↔ right; the augmentations' flips use it).
With point tracks: ``points`` (P,T,2) float32 pixels, ``points_visible`` (P,T) bool, ``points_query_frame``
(P,), ``points_track_id`` (P,) (the object, -1 for the environment).
Clips have different M and P, so batch with :func:`collate_clips`.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pyarrow.compute as pc
import torch
from torch.utils.data import Dataset

from ..errors import UserError

__all__ = ["ClipDataset", "collate_clips", "FLOAT_MAPS", "ROWS"]

#: maps returned as float32 (the others are integer ids, returned as int64)
FLOAT_MAPS = ("depth", "flow_fwd", "flow_bwd", "normals")
#: which (frame, object) rows an item carries: the objects table's column that selects them
ROWS = {"visible": "visible_pixels", "in_view": "in_view"}


def loaded_maps(ds, maps: Sequence[str], transform=None) -> tuple[str, ...]:
    """The maps an item loads: those asked for (each must be one of the dataset's), then the ones the
    ``transform`` needs (``maps_needed``: refused when the dataset lacks one) and uses when present
    (``maps_optional``)."""
    if isinstance(maps, str):
        raise UserError("maps", f"expected a list of map names such as ['depth'], got the string {maps!r}")
    have = ds.clip(0).map_names() if len(ds) else None
    unknown = [m for m in maps if have is not None and m not in have]
    if unknown:
        raise UserError("maps", f"expected names of this dataset's maps ({', '.join(have)}), got {unknown[0]!r}")
    needed = tuple(getattr(transform, "maps_needed", ()))
    missing = [m for m in needed if have is not None and m not in have]
    if missing:
        raise UserError("transform", f"the augmentation needs the dataset's {missing[0]} map, which it lacks (its maps: "
                                     f"{', '.join(have)}); generate it with that label on, or drop the ops that read it")
    optional = tuple(m for m in getattr(transform, "maps_optional", ()) if have is None or m in have)
    return tuple(maps) + tuple(dict.fromkeys(m for m in (*needed, *optional) if m not in maps))


def item_seed(seed: int, epoch: int, index: int) -> int:
    """The transform's seed for item ``index``: ``seed · 1_000_003 + index`` in epoch 0 (the seeds items
    always had), mixed with the epoch otherwise."""
    base = (seed * 1_000_003 + index) % 2**63
    if epoch == 0:
        return base
    return int(np.random.SeedSequence([base, epoch]).generate_state(1, np.uint64)[0]) % 2**63


class ClipDataset(Dataset):
    """``transform(item, seed)`` (e.g. ``synthdata.augment.load_pipeline("light")``) is applied to each
    item with seed ``item_seed(seed, epoch, index)``: replayable, independent of DataLoader workers, and
    new each epoch once :meth:`set_epoch` is called (as with ``DistributedSampler``; epoch 0 is the
    default)."""

    def __init__(self, ds, maps: Sequence[str] = ("depth", "semantic"), transform=None, seed: int = 0,
                 rows: str = "visible"):
        if rows not in ROWS:
            raise UserError("rows", f"expected one of {', '.join(map(repr, ROWS))}, got {rows!r}")
        self.ds, self.rows = ds, rows
        self.maps = loaded_maps(ds, maps, transform)
        self.transform, self.seed, self.epoch = transform, seed, 0
        self.flips = {name: mirror_order(s.get("keypoints", [])) for name, s in ds.skeletons.items()}
        #: K: the most keypoints of any class, the same for every item (a plain DataLoader stacks them)
        self.num_keypoints = max((len(s.get("keypoints", [])) for s in ds.skeletons.values()), default=0)

    def __len__(self) -> int:
        return len(self.ds)

    def set_epoch(self, epoch: int) -> None:
        """Draw this epoch's augmentations (call before each epoch's loader is made: DataLoader workers
        copy the dataset when they start, so ``persistent_workers=True`` keeps the epoch they saw)."""
        self.epoch = int(epoch)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        clip = self.ds.clip(i)
        video = torch.from_numpy(clip.video()).permute(0, 3, 1, 2).contiguous()
        obj = clip.objects()
        obj = obj.filter(pc.greater(obj["visible_pixels"], 0) if self.rows == "visible" else obj["in_view"])
        labels: dict[str, Any] = {
            "boxes": _boxes(obj.column("bbox_visible").to_pylist()),
            "boxes_amodal": _boxes(obj.column("bbox_amodal").to_pylist()),
            "frame_index": torch.tensor(obj.column("frame_index").to_pylist(), dtype=torch.int64),
            "track_id": torch.tensor(obj.column("track_id").to_pylist(), dtype=torch.int64),
            "class_id": torch.tensor(obj.column("class_id").to_pylist(), dtype=torch.int64),
            "visible_fraction": torch.tensor(obj.column("visible_fraction").to_pylist(), dtype=torch.float32),
        }
        if self.rows == "in_view":
            labels["visible"] = torch.tensor(obj.column("visible_pixels").to_pylist(), dtype=torch.int64) > 0
        if self.num_keypoints and "keypoints" in obj.column_names:  # every item, a clip with no visible row too
            K = self.num_keypoints
            labels["keypoints"], labels["keypoint_visibility"] = _keypoints(obj.column("keypoints").to_pylist(), K)
            # each row's keypoint order in a mirror image (left ↔ right)
            order = {c: f + list(range(len(f), K)) for c, f in self.flips.items()}
            labels["keypoint_flip"] = torch.tensor([order.get(c, list(range(K))) for c in obj.column("class_name").to_pylist()],
                                                   dtype=torch.int64).reshape(-1, K)
        tracks = clip.tracks()
        if tracks.num_rows:
            labels.update(_tracks(tracks, int(clip.row["num_frames"])))
        for name in self.maps:
            if clip.frames().column(name).null_count == 0:
                m = torch.from_numpy(clip.map(name).copy())
                labels[name] = m.float() if name in FLOAT_MAPS else m.long()
        if self.transform is not None:
            return self.transform((video, labels), seed=item_seed(self.seed, self.epoch, i))
        return video, labels


def mirror_order(names: Sequence[str]) -> list[int]:
    """Where each keypoint goes in a mirror image: the index of its name with ``left`` and ``right``
    swapped (``left_eye`` ↔ ``right_eye``, ``jaw_left`` ↔ ``jaw_right``, ``front_left_top`` ↔
    ``front_right_top``), itself when it has no counterpart. A flipped person's left wrist is the
    keypoint that appears where the right one was."""
    index = {n: i for i, n in enumerate(names)}
    swap = {"left": "right", "right": "left"}
    return [index.get("_".join(swap.get(t, t) for t in n.split("_")), i) for i, n in enumerate(names)]


def _boxes(rows: list[list[float] | None]) -> torch.Tensor:
    """[x0, y0, x1, y1] rows, NaN for a missing box (a hidden object's visible box). → (M,4) float32"""
    return torch.tensor([r if r is not None else [float("nan")] * 4 for r in rows], dtype=torch.float32).reshape(-1, 4)


def _keypoints(rows: list[list[dict] | None], kmax: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Rows of keypoints padded to ``kmax`` (NaN, visibility 0). → (M,kmax,2), (M,kmax)."""
    xy = np.full((len(rows), kmax, 2), np.nan, np.float32)
    vis = np.zeros((len(rows), kmax), np.int64)
    for i, r in enumerate(rows):
        for k, p in enumerate(r or ()):
            xy[i, k], vis[i, k] = (p["x"], p["y"]), p["v"]
    return torch.from_numpy(xy), torch.from_numpy(vis)


def _tracks(t, T: int) -> dict[str, torch.Tensor]:
    P = t.num_rows // T

    def col(name: str, dtype) -> np.ndarray:
        return t.column(name).to_numpy(zero_copy_only=False).astype(dtype).reshape(P, T)

    return {"points": torch.from_numpy(np.stack([col("x", np.float32), col("y", np.float32)], -1)),
            "points_visible": torch.from_numpy(col("visible", bool)),
            "points_query_frame": torch.from_numpy(col("query_frame", np.int64)[:, 0].copy()),
            "points_track_id": torch.from_numpy(col("track_id", np.int64)[:, 0].copy())}


def collate_clips(batch: list[tuple[torch.Tensor, dict[str, torch.Tensor]]]):
    """Stack videos (B,T,3,H,W); keep per-clip label dicts in a list."""
    return torch.stack([v for v, _ in batch]), [lab for _, lab in batch]
