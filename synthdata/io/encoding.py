"""Arrays as self-describing bytes: ``{data, dtype, shape, codec}`` so a Parquet reader needs no side files.

Codecs: ``zstd`` is the raw little-endian array compressed with Zstandard (via pyarrow);
``zstd+shuffle`` first regroups the bytes by significance (byte k of every element together), which
compresses floating-point maps (depth, flow) far better.
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
