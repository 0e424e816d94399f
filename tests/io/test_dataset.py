"""The on-disk dataset: layout, schemas, manifest, reader and torch Dataset."""

from __future__ import annotations

import json

import numpy as np
import pytest
import pyarrow.parquet as pq
import torch
from pycocotools import mask as mask_utils
from torch.utils.data import DataLoader

import synthdata
from synthdata.io.layout import FORMAT_VERSION
from synthdata.io.manifest import sha256_file
from synthdata.integrations.torch_dataset import collate_clips

from ..conftest import SYNC2, TINY


def test_layout(tiny_dataset):
    names = {p.relative_to(tiny_dataset).as_posix() for p in tiny_dataset.rglob("*")}
    assert {"dataset.json", "recipe.yaml", "README.md", "preview.png"} <= names
    for table in ("clips", "frames", "objects"):
        assert {f"{table}/part-00000.parquet", f"{table}/part-00001.parquet"} <= names
    assert {f"media/shapes-00000{i}.mp4" for i in range(3)} <= names
    assert not any(n.startswith(".staging") or n.endswith(".tmp") for n in names)


def test_manifest_lists_every_file_with_its_hash(tiny_dataset):
    m = json.loads((tiny_dataset / "dataset.json").read_text())
    assert m["format"] == "synthdata-dataset" and m["format_version"] == FORMAT_VERSION
    assert m["complete"] and m["num_clips"] == 3 and [s["index"] for s in m["shards"]] == [0, 1]
    for shard in m["shards"]:
        for rel, digest in shard["files"].items():
            assert sha256_file(tiny_dataset / rel) == digest
    assert m["recipe"]["name"] == "shapes" and m["class_names"] == ["sphere", "cube", "cylinder"]
    # the resolved recipe is re-runnable as-is
    spec = synthdata.load_recipe(str(tiny_dataset / "recipe.yaml"))
    assert spec.content_hash() == m["recipe_hash"]


def test_tables_are_plain_parquet_with_core_columns(tiny_dataset):
    clips = pq.read_table(tiny_dataset / "clips")
    frames = pq.read_table(tiny_dataset / "frames")
    objects = pq.read_table(tiny_dataset / "objects")
    for col in ("clip_id", "clip_index", "seed", "recipe_name", "recipe_hash", "backend", "num_frames", "fps",
                "width", "height", "video_path", "params"):
        assert col in clips.column_names
    for col in ("clip_id", "frame_index", "timestamp", "K", "cam_to_world", "depth", "flow_fwd", "flow_bwd",
                "semantic", "instance"):
        assert col in frames.column_names
    for col in ("clip_id", "frame_index", "track_id", "class_id", "class_name", "bbox_visible", "bbox_amodal",
                "visible_fraction", "occluded", "truncated", "in_view", "mask_rle", "box3d"):
        assert col in objects.column_names
    meta = pq.read_schema(tiny_dataset / "objects" / "part-00000.parquet").metadata
    assert json.loads(meta[b"synthdata.classes"]) == {"1": "sphere", "2": "cube", "3": "cylinder"}
    assert clips.num_rows == 3 and frames.num_rows == 12
    assert objects.num_rows == sum(r["num_objects"] * 4 for r in clips.to_pylist())
    assert len(set(clips.column("seed").to_pylist())) == 3
    assert "counts" in json.loads(clips.column("params")[0].as_py())


def test_object_rows_are_consistent_on_disk(tiny_dataset):
    objects = pq.read_table(tiny_dataset / "objects").to_pylist()
    seen = 0
    for o in objects:
        rle = {"counts": o["mask_rle"].encode(), "size": [32, 32]}
        assert int(mask_utils.area(rle)) == o["visible_pixels"]
        if o["visible_pixels"]:
            seen += 1
            x, y, w, h = mask_utils.toBbox(rle)
            assert o["bbox_visible"] == [x, y, x + w, y + h]
        else:
            assert o["bbox_visible"] is None
        assert len(o["box3d"]["rotation"]) == 4
    assert seen > 0


def test_reader_gives_clips_videos_and_maps(tiny_dataset):
    ds = synthdata.open_dataset(tiny_dataset)
    assert len(ds) == 3 and ds.clip_ids == [f"shapes-00000{i}" for i in range(3)]
    clip = ds.clip("shapes-000001")
    assert clip.row["clip_index"] == 1 and ds.clip(1).clip_id == "shapes-000001"
    video = clip.video()
    assert video.shape == (4, 32, 32, 3) and video.dtype == np.uint8
    depth, flow, sem, inst = (clip.map(n) for n in ("depth", "flow_fwd", "semantic", "instance"))
    assert depth.shape == (4, 32, 32) and depth.dtype == np.float32
    assert flow.shape == (4, 32, 32, 2) and flow.dtype == np.float32  # format 2: float32 lists (DuckDB, Polars)
    assert sem.shape == inst.shape == (4, 32, 32)
    K, poses = clip.camera()
    assert K.shape == (4, 3, 3) and poses.shape == (4, 4, 4) and np.allclose(poses[:, 3], [0, 0, 0, 1])
    # the semantic map and the objects table agree on where objects are
    objs = clip.objects().to_pylist()
    for o in objs:
        assert (inst[o["frame_index"]] == o["track_id"] + 1).sum() == o["visible_pixels"]
    info = ds.info()
    assert info["clips"] == 3 and info["frames"] == 12 and info["classes"] == ["sphere", "cube", "cylinder"]


def test_torch_dataset_and_loader(tiny_dataset):
    tds = synthdata.ClipDataset(synthdata.open_dataset(tiny_dataset))
    video, labels = tds[0]
    assert video.shape == (4, 3, 32, 32) and video.dtype == torch.uint8
    M = labels["boxes"].shape[0]
    assert M > 0 and labels["track_id"].shape == labels["class_id"].shape == (M,)
    assert labels["depth"].shape == (4, 32, 32) and labels["semantic"].dtype == torch.int64
    videos, batch = next(iter(DataLoader(tds, batch_size=2, collate_fn=collate_clips)))
    assert videos.shape == (2, 4, 3, 32, 32) and len(batch) == 2


def test_info_counts_part_by_part_without_loading_whole_tables(tracks_dataset):
    """``info()`` (and the dataset card each run ends with) reads only the columns it counts, one part at
    a time: the whole objects and tracks tables (mask RLEs, every track point) were loaded at the end
    of every run, growing with the dataset. The counts are those of the whole tables."""
    import pyarrow.compute as pc

    ds = synthdata.open_dataset(tracks_dataset)
    info = ds.info()
    assert "objects" not in vars(ds) and "tracks" not in vars(ds)  # neither whole table was read
    obj, tracks = ds.objects, ds.tracks
    assert info["object_rows"] == obj.num_rows > 0
    assert info["visible_object_rows"] == int(pc.sum(pc.greater(obj["visible_pixels"], 0)).as_py())
    assert info["in_view_object_rows"] == int(pc.sum(obj["in_view"]).as_py())
    assert info["point_tracks"] == int(pc.sum(pc.equal(tracks["frame_index"], 0)).as_py()) > 0
    first = obj.filter(pc.equal(obj["frame_index"], 0)).column("class_name").to_pylist()
    assert info["objects_per_class"] == {c: first.count(c) for c in dict.fromkeys(first)}
    # one part's columns at a time, only those asked for
    parts = list(ds.parts("objects", ["class_name", "in_view"]))
    assert len(parts) == len(ds.manifest.shards) and all(p.column_names == ["class_name", "in_view"] for p in parts)
    assert sum(p.num_rows for p in parts) == obj.num_rows
    with pytest.raises(ValueError, match="unknown column.*visible_fracton"):  # a typo is named, not an empty column
        next(ds.parts("objects", ["visible_fracton"]))


def test_info_lists_every_label_written_and_the_card_every_byte(tracks_dataset, tmp_path):
    """Found by a label review: ``info()["annotations"]`` listed the recipe's switches only, so labels on
    by default (``flow_valid``, ``camera_velocity``) were missing though written; the card's "size on
    disk" was counted before ``preview.png`` and ``README.md`` were written."""
    import re

    from synthdata.io.sizes import human_bytes

    ds = synthdata.open_dataset(tracks_dataset)
    names = ds.info()["annotations"]
    assert "flow_valid" in ds.clip(0).map_names() and "flow_valid" in names
    assert ds.clip(0).frames().column("camera_velocity").null_count == 0 and "camera_velocity" in names
    assert "tracks" in names and "normals" not in names and "road" not in names
    # a dataset made without flow_valid does not list it
    out = tmp_path / "noflow"
    synthdata.generate("shapes", clips=1, out=out, compute=SYNC2, progress=False,
                       overrides=[*TINY, "annotations.flow_valid=false"])
    assert "flow_valid" not in synthdata.open_dataset(out).info()["annotations"]
    text = (out / "README.md").read_text()
    shown = re.search(r"\| size on disk \| ([^|]+) \|", text).group(1)
    on_disk = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    assert shown == human_bytes(on_disk) == synthdata.open_dataset(out).info()["size"]
