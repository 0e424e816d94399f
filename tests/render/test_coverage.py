"""Maps no label reads are left out batch by batch (``RaycastBackend.keep``, the shard path): amodal
coverage reduced to its per-frame summary, normals and surface dropped — the same labels as from the
full G-buffer, without holding the clip's maps."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from synthdata.annotate import LABEL_KINDS, LabelKind, annotate, maps_read
from synthdata.render import make_backend
from synthdata.render.coverage import Coverage, coverage_boxes, view_edge
from synthdata.run.pipeline import layout_clip
from synthdata.scene.optics import field_view
from synthdata.run.shard import ShardJob, _backend
from synthdata.run.timing import StageTimer

from ..conftest import tiny_spec

MAPS = ("rgb", "instance", "depth", "flow_fwd", "flow_bwd")


def _same(a, b) -> bool:
    if isinstance(a, torch.Tensor):
        return a.dtype == b.dtype and torch.equal(a.nan_to_num(0) if a.is_floating_point() else a,
                                                  b.nan_to_num(0) if b.is_floating_point() else b)
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
    return a == b


def test_coverage_of_maps_is_coverage_boxes_and_concatenates_by_frames():
    g = torch.Generator().manual_seed(0)
    maps = torch.rand(5, 3, 7, 9, generator=g) > 0.8
    maps[1, 2] = False  # an object out of view: NaN box, 0 pixels
    whole = Coverage.of(maps)
    assert all(_same(x, y) for x, y in zip((whole.boxes, whole.pixels, whole.border), coverage_boxes(maps)))
    parts = Coverage.cat([Coverage.of(maps[:2]), Coverage.of(maps[2:])])
    assert all(_same(getattr(parts, k), getattr(whole, k)) for k in ("boxes", "pixels", "border"))
    assert torch.isnan(whole.boxes[1, 2]).all() and whole.pixels[1, 2] == 0


@pytest.mark.parametrize("recipe, extra", [("shapes", []), ("highway", ["clip.frames=11", "backend.frame_batch=4"]),
                                           ("highway", ["backend.rolling_shutter=0.5"]),
                                           ("surgery_tools", [])])  # a field stop: its circle truncates
def test_reduced_coverage_gives_the_same_frames_and_labels(recipe, extra):
    spec = tiny_spec(recipe, *extra)
    lay = layout_clip(spec, 0, StageTimer())
    backend = make_backend(spec.backend, "cpu")
    full = backend.render(lay.scene, lay.traj)
    backend.keep = maps_read(spec.annotations)
    assert {"normals", "surface", "amodal"}.isdisjoint(backend.keep)  # no label of these recipes reads them
    lean = backend.render(lay.scene, lay.traj)
    assert lean.amodal is None and lean.normals is None and lean.surface is None
    assert full.coverage is None and full.amodal is not None and full.normals is not None
    for k in MAPS:
        assert _same(getattr(full, k), getattr(lean, k)), k
    ref = Coverage.of(full.amodal, view_edge(field_view(lay.scene)))
    assert all(_same(getattr(lean.coverage, k), getattr(ref, k)) for k in ("boxes", "pixels", "border"))
    assert ref.pixels.sum() > 0  # objects really are in view
    a, b = annotate(full, lay.scene, lay.traj, spec.annotations), annotate(lean, lay.scene, lay.traj, spec.annotations)
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if f.name == "labels":
            assert x.keys() == y.keys()
            continue
        assert (x is None and y is None) or _same(x, y), f.name


def test_maps_read_follow_the_enabled_labels():
    base = maps_read(tiny_spec("shapes").annotations)
    assert {"instance", "depth", "coverage"} <= base and not {"normals", "surface", "part", "amodal"} & base
    assert "normals" in maps_read(tiny_spec("shapes", "annotations.normals=true").annotations)
    assert {"surface", "part"} <= maps_read(tiny_spec("shapes", "annotations.tracks.enabled=true").annotations)
    assert "surface" in maps_read(tiny_spec("highway", "annotations.road=true").annotations)
    LABEL_KINDS.register("undeclared_test_kind", LabelKind(name="undeclared_test_kind", table="objects",
                                                           compute=lambda frames, scene, traj: None))
    try:  # a kind that does not say what it reads keeps every map
        assert maps_read(tiny_spec("shapes", "+annotations.undeclared_test_kind=true").annotations) is None
    finally:
        LABEL_KINDS._items.pop("undeclared_test_kind")


def test_the_shard_path_keeps_only_what_its_labels_read(tmp_path):
    def job(*extra):
        spec = tiny_spec("shapes", *extra)
        return ShardJob(spec=spec, recipe_hash=spec.content_hash(), out=str(tmp_path), num_clips=1, shard_size=1)

    lean, normals = _backend(job()), _backend(job("annotations.normals=true"))
    assert lean is not normals  # runs with other labels never share (and never re-set) a backend
    assert "normals" in lean.dropped() and "normals" not in normals.dropped()
    assert "amodal" in lean.dropped() and "amodal" in normals.dropped()


def test_an_object_cut_by_a_field_stop_is_truncated():
    """Found by a docs-vs-code review: with an endoscope's circular field stop, coverage outside the
    circle is blanked, so an instrument cut by the circle touched no image border and was never
    `truncated`. The circle's edge now counts as the picture's border."""
    yy, xx = torch.meshgrid(torch.arange(24), torch.arange(32), indexing="ij")
    view = (yy - 11.5) ** 2 + (xx - 15.5) ** 2 <= 11**2  # a circle inside the frame
    edge = view_edge(view)
    assert edge[11, 5] and not edge[11, 15] and not edge[0, 0]  # on the rim; the centre; outside
    cover = torch.zeros(3, 24, 32, dtype=torch.bool)
    cover[0] = view & (xx < 10)  # reaches in from the left, cut by the circle
    cover[1] = view & ((yy - 11.5) ** 2 + (xx - 15.5) ** 2 <= 4**2)  # well inside
    cover[2, 0, :3] = True  # on the image border, outside the view: never seen (the renderer blanks it)
    _, _, border = coverage_boxes(cover & view, edge)
    assert border.tolist() == [True, False, False]
    assert coverage_boxes(cover[:2] & view)[2].tolist() == [False, False]  # without the edge: never cut
