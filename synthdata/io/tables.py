"""The table builder of record: rows → the three Arrow tables → Parquet parts, one way for every writer.

The Parquet sink (:class:`~synthdata.io.writer.ShardWriter`) and the FiftyOne import
(:func:`synthdata.integrations.fiftyone.from_fiftyone`) both go through here, so a dataset has one
schema, one class map in its metadata and one encoding, whoever wrote it.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from .layout import Layout
from .schemas import with_metadata

__all__ = ["build_tables", "write_parts"]


def _columns(parts: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    tables = [pa.Table.from_pydict({k: p[k] for k in schema.names}, schema=schema) for p in parts]
    return pa.concat_tables(tables) if tables else schema.empty_table()


def build_tables(clips: list[dict], frames: list[dict], objects: list[dict[str, Any]],
                 schemas: dict[str, pa.Schema], **own: list[dict[str, Any]]) -> dict[str, pa.Table]:
    """``clips`` and ``frames`` as row dicts; ``objects`` and label kinds' own tables (``tracks=``)
    as column dicts (one per clip, vectorised)."""
    return {
        "clips": pa.Table.from_pylist(clips, schema=schemas["clips"]),
        "frames": pa.Table.from_pylist(frames, schema=schemas["frames"]),
        "objects": _columns(objects, schemas["objects"]),
        **{name: _columns(parts, schemas[name]) for name, parts in own.items()},
    }


def _float_leaves(schema: pa.Schema) -> list[str]:
    """Parquet paths of the float lists (maps): they get byte-stream-split encoding."""
    return [f"{f.name}.list.element" for f in schema
            if pa.types.is_list(f.type) and pa.types.is_floating(f.type.value_type)]


def write_parts(layout: Layout, shard_index: int, tables: dict[str, pa.Table], class_names: list[str],
                skeletons: dict | None = None) -> None:
    """Each table as ``<table>/part-NNNNN.parquet`` under ``layout``, with the format's metadata (the
    objects table also with the classes' keypoint ``skeletons``, when given).

    One row group per clip (rows are grouped by ``clip_id`` already), with ``clip_id`` statistics, so
    reading one clip reads only its rows (:meth:`synthdata.io.reader.ClipView.frames`). Maps in
    ``frames`` are ZSTD with floats byte-stream-split and no dictionary (they do not repeat)."""
    for name, table in tables.items():
        maps = name == "frames"
        meta = with_metadata(table.schema, class_names, skeletons if name == "objects" else None).metadata
        table = table.replace_schema_metadata(meta)
        options = dict(compression="zstd", use_dictionary=["clip_id"] if maps else True,
                       write_statistics=["clip_id", "frame_index", "timestamp"] if maps else True,
                       use_byte_stream_split=_float_leaves(table.schema) if maps else False)
        with pq.ParquetWriter(layout.part(name, shard_index), table.schema, **options) as writer:
            for start, length in _clip_runs(table) if name != "clips" else []:
                writer.write_table(table.slice(start, length), row_group_size=max(length, 1))
            if table.num_rows == 0 or name == "clips":
                writer.write_table(table)


def _clip_runs(table: pa.Table) -> list[tuple[int, int]]:
    """(start, length) of each run of equal ``clip_id`` (tables are written clip after clip)."""
    if table.num_rows == 0 or "clip_id" not in table.column_names:
        return [(0, table.num_rows)] if table.num_rows else []
    ids = table.column("clip_id").to_pylist()
    runs, start = [], 0
    for i in range(1, len(ids) + 1):
        if i == len(ids) or ids[i] != ids[start]:
            runs.append((start, i - start))
            start = i
    return runs
