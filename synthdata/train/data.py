"""Training pairs from a synthdata dataset: (video, layout condition) per clip, held in memory.

Any synthdata-format dataset works — generated ones, or real clips imported with
``synthdata.integrations.fiftyone.from_fiftyone`` — as long as its frames carry semantic and depth maps;
instance and flow maps are used when present (see ``render/diffusion/condition.py``). Clips are
decoded once (MP4 + maps) and kept as tensors: generator training sets are small
next to the number of steps, and decoding per step would dominate on a GPU.

Shapes: ``video`` (N,3,T,H,W) float32 in [-1, 1]; ``cond`` (N,C,T,H,W) float32.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from ..errors import UserError, user_path
from ..io.layout import Layout
from ..io.reader import open_dataset
from ..integrations.torch_dataset import ClipDataset
from ..render.diffusion import ALL_MAPS, REQUIRED_MAPS, condition_channels, condition_maps

__all__ = ["LayoutClips", "LayoutInfo", "inspect_layout_clips", "load_layout_clips"]


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


@dataclass(frozen=True)
class LayoutInfo:
    """What training will hold in memory, read from the dataset's tables without decoding a clip."""

    num_clips: int
    frames: int
    height: int
    width: int
    class_names: list[str]
    maps: tuple[str, ...]

    @property
    def channels(self) -> int:
        return condition_channels(len(self.class_names))

    @property
    def decoded_bytes(self) -> int:
        """Bytes of the decoded (video, condition) tensors: float32, 3 + condition channels per pixel."""
        return self.num_clips * self.frames * self.height * self.width * 4 * (3 + self.channels)


def inspect_layout_clips(path: str | Path) -> LayoutInfo:
    """Clip count, size and maps from the clips table and one clip's frames table; one-line errors for
    datasets that cannot train a generator (missing G-buffer, mixed clip sizes, empty)."""
    if not Layout(user_path(path, "data")).is_dataset():
        raise UserError("data", f"{path} is not a synthdata dataset (no dataset.json); make one with "
                                "`synthdata generate` or import clips with synthdata.integrations.fiftyone.from_fiftyone")
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
    clips = ds.clips
    sizes = list(zip(*(clips.column(c).to_pylist() for c in ("num_frames", "height", "width"))))
    for cid, size in zip(ds.clip_ids, sizes):
        if size != sizes[0]:
            raise UserError("data", f"clips differ in size: {cid} is {size}, the first was {sizes[0]} (T,H,W); "
                                    "train on one clip size")
    T, H, W = (int(v) for v in sizes[0])
    return LayoutInfo(len(ds), T, H, W, list(ds.class_names), present)


def load_layout_clips(path: str | Path, progress=None, info: LayoutInfo | None = None) -> LayoutClips:
    """Decode every clip of a dataset into (video, condition) tensors, written straight into tensors
    allocated once (no second copy while stacking: the decoded set is most of a run's host memory)."""
    info = info or inspect_layout_clips(path)
    ds = open_dataset(path)
    items = ClipDataset(ds, maps=info.maps)  # the foundation's torch Dataset: MP4 + G-buffer per clip
    clip_ids = ds.clip_ids
    N, T, H, W = info.num_clips, info.frames, info.height, info.width
    videos = torch.empty(N, 3, T, H, W)
    conds = torch.empty(N, info.channels, T, H, W)
    for i in range(N):
        video, maps = items[i]  # (T,3,H,W) uint8, {name: (T,H,W[,2])}
        if tuple(video.shape) != (T, 3, H, W):
            raise UserError("data", f"clip {clip_ids[i]} decodes to {tuple(video.shape)} (T,3,H,W); its clips row "
                                    f"says {(T, 3, H, W)}")
        missing_here = [m for m in info.maps if m not in maps]
        if missing_here:
            raise UserError("data", f"clip {clip_ids[i]} lacks {', '.join(missing_here)} maps that the first clip has")
        conds[i] = condition_maps(maps["semantic"], maps.get("instance"), maps["depth"], maps.get("flow_fwd"),
                                    len(info.class_names)).permute(1, 0, 2, 3)
        videos[i] = video.permute(1, 0, 2, 3).float() / 127.5 - 1
        if progress:
            progress(i + 1, N)
    return LayoutClips(videos, conds, list(info.class_names), list(clip_ids), info.maps)
