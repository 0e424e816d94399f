"""Label passes over a clip in frame chunks: their per-pixel temporaries (int64 keys, coordinates,
landing indices: tens of bytes a pixel) stay bounded whatever the clip's length, and the results,
per frame, are the same numbers as one pass over the whole clip."""

from __future__ import annotations

__all__ = ["CHUNK_PIXELS", "frame_chunks"]

#: Clip pixels one vectorised label pass works on at once (a frame at least).
CHUNK_PIXELS = 1 << 20


def frame_chunks(frames: int, frame_pixels: int) -> list[slice]:
    """Consecutive frame ranges of about :data:`CHUNK_PIXELS` pixels, at least one frame each."""
    step = max(1, CHUNK_PIXELS // max(frame_pixels, 1))
    return [slice(a, min(a + step, frames)) for a in range(0, frames, step)]
