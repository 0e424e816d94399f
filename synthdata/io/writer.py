"""Shard writer: clips → MP4s + three Parquet tables, staged in a temp dir and renamed into place."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext
from typing import Any, Callable, ContextManager

import numpy as np
import pyarrow as pa

from ..annotate import kinds_of_table, switches
from ..scene.skeletons import class_skeletons
from ..recipe.schema import RecipeSpec
from .encoding import map_cell
from .layout import CORE_TABLES, Layout
from .manifest import ShardInfo, sha256_file
from .records import ClipRecord
from .schemas import own_tables, table_schema
from .split import split_of
from .tables import build_tables, write_parts
from .video import encode_mp4

__all__ = ["ShardWriter", "clip_rows", "frame_rows", "object_rows", "own_rows"]

Timer = Callable[[str], ContextManager[Any]]


def _none_timer(_: str) -> ContextManager[Any]:
    return nullcontext()


def clip_rows(rec: ClipRecord, spec: RecipeSpec, recipe_hash: str, shard_index: int, layout: Layout) -> dict:
    T, H, W = rec.rgb.shape[:3]
    return {
        "clip_id": rec.clip_id, "clip_index": rec.clip_index, "shard_index": shard_index, "seed": rec.seed,
        "recipe_name": spec.name, "recipe_hash": recipe_hash, "backend": spec.backend.name,
        "num_frames": T, "fps": rec.traj.fps, "width": W, "height": H,
        "num_objects": rec.annotations.num_objects, "video_path": layout.rel(layout.video(rec.clip_id)),
        "video_codec": spec.output.video_codec, "params": json.dumps(rec.params, sort_keys=True),
        "split": split_of(spec.seed, rec.clip_index, spec.output.split.model_dump()),
    }


def _encoded(x: np.ndarray | None, k: int, dtype: str | None = None):
    """Frame ``k`` of a map stack as its stored cell (io/encoding.py); None when the map is off."""
    return None if x is None else map_cell(x[k], dtype)


def frame_rows(rec: ClipRecord, kinds=()) -> list[dict]:
    """One row per frame: camera, the maps the annotations carry (``None`` → null) and the frames-table
    label ``kinds``."""
    a = rec.annotations
    flow_f, flow_b = a.flow_fwd, a.flow_bwd
    times = rec.traj.timestamps
    return [{
        "clip_id": rec.clip_id, "frame_index": k, "timestamp": float(times[k]),
        "K": rec.traj.K.reshape(-1).tolist(), "cam_to_world": rec.traj.camera_poses[k].reshape(-1).tolist(),
        "depth": _encoded(a.depth, k, "float32"), "flow_fwd": _encoded(flow_f, k, "float32"),
        "flow_bwd": _encoded(flow_b, k, "float32"), "semantic": _encoded(a.semantic, k, "uint16"),
        "instance": _encoded(a.instance, k, "uint16"),
        **{kind.name: _kind_value(kind, a.labels.get(kind.name), k) for kind in kinds},
    } for k in range(a.num_frames)]


def _kind_value(kind, values: np.ndarray | None, k: int):
    """Frame ``k``'s value of a frames-table label kind: an encoded map, or a plain value."""
    if values is None:
        return None
    if kind.arrow_type is None:
        return _encoded(values, k, kind.map_dtype)
    return values[k].tolist() if isinstance(values[k], np.ndarray) else values[k]


def object_rows(rec: ClipRecord, class_names: list[str], kinds=()) -> dict[str, Any]:
    """Column-wise rows of the objects table (vectorised; boxes of empty masks and labels switched off
    become nulls), with the objects-table label ``kinds``."""
    a = rec.annotations
    R = a.num_rows

    def boxes(b: np.ndarray | None) -> pa.Array:
        if b is None:
            return pa.nulls(R, pa.list_(pa.float32(), 4))
        flat = pa.array(b.reshape(-1), type=pa.float32())
        valid = ~np.isnan(b).any(1)
        return pa.FixedSizeListArray.from_arrays(flat, 4, mask=pa.array(~valid))

    return {
        "clip_id": pa.array([rec.clip_id] * R), "frame_index": a.frame_index, "track_id": a.track_id,
        "class_id": a.class_id, "class_name": pa.array([class_names[c - 1] for c in a.class_id], pa.string()),
        "bbox_visible": boxes(a.bbox_visible), "bbox_amodal": boxes(a.bbox_amodal),
        "visible_fraction": a.visible_fraction, "visible_pixels": a.visible_pixels,
        "amodal_pixels": pa.nulls(R, pa.int64()) if a.amodal_pixels is None else a.amodal_pixels,
        "occluded": a.occluded, "truncated": a.truncated,
        "in_view": a.in_view, "mask_rle": pa.array(a.mask_rle, pa.string()),
        **{kind.name: kind.arrow(a.labels.get(kind.name), R) for kind in kinds},
    }


def own_rows(rec: ClipRecord, kind) -> dict[str, Any]:
    """Column-wise rows of a label kind's own table (``tracks``) for one clip."""
    cols = rec.annotations.labels[kind.name]
    n = len(next(iter(cols.values()))) if cols else 0
    return {"clip_id": pa.array([rec.clip_id] * n, pa.string()), **cols}


class ShardWriter:
    """Writes one shard. ``add`` encodes a clip's MP4 and table rows at once (so a shard never holds
    raw frames of more than one clip); ``commit`` writes the Parquet tables and renames everything
    into place. The caller then commits the shard by adding the returned :class:`ShardInfo` to the
    manifest.

    Each attempt stages in its own directory, so a retried shard never collides with a lost
    worker's half-written one. ``background=True`` encodes in a thread, overlapping the CPU-side work
    with the next clip's (GPU) rendering.
    """

    def __init__(self, layout: Layout, shard_index: int, spec: RecipeSpec, recipe_hash: str,
                 timer: Timer = _none_timer, background: bool = False):
        self.layout, self.shard_index, self.spec, self.recipe_hash, self.timer = layout, shard_index, spec, recipe_hash, timer
        self.stage = Layout(layout.staging / f"shard-{shard_index:05d}-{uuid.uuid4().hex[:8]}")
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="synthdata-encode") if background else None
        self._pending: list[Future] = []
        on = switches(spec.annotations)
        self.tables = (*CORE_TABLES, *own_tables(on))
        for sub in (*self.tables, "media"):
            (self.stage.root / sub).mkdir(parents=True)
        self.clip_ids: list[str] = []
        self.clip_indices: list[int] = []
        self.clips: list[dict] = []
        self.frames: list[dict] = []
        self.objects: list[dict[str, Any]] = []
        self.schemas = {t: table_schema(t, on) for t in self.tables}
        self.kinds = {t: kinds_of_table(t, on) for t in self.tables if t != "clips"}
        self.own: dict[str, list[dict[str, Any]]] = {t: [] for t in self.tables if t not in CORE_TABLES}
        self.skeletons = {n: s.to_json() for n, s in class_skeletons(spec).items()} if on.get("keypoints") else None

    def add(self, rec: ClipRecord) -> None:
        if self._pool is None:
            self._add(rec)
        else:
            if self._pending:  # one clip encodes while the next renders; never more in memory
                self._pending.pop(0).result()
            self._pending.append(self._pool.submit(self._add, rec))

    def abort(self) -> None:
        """Drop the staged files (the shard stays absent)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        shutil.rmtree(self.stage.root, ignore_errors=True)

    def _add(self, rec: ClipRecord) -> None:
        spec = self.spec
        with self.timer("encode"):
            encode_mp4(rec.rgb, self.stage.video(rec.clip_id), rec.traj.fps, spec.output.video_codec, spec.output.crf)
        with self.timer("write"):
            self.clips.append(clip_rows(rec, spec, self.recipe_hash, self.shard_index, self.layout))
            self.frames.extend(frame_rows(rec, self.kinds["frames"]))
            self.objects.append(object_rows(rec, spec.class_names, self.kinds["objects"]))
            for table, parts in self.own.items():
                parts.extend(own_rows(rec, kind) for kind in self.kinds[table])
        self.clip_ids.append(rec.clip_id)
        self.clip_indices.append(rec.clip_index)

    def commit(self) -> ShardInfo:
        if self._pool is not None:
            for f in self._pending:
                f.result()  # re-raises an encoding error here
            self._pool.shutdown(wait=True)
        stage, class_names = self.stage, self.spec.class_names
        with self.timer("write"):
            tables = build_tables(self.clips, self.frames, self.objects, self.schemas, **self.own)
            write_parts(stage, self.shard_index, tables, class_names, self.skeletons)
            files: dict[str, str] = {}
            sizes: dict[str, int] = {}
            staged = [stage.video(c) for c in self.clip_ids] + [stage.part(t, self.shard_index) for t in self.tables]
            for path in staged:  # media first, tables last: a reader never sees rows without their video
                final = self.layout.root / stage.rel(path)
                final.parent.mkdir(parents=True, exist_ok=True)
                files[stage.rel(path)] = sha256_file(path)
                sizes[stage.rel(path)] = path.stat().st_size
                os.replace(path, final)
            shutil.rmtree(stage.root)
        start = min(self.clip_indices, default=0)
        return ShardInfo(index=self.shard_index, clip_start=start, clip_stop=start + len(self.clip_ids), files=files,
                         rows={name: t.num_rows for name, t in tables.items()}, sizes=sizes)
