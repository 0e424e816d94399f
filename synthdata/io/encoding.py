"""Arrays as self-describing bytes: ``{data, dtype, shape, codec}`` so a Parquet reader needs no side files.

Codec ``zstd`` is the raw little-endian array compressed with Zstandard (via pyarrow).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

__all__ = ["ENCODED_TYPE", "encode_array", "decode_array"]

ENCODED_TYPE = pa.struct([
    ("data", pa.binary()),
    ("dtype", pa.string()),
    ("shape", pa.list_(pa.int32())),
    ("codec", pa.string()),
])


def encode_array(a: np.ndarray, dtype: str | None = None) -> dict:
    """Encode ``a`` (optionally cast to ``dtype``, e.g. float16 for flow) as a struct row."""
    a = np.ascontiguousarray(a, dtype=dtype or a.dtype)
    a = a.astype(a.dtype.newbyteorder("<"), copy=False)
    data = pa.compress(a.tobytes(), codec="zstd", asbytes=True)
    return {"data": data, "dtype": a.dtype.str, "shape": list(a.shape), "codec": "zstd"}


def decode_array(row: dict) -> np.ndarray:
    """Inverse of :func:`encode_array`."""
    if row is None:
        raise ValueError("this map was not written (its annotation is off in the recipe)")
    dtype = np.dtype(row["dtype"])
    shape = tuple(row["shape"])
    if row["codec"] != "zstd":
        raise ValueError(f"unknown codec {row['codec']!r}; expected 'zstd'")
    size = int(np.prod(shape)) * dtype.itemsize
    raw = pa.decompress(row["data"], decompressed_size=size, codec="zstd", asbytes=True)
    return np.frombuffer(raw, dtype=dtype).reshape(shape)
