"""The table builder of record: rows → the three Arrow tables → Parquet parts, one way for every writer.

The Parquet sink (:class:`~synthdata.io.writer.ShardWriter`) and the FiftyOne import
(:func:`synthdata.integrations.fiftyone.from_fiftyone`) both go through here, so a dataset has one
schema, one class map in its metadata and one encoding, whoever wrote it.
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from .layout import Layout
from .schemas import with_metadata

__all__ = ["MAPS_KEY", "PartWriter", "build_tables", "written_maps", "write_parts"]

#: footer key of a frames part: the JSON list of its map columns that hold data
MAPS_KEY = "synthdata.maps"


def _columns(parts: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    tables = [pa.Table.from_pydict({k: p[k] for k in schema.names}, schema=schema) for p in parts]
    return pa.concat_tables(tables) if tables else schema.empty_table()


def build_tables(clips: list[dict], frames: list[dict[str, Any]] | None, objects: list[dict[str, Any]],
                 schemas: dict[str, pa.Schema], **own: list[dict[str, Any]]) -> dict[str, pa.Table]:
    """``clips`` as row dicts; ``frames``, ``objects`` and label kinds' own tables (``tracks=``) as
    column dicts (one per clip, vectorised). ``frames=None``: that table is streamed by a
    :class:`PartWriter` instead, and left out here."""
    return {
        "clips": pa.Table.from_pylist(clips, schema=schemas["clips"]),
        **({} if frames is None else {"frames": _columns(frames, schemas["frames"])}),
        "objects": _columns(objects, schemas["objects"]),
        **{name: _columns(parts, schemas[name]) for name, parts in own.items()},
    }


def _is_map(field: pa.Field) -> bool:
    """A per-frame map column: a list of numbers (format 2) or an encoded struct (format 1)."""
    from .schemas import LEGACY_MAP_TYPE

    return pa.types.is_list(field.type) or pa.types.is_large_list(field.type) or field.type == LEGACY_MAP_TYPE


def written_maps(path) -> list[str]:
    """The map columns of a frames part that hold data (the footer's ``synthdata.maps``; parts written
    before it was kept: every map column)."""
    meta = pq.read_metadata(path)
    names = [f.name for f in meta.schema.to_arrow_schema() if _is_map(f)]
    listed = (meta.metadata or {}).get(MAPS_KEY.encode())
    return names if listed is None else [n for n in names if n in set(json.loads(listed))]


def _float_leaves(schema: pa.Schema) -> list[str]:
    """Parquet paths of the float lists (maps): they get byte-stream-split encoding."""
    return [f"{f.name}.list.element" for f in schema
            if pa.types.is_list(f.type) and pa.types.is_floating(f.type.value_type)]


class PartWriter:
    """One table's Parquet part written clip by clip (one row group per clip) as clips come, so a
    shard never holds more than one clip's rows of it: the frames table, whose maps are most of a
    clip's bytes. Same file as :func:`write_parts` writes for the same rows."""

    def __init__(self, layout: Layout, name: str, shard_index: int, schema: pa.Schema, class_names: list[str],
                 skeletons: dict | None = None):
        self.schema = schema.with_metadata(with_metadata(schema, class_names, skeletons).metadata)
        self.rows = 0
        #: the frames table's map columns, and those some row filled: the part's footer lists the filled
        #: ones (``synthdata.maps``), so readers offer only maps that were written
        self._maps = [f.name for f in schema if _is_map(f)] if name == "frames" else []
        self._filled: set[str] = set()
        self._writer = pq.ParquetWriter(layout.part(name, shard_index), self.schema, **_options(name, schema))

    def write(self, table: pa.Table) -> None:
        """Append ``table`` (rows of one or more whole clips, grouped by ``clip_id``)."""
        table = table.replace_schema_metadata(self.schema.metadata)
        self._filled.update(m for m in self._maps if table.column(m).null_count < table.num_rows)
        for start, length in _clip_runs(table):
            self._writer.write_table(table.slice(start, length), row_group_size=max(length, 1))
        self.rows += table.num_rows

    def close(self) -> None:
        if self._writer is not None:
            if self.rows == 0:
                self._writer.write_table(self.schema.empty_table())
            if self._maps:
                self._writer.add_key_value_metadata({MAPS_KEY: json.dumps([m for m in self._maps if m in self._filled])})
            self._writer.close()
            self._writer = None


def _options(name: str, schema: pa.Schema) -> dict:
    """Parquet options of a table: maps in ``frames`` are ZSTD with floats byte-stream-split and no
    dictionary (they do not repeat); statistics on the columns readers filter by."""
    maps = name == "frames"
    return dict(compression="zstd", use_dictionary=["clip_id"] if maps else True,
                write_statistics=["clip_id", "frame_index", "timestamp"] if maps else True,
                use_byte_stream_split=_float_leaves(schema) if maps else False)


def write_parts(layout: Layout, shard_index: int, tables: dict[str, pa.Table], class_names: list[str],
                skeletons: dict | None = None) -> None:
    """Each table as ``<table>/part-NNNNN.parquet`` under ``layout``, with the format's metadata (the
    objects table also with the classes' keypoint ``skeletons``, when given).

    One row group per clip (rows are grouped by ``clip_id`` already), with ``clip_id`` statistics, so
    reading one clip reads only its rows (:meth:`synthdata.io.reader.ClipView.frames`)."""
    for name, table in tables.items():
        if name == "clips":  # one row per clip: one row group
            meta = with_metadata(table.schema, class_names).metadata
            pq.write_table(table.replace_schema_metadata(meta), layout.part(name, shard_index), **_options(name, table.schema))
            continue
        part = PartWriter(layout, name, shard_index, table.schema, class_names, skeletons if name == "objects" else None)
        try:
            part.write(table)
        finally:
            part.close()


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
