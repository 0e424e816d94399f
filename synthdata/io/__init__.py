"""Dataset layout, Arrow schemas, Parquet writer/reader, MP4 encode/decode, manifest, dataset card.

Names load on first use, so a module that needs one registry (``io.sinks``) does not pull in the
reader, PyAV and the card's plotting.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_LAZY = {
    "FORMAT_VERSION": "layout", "ClipRecord": "records", "ClipView": "reader", "Layout": "layout",
    "Manifest": "manifest", "ShardInfo": "manifest", "SynthDataset": "reader", "decode_array": "encoding",
    "decode_mp4": "video", "encode_array": "encoding", "encode_mp4": "video", "open_dataset": "reader",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
