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


def build_tables(clips: list[dict], frames: list[dict], objects: list[dict[str, Any]],
                 schemas: dict[str, pa.Schema]) -> dict[str, pa.Table]:
    """``clips`` and ``frames`` as row dicts; ``objects`` as column dicts (one per clip, vectorised)."""
    parts = [pa.Table.from_pydict({k: p[k] for k in schemas["objects"].names}, schema=schemas["objects"])
             for p in objects]
    return {
        "clips": pa.Table.from_pylist(clips, schema=schemas["clips"]),
        "frames": pa.Table.from_pylist(frames, schema=schemas["frames"]),
        "objects": pa.concat_tables(parts) if parts else schemas["objects"].empty_table(),
    }


def write_parts(layout: Layout, shard_index: int, tables: dict[str, pa.Table], class_names: list[str]) -> None:
    """Each table as ``<table>/part-NNNNN.parquet`` under ``layout``, with the format's metadata."""
    for name, table in tables.items():
        # maps in `frames` are zstd'd already: compressing, dictionary-encoding or keeping
        # min/max statistics of them again costs time and saves nothing
        maps = name == "frames"
        pq.write_table(table.replace_schema_metadata(with_metadata(table.schema, class_names).metadata),
                       layout.part(name, shard_index),
                       compression="none" if maps else "zstd",
                       use_dictionary=["clip_id"] if maps else True,
                       write_statistics=["clip_id", "frame_index", "timestamp"] if maps else True)
