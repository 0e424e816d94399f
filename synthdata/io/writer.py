"""Shard writer: clips → MP4s + three Parquet tables, staged in a temp dir and renamed into place."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path
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
from .tables import PartWriter, build_tables, write_parts
from .video import Mp4Writer, encode_mp4

__all__ = ["ShardWriter", "clip_rows", "frame_rows", "object_rows", "own_rows"]

Timer = Callable[[str], ContextManager[Any]]


def _none_timer(_: str) -> ContextManager[Any]:
    return nullcontext()


def clip_rows(rec: ClipRecord, spec: RecipeSpec, recipe_hash: str, shard_index: int, layout: Layout) -> dict:
    """The clip's row (of the whole clip, also when ``rec`` is its last window)."""
    T, (H, W) = (rec.traj.whole or rec.traj).num_frames, rec.rgb.shape[1:3]
    return {
        "clip_id": rec.clip_id, "clip_index": rec.clip_index, "shard_index": shard_index, "seed": rec.seed,
        "recipe_name": spec.name, "recipe_hash": recipe_hash, "backend": spec.backend.name,
        "num_frames": T, "fps": rec.traj.fps, "width": W, "height": H,
        "num_objects": rec.annotations.num_objects, "video_path": layout.rel(layout.video(rec.clip_id)),
        "video_codec": spec.output.video_codec, "params": json.dumps(rec.params, sort_keys=True),
        "split": split_of(spec.seed, rec.clip_index, spec.output.split.model_dump()),
    }


def _map_column(x: np.ndarray | None, dtype: str | None, frames: int, type_: pa.DataType) -> pa.Array:
    """A clip's map stack as one list column, one cell per frame (io/encoding.py), built in one piece:
    the whole stack converted to its stored type once, the cells as offsets into it. Nulls when the
    map is off. Shape: x (T, H, W[, C])."""
    if x is None:
        return pa.nulls(frames, type_)
    flat = map_cell(x, dtype)  # (T·H·W·C,) in the stored type
    offsets = np.arange(frames + 1, dtype=np.int32) * (flat.size // max(frames, 1))
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(flat, type_.value_type))


def frame_rows(rec: ClipRecord, schema: pa.Schema, kinds=()) -> dict[str, Any]:
    """Column-wise rows of the frames table, one per frame: camera, the maps the annotations carry
    (off → nulls) and the frames-table label ``kinds`` (vectorised: a map column is one array)."""
    a, T = rec.annotations, rec.annotations.num_frames

    def maps(name: str, x: np.ndarray | None, dtype: str | None) -> pa.Array:
        return _map_column(x, dtype, T, schema.field(name).type)

    return {
        "clip_id": pa.array([rec.clip_id] * T, pa.string()),
        "frame_index": np.arange(rec.traj.first, rec.traj.first + T, dtype=np.int32),  # a window's: the clip's
        "timestamp": np.asarray(rec.traj.timestamps[:T], dtype=np.float32),
        "K": [rec.traj.K.reshape(-1).tolist()] * T, "cam_to_world": rec.traj.camera_poses[:T].reshape(T, -1).tolist(),
        "depth": maps("depth", a.depth, "float32"), "flow_fwd": maps("flow_fwd", a.flow_fwd, "float32"),
        "flow_bwd": maps("flow_bwd", a.flow_bwd, "float32"), "semantic": maps("semantic", a.semantic, "uint16"),
        "instance": maps("instance", a.instance, "uint16"),
        **{kind.name: (maps(kind.name, a.labels.get(kind.name), kind.map_dtype) if kind.arrow_type is None
                       else _kind_values(kind, a.labels.get(kind.name), T)) for kind in kinds},
    }


def _kind_values(kind, values: np.ndarray | None, frames: int) -> list:
    """A frames-table label kind's plain per-frame values (nulls when off)."""
    if values is None:
        return [None] * frames
    return [v.tolist() if isinstance(v, np.ndarray) else v for v in values[:frames]]


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
    worker's half-written one. The frames table (the maps: most of a clip's bytes) is streamed to its
    staged part clip by clip, so a shard's memory does not grow with its clip count.
    ``background=True`` encodes and writes in a thread, overlapping the CPU-side work with the next
    clip's (or window's) rendering: at most one record waits there.
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
        self.objects: list[dict[str, Any]] = []
        self.schemas = {t: table_schema(t, on) for t in self.tables}
        self.kinds = {t: kinds_of_table(t, on) for t in self.tables if t != "clips"}
        self.own: dict[str, list[dict[str, Any]]] = {t: [] for t in self.tables if t not in CORE_TABLES}
        self.skeletons = {n: s.to_json() for n, s in class_skeletons(spec).items()} if on.get("keypoints") else None
        self.frames = PartWriter(self.stage, "frames", shard_index, self.schemas["frames"], spec.class_names)
        self._video: Mp4Writer | None = None  # the MP4 of a clip coming window by window

    #: ``add`` takes a long clip window by window (records of consecutive frames: run/windows.py)
    takes_windows = True

    def add(self, rec: ClipRecord) -> None:
        """A whole clip, or the next window of frames of one (``rec.traj.whole`` set; windows of a clip
        come in order, first to last, with no other clip between them)."""
        add = self._add if rec.traj.whole is None else self._add_window
        if self._pool is None:
            add(rec)
        else:  # one thread: clips and windows are written in the order they come
            if self._pending:  # one clip (window) encodes while the next renders; never more in memory
                self._pending.pop(0).result()
            self._pending.append(self._pool.submit(add, rec))

    def abort(self) -> None:
        """Drop the staged files (the shard stays absent). Closing what is open may fail too (a full
        disk): those errors are dropped, so the shard's own error is the one reported."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        for close in (lambda: self._video is not None and self._video.close(flush=False), self.frames.close):
            try:
                close()
            except Exception:  # noqa: BLE001 - the files are deleted next whatever state they are in
                pass
        self._video = None
        shutil.rmtree(self.stage.root, ignore_errors=True)

    def _add(self, rec: ClipRecord) -> None:
        spec = self.spec
        with self.timer("encode"):
            encode_mp4(rec.rgb, self.stage.video(rec.clip_id), rec.traj.fps, spec.output.video_codec, spec.output.crf)
        with self.timer("write"):
            self.clips.append(clip_rows(rec, spec, self.recipe_hash, self.shard_index, self.layout))
            self._rows(rec)
            for table, parts in self.own.items():
                parts.extend(own_rows(rec, kind) for kind in self.kinds[table])
        self.clip_ids.append(rec.clip_id)
        self.clip_indices.append(rec.clip_index)

    def _rows(self, rec: ClipRecord) -> None:
        """The frames-table rows of ``rec`` (a row group) and its objects-table rows."""
        cols = frame_rows(rec, self.schemas["frames"], self.kinds["frames"])
        self.frames.write(pa.Table.from_pydict(cols, schema=self.schemas["frames"]))
        self.objects.append(object_rows(rec, self.spec.class_names, self.kinds["objects"]))

    def _add_window(self, rec: ClipRecord) -> None:
        """One window of a long clip: its frames appended to the clip's MP4, its rows written; the
        clip's row (and the clip) once its last window is in."""
        spec, first, T = self.spec, rec.traj.first, rec.traj.whole.num_frames
        if self.own:
            raise ValueError("labels with a table of their own (tracks) need whole clips, not windows")
        if first == 0:
            if self._video is not None:
                raise ValueError(f"{rec.clip_id}: a clip's first window came before the last clip's last")
            self._video = Mp4Writer(self.stage.video(rec.clip_id), rec.traj.fps, rec.rgb.shape[2], rec.rgb.shape[1],
                                    spec.output.video_codec, spec.output.crf)
        elif self._video is None:
            raise ValueError(f"{rec.clip_id}: window at frame {first} without the clip's first window")
        with self.timer("encode"):
            self._video.add(rec.rgb)
        with self.timer("write"):
            self._rows(rec)
        if first + rec.rgb.shape[0] == T:
            with self.timer("encode"):
                self._video.close()
            self._video = None
            self.clips.append(clip_rows(rec, spec, self.recipe_hash, self.shard_index, self.layout))
            self.clip_ids.append(rec.clip_id)
            self.clip_indices.append(rec.clip_index)

    def commit(self) -> ShardInfo:
        if self._pool is not None:
            for f in self._pending:
                f.result()  # re-raises an encoding error here
            self._pool.shutdown(wait=True)
        if self._video is not None:
            raise ValueError("a clip's last window never came")
        stage, class_names = self.stage, self.spec.class_names
        with self.timer("write"):
            self.frames.close()
            tables = build_tables(self.clips, None, self.objects, self.schemas, **self.own)
            write_parts(stage, self.shard_index, tables, class_names, self.skeletons)
            files: dict[str, str] = {}
            sizes: dict[str, int] = {}
            staged = [stage.video(c) for c in self.clip_ids] + [stage.part(t, self.shard_index) for t in self.tables]
            real_root = self.layout.root.resolve()
            for path in staged:  # media first, tables last: a reader never sees rows without their video
                final = self.layout.root / stage.rel(path)
                final.parent.mkdir(parents=True, exist_ok=True)
                if final.parent.resolve() != real_root / Path(stage.rel(path)).parent:  # never through a link
                    raise OSError(f"{final.parent} is a link out of the dataset; nothing is written through it")
                files[stage.rel(path)] = sha256_file(path)
                sizes[stage.rel(path)] = path.stat().st_size
                os.replace(path, final)
            shutil.rmtree(stage.root)
        start = min(self.clip_indices, default=0)
        return ShardInfo(index=self.shard_index, clip_start=start, clip_stop=start + len(self.clip_ids), files=files,
                         rows={t: self.frames.rows if t == "frames" else tables[t].num_rows for t in self.tables},
                         sizes=sizes)
