"""Collatable torch datasets (clips, frames, windows), the split column and the transform hook."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

import synthdata
from synthdata.io.split import split_of

from ..conftest import SYNC2, TINY


@pytest.fixture(scope="module")
def split_dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("ds") / "split"
    synthdata.generate("shapes", clips=6, out=out, compute=SYNC2, progress=False,
                       overrides=[*TINY, "clip.frames=5", "output.split.train=0.5", "output.split.val=0.25",
                                  "output.split.test=0.25"])
    return out


def test_split_column_is_fixed_by_seed_and_clip_index(split_dataset):
    ds = synthdata.open_dataset(split_dataset)
    splits = ds.clips.column("split").to_pylist()
    fr = {"train": 0.5, "val": 0.25, "test": 0.25}
    assert splits == [split_of(ds.manifest.seed, i, fr) for i in ds.clips.column("clip_index").to_pylist()]
    assert set(splits) <= {"train", "val", "test"}
    # the fractions hold over many clips, and a clip's split does not depend on how many there are
    many = [split_of(0, i, fr) for i in range(4000)]
    assert abs(many.count("train") / 4000 - 0.5) < 0.03 and abs(many.count("val") / 4000 - 0.25) < 0.03


def test_split_fractions_must_sum_to_one():
    with pytest.raises(Exception, match="train \\+ val \\+ test must be 1"):
        synthdata.load_recipe("shapes", ["output.split.train=0.9"])


@pytest.mark.parametrize("unit,window,T", [("clip", None, 5), ("window", 3, 3), ("frame", None, None)])
def test_a_plain_dataloader_batches_every_unit(split_dataset, unit, window, T):
    ds = synthdata.open_dataset(split_dataset)
    tds = ds.torch_dataset(unit=unit, window=window or 8, stride=1, maps=("depth", "semantic", "instance"), max_depth=50.0)
    n_clip = {"clip": 1, "window": 3, "frame": 5}[unit]
    assert len(tds) == 6 * n_clip
    batch = next(iter(DataLoader(tds, batch_size=2)))  # default collate
    H = W = 32
    N = tds.num_slots
    if unit == "frame":
        assert batch["video"].shape == (2, 3, H, W) and batch["depth"].shape == (2, H, W)
        assert batch["boxes"].shape == (2, 1, N, 4)
    else:
        assert batch["video"].shape == (2, T, 3, H, W) and batch["boxes"].shape == (2, T, N, 4)
    assert batch["track_id"].shape == (2, N) and batch["split"][0] in ("train", "val", "test")
    # the dense boxes are the objects table's visible boxes, slot = track id
    item = tds[1]
    clip = ds.clip(int(item["clip_index"]))
    obj = clip.objects().to_pylist()
    frames = item["frame_index"].reshape(-1).tolist()
    for o in obj:
        if o["frame_index"] not in frames:
            continue
        k = frames.index(o["frame_index"])
        box = item["boxes"].reshape(len(frames), N, 4)[k, o["track_id"]]
        if o["visible_pixels"]:
            np.testing.assert_allclose(box.numpy(), o["bbox_visible"])
        else:
            assert torch.isnan(box).all()
    # sky depth is capped and flagged
    depth = item["depth"]
    assert torch.isfinite(depth).all() and depth.max() <= 50.0
    assert (item["depth_valid"] == (torch.from_numpy(clip.map("depth")).reshape(-1, H, W)[frames] <= 50.0).reshape(depth.shape)).all()


def test_split_selects_clips_and_the_transform_hook_runs(split_dataset):
    ds = synthdata.open_dataset(split_dataset)
    want = [i for i, s in enumerate(ds.clips.column("split").to_pylist()) if s == "train"]
    seen = []

    def flip(item, seed):
        video, labels = item
        seen.append(seed)
        return video.flip(-1), labels

    tds = ds.torch_dataset(split="train", transform=flip, seed=3)
    assert [int(tds[i]["clip_index"]) for i in range(len(tds))] == [int(ds.clips.column("clip_index")[i].as_py()) for i in want]
    plain = ds.torch_dataset(split="train")
    np.testing.assert_array_equal(tds[0]["video"].numpy(), plain[0]["video"].flip(-1).numpy())
    assert seen[0] == 3 * 1_000_003


def test_hugging_face_datasets_loads_the_tables_from_the_card(split_dataset, monkeypatch, tmp_path):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    import datasets

    card = (split_dataset / "README.md").read_text()
    assert card.startswith("---\nlicense: other\n") and "config_name: objects" in card
    clips = datasets.load_dataset(str(split_dataset), cache_dir=str(tmp_path / "cache"))["train"]
    ds = synthdata.open_dataset(split_dataset)
    assert clips.num_rows == len(ds) and "split" in clips.column_names and "clip_id" in clips.column_names
    objects = datasets.load_dataset(str(split_dataset), "objects", cache_dir=str(tmp_path / "cache"))["train"]
    assert objects.num_rows == ds.objects.num_rows


def test_exports_carry_the_split(split_dataset, tmp_path):
    ds = synthdata.open_dataset(split_dataset)
    splits = dict(zip(ds.clip_ids, ds.clips.column("split").to_pylist()))
    coco = json.loads(Path(synthdata.export(ds, "coco", tmp_path / "coco")["path"]).read_text())
    assert {v["name"]: v["split"] for v in coco["videos"]} == splits
    synthdata.export(ds, "mot", tmp_path / "mot")
    for name in ("train", "val", "test"):  # every split's list, an empty one too (docs/fiftyone.md)
        listed = (tmp_path / "mot" / f"seqmap-{name}.txt").read_text().split()
        assert listed == ["name", *(c for c, s in splits.items() if s == name)]


@pytest.fixture(scope="module")
def mixed_dataset(tmp_path_factory):
    """Clips with and without a cube (8 keypoints; spheres and cylinders have 2), and point tracks."""
    out = tmp_path_factory.mktemp("ds") / "mixed"
    synthdata.generate("shapes", clips=4, out=out, compute={"name": "sync", "shard_size": 4}, progress=False,
                       overrides=[*TINY, "clip.frames=6", "objects.1.count={randint: [0, 1]}",
                                  "annotations.tracks.enabled=true", "annotations.tracks.points=16"])
    return synthdata.open_dataset(out)


def test_keypoints_have_one_shape_across_clips(mixed_dataset):
    """Found by a training-side review: K was the most keypoints among a clip's own rows (2 in a clip
    without a cube, 8 with one), so a plain DataLoader could not stack the items."""
    K = max(len(s["keypoints"]) for s in mixed_dataset.skeletons.values())
    clips = mixed_dataset.torch_dataset(unit="clip", maps=())
    assert {tuple(clips[i]["keypoints"].shape[2:]) for i in range(len(clips))} == {(K, 2)}
    batch = next(iter(DataLoader(clips, batch_size=len(clips))))
    assert batch["keypoints"].shape[0] == len(clips) and batch["keypoint_visibility"].shape[-1] == K


def test_a_geometric_transform_on_windows_of_a_clip_with_point_tracks(mixed_dataset):
    """Found by a training-side review: windows kept the clip's whole point tracks (P,T,2), and a flip's
    per-frame warp of a 3-frame window failed against them."""
    from synthdata.augment import load_pipeline

    flip = load_pipeline({"ops": [{"name": "hflip"}]})
    plain = mixed_dataset.torch_dataset(unit="window", window=3, maps=("depth",))
    flipped = mixed_dataset.torch_dataset(unit="window", window=3, maps=("depth",), transform=flip)
    a, b = plain[1], flipped[1]
    assert torch.equal(b["video"], a["video"].flip(-1)) and torch.equal(b["depth"], a["depth"].flip(-1))


def test_windows_load_the_maps_their_transform_needs(mixed_dataset):
    """Found by a training-side review: WindowDataset did not load the instance map its augmentation
    recomputes boxes from (ClipDataset did), so boxes stopped matching the masks when `maps` lacked it."""
    from synthdata.augment import load_pipeline

    turn = load_pipeline({"ops": [{"name": "affine", "p": 1.0, "degrees": 30}]})
    without = mixed_dataset.torch_dataset(unit="window", window=3, maps=("depth",), transform=turn)
    with_instance = mixed_dataset.torch_dataset(unit="window", window=3, maps=("depth", "instance"), transform=turn)
    for i in range(len(without)):
        a, b = without[i], with_instance[i]
        assert "instance" not in a  # only the maps asked for come back
        assert torch.equal(a["visible"], b["visible"]) and torch.allclose(a["boxes"], b["boxes"], equal_nan=True)
