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
import pyarrow.parquet as pq

from ..recipe.schema import RecipeSpec
from .encoding import encode_array
from .layout import TABLES, Layout
from .manifest import ShardInfo, sha256_file
from .records import ClipRecord
from .schemas import SCHEMAS, with_metadata
from .video import encode_mp4

__all__ = ["ShardWriter", "clip_rows", "frame_rows", "object_rows"]

Timer = Callable[[str], ContextManager[Any]]


def _none_timer(_: str) -> ContextManager[Any]:
    return nullcontext()


def clip_rows(rec: ClipRecord, spec: RecipeSpec, recipe_hash: str, shard_index: int, layout: Layout) -> dict:
    T, (H, W) = rec.frames.num_frames, rec.frames.size
    return {
        "clip_id": rec.clip_id, "clip_index": rec.clip_index, "shard_index": shard_index, "seed": rec.seed,
        "recipe_name": spec.name, "recipe_hash": recipe_hash, "backend": spec.backend.name,
        "num_frames": T, "fps": spec.clip.fps, "width": W, "height": H,
        "num_objects": int(rec.frames.amodal.shape[1]), "video_path": layout.rel(layout.video(rec.clip_id)),
        "video_codec": spec.output.video_codec, "params": json.dumps(rec.params, sort_keys=True),
    }


def frame_rows(rec: ClipRecord, spec: RecipeSpec) -> list[dict]:
    f, a, on = rec.frames, rec.annotations, spec.annotations
    f16 = np.finfo(np.float16).max  # flows beyond it (points grazing the camera plane) saturate
    depth = f.depth.numpy()
    flow_f, flow_b = (np.clip(x.numpy(), -f16, f16) for x in (f.flow_fwd, f.flow_bwd))
    inst, normals = f.instance.numpy(), f.normals.numpy()
    rows = []
    for k in range(f.num_frames):
        rows.append({
            "clip_id": rec.clip_id, "frame_index": k, "timestamp": k / spec.clip.fps,
            "K": rec.traj.K.reshape(-1).tolist(), "cam_to_world": rec.traj.camera_poses[k].reshape(-1).tolist(),
            "depth": encode_array(depth[k], "float32") if on.depth else None,
            "flow_fwd": encode_array(flow_f[k], "float16") if on.flow else None,
            "flow_bwd": encode_array(flow_b[k], "float16") if on.flow else None,
            "semantic": encode_array(a.semantic[k]) if on.semantic else None,
            "instance": encode_array(inst[k], "uint16") if on.instance else None,
            "normals": encode_array(normals[k], "float16") if on.normals else None,
        })
    return rows


def object_rows(rec: ClipRecord, class_names: list[str]) -> dict[str, Any]:
    """Column-wise rows of the objects table (vectorised; boxes of empty masks become nulls)."""
    a = rec.annotations
    R = a.num_rows

    def boxes(b: np.ndarray) -> pa.Array:
        flat = pa.array(b.reshape(-1), type=pa.float32())
        valid = ~np.isnan(b).any(1)
        return pa.FixedSizeListArray.from_arrays(flat, 4, mask=pa.array(~valid))

    box3d = pa.StructArray.from_arrays(
        [pa.FixedSizeListArray.from_arrays(pa.array(a.box3d[:, s].reshape(-1), pa.float32()), n)
         for s, n in ((slice(0, 3), 3), (slice(3, 6), 3), (slice(6, 10), 4))],
        names=["center", "size", "rotation"],
    )
    return {
        "clip_id": pa.array([rec.clip_id] * R), "frame_index": a.frame_index, "track_id": a.track_id,
        "class_id": a.class_id, "class_name": pa.array([class_names[c - 1] for c in a.class_id], pa.string()),
        "bbox_visible": boxes(a.bbox_visible), "bbox_amodal": boxes(a.bbox_amodal),
        "visible_fraction": a.visible_fraction, "visible_pixels": a.visible_pixels,
        "amodal_pixels": a.amodal_pixels, "occluded": a.occluded, "truncated": a.truncated,
        "in_view": a.in_view, "mask_rle": pa.array(a.mask_rle, pa.string()), "box3d": box3d,
    }


def _objects_table(parts: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    tables = [pa.Table.from_pydict({k: p[k] for k in schema.names}, schema=schema) for p in parts]
    return pa.concat_tables(tables) if tables else schema.empty_table()


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
        for sub in (*TABLES, "media"):
            (self.stage.root / sub).mkdir(parents=True)
        self.clip_ids: list[str] = []
        self.clip_indices: list[int] = []
        self.clips: list[dict] = []
        self.frames: list[dict] = []
        self.objects: list[dict[str, Any]] = []

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
            encode_mp4(rec.frames.rgb.numpy(), self.stage.video(rec.clip_id), spec.clip.fps,
                       spec.output.video_codec, spec.output.crf)
        with self.timer("write"):
            self.clips.append(clip_rows(rec, spec, self.recipe_hash, self.shard_index, self.layout))
            self.frames.extend(frame_rows(rec, spec))
            self.objects.append(object_rows(rec, spec.class_names))
        self.clip_ids.append(rec.clip_id)
        self.clip_indices.append(rec.clip_index)

    def commit(self) -> ShardInfo:
        if self._pool is not None:
            for f in self._pending:
                f.result()  # re-raises an encoding error here
            self._pool.shutdown(wait=True)
        stage, class_names = self.stage, self.spec.class_names
        with self.timer("write"):
            tables = {
                "clips": pa.Table.from_pylist(self.clips, schema=SCHEMAS["clips"]),
                "frames": pa.Table.from_pylist(self.frames, schema=SCHEMAS["frames"]),
                "objects": _objects_table(self.objects, SCHEMAS["objects"]),
            }
            for name, table in tables.items():
                # maps in `frames` are zstd'd already: compressing, dictionary-encoding or keeping
                # min/max statistics of them again costs time and saves nothing
                maps = name == "frames"
                pq.write_table(table.replace_schema_metadata(with_metadata(table.schema, class_names).metadata),
                               stage.part(name, self.shard_index),
                               compression="none" if maps else "zstd",
                               use_dictionary=["clip_id"] if maps else True,
                               write_statistics=["clip_id", "frame_index", "timestamp"] if maps else True)
            files: dict[str, str] = {}
            sizes: dict[str, int] = {}
            staged = [stage.video(c) for c in self.clip_ids] + [stage.part(t, self.shard_index) for t in TABLES]
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
