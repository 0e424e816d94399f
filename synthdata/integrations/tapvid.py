"""TAP-Vid files from a dataset's point tracks (``synthdata export DATASET --format tapvid``).

Two layouts, one per consumer of TAP-Vid:

- ``tapvid.pkl``: the TAP-Vid-DAVIS evaluation pickle, a dict clip_id → ``{"video": (T,H,W,3) uint8,
  "points": (N,T,2) float32 x, y in [0, 1] (pixel / size; −1 behind the camera, outside [0, 1] outside
  the image), "occluded": (N,T) bool}``, what TAP-Vid's
  ``evaluation_datasets.create_davis_dataset`` reads. Written, never read by synthdata (pickles are
  not loaded from untrusted files).
- ``npz/<clip_id>.npz`` (``np.load(allow_pickle=False)``): the Kubric-style arrays in pixels,
  ``video``, ``target_points`` (N,T,2) x, y (NaN behind the camera), ``occluded`` (N,T), ``query_points`` (N,3) t, y, x at each
  track's query frame, plus ``in_view``, ``occluded_by``, ``track_id``, ``class_id``, ``foreground``.

TAP-Vid's ``occluded`` is "not visible": hidden or outside the image.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from ..errors import UserError
from .files import staged_output

__all__ = ["export_tapvid", "clip_arrays"]


def clip_arrays(tracks, T: int) -> dict[str, np.ndarray]:
    """(N,T[,...]) arrays of one clip's tracks table (point-major rows)."""
    n = tracks.num_rows // T

    def col(name: str, dtype) -> np.ndarray:
        return tracks.column(name).to_numpy(zero_copy_only=False).astype(dtype).reshape(n, T)

    xy = np.stack([col("x", np.float32), col("y", np.float32)], -1)
    q = col("query_frame", np.int64)[:, 0]
    qxy = xy[np.arange(n), q]
    return {"target_points": xy, "occluded": ~col("visible", bool), "in_view": col("in_view", bool),
            "query_points": np.stack([q, qxy[:, 1], qxy[:, 0]], -1).astype(np.float32),
            "occluded_by": col("occluded_by", np.int32), "track_id": col("track_id", np.int32)[:, 0],
            "class_id": col("class_id", np.int32)[:, 0], "foreground": col("foreground", bool)[:, 0]}


def export_tapvid(ds, out: Path) -> dict:
    """Write the TAP-Vid pickle and per-clip npz files of the dataset's point tracks to ``out``; returns counts."""
    if not ds.has_table("tracks"):
        raise UserError("fmt", f"{ds.root} has no point tracks; generate with annotations.tracks=true")
    with staged_output(out) as tmp:
        (tmp / "npz").mkdir()
        davis, points = {}, 0
        for clip in ds:
            T, W, H = int(clip.row["num_frames"]), int(clip.row["width"]), int(clip.row["height"])
            arrays = clip_arrays(clip.tracks(), T)
            video = clip.video()
            np.savez_compressed(tmp / "npz" / f"{clip.clip_id}.npz", video=video, **arrays)
            scaled = arrays["target_points"] / np.array([W, H], np.float32)
            davis[clip.clip_id] = {"video": video, "points": np.nan_to_num(scaled, nan=-1.0), "occluded": arrays["occluded"]}
            points += len(arrays["query_points"])
        with open(tmp / "tapvid.pkl", "wb") as f:
            pickle.dump(davis, f, protocol=4)
    return {"format": "tapvid", "videos": len(davis), "tracks": points, "path": str(out)}
