"""Which (frame, object) rows a torch item carries, and that geometric augmentation keeps their
per-row labels true (found by a label-truth review, 2026-12-06)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import synthdata
from synthdata.augment import load_pipeline
from synthdata.errors import UserError
from synthdata.integrations.torch_dataset import ClipDataset

from ..conftest import SYNC2, TINY


@pytest.fixture(scope="module")
def highway(tmp_path_factory):
    """Highway at 64×48×4: far cars hidden behind near ones while in view (v=1 keypoints)."""
    out = tmp_path_factory.mktemp("ds") / "hw"
    synthdata.generate("highway", clips=2, out=out, compute=SYNC2, progress=False,
                       overrides=[*TINY, "clip.width=64", "clip.height=48"])
    return synthdata.open_dataset(out)


def _hidden_in_view(ds):
    """(clip position, frame, track, class, keypoints) of an in-view row without visible pixels."""
    for pos in range(len(ds)):
        obj = ds.clip(pos).objects().to_pylist()
        for o in obj:
            if o["in_view"] and o["visible_pixels"] == 0 and o["keypoints"] and any(k["v"] == 1 for k in o["keypoints"]):
                return pos, o["frame_index"], o["track_id"], o["class_id"], o["keypoints"]
    raise AssertionError("the fixture has no hidden in-view row")


def test_in_view_rows_keep_hidden_objects_with_their_keypoints(highway):
    """The default items hold visible rows; ``rows="in_view"`` also the hidden ones: NaN visible box,
    ``visible`` False, the amodal box, COCO v=1 keypoints at their pixels."""
    pos, f, t, c, kps = _hidden_in_view(highway)
    _, vis_only = ClipDataset(highway, maps=())[pos]
    assert not ((vis_only["frame_index"] == f) & (vis_only["track_id"] == t)).any()
    assert torch.isfinite(vis_only["boxes"]).all() and vis_only["boxes_amodal"].shape == vis_only["boxes"].shape
    _, lab = ClipDataset(highway, maps=(), rows="in_view")[pos]
    r = int(torch.nonzero((lab["frame_index"] == f) & (lab["track_id"] == t))[0, 0])
    assert not lab["visible"][r] and torch.isnan(lab["boxes"][r]).all() and lab["visible_fraction"][r] == 0
    assert (lab["boxes_amodal"][r, 2:] > lab["boxes_amodal"][r, :2]).all()
    K = len(kps)
    assert lab["keypoint_visibility"][r, :K].tolist() == [k["v"] for k in kps]
    assert np.allclose(lab["keypoints"][r, :K].numpy(), [[k["x"], k["y"]] for k in kps], equal_nan=True)
    assert lab["visible"].sum() == len(vis_only["boxes"])


def test_window_items_carry_hidden_objects_in_their_slots(highway):
    """A dense item's slot of an object in view but hidden: its real track id and class, ``visible``
    False, its v=1 keypoints (were: padding, class 0 'background', keypoints 'out of view')."""
    pos, f, t, c, kps = _hidden_in_view(highway)
    item = highway.torch_dataset(unit="clip", maps=())[pos]
    assert int(item["track_id"][t]) == t and int(item["class_id"][t]) == c
    assert not item["visible"][f, t] and torch.isnan(item["boxes"][f, t]).all()
    assert item["keypoint_visibility"][f, t, :len(kps)].tolist() == [k["v"] for k in kps]
    assert (item["boxes_amodal"][f, t, 2:] > item["boxes_amodal"][f, t, :2]).all()


def test_rows_must_be_named():
    with pytest.raises(UserError, match="rows"):
        ClipDataset(None, rows="all")


def _crop(scale: float):
    return load_pipeline({"ops": [{"name": "crop", "p": 1.0, "scale": [scale, scale]}]})


def test_visible_fraction_after_a_crop_is_kept_only_where_it_is_still_known(highway):
    """A crop that cuts into an object's in-frame extent changes its visible/amodal ratio by an amount
    the item cannot know (no amodal mask): NaN there; kept where the extent stays whole in the frame,
    0 where nothing of the object shows (exact whatever the amodal count)."""
    plain = ClipDataset(highway, maps=("instance",))
    cropped = ClipDataset(highway, maps=("instance",), transform=_crop(0.3))
    seen_cut = seen_kept = 0
    for pos in range(len(highway)):
        _, a = plain[pos]
        _, b = cropped[pos]
        before = {(int(f), int(t)): float(v) for f, t, v in zip(a["frame_index"], a["track_id"], a["visible_fraction"])}
        H, W = b["instance"].shape[1:]
        for f, t, v, am in zip(b["frame_index"], b["track_id"], b["visible_fraction"], b["boxes_amodal"]):
            whole = bool(am[0] > 0 and am[1] > 0 and am[2] < W and am[3] < H)
            if math.isnan(v):
                seen_cut += 1
                assert not whole
            else:
                seen_kept += 1
                assert v == before[(int(f), int(t))]
    assert seen_cut and seen_kept


def test_a_flip_keeps_every_visible_fraction(highway):
    flip = load_pipeline({"ops": [{"name": "hflip"}]})
    _, a = ClipDataset(highway, maps=("instance",))[0]
    _, b = ClipDataset(highway, maps=("instance",), transform=flip)[0]
    assert torch.equal(a["visible_fraction"], b["visible_fraction"])
    W = a["instance"].shape[-1]
    assert torch.allclose(b["boxes_amodal"][:, [2, 0]], W - a["boxes_amodal"][:, [0, 2]])


def test_a_crop_keeps_hidden_rows_while_their_extent_is_in_view(highway):
    """In-view rows through a crop: a row stays while its amodal box is in the output frame, its
    visible flag and box follow the warped instance map."""
    _, lab = ClipDataset(highway, maps=("instance",), rows="in_view", transform=_crop(0.5))[1]
    H, W = lab["instance"].shape[1:]
    am = lab["boxes_amodal"]
    assert ((am[:, 2] > am[:, 0]) & (am[:, 3] > am[:, 1])).all()
    for r in range(len(am)):
        mask = lab["instance"][int(lab["frame_index"][r])] == int(lab["track_id"][r]) + 1
        assert bool(lab["visible"][r]) == bool(mask.any())
        assert torch.isnan(lab["boxes"][r]).all() != bool(mask.any())
        if not mask.any():
            assert lab["visible_fraction"][r] == 0
