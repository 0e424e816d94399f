"""Arrow schemas of the three tables, defined once. Schema metadata carries the format version and the
class map so a Parquet file is self-describing. Columns of label kinds (``synthdata.annotate.kinds``)
follow the fixed columns: core kinds always, other kinds when the recipe switches them on."""

from __future__ import annotations

import json

import pyarrow as pa

from ..annotate import LABEL_KINDS, LabelKind, enabled_kinds, kinds_of_table
from .encoding import ENCODED_TYPE, map_column_type
from .layout import FORMAT_NAME, FORMAT_VERSION, TABLES

__all__ = ["LEGACY_MAP_TYPE", "CLIPS_SCHEMA", "FRAMES_SCHEMA", "OBJECTS_SCHEMA", "SCHEMAS", "kind_field", "own_tables", "table_schema",
           "with_metadata"]

BOX = pa.list_(pa.float32(), 4)

CLIPS_SCHEMA = pa.schema([
    ("clip_id", pa.string()),
    ("clip_index", pa.int64()),
    ("shard_index", pa.int32()),
    ("seed", pa.int64()),
    ("recipe_name", pa.string()),
    ("recipe_hash", pa.string()),
    ("backend", pa.string()),
    ("num_frames", pa.int32()),
    ("fps", pa.float32()),
    ("width", pa.int32()),
    ("height", pa.int32()),
    ("num_objects", pa.int32()),
    ("video_path", pa.string()),
    ("video_codec", pa.string()),
    ("params", pa.string()),  # JSON of what was sampled
    ("split", pa.string()),  # train | val | test (io/split.py); null: made before format 2, or imported without
])

_FRAMES_FIXED = pa.schema([
    ("clip_id", pa.string()),
    ("frame_index", pa.int32()),
    ("timestamp", pa.float32()),
    ("K", pa.list_(pa.float64(), 9)),  # 3×3 row-major
    ("cam_to_world", pa.list_(pa.float64(), 16)),  # 4×4 row-major, OpenCV camera axes, world z-up
    # maps: row-major flattened lists (io/encoding.py)
    ("depth", map_column_type("float32")),  # (H,W) z-depth in metres, inf for sky
    ("flow_fwd", map_column_type("float32")),  # (H,W,2) pixels to the next frame, NaN if behind camera
    ("flow_bwd", map_column_type("float32")),  # (H,W,2) pixels to the previous frame
    ("semantic", map_column_type("uint16")),  # (H,W) class id, 0 background
    ("instance", map_column_type("uint16")),  # (H,W) track_id + 1, 0 background
])
#: format 1 stored every map as an encoded struct; readers still accept it
LEGACY_MAP_TYPE = ENCODED_TYPE

_OBJECTS_FIXED = pa.schema([
    ("clip_id", pa.string()),
    ("frame_index", pa.int32()),
    ("track_id", pa.int32()),
    ("class_id", pa.int32()),
    ("class_name", pa.string()),
    ("bbox_visible", BOX),  # [x0, y0, x1, y1] pixels; null when not visible
    ("bbox_amodal", BOX),  # of the in-frame part of the unoccluded object; null when out of view
    ("visible_fraction", pa.float32()),
    ("visible_pixels", pa.int64()),
    ("amodal_pixels", pa.int64()),
    ("occluded", pa.bool_()),
    ("truncated", pa.bool_()),
    ("in_view", pa.bool_()),
    ("mask_rle", pa.string()),  # COCO compressed RLE counts, size = (height, width) of the clip
])
_FIXED = {"clips": CLIPS_SCHEMA, "frames": _FRAMES_FIXED, "objects": _OBJECTS_FIXED}


def kind_field(kind: LabelKind) -> pa.Field:
    """A label kind's column: its Arrow type, or a map (like ``depth``)."""
    return pa.field(kind.name, kind.arrow_type if kind.arrow_type is not None else map_column_type(kind.map_dtype or "float32"))


def table_schema(table: str, switches: dict | None = None) -> pa.Schema:
    """The schema of ``table`` for a recipe's ``annotations`` switches: the fixed columns, then the
    core label kinds (``box3d``; ``normals``), then other switched-on kinds by name. A label kind's
    own table (``tracks``) is ``clip_id`` and the kind's columns, whether or not it is switched on."""
    if table in _FIXED:
        base = _FIXED[table]
        return pa.schema([*base, *(kind_field(k) for k in kinds_of_table(table, switches))]) if table != "clips" else base
    kind = next((k for k in map(LABEL_KINDS.get, LABEL_KINDS.names()) if k.table == table), None) \
        if table in TABLES else None
    if kind is None:
        raise ValueError(f"unknown table {table!r}; expected one of {TABLES}")
    return pa.schema([("clip_id", pa.string()), *kind.columns])


def own_tables(switches: dict) -> list[str]:
    """The tables of switched-on label kinds that have their own (``tracks``), in layout order."""
    on = {k.table for k in enabled_kinds(switches) if k.own_table}
    return [t for t in TABLES if t in on]


#: the format's schemas (fixed + core kind columns): what every reader may rely on
FRAMES_SCHEMA = table_schema("frames")
OBJECTS_SCHEMA = table_schema("objects")
SCHEMAS = {"clips": CLIPS_SCHEMA, "frames": FRAMES_SCHEMA, "objects": OBJECTS_SCHEMA, "tracks": table_schema("tracks")}


def with_metadata(schema: pa.Schema, class_names: list[str], skeletons: dict | None = None) -> pa.Schema:
    """The format's metadata: version, class map and (when keypoints are on) each class's skeleton."""
    meta = {
        "synthdata.format": FORMAT_NAME,
        "synthdata.format_version": FORMAT_VERSION,
        "synthdata.classes": json.dumps({str(i + 1): n for i, n in enumerate(class_names)}),
    }
    if skeletons:
        meta["synthdata.skeletons"] = json.dumps(skeletons, sort_keys=True)
    return schema.with_metadata(meta)
