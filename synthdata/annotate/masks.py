"""Label extraction, vectorised on the G-buffer's device.

Visible masks are a partition of the instance map, so visible boxes, pixel counts and mask RLEs are
all read off the (T,H,W) instance map in one pass, never by materialising T×N masks. Amodal
coverage (T,N,H,W) is reduced along rows and columns once.
"""

from __future__ import annotations

import numpy as np
import torch
from pycocotools import mask as mask_utils

from ..render.coverage import coverage_boxes, first_last  # noqa: F401  (re-exported: labels' helpers)
from ..jit import for_clip
from .chunks import frame_chunks

__all__ = ["first_last", "coverage_boxes", "instance_stats", "instance_rle_counts", "instance_rles", "warm"]


def instance_stats(instance: torch.Tensor, num_objects: int,
                   compiled: bool | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Visible pixel counts and tight boxes of every object from the instance map.

    Shape: instance (T,H,W) ints (0 background, i+1 object i) → pixels (T,N) int64, boxes (T,N,4)
    float32 (NaN where not visible). On the CPU one compiled pass for clip-size maps (``compiled``:
    :func:`~synthdata.jit.for_clip`), else frame chunk by chunk (:func:`frame_chunks`).
    """
    T, H, W = instance.shape
    kernel = for_clip(__package__ + ".cpu_loops", instance, compiled)
    if kernel is not None:  # one pass keeping counts and extents (cpu_loops.py): the same numbers
        K = num_objects + 1
        pixels, extent = np.zeros((T, K), np.int64), np.empty((T, K, 4), np.int64)
        extent[...] = (W, H, 0, 0)
        kernel.instance_stats(np.ascontiguousarray(instance.numpy()), K, pixels, extent)
        pixels, box = torch.from_numpy(pixels), torch.from_numpy(extent).to(torch.float32)
        box = torch.where((pixels > 0)[..., None], box, torch.full_like(box, float("nan")))
        return pixels[:, 1:], box[:, 1:]
    parts = [_instance_stats(instance[c], num_objects) for c in frame_chunks(T, H * W) or [slice(0, 0)]]
    if len(parts) == 1:
        return parts[0]
    return torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])


def _instance_stats(instance: torch.Tensor, num_objects: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Two counts per pixel, no per-pixel min/max: which ids each column and each row of a frame holds
    (a bincount each); a box's sides are its first and last occupied column and row, its pixel count
    the sum of its column counts."""
    T, H, W = instance.shape
    dev, K = instance.device, num_objects + 1
    ids = instance.long()
    t = torch.arange(T, device=dev)[:, None, None]
    cols = torch.bincount(((t * W + torch.arange(W, device=dev)) * K + ids).reshape(-1), minlength=T * W * K)
    rows = torch.bincount(((t * H + torch.arange(H, device=dev)[:, None]) * K + ids).reshape(-1), minlength=T * H * K)
    cols, rows = cols.reshape(T, W, K), rows.reshape(T, H, K) > 0
    pixels = cols.sum(1)  # (T,K)
    cols = cols > 0

    def first(occupied: torch.Tensor) -> torch.Tensor:  # (T,L,K) → (T,K) first occupied index (argmax: the first max)
        return occupied.to(torch.uint8).argmax(1)

    box = torch.stack([first(cols), first(rows), W - first(cols.flip(1)), H - first(rows.flip(1))], -1).to(torch.float32)
    box = torch.where((pixels > 0)[..., None], box, torch.full_like(box, float("nan")))
    return pixels[:, 1:], box[:, 1:]


def instance_rle_counts(instance: torch.Tensor, num_objects: int) -> list[np.ndarray]:
    """COCO run lengths (column-major, opening with a run of zeros) of every object's visible mask.

    Runs of the instance map are found on the device; only run starts come to the host, where each
    object's runs are turned into gap/length pairs. → T·N arrays, frame-major.
    """
    T, H, W = instance.shape
    n = H * W
    flat = instance.transpose(1, 2).reshape(T, n)
    change = torch.ones(T, n, dtype=torch.bool, device=instance.device)
    change[:, 1:] = flat[:, 1:] != flat[:, :-1]
    fr, start = change.nonzero(as_tuple=True)
    value = flat[fr, start]
    fr, start, value = fr.cpu().numpy(), start.cpu().numpy(), value.cpu().numpy().astype(np.int64)
    end = np.append(start[1:], n)
    end[np.append(fr[1:] != fr[:-1], True)] = n  # a frame's last run ends at n
    keep = value > 0
    group = fr[keep] * num_objects + (value[keep] - 1)
    s, e = start[keep], end[keep]
    order = np.argsort(group, kind="stable")  # runs stay in pixel order within an object
    group, s, e = group[order], s[order], e[order]
    first = np.ones(len(group), dtype=bool)
    first[1:] = group[1:] != group[:-1]
    prev_end = np.where(first, 0, np.roll(e, 1))
    pairs = np.stack([s - prev_end, e - s], 1)  # (runs, 2): gap before, run length
    out: list[np.ndarray] = [np.array([n])] * (T * num_objects)
    bounds = np.flatnonzero(first)
    for k, lo in enumerate(bounds):
        hi = bounds[k + 1] if k + 1 < len(bounds) else len(group)
        out[group[lo]] = np.append(pairs[lo:hi].reshape(-1), n - e[hi - 1])
    return out


def instance_rles(instance: torch.Tensor, num_objects: int) -> list[str]:
    """COCO compressed RLE strings of every object's visible mask (what pycocotools ``encode`` gives)."""
    T, H, W = instance.shape
    if T * num_objects == 0:
        return []
    objs = [{"counts": c.tolist(), "size": [H, W]} for c in instance_rle_counts(instance, num_objects)]
    return [r["counts"].decode("ascii") for r in mask_utils.frPyObjects(objs, H, W)]


def warm() -> None:
    """Compile :func:`instance_stats`'s loop with the types a clip passes (:func:`synthdata.jit.warm`)."""
    instance_stats(torch.zeros(1, 1, 1, dtype=torch.int32), 1, compiled=True)
