"""What was rendered is what is read back: every map and label, through the sink and the reader; and
every `annotations` switch really removes its label from the data."""

from __future__ import annotations

import numpy as np
import pyarrow.compute as pc
import pytest

import synthdata
from synthdata.render import make_backend
from synthdata.run.pipeline import layout_clip
from synthdata.run.timing import StageTimer

from ..conftest import SYNC2, TINY


def _rendered(spec, clip_index: int):
    lay = layout_clip(spec, clip_index, StageTimer())
    c = spec.clip
    return lay, make_backend(spec.backend, "cpu").render(lay.scene, lay.traj)


@pytest.mark.parametrize("clip_index", [0, 2])
def test_maps_read_back_equal_the_rendered_maps(tiny_dataset, clip_index):
    ds = synthdata.open_dataset(tiny_dataset)
    spec = synthdata.load_recipe(str(tiny_dataset / "recipe.yaml"))
    lay, f = _rendered(spec, clip_index)
    clip = ds.clip(clip_index)
    np.testing.assert_array_equal(clip.map("depth"), f.depth.numpy())
    for name in ("flow_fwd", "flow_bwd"):  # format 2 stores flow as float32: exactly the rendered flow
        np.testing.assert_array_equal(clip.map(name), getattr(f, name).numpy(), err_msg=name)
    np.testing.assert_array_equal(clip.map("instance"), f.instance.numpy())
    table = np.concatenate([[0], lay.scene.objects.class_id])
    np.testing.assert_array_equal(clip.map("semantic"), table[f.instance.numpy()])
    K, poses = clip.camera()
    np.testing.assert_allclose(K[0], lay.traj.K) and np.testing.assert_allclose(poses, lay.traj.camera_poses)
    times = clip.frames().column("timestamp").to_numpy()
    np.testing.assert_allclose(times, lay.traj.timestamps, rtol=1e-6)


def test_annotation_switches_remove_their_labels(tmp_path):
    off = ["annotations.amodal=false", "annotations.box3d=false", "annotations.flow=false",
           "annotations.depth=false", "annotations.semantic=false", "annotations.instance=false",
           "annotations.keypoints=false"]
    out = tmp_path / "off"
    synthdata.generate("shapes", clips=2, out=out, overrides=[*TINY, *off], compute=SYNC2, progress=False)
    ds = synthdata.open_dataset(out)
    obj = ds.objects
    for column in ("bbox_amodal", "amodal_pixels", "box3d"):
        assert obj[column].null_count == obj.num_rows, column
    assert pc.sum(obj["in_view"]).as_py() > 0 and obj["bbox_visible"].null_count < obj.num_rows
    frames = ds.table("frames")
    for column in ("depth", "flow_fwd", "flow_bwd", "semantic", "instance"):
        assert frames[column].null_count == frames.num_rows, column
    assert "keypoints" not in obj.column_names and not ds.has_table("tracks") and not (out / "tracks").exists()
    on = set(ds.manifest.enabled_annotations())
    assert on == {"masks"}  # dataset.json says exactly what the data holds
