"""Dataset layout, Arrow schemas, Parquet writer/reader, MP4 encode/decode, manifest, dataset card."""

from .encoding import decode_array, encode_array
from .layout import FORMAT_VERSION, Layout
from .manifest import Manifest, ShardInfo
from .reader import ClipView, SynthDataset, open_dataset
from .records import ClipRecord
from .video import decode_mp4, encode_mp4

__all__ = [
    "FORMAT_VERSION", "ClipRecord", "ClipView", "Layout", "Manifest", "ShardInfo", "SynthDataset",
    "decode_array", "decode_mp4", "encode_array", "encode_mp4", "open_dataset",
]
