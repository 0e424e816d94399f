"""Per-pixel label passes in frame chunks (annotate/chunks.py) give the numbers of one pass over the
clip: instance stats, semantic maps and flow validity, with chunks of one and of several frames."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from synthdata.annotate import annotate, chunks
from synthdata.annotate.chunks import frame_chunks

from ..conftest import make_tiny_clip, tiny_spec


def test_frame_chunks_cover_the_clip_in_order():
    assert frame_chunks(10, chunks.CHUNK_PIXELS // 4) == [slice(0, 4), slice(4, 8), slice(8, 10)]
    assert frame_chunks(3, chunks.CHUNK_PIXELS * 5) == [slice(0, 1), slice(1, 2), slice(2, 3)]  # a frame at least
    assert frame_chunks(0, 64) == []


def _fields(a) -> dict:
    return {f.name: getattr(a, f.name) for f in dataclasses.fields(a)}


def _equal(x, y) -> bool:
    if isinstance(x, dict):
        return x.keys() == y.keys() and all(_equal(x[k], y[k]) for k in x)
    if isinstance(x, np.ndarray):
        return x.dtype == y.dtype and np.array_equal(x, y, equal_nan=x.dtype.kind == "f")
    return x == y


@pytest.mark.parametrize("frames_per_chunk", [1, 3])
def test_chunked_labels_equal_one_pass(monkeypatch, frames_per_chunk):
    spec = tiny_spec("highway", "clip.frames=7", "annotations.tracks.enabled=true")
    clip = make_tiny_clip(spec)
    px = spec.clip.width * spec.clip.height
    monkeypatch.setattr(chunks, "CHUNK_PIXELS", 10 ** 12)  # one pass over the clip
    whole = annotate(clip.frames, clip.scene, clip.traj, spec.annotations)
    monkeypatch.setattr(chunks, "CHUNK_PIXELS", frames_per_chunk * px)
    assert len(frame_chunks(7, px)) == -(-7 // frames_per_chunk)
    parts = annotate(clip.frames, clip.scene, clip.traj, spec.annotations)
    a, b = _fields(whole), _fields(parts)
    assert a.keys() == b.keys()
    for k in a:
        assert _equal(a[k], b[k]), k
    assert whole.labels["flow_valid"].any() and torch.is_tensor(clip.frames.instance)
