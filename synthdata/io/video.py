"""MP4 (H.264) encode/decode with PyAV.

Bytes depend only on the frames: x264 runs single-threaded, frames carry explicit timestamps, and
macroblock-tree rate control is off — with it on, this x264 build gave different bytes for identical
frames from run to run (2 distinct files in 25 encodes of one clip), which would break resume and
determinism checks.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

__all__ = ["encode_mp4", "decode_mp4"]


def encode_mp4(rgb: np.ndarray, path: str | Path, fps: float, codec: str = "h264", crf: int = 18) -> None:
    """Write frames to ``path``. Shape: rgb (T,H,W,3) uint8, H and W even.

    ``codec="h264"``: yuv420p for any viewer. ``codec="h264_lossless"``: libx264rgb at crf 0, decodes
    to the exact input RGB.
    """
    T, H, W, _ = rgb.shape
    lossless = codec == "h264_lossless"
    with av.open(str(path), mode="w", format="mp4") as container:
        rate = Fraction(fps).limit_denominator(1001)
        stream = container.add_stream("libx264rgb" if lossless else "libx264", rate=rate)
        stream.width, stream.height = W, H
        stream.pix_fmt = "rgb24" if lossless else "yuv420p"
        stream.thread_count = 1
        stream.options = {"crf": "0" if lossless else str(crf), "preset": "veryfast", "threads": "1",
                          "x264-params": "mbtree=0"}
        time_base = 1 / rate
        for i, frame in enumerate(rgb):
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
            vf.pts, vf.time_base = i, time_base
            for packet in stream.encode(vf):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def decode_mp4(path: str | Path) -> np.ndarray:
    """All frames of a video as (T,H,W,3) uint8 RGB."""
    with av.open(str(path)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    if not frames:
        raise ValueError(f"{path}: no video frames")
    return np.stack(frames)
