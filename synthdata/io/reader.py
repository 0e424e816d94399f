"""Reading a dataset: ``open_dataset(dir)`` → :class:`SynthDataset` (tables, per-clip access).

Only shards committed in the manifest are read, so a dataset being written (or a killed run) reads
consistently. Any Parquet reader (pandas, DuckDB, Polars) can read the tables directly too.
"""

from __future__ import annotations

import copy
import json
import os
from functools import cached_property
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..errors import UserError
from .encoding import read_map
from .layout import CORE_TABLES, TABLES, Layout
from .manifest import Manifest
from ..errors import user_path
from .safety import check_id, inside
from .verify import Level
from .verify import verify as verify_files
from .schemas import LEGACY_MAP_TYPE, SCHEMAS
from .sizes import human_bytes
from .video import decode_mp4

__all__ = ["open_dataset", "read_manifest", "read_part", "SynthDataset", "ClipView"]


def read_manifest(layout: Layout) -> Manifest:
    """The manifest, or one line saying why it cannot be read (it is untrusted input)."""
    try:
        return Manifest.read(layout)
    except FileNotFoundError:
        raise UserError("dataset", f"{layout.root} is not a synthdata dataset (no dataset.json)") from None
    except (ValueError, TypeError, KeyError, UnicodeDecodeError, RecursionError) as exc:
        raise UserError("dataset", f"{layout.manifest}: not a readable manifest ({exc})") from None


#: a column chunk of a table of values (clips, objects, tracks) this much larger than it is on disk,
#: and over :data:`BOMB_BYTES`, is a decompression bomb, not a dataset (a 23 kB objects part held a
#: 400 MiB mask string)
BOMB_RATIO, BOMB_BYTES = 1000, 64 << 20


def _refuse_bombs(f: pq.ParquetFile, where: str) -> None:
    md = f.metadata
    for g in range(md.num_row_groups):
        rg = md.row_group(g)
        for c in range(rg.num_columns):
            col = rg.column(c)
            if col.total_uncompressed_size > max(BOMB_BYTES, BOMB_RATIO * col.total_compressed_size):
                raise UserError("dataset", f"{where}: column {col.path_in_schema} expands from "
                                           f"{human_bytes(col.total_compressed_size)} to "
                                           f"{human_bytes(col.total_uncompressed_size)}; not a part synthdata writes")


def read_part(layout: Layout, path: Path, table: str, clip_id: str | None = None,
              columns: list[str] | None = None) -> pa.Table:
    """One Parquet part with the columns its table needs (only ``columns``, when given), or one line
    naming the file. With ``clip_id``, only that clip's rows: just its row groups when the part has one
    per clip (format 2; a format-1 part is read whole and filtered)."""
    want = [f for f in SCHEMAS[table] if columns is None or f.name in columns]
    try:
        f = pq.ParquetFile(path)
        if table != "frames":  # maps may compress to nothing (a sky of inf); rows of values do not
            _refuse_bombs(f, layout.rel(path))
        groups = None if clip_id is None else _clip_groups(f, clip_id)
        read = None if columns is None else [c for c in dict.fromkeys([*columns, *(["clip_id"] if clip_id else [])])
                                             if c in f.schema_arrow.names]
        t = f.read(columns=read) if groups is None else f.read_row_groups(groups, columns=read)
    except (OSError, pa.ArrowException) as exc:
        raise UserError("dataset", f"{layout.rel(path)}: not a readable Parquet file ({exc})") from None
    for name in _ADDED.get(table, ()):  # columns a format-1 part lacks: nulls
        if name not in t.column_names and (columns is None or name in columns):
            t = t.append_column(SCHEMAS[table].field(name), pa.nulls(t.num_rows, SCHEMAS[table].field(name).type))
    missing = [f.name for f in want if f.name not in t.column_names]
    if missing:
        raise UserError("dataset", f"{layout.rel(path)}: missing column(s) {', '.join(missing)}")
    wrong = [f"{f.name} ({t.schema.field(f.name).type}, expected {f.type})" for f in want
             if t.schema.field(f.name).type not in (f.type, *_LEGACY.get(f.name, ()))]
    if wrong:
        raise UserError("dataset", f"{layout.rel(path)}: wrong column type(s): {', '.join(wrong)}")
    if clip_id is not None:
        t = t.filter(pc.equal(t["clip_id"], clip_id))
        if columns is not None and "clip_id" not in columns:
            t = t.drop_columns(["clip_id"])
    return t


#: columns added in format 2, read as nulls from older parts
_ADDED = {"clips": ("split",)}
_PER_CLIP = ("clips", "objects", "tracks")  # cached tables a split view reads again
#: bounds of a clip row's frame size and length (maps and masks are shaped by them)
MAX_SIDE, MAX_FRAMES = 16384, 1_000_000
#: characters of a compressed RLE per pixel of its frame, at most: every pixel its own run, a run's count
#: in at most 7 characters (6 bits each, 42 bits) — no mask of the frame can need more
RLE_CHARS_PER_PIXEL = 7
#: columns whose format-1 type is still read
_LEGACY = {name: (LEGACY_MAP_TYPE,) for name in ("depth", "flow_fwd", "flow_bwd", "semantic", "instance", "normals")}


def _clip_groups(f: pq.ParquetFile, clip_id: str) -> list[int] | None:
    """The row groups that may hold ``clip_id``, from their statistics; None when they cannot tell
    (no statistics: read the whole part)."""
    md = f.metadata
    try:
        col = f.schema_arrow.get_field_index("clip_id")
    except KeyError:
        return None
    out = []
    for g in range(md.num_row_groups):
        st = md.row_group(g).column(col).statistics
        if st is None or not st.has_min_max:
            return None
        if st.min <= clip_id <= st.max:
            out.append(g)
    return out


def open_dataset(path: str | Path, verify: Level = "quick", field: str = "dataset") -> "SynthDataset":
    """Open a dataset directory. ``verify="quick"`` checks that every listed file is there with its size;
    ``"full"`` also checks every content hash. A mismatch is refused (``synthdata verify`` lists them).
    ``field`` names the argument in the one-line error when ``path`` is not a dataset."""
    return SynthDataset(path, verify=verify, field=field)


class SynthDataset:
    """A dataset on disk, read-only: the manifest, whole tables (``clips``, ``objects``, ``tracks``, …
    as pyarrow Tables over the committed shards) and per-clip access (``ds.clip(i)``, ``for clip in ds``).

    Opening checks the files against ``dataset.json`` (``verify``), so what you read is what was
    written. ``len(ds)`` is the number of committed clips.
    """

    def __init__(self, path: str | Path, verify: Level = "quick", field: str = "dataset"):
        if isinstance(path, bytes) or not isinstance(path, (str, os.PathLike)):
            raise UserError(field, f"expected a dataset folder path, got {type(path).__name__} {path!r}"[:200])
        if verify not in ("quick", "full"):
            raise UserError("verify", f"expected 'quick' (sizes) or 'full' (sizes and hashes), got {verify!r}")
        self.layout = Layout(user_path(path, field)).require_dataset(field)
        self.manifest = read_manifest(self.layout)
        bad = verify_files(self.layout, self.manifest, verify)
        if bad:
            raise UserError("dataset", f"{self.layout.root}: {len(bad)} file(s) do not match dataset.json, first "
                                       f"{bad[0]}; `synthdata verify {self.layout.root}` lists them, re-running the "
                                       "generate command remakes those shards")

    @property
    def root(self) -> Path:
        """The dataset directory (every path in the tables is relative to it)."""
        return self.layout.root

    @property
    def class_names(self) -> list[str]:
        """Class names in id order: ``class_id`` k (1-based in the objects table and the semantic maps; 0
        is background) is ``class_names[k - 1]``."""
        return list(self.manifest.class_names)

    def has_table(self, name: str, shard: int | None = None) -> bool:
        """Whether the dataset (or one shard of it) holds ``name`` (``tracks`` only when its recipe
        switched them on)."""
        return name in CORE_TABLES or any(self.layout.rel(self.layout.part(name, s.index)) in s.files
                                          for s in self.manifest.shards if shard in (None, s.index))

    #: the split this object reads (:meth:`of_split`); None: every clip
    split_name: str | None = None

    def of_split(self, split: str, field: str = "split") -> "SynthDataset":
        """The same dataset restricted to the clips of one ``split`` (``train``/``val``/``test``, the clips
        table's column): its tables, ``len``, ``clip_ids`` and per-clip access see only those clips. Refused
        in one line naming ``field`` when the dataset has no such clips (or no splits at all)."""
        have = self.clips.column("split").to_pylist()
        if split not in have:
            known = sorted({s for s in have if s is not None})
            why = (f"expected one of this dataset's splits ({', '.join(known)})" if known else
                   "this dataset's clips have no split (made before format 2, or imported without one)")
            raise UserError(field, f"{why}, got {split!r}")
        view = copy.copy(self)
        view.__dict__ = {k: v for k, v in self.__dict__.items() if k not in _PER_CLIP}  # cached tables: re-read
        view.split_name = split
        return view

    def _only_split(self, t: pa.Table, name: str) -> pa.Table:
        """Rows of table ``name`` that belong to this object's split (all when it reads every clip)."""
        if self.split_name is None:
            return t
        if name == "clips":
            return t.filter(pc.equal(t["split"], self.split_name))
        return t.filter(pc.is_in(t["clip_id"], self.clips.column("clip_id")))

    def table(self, name: str) -> pa.Table:
        """A whole table (``clips``, ``frames``, ``objects``, or ``tracks``) over the committed shards;
        an optional table the dataset does not hold is empty."""
        if name not in TABLES:
            raise ValueError(f"unknown table {name!r}; expected one of {TABLES}")
        paths = [self.layout.part(name, s.index) for s in self.manifest.shards if self.has_table(name, s.index)]
        if not paths:
            return SCHEMAS[name].empty_table()
        return self._only_split(pa.concat_tables([read_part(self.layout, p, name) for p in paths]), name)

    def parts(self, name: str, columns: list[str] | None = None) -> Iterator[pa.Table]:
        """Each committed shard's part of table ``name`` in turn, with only ``columns`` (all when None):
        summaries over the whole dataset in the memory of one part's columns, whatever its size."""
        if name not in TABLES:
            raise ValueError(f"unknown table {name!r}; expected one of {TABLES}")
        unknown = [c for c in columns or () if c not in SCHEMAS[name].names]
        if unknown:
            raise ValueError(f"unknown column(s) {unknown} of table {name!r}; expected some of {SCHEMAS[name].names}")
        for s in self.manifest.shards:
            if self.has_table(name, s.index):
                part = read_part(self.layout, self.layout.part(name, s.index), name,
                                 columns=columns if self.split_name is None or columns is None else
                                 list(dict.fromkeys([*columns, "clip_id"] + (["split"] if name == "clips" else []))))
                yield part if self.split_name is None else self._only_split(part, name).select(columns or part.column_names)

    @cached_property
    def clips(self) -> pa.Table:
        """The clips table, every id and media path checked (they become file names downstream)."""
        t = self.table("clips")
        shards = self.manifest.done_shards()
        cols = ("clip_id", "video_path", "shard_index", "width", "height", "num_frames")
        for i, (cid, rel, shard, w, h, n) in enumerate(zip(*(t.column(c).to_pylist() for c in cols))):
            check_id(cid, f"clips[{i}].clip_id")
            if rel != self.layout.rel(self.layout.video(cid)):
                raise UserError(f"clips[{i}].video_path", f"expected media/{cid}.mp4 inside the dataset, got {rel!r}")
            if shard not in shards:
                raise UserError(f"clips[{i}].shard_index", f"expected a committed shard, got {shard!r}")
            for what, value, top in (("width", w, MAX_SIDE), ("height", h, MAX_SIDE), ("num_frames", n, MAX_FRAMES)):
                if not (isinstance(value, int) and 1 <= value <= top):  # maps and masks are shaped by them
                    raise UserError(f"clips[{i}].{what}", f"expected an integer in [1, {top}], got {value!r}")
        return t

    def checked_objects(self, t: pa.Table, where: str, pixels: int | None = None) -> pa.Table:
        """Object rows as the rest of the library may trust them: each ``class_name`` one of the
        dataset's classes with its ``class_id``, each ``mask_rle`` COCO's compressed-RLE alphabet and no
        longer than a mask of a frame of ``pixels`` pixels (default: the dataset's largest) can be. One line
        naming the file otherwise (an export or the FiftyOne build failed mid-way on such rows, leaving
        files behind; a 23 kB part expanded to a 401 MB export)."""
        names = self.class_names
        if t.num_rows == 0:
            return t
        if "class_name" in t.column_names:
            bad = pc.invert(pc.is_in(t["class_name"], pa.array(names, pa.string())))
            if pc.any(bad).as_py():
                got = pc.filter(t["class_name"], bad)[0].as_py()
                raise UserError("dataset", f"{where}: class_name {str(got)[:40]!r} is not one of the dataset's classes "
                                           f"({', '.join(names)})")
            if "class_id" in t.column_names:
                want = pc.add(pc.index_in(t["class_name"], pa.array(names, pa.string())), 1)
                if not pc.all(pc.equal(pc.cast(want, pa.int64()), pc.cast(t["class_id"], pa.int64()))).as_py():
                    raise UserError("dataset", f"{where}: class_id does not match class_name (class k is class_names[k-1])")
        if "mask_rle" in t.column_names:
            rle = t["mask_rle"]
            if pixels is None:
                pixels = max((w * h for w, h in zip(self.clips["width"].to_pylist(), self.clips["height"].to_pylist())),
                             default=0)
            most = RLE_CHARS_PER_PIXEL * pixels + 16
            longest = pc.max(pc.utf8_length(rle)).as_py() or 0
            if longest > most or not pc.all(pc.match_substring_regex(pc.fill_null(rle, ""), "^[0-o]*$")).as_py():
                raise UserError("dataset", f"{where}: mask_rle holds something other than a COCO compressed RLE of "
                                           f"its frame (characters 0–o, at most {most})")
        return t

    @cached_property
    def objects(self) -> pa.Table:
        """The objects table: one row per object per frame (track id, class, boxes, visibility, mask RLE, 3D box)."""
        return self.checked_objects(self.table("objects"), "objects")

    @cached_property
    def tracks(self) -> pa.Table:
        """Point tracks, one row per (clip, point, frame); empty when the recipe did not switch them on."""
        return self.table("tracks")

    @cached_property
    def skeletons(self) -> dict[str, dict]:
        """Class name → keypoint skeleton ``{"keypoints": names, "points", "skeleton": edges}`` (0-based
        edges), from the objects table's metadata; empty when keypoints are off."""
        if not self.manifest.shards:
            return {}
        meta = pq.read_schema(self.layout.part("objects", self.manifest.shards[0].index)).metadata or {}
        raw = meta.get(b"synthdata.skeletons")
        try:
            out = json.loads(raw) if raw else {}
        except ValueError:
            raise UserError("dataset", "objects table: unreadable synthdata.skeletons metadata") from None
        if not isinstance(out, dict):
            raise UserError("dataset", "objects table: synthdata.skeletons metadata is not a mapping")
        return out

    @property
    def clip_ids(self) -> list[str]:
        """Clip ids in table order (``ds.clip(i).clip_id == ds.clip_ids[i]``)."""
        return self.clips.column("clip_id").to_pylist()

    def __len__(self) -> int:
        return self.clips.num_rows

    def clip(self, key: int | str) -> "ClipView":
        """A clip by position (0-based) or by ``clip_id``."""
        ids = self.clip_ids
        if isinstance(key, (int, np.integer)):
            if not -len(ids) <= key < len(ids):
                raise IndexError(f"clip {key} out of range for {len(ids)} clips")
            pos = int(key) % len(ids)
        elif key in ids:
            pos = ids.index(key)
        else:
            raise KeyError(f"no clip {key!r}")
        return ClipView(self, self.clips.slice(pos, 1).to_pylist()[0])

    def __iter__(self):
        for i in range(len(self)):
            yield self.clip(i)

    def torch_dataset(self, unit: str = "clip", window: int = 8, stride: int | None = None, split: str | None = None,
                      maps=("depth", "semantic"), transform=None, seed: int = 0, max_depth: float | None = None):
        """A torch ``Dataset`` of whole clips, single frames or ``window``-frame windows whose items are
        dicts of fixed-shape tensors (plain ``DataLoader(…, batch_size=B)`` batches them); see
        :class:`synthdata.integrations.torch_windows.WindowDataset` for the item layout."""
        from ..integrations.torch_windows import WindowDataset

        return WindowDataset(self, unit=unit, window=window, stride=stride, split=split, maps=maps,
                             transform=transform, seed=seed, max_depth=max_depth)

    def info(self) -> dict[str, Any]:
        """Counts, classes, annotation types and sizes (what ``synthdata info`` prints), counted part by
        part from the few columns they need (a run's card calls this at its end, on any size of dataset)."""
        cls_counts: dict[str, int] = {}
        rows = visible = in_view = 0
        for obj in self.parts("objects", ["frame_index", "class_name", "visible_pixels", "in_view"]):
            rows += obj.num_rows
            for c in obj.filter(pc.equal(obj["frame_index"], 0)).column("class_name").to_pylist():
                cls_counts[c] = cls_counts.get(c, 0) + 1
            visible += int(pc.sum(pc.greater(obj["visible_pixels"], 0)).as_py() or 0)
            in_view += int(pc.sum(obj["in_view"]).as_py() or 0)
        points = sum(int(pc.sum(pc.equal(t["frame_index"], 0)).as_py() or 0) for t in self.parts("tracks", ["frame_index"]))
        transient = (self.layout.lock, self.layout.staging)  # a run's lock and shards in the making: not the data
        files = [p for p in self.root.rglob("*") if p.is_file() and not any(p == t or t in p.parents for t in transient)]
        size = sum(p.stat().st_size for p in files)
        folders: dict[str, int] = {}  # clips/, frames/, objects/, media/, …; files at the top as "."
        for p in files:
            top = p.relative_to(self.root).parts
            key = top[0] if len(top) > 1 else "."
            folders[key] = folders.get(key, 0) + p.stat().st_size
        m = self.manifest
        return {
            "path": str(self.root), "recipe": m.recipe_name, "recipe_hash": m.recipe_hash, "seed": m.seed,
            "complete": m.complete, "clips": len(self), "clips_planned": m.num_clips,
            "frames": int(sum(self.clips.column("num_frames").to_pylist())) if len(self) else 0,
            "object_rows": rows, "point_tracks": points, "visible_object_rows": visible, "in_view_object_rows": in_view,
            "classes": m.class_names, "objects_per_class": cls_counts,
            "annotations": self._labels_written(),
            "backend": m.backend,
            "resolution": [int(self.clips["width"][0].as_py()), int(self.clips["height"][0].as_py())] if len(self) else None,
            "shards": len(m.shards), "bytes": size, "size": human_bytes(size),
            "size_per_folder": {k: human_bytes(v) for k, v in sorted(folders.items())},
        }



    def _labels_written(self) -> list[str]:
        """The recipe's annotation switches that are on, then the label kinds it left at their default
        that the first shard wrote (``flow_valid``, ``camera_velocity``, …: a dataset made before a kind
        existed, or with it switched off, lacks the column's values)."""
        from ..annotate.kinds import enabled_kinds

        named = self.manifest.enabled_annotations()
        switches = {k: (v.get("enabled", False) if isinstance(v, dict) else v) for k, v in self.manifest.annotations.items()}
        defaults = [k for k in enabled_kinds(switches) if k.name not in self.manifest.annotations]
        if not defaults or not self.manifest.shards:
            return named
        shard = self.manifest.shards[0].index
        written = []
        for kind in defaults:
            if kind.table not in TABLES or not self.has_table(kind.table, shard):
                continue
            path = self.layout.part(kind.table, shard)
            if kind.table == "frames" and kind.map_dtype is not None:
                from .tables import written_maps

                ok = kind.name in written_maps(path)
            else:
                f = pq.ParquetFile(path)
                col = f.read(columns=[kind.name]).column(0) if kind.name in f.schema_arrow.names else None
                ok = col is not None and len(col) > 0 and col.null_count < len(col)
            if ok:
                written.append(kind.name)
        return named + written

class ClipView:
    """One clip: its row in ``clips`` plus lazy access to video, frames and objects."""

    def __init__(self, ds: SynthDataset, row: dict[str, Any]):
        self.ds, self.row = ds, row

    @property
    def clip_id(self) -> str:
        """The clip's id: unique in the dataset, safe as a file name."""
        return self.row["clip_id"]

    @property
    def split(self) -> str | None:
        """``train``/``val``/``test`` (the clips table's ``split``); None: made before format 2, or imported without."""
        return self.row.get("split")

    @property
    def params(self) -> dict[str, Any]:
        """What was sampled for this clip (the ``params`` JSON column), e.g. object counts and lighting."""
        return json.loads(self.row["params"])

    @property
    def video_path(self) -> Path:
        """The clip's MP4 (``media/<clip_id>.mp4``), checked to lie inside the dataset."""
        return inside(self.ds.root, self.row["video_path"], f"{self.clip_id}.video_path")

    def video(self) -> np.ndarray:
        """(T,H,W,3) uint8 RGB decoded from the MP4."""
        return decode_mp4(self.video_path)

    @cached_property
    def _shard_frames(self) -> pa.Table:
        t = read_part(self.ds.layout, self.ds.layout.part("frames", self.row["shard_index"]), "frames", self.clip_id)
        return t.sort_by("frame_index")

    def frames(self) -> pa.Table:
        """This clip's rows of the ``frames`` table (camera, maps as stored), by frame index."""
        return self._shard_frames

    def objects(self) -> pa.Table:
        """This clip's rows of the ``objects`` table: one per object per frame."""
        path = self.ds.layout.part("objects", self.row["shard_index"])
        return self.ds.checked_objects(read_part(self.ds.layout, path, "objects", self.clip_id), self.ds.layout.rel(path),
                                       int(self.row["width"]) * int(self.row["height"]))

    def tracks(self) -> pa.Table:
        """This clip's point tracks (point-major), empty when the dataset has none."""
        shard = self.row["shard_index"]
        if not self.ds.has_table("tracks", shard):
            return SCHEMAS["tracks"].empty_table()
        return read_part(self.ds.layout, self.ds.layout.part("tracks", shard), "tracks", self.clip_id)

    def map_names(self) -> list[str]:
        """The per-frame maps this clip has (the frames table's map columns that were written: depth,
        flow_fwd, …; read from the part's footer, no maps read)."""
        from .tables import written_maps

        return written_maps(self.ds.layout.part("frames", self.row["shard_index"]))

    def map(self, name: str) -> np.ndarray:
        """A per-frame map stacked over the clip: depth (T,H,W), flow_fwd/flow_bwd (T,H,W,2),
        semantic/instance (T,H,W), normals (T,H,W,3)."""
        if not isinstance(name, str) or name not in self.map_names():
            raise UserError("map", f"expected one of this dataset's maps ({', '.join(self.map_names())}), got {name!r}")
        col = self._shard_frames.column(name)
        H, W = int(self.row["height"]), int(self.row["width"])
        try:
            if pa.types.is_list(col.type):  # format 2: straight from Arrow's buffers, no Python lists
                if col.null_count:
                    read_map(None, H, W)
                return np.stack([read_map(c.values.to_numpy(zero_copy_only=False), H, W) for c in col])
            return np.stack([read_map(r, H, W) for r in col.to_pylist()])
        except ValueError as exc:  # a map that is not this clip's size (a mangled part or clips row)
            raise UserError("dataset", f"{self.clip_id}: map {name!r}: {exc}") from None

    def camera(self) -> tuple[np.ndarray, np.ndarray]:
        """(K (T,3,3), cam_to_world (T,4,4))."""
        f = self._shard_frames
        K = np.array(f.column("K").to_pylist()).reshape(-1, 3, 3)
        return K, np.array(f.column("cam_to_world").to_pylist()).reshape(-1, 4, 4)
