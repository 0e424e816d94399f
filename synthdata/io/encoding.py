"""How per-frame maps (depth, flow, semantic, instance, …) are stored in the ``frames`` table.

Format 2 (now): a map is a plain Arrow list of numbers, the (H, W[, C]) array flattened row-major
(H, W from the clip's row; C = length / (H·W), 1 for a plain map), so DuckDB, Polars and pandas read
it without this package; Parquet compresses it (ZSTD, floats byte-stream-split: the byte-shuffle of
format 1, done natively). Float16 maps (flow, normals) are widened to float32, which those readers
know. :func:`map_column_type`, :func:`map_cell`, :func:`read_map`.

Format 1 (still read): a map is self-describing bytes ``{data, dtype, shape, codec}``. Codecs: ``zstd``
is the raw little-endian array compressed with Zstandard (via pyarrow); ``zstd+shuffle`` first regroups
the bytes by significance (byte k of every element together). :func:`encode_array`,
:func:`decode_array`.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

__all__ = ["ENCODED_TYPE", "encode_array", "decode_array", "map_column_type", "map_cell", "read_map"]

#: a map's stored element type for the dtype it is made in (readers without float16 get float32)
_STORED = {"float16": "float32", "float32": "float32", "float64": "float32", "uint8": "uint8", "int8": "int8",
           "uint16": "uint16", "int16": "int16", "int32": "int32", "uint32": "uint32", "bool": "uint8"}


def map_column_type(dtype: str) -> pa.DataType:
    """The Arrow type of a map column whose maps are made in ``dtype``: a list of its stored type."""
    return pa.list_(pa.from_numpy_dtype(np.dtype(_STORED[np.dtype(dtype).name])))


def map_cell(a: np.ndarray, dtype: str | None = None) -> np.ndarray:
    """One frame's map as its stored cell: flattened row-major in the stored type of ``dtype`` (default:
    ``a``'s own). Shape: (H, W[, C]) → (H·W·C,)."""
    name = np.dtype(dtype or a.dtype).name
    return np.ascontiguousarray(a, dtype=_STORED[name]).reshape(-1)


def read_map(cell, height: int, width: int) -> np.ndarray:
    """A stored map back as an array, from either format: a format-2 list (a numpy array or a Python
    list) reshaped to (H, W) or (H, W, C), or a format-1 encoded struct. A null cell (the annotation
    was off) is refused with one line."""
    if cell is None:
        raise ValueError("this map was not written (its annotation is off in the recipe)")
    if isinstance(cell, dict):
        return decode_array(cell)
    a = np.asarray(cell)
    channels, rest = divmod(a.size, height * width)
    if rest or channels == 0:
        raise ValueError(f"a map of {a.size} values does not fit a {height}×{width} frame")
    return a.reshape(height, width) if channels == 1 else a.reshape(height, width, channels)

ENCODED_TYPE = pa.struct([
    ("data", pa.binary()),
    ("dtype", pa.string()),
    ("shape", pa.list_(pa.int32())),
    ("codec", pa.string()),
])


def encode_array(a: np.ndarray, dtype: str | None = None) -> dict:
    """Encode ``a`` (optionally cast to ``dtype``, e.g. float16 for flow) as a struct row; floats
    are byte-shuffled."""
    a = np.ascontiguousarray(a, dtype=dtype or a.dtype)
    a = a.astype(a.dtype.newbyteorder("<"), copy=False)
    shuffle = a.dtype.kind == "f" and a.dtype.itemsize > 1
    raw = np.ascontiguousarray(a.reshape(-1).view(np.uint8).reshape(-1, a.dtype.itemsize).T) if shuffle else a
    data = pa.compress(raw.tobytes(), codec="zstd", asbytes=True)
    return {"data": data, "dtype": a.dtype.str, "shape": list(a.shape), "codec": "zstd+shuffle" if shuffle else "zstd"}


def decode_array(row: dict) -> np.ndarray:
    """Inverse of :func:`encode_array`."""
    if row is None:
        raise ValueError("this map was not written (its annotation is off in the recipe)")
    dtype = np.dtype(row["dtype"])
    shape = tuple(row["shape"])
    if row["codec"] not in ("zstd", "zstd+shuffle"):
        raise ValueError(f"unknown codec {row['codec']!r}; expected 'zstd' or 'zstd+shuffle'")
    count = int(np.prod(shape))
    raw = pa.decompress(row["data"], decompressed_size=count * dtype.itemsize, codec="zstd", asbytes=True)
    buf = np.frombuffer(raw, dtype=np.uint8)
    if row["codec"] == "zstd+shuffle":
        buf = np.ascontiguousarray(buf.reshape(dtype.itemsize, count).T)
    return buf.view(dtype).reshape(shape)
