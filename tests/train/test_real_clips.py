"""Real clips (no ray-caster behind them) imported from FiftyOne with segmentation and depth fields
train a generator: instance and flow maps are absent, and the model records it."""

from __future__ import annotations

import json

import numpy as np
import pytest

import synthdata
from synthdata.integrations.fiftyone import from_fiftyone, import_fiftyone

from ..conftest import SYNC2, TINY, train_tiny


@pytest.fixture(scope="module")
def real_like(tiny_dataset, tmp_path_factory):
    """A FiftyOne video dataset the way a user has it: MP4s, per-frame Segmentation masks with their own
    ids (mask targets by name), depth Heatmaps in metres — built from the tiny dataset's clips."""
    fo = import_fiftyone()
    ds = synthdata.open_dataset(tiny_dataset)
    own_ids = {name: 10 + 3 * i for i, name in enumerate(ds.class_names)}  # not our ids
    remap = np.array([0] + [own_ids[n] for n in ds.class_names], dtype=np.uint8)
    dataset = fo.Dataset("synthdata-test-real-clips", overwrite=True)
    dataset.mask_targets = {"frames.segmentation": {0: "background", **{v: k for k, v in own_ids.items()}}}
    for clip in ds:
        sample = fo.Sample(filepath=str(clip.video_path))
        sem, depth = clip.map("semantic"), clip.map("depth")
        for k in range(len(sem)):
            sample.frames[k + 1] = fo.Frame(segmentation=fo.Segmentation(mask=remap[sem[k]]),
                                            depth=fo.Heatmap(map=np.where(np.isfinite(depth[k]), depth[k], 1e3)))
        dataset.add_sample(sample)
    out = from_fiftyone(dataset, tmp_path_factory.mktemp("real") / "imported").root
    yield ds, out
    fo.delete_dataset(dataset.name)


def test_segmentation_and_depth_fields_become_maps(real_like):
    source, out = real_like
    back = synthdata.open_dataset(out)
    assert back.class_names == source.class_names
    for a, b in zip(source, back):
        assert np.array_equal(b.map("semantic"), a.map("semantic"))  # ids mapped back by class name
        d = a.map("depth")
        assert np.allclose(b.map("depth"), np.where(np.isfinite(d), d, 1e3))
        assert b.frames().column("instance").null_count == len(b.frames())  # not in the source: left empty


def test_imported_clips_train_and_sample(real_like, tmp_path):
    _, out = real_like
    ck = train_tiny(out, tmp_path / "ck", steps=2)
    cfg = json.loads((ck / "model" / "config.json").read_text())
    assert cfg["condition_maps"] == ["semantic", "depth"]
    spec = synthdata.load_recipe("shapes", [*TINY, "backend=diffusion", f"backend.checkpoint={ck}", "backend.steps=2"])
    m = synthdata.generate(spec, 2, tmp_path / "gen", compute=SYNC2, progress=False)
    assert m.num_clips == 2 and synthdata.open_dataset(tmp_path / "gen").clip(1).video().shape == (4, 32, 32, 3)
