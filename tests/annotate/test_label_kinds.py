"""A new label kind is one registration: computed by annotate, switched by the recipe, stored and read."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
import torch

import synthdata
from synthdata.annotate import LABEL_KINDS, LabelKind
from synthdata.errors import RecipeError
from synthdata.io.schemas import SCHEMAS

from ..conftest import SYNC2, TINY


def _centroids(frames, scene, traj) -> np.ndarray:
    """(T·N, 2) mean pixel of each object's visible mask (NaN when hidden), frame-major rows."""
    T, H, W = frames.instance.shape
    N = len(scene.objects)
    ids = torch.arange(1, N + 1, dtype=torch.int32)[None, :, None, None]
    masks = (frames.instance[:, None] == ids).float()  # (T,N,H,W)
    area = masks.sum((2, 3))
    ys, xs = torch.meshgrid(torch.arange(H) + 0.5, torch.arange(W) + 0.5, indexing="ij")
    cx = (masks * xs).sum((2, 3)) / area
    cy = (masks * ys).sum((2, 3)) / area
    return torch.stack([cx, cy], -1).reshape(T * N, 2).cpu().numpy().astype(np.float32)


#: as docs/guide.md registers it: no to_arrow of its own (found by a docs review: (M,2) rows failed ArrowInvalid
#: without one, the test passing only because it gave one)
CENTROID = LabelKind(name="centroid", table="objects", arrow_type=pa.list_(pa.float32(), 2), compute=_centroids)


@pytest.fixture
def centroid():
    LABEL_KINDS.register("centroid", CENTROID)
    yield CENTROID
    LABEL_KINDS._items.pop("centroid")


def test_a_registered_kind_is_written_and_read_back(centroid, tmp_path):
    spec = synthdata.load_recipe("shapes", [*TINY, "annotations.centroid=true"])
    synthdata.generate(spec, clips=2, out=tmp_path / "on", compute=SYNC2, progress=False)
    objs = synthdata.open_dataset(tmp_path / "on").objects
    assert objs.schema.names[-5:] == ["box3d", "centroid", "keypoints", "truncation", "velocity"]  # core first, then the others by name
    rows = objs.filter(pa.compute.greater(objs["visible_pixels"], 0)).to_pylist()
    assert rows
    for r in rows:  # the centroid lies inside the visible box
        x0, y0, x1, y1 = r["bbox_visible"]
        cx, cy = r["centroid"]
        assert x0 <= cx <= x1 and y0 <= cy <= y1


def test_a_kind_switched_off_adds_no_column(centroid, tmp_path):
    synthdata.generate("shapes", clips=1, out=tmp_path / "off", overrides=TINY, compute=SYNC2, progress=False)
    objs = synthdata.open_dataset(tmp_path / "off").objects
    assert "centroid" not in objs.schema.names
    assert objs.schema.names == [*SCHEMAS["objects"].names, "keypoints", "truncation", "velocity"]  # default-on kinds only


def test_unknown_kinds_and_non_booleans_are_refused(centroid):
    with pytest.raises(RecipeError) as info:
        synthdata.load_recipe("shapes", [*TINY, "annotations.centroids=true", "annotations.centroid=3"])
    assert info.value.lines() == [
        "annotations.centroids: unknown label kind 'centroids' (did you mean 'centroid'?); expected one of "
        + ", ".join(LABEL_KINDS.names()),  # every registered kind (worlds add theirs), centroid among them
        "annotations.centroid: expected true or false, got 3"]


def test_core_kinds_keep_their_column_when_off(tmp_path):
    synthdata.generate("shapes", clips=1, out=tmp_path / "d", overrides=[*TINY, "annotations.box3d=false"],
                       compute=SYNC2, progress=False)
    ds = synthdata.open_dataset(tmp_path / "d")
    assert ds.objects.column("box3d").null_count == ds.objects.num_rows  # present, all null
    assert ds.table("frames").column("normals").null_count == ds.table("frames").num_rows  # normals: off by default
