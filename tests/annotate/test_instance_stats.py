"""Visible pixel counts and tight boxes from the instance map (annotate/masks.py), against the
definition written out object by object: the torch passes and the compiled loop (annotate/cpu_loops.py)."""

from __future__ import annotations

import math

import pytest
import torch

from synthdata.annotate.masks import instance_stats


def _reference(instance: torch.Tensor, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    T = instance.shape[0]
    pixels = torch.zeros(T, n, dtype=torch.int64)
    boxes = torch.full((T, n, 4), math.nan)
    for t in range(T):
        for i in range(n):
            ys, xs = (instance[t] == i + 1).nonzero(as_tuple=True)
            pixels[t, i] = ys.numel()
            if ys.numel():
                boxes[t, i] = torch.tensor([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], dtype=torch.float32)
    return pixels, boxes


@pytest.mark.parametrize("compiled", [False, True])
def test_counts_and_boxes_are_the_definitions(compiled):
    g = torch.Generator().manual_seed(0)
    inst = torch.randint(0, 4, (5, 7, 9), generator=g, dtype=torch.int32)
    inst[inst == 3] = 0
    inst[2, 3, 4] = 5  # a lone pixel of object 4 (id 5); objects 2 and 3 are absent (NaN boxes, no pixels)
    inst[4] = 0  # an empty frame
    inst[0, 6, 8] = inst[0, 0, 0] = 1  # object 0 reaches both corners of frame 0
    pixels, boxes = instance_stats(inst, 5, compiled=compiled)
    ref_pixels, ref_boxes = _reference(inst, 5)
    assert pixels.dtype == torch.int64 and boxes.dtype == torch.float32
    assert torch.equal(pixels, ref_pixels)
    assert torch.equal(boxes.isnan(), ref_boxes.isnan()) and torch.equal(boxes.nan_to_num(-1), ref_boxes.nan_to_num(-1))
    assert boxes[0, 0].tolist() == [0, 0, 9, 7] and boxes[2, 4].tolist() == [4, 3, 5, 4]
    assert boxes[:, 2:4].isnan().all() and (pixels[:, 2:4] == 0).all()


@pytest.mark.parametrize("compiled", [False, True])
def test_no_objects_and_no_frames(compiled):
    pixels, boxes = instance_stats(torch.zeros(3, 4, 5, dtype=torch.int32), 0, compiled=compiled)
    assert pixels.shape == (3, 0) and boxes.shape == (3, 0, 4)
    pixels, boxes = instance_stats(torch.zeros(0, 4, 5, dtype=torch.int32), 2, compiled=compiled)
    assert pixels.shape == (0, 2) and boxes.shape == (0, 2, 4)


def test_the_compiled_loop_gives_the_torch_passes_numbers_on_a_clip():
    from ..conftest import make_tiny_clip, tiny_spec

    spec = tiny_spec("highway", "clip.width=64", "clip.height=40", "clip.frames=4")
    inst = make_tiny_clip(spec, seed=1).frames.instance
    n = int(inst.max())
    a, b = instance_stats(inst, n, compiled=False), instance_stats(inst, n, compiled=True)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1].nan_to_num(-1), b[1].nan_to_num(-1)) and int(a[0].sum()) > 0
