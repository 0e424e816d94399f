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


def write_parts(layout: Layout, shard_index: int, tables: dict[str, pa.Table], class_names: list[str],
                skeletons: dict | None = None) -> None:
    """Each table as ``<table>/part-NNNNN.parquet`` under ``layout``, with the format's metadata (the
    objects table also with the classes' keypoint ``skeletons``, when given)."""
    for name, table in tables.items():
        # maps in `frames` are zstd'd already: compressing, dictionary-encoding or keeping
        # min/max statistics of them again costs time and saves nothing
        maps = name == "frames"
        meta = with_metadata(table.schema, class_names, skeletons if name == "objects" else None).metadata
        pq.write_table(table.replace_schema_metadata(meta),
                       layout.part(name, shard_index),
                       compression="none" if maps else "zstd",
                       use_dictionary=["clip_id"] if maps else True,
                       write_statistics=["clip_id", "frame_index", "timestamp"] if maps else True)
