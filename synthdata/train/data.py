"""Training pairs from a synthdata dataset: (video, layout condition) per clip, held in memory.

Any synthdata-format dataset works — generated ones, or real clips imported with
``synthdata.io.fiftyone.from_fiftyone`` — as long as its frames carry semantic and depth maps;
instance and flow maps are used when present (see ``render/diffusion/condition.py``). Clips are
decoded once (MP4 + maps) and kept as tensors: generator training sets are small
next to the number of steps, and decoding per step would dominate on a GPU.

Shapes: ``video`` (N,3,T,H,W) float32 in [-1, 1]; ``cond`` (N,C,T,H,W) float32.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from ..errors import UserError
from ..io.reader import open_dataset
from ..io.torch_dataset import ClipDataset
from ..render.diffusion.condition import ALL_MAPS, REQUIRED_MAPS, layout_condition

__all__ = ["LayoutClips", "load_layout_clips"]


@dataclass
class LayoutClips:
    video: torch.Tensor
    cond: torch.Tensor
    class_names: list[str]
    clip_ids: list[str]
    maps: tuple[str, ...]  # the G-buffer maps the condition was made from

    def __len__(self) -> int:
        return int(self.video.shape[0])

    @property
    def frames(self) -> int:
        return int(self.video.shape[2])

    @property
    def size(self) -> tuple[int, int]:
        return int(self.video.shape[3]), int(self.video.shape[4])


def load_layout_clips(path: str | Path, progress=None) -> LayoutClips:
    """Decode every clip of a dataset into (video, condition) tensors; one-line errors for datasets
    that cannot train a generator (missing G-buffer, mixed clip sizes, empty)."""
    if not (Path(path) / "dataset.json").is_file():
        raise UserError("data", f"{path} is not a synthdata dataset (no dataset.json); make one with "
                                "`synthdata generate` or import clips with synthdata.io.fiftyone.from_fiftyone")
    ds = open_dataset(path)
    if len(ds) == 0:
        raise UserError("data", f"{path} has no clips")
    first = ds.clip(0).frames()
    present = tuple(m for m in ALL_MAPS if m in first.column_names and first.column(m).null_count == 0)
    missing = [m for m in REQUIRED_MAPS if m not in present]
    if missing:
        raise UserError("data", f"{path} has no {', '.join(missing)} maps (the G-buffer a generator is conditioned "
                                "on); regenerate it with annotations.semantic/depth enabled, or import clips "
                                "with segmentation and depth fields")
    num_classes = len(ds.class_names)
    items = ClipDataset(ds, maps=present)  # the foundation's torch Dataset: MP4 + G-buffer per clip
    clip_ids = ds.clip_ids
    videos, conds, ids = [], [], []
    shape = None
    for i in range(len(items)):
        video, maps = items[i]  # (T,3,H,W) uint8, {name: (T,H,W[,2])}
        if shape is None:
            shape = video.shape
        elif video.shape != shape:
            raise UserError("data", f"clips differ in size: {clip_ids[i]} is {tuple(video.shape)}, the first was "
                                    f"{tuple(shape)} (T,3,H,W); train on one clip size")
        missing_here = [m for m in present if m not in maps]
        if missing_here:
            raise UserError("data", f"clip {clip_ids[i]} lacks {', '.join(missing_here)} maps that the first clip has")
        conds.append(layout_condition(maps["semantic"], maps.get("instance"), maps["depth"], maps.get("flow_fwd"),
                                      num_classes).permute(1, 0, 2, 3))
        videos.append(video.permute(1, 0, 2, 3).float() / 127.5 - 1)
        ids.append(clip_ids[i])
        if progress:
            progress(i + 1, len(ds))
    return LayoutClips(torch.stack(videos), torch.stack(conds), list(ds.class_names), ids, present)
