"""COCO and MOT exports, checked with the libraries people load them with (pycocotools, motmetrics)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

import synthdata
from synthdata.errors import UserError
from synthdata.integrations import export

from ..conftest import run_cli


def test_coco_loads_in_pycocotools_with_every_visible_object(tiny_dataset, tmp_path):
    ds = synthdata.open_dataset(tiny_dataset)
    summary = export(ds, "coco", tmp_path / "coco")
    coco = COCO(str(tmp_path / "coco" / "annotations.json"))
    visible = [o for o in ds.objects.to_pylist() if o["visible_pixels"]]
    assert len(coco.getAnnIds()) == len(visible) == summary["annotations"]
    assert len(coco.getImgIds()) == 12 and [c["name"] for c in coco.loadCats(coco.getCatIds())] == ds.class_names
    raw = json.loads((tmp_path / "coco" / "annotations.json").read_text())
    assert len(raw["videos"]) == 3 and {"video_id", "frame_id"} <= set(raw["images"][0])
    for ann in coco.loadAnns(coco.getAnnIds()):
        m = coco.annToMask(ann)
        assert int(m.sum()) == ann["area"]
        x, y, w, h = mask_utils.toBbox(ann["segmentation"])
        assert ann["bbox"] == [x, y, w, h] and "track_id" in ann
        img = coco.loadImgs(ann["image_id"])[0]
        assert (tmp_path / "coco" / img["file_name"]).is_file()


def test_mot_scores_perfectly_against_itself(tiny_dataset, tmp_path, monkeypatch):
    import motmetrics as mm

    if not hasattr(np, "asfarray"):  # motmetrics 1.4.0 (latest) still calls np.asfarray, gone in NumPy 2
        monkeypatch.setattr(np, "asfarray", lambda a, dtype=np.float64: np.asarray(a, dtype=dtype), raising=False)
    ds = synthdata.open_dataset(tiny_dataset)
    export(ds, "mot", tmp_path / "mot")
    for clip in ds:
        seq = tmp_path / "mot" / clip.clip_id
        gt = mm.io.loadtxt(str(seq / "gt" / "gt.txt"), fmt="mot15-2D", min_confidence=-1)
        visible = [o for o in clip.objects().to_pylist() if o["visible_pixels"]]
        assert len(gt) == len(visible)
        acc = mm.utils.compare_to_groundtruth(gt, gt, "iou", distth=0.5)
        summary = mm.metrics.create().compute(acc, metrics=["mota", "idf1", "num_switches"], name=clip.clip_id)
        assert summary["mota"].iloc[0] == 1.0 and summary["idf1"].iloc[0] == 1.0
        assert summary["num_switches"].iloc[0] == 0
        ini = (seq / "seqinfo.ini").read_text()
        assert "seqLength=4" in ini and len(list((seq / "img1").glob("*.jpg"))) == 4


def test_export_refuses_a_used_directory_and_unknown_formats(tiny_dataset, tmp_path):
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "x").write_text("x")
    with pytest.raises(UserError, match="not an empty directory"):
        export(synthdata.open_dataset(tiny_dataset), "coco", tmp_path / "used")
    r = run_cli("export", str(tiny_dataset), "--format", "yolo", "--out", str(tmp_path / "y"))
    assert r.returncode == 2 and "did you mean" not in r.stderr and "expected one of coco, mot" in r.stderr
    assert not (tmp_path / "y").exists()
    r = run_cli("export", str(tiny_dataset), "--format", "coco", "--out", str(tmp_path / "ok"))
    assert r.returncode == 0 and json.loads(r.stdout)["annotations"] > 0


def test_exporter_names_are_known_before_any_exporter_is_imported():
    """The registry lists built-ins by name (imported on first use); storage never imports integrations."""
    code = ("import sys; from synthdata.integrations import EXPORTERS; import synthdata.io, synthdata.run.generate; "
            "names = EXPORTERS.names(); "
            "loaded = [m for m in sys.modules if m.startswith('synthdata.integrations.')]; "
            "print(names, loaded)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "['coco', 'mot'] []"
    assert "coco or mot" in run_cli("export", "--help").stdout
